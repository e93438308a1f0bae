// Starts and stops a service through the installed headers and library.
#include <mode/service.hpp>
#include <mode/testing.hpp>
#include <mode/version.hpp>
#include <mode/worker.hpp>

#include <CLI/CLI.hpp>

#include <cstring>

int main() {
  static_assert(MODE_VERSION >= 100, "mode/version.hpp is installed");
  boost::asio::io_context ctx;
  auto s = std::make_shared<mode::Service>();
  mode::testing::run(ctx, s->start());
  mode::testing::run(ctx, s->stop());
  // Worker::cli() hands out CLI11's App: the package must find CLI11 for its users.
  mode::Worker worker(std::make_shared<mode::Service>());
  bool extra = false;
  worker.cli().add_flag("--extra", extra, "a flag of the program's own");
  return s->state() == "shutdown" ? 0 : 1;
}
