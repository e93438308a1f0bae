// Test helper: the kernel objects behind event loops (epoll or io_uring instances) this process
// has open, read from /proc/self/fd.
#pragma once

#include <mode/loop.hpp>

#include <filesystem>
#include <string>
#include <system_error>

namespace mode::testing {

/// The kernel object of this build's loop backend: "eventpoll" or "io_uring".
inline std::string loop_kernel_object() {
  return loop_backend() == "epoll" ? "eventpoll" : "io_uring";
}

/// How many of this process's file descriptors are the kernel object `name` (anon_inode:[name]).
inline int open_kernel_objects(const std::string& name = loop_kernel_object()) {
  int n = 0;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(fd.path(), ec);
    if (!ec && target.string() == "anon_inode:[" + name + "]") ++n;
  }
  return n;
}

}  // namespace mode::testing
