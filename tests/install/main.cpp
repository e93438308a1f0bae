// Starts and stops a service through the installed headers and library.
#include <mode/service.hpp>
#include <mode/testing.hpp>

int main() {
  boost::asio::io_context ctx;
  auto s = std::make_shared<mode::Service>();
  mode::testing::run(ctx, s->start());
  mode::testing::run(ctx, s->stop());
  return s->state() == "shutdown" ? 0 : 1;
}
