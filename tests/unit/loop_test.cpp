// Tests of mode/loop.hpp: the backend named is the one the io_context really runs on.
#include <mode/loop.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace {

// How many of this process's file descriptors are the kernel object `name` (anon_inode:[name]).
int open_kernel_objects(const std::string& name) {
  int n = 0;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(fd.path(), ec);
    if (!ec && target.string() == "anon_inode:[" + name + "]") ++n;
  }
  return n;
}

TEST(Loop, TheNamedBackendIsTheKernelObjectTheLoopOpens) {
  const std::string backend(mode::loop_backend());
  ASSERT_TRUE(backend == "epoll" || backend == "io_uring") << backend;
  const std::string object = backend == "epoll" ? "eventpoll" : "io_uring";
  const int before = open_kernel_objects(object);
  boost::asio::io_context ctx;
  boost::asio::steady_timer timer(ctx, std::chrono::milliseconds(1));
  bool fired = false;
  timer.async_wait([&](boost::system::error_code) { fired = true; });
  ctx.run();
  EXPECT_TRUE(fired);
  EXPECT_EQ(open_kernel_objects(object), before + 1);
}

}  // namespace
