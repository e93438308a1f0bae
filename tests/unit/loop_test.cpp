// Tests of mode/loop.hpp: the backend named is the one the io_context really runs on.
#include <mode/loop.hpp>

#include "kernel_objects.hpp"
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace {

TEST(Loop, TheNamedBackendIsTheKernelObjectTheLoopOpens) {
  const std::string backend(mode::loop_backend());
  ASSERT_TRUE(backend == "epoll" || backend == "io_uring") << backend;
  const std::string object = mode::testing::loop_kernel_object();
  const int before = mode::testing::open_kernel_objects(object);
  boost::asio::io_context ctx;
  boost::asio::steady_timer timer(ctx, std::chrono::milliseconds(1));
  bool fired = false;
  timer.async_wait([&](boost::system::error_code) { fired = true; });
  ctx.run();
  EXPECT_TRUE(fired);
  EXPECT_EQ(mode::testing::open_kernel_objects(object), before + 1);
}

}  // namespace
