// A child process for functional tests: spawned with pipes on stdout/stderr, sent signals,
// read and waited for with deadlines (a hang fails the test instead of blocking the run).
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;

namespace mode::testing {

class Subprocess {
 public:
  /// Runs `argv` with this process's environment plus `env` (`NAME=value` entries, which
  /// replace the variables of the same name).
  explicit Subprocess(std::vector<std::string> argv, std::vector<std::string> env = {}) {
    int out[2];
    int err[2];
    if (::pipe(out) != 0 || ::pipe(err) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    posix_spawn_file_actions_addclose(&actions, err[0]);
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view var(*e);
      const auto same_name = [&](const std::string& entry) {
        return entry.substr(0, entry.find('=') + 1) == var.substr(0, var.find('=') + 1);
      };
      if (std::none_of(env.begin(), env.end(), same_name)) env.emplace_back(var);
    }
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    if (rc != 0) throw std::runtime_error("posix_spawn failed: " + argv[0]);
  }
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess() {
    if (!status_) {
      ::kill(pid_, SIGKILL);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
  }

  void kill(int signo) const { ::kill(pid_, signo); }
  pid_t pid() const noexcept { return pid_; }

  /// Reads until `needle` appears in stdout+stderr; false if the deadline passes or both pipes
  /// close first.
  bool wait_for_output(std::string_view needle,
                       std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (output().find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      if (!pump(left)) return output().find(needle) != std::string::npos;
    }
    return true;
  }

  /// Waits for the exit (reading the pipes meanwhile); the exit status, 128+n for a signal n,
  /// or none if it has not exited by the deadline.
  std::optional<int> wait(std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
      int st = 0;
      const pid_t r = ::waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        while (pump(std::chrono::milliseconds(0))) {
        }
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return status_;
      }
      if (std::chrono::steady_clock::now() > until) return std::nullopt;
      pump(std::chrono::milliseconds(10));
    }
  }

  const std::string& out() const noexcept { return out_; }
  const std::string& err() const noexcept { return err_; }
  std::string output() const { return out_ + err_; }

 private:
  // Reads what is available within `timeout`; false once both pipes are closed.
  bool pump(std::chrono::milliseconds timeout) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (out_fd_ < 0 && err_fd_ < 0) {
      return false;
    }
    const int n = ::poll(fds, 2, static_cast<int>(timeout.count()));
    if (n <= 0) return true;
    read_from(fds[0], out_fd_, out_);
    read_from(fds[1], err_fd_, err_);
    return out_fd_ >= 0 || err_fd_ >= 0;
  }
  static void read_from(const pollfd& p, int& fd, std::string& into) {
    if (fd < 0 || (p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) return;
    char buf[4096];
    const ssize_t r = ::read(fd, buf, sizeof buf);
    if (r > 0) {
      into.append(buf, static_cast<std::size_t>(r));
    } else {
      ::close(fd);
      fd = -1;
    }
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  std::optional<int> status_;
};

/// The program `name` found on PATH (its path), or "".
inline std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "";
  for (std::size_t at = 0; at <= dirs.size();) {
    std::size_t end = dirs.find(':', at);
    if (end == std::string::npos) end = dirs.size();
    const std::string candidate = dirs.substr(at, end - at) + "/" + name;
    if (end > at && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    at = end + 1;
  }
  return "";
}

/// The lines of `text` that contain `needle`, in order.
inline std::vector<std::string> lines_with(const std::string& text, std::string_view needle) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (line.find(needle) != std::string::npos) out.push_back(std::move(line));
    pos = end + 1;
  }
  return out;
}

}  // namespace mode::testing
