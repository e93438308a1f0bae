// mode-bench harness: JSON lines, forked measurements, counters and the loop driver.
#include "harness.hpp"

#include <boost/asio/co_spawn.hpp>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <stdexcept>

namespace mode::bench {

Fields medians(const std::vector<Fields>& runs) {
  Fields out{{"runs", static_cast<double>(runs.size()), 0}};
  if (runs.empty()) return out;
  for (std::size_t i = 0; i < runs.front().size(); ++i) {
    std::vector<double> values;
    for (const Fields& run : runs) values.push_back(run.at(i).value);
    std::sort(values.begin(), values.end());
    const std::size_t mid = values.size() / 2;
    const double m = values.size() % 2 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
    const Field& f = runs.front()[i];
    out.push_back({f.name, m, f.decimals});
  }
  return out;
}

void print_json(std::string_view scenario, const Fields& fields) {
  fmt::memory_buffer out;
  fmt::format_to(std::back_inserter(out), "{{\"scenario\":\"{}\"", scenario);
  for (const Field& f : fields) {
    if (std::isfinite(f.value))
      fmt::format_to(std::back_inserter(out), ",\"{}\":{:.{}f}", f.name, f.value, f.decimals);
    else
      fmt::format_to(std::back_inserter(out), ",\"{}\":null", f.name);
  }
  out.append(std::string_view("}\n"));
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

namespace {

/// Resident pages of this process (/proc/self/statm): all of them, and those backed by a file
/// (code, mapped libraries) or shared memory.
struct ResidentPages {
  std::size_t all = 0;
  std::size_t shared = 0;
};

ResidentPages resident_pages() {
  // Read without touching the heap (no stream, no string): a soak compares two of these, and the
  // first stream a process opens allocates for good, which would count as growth.
  char text[128];
  const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  const ssize_t got = fd < 0 ? -1 : ::read(fd, text, sizeof text - 1);
  if (fd >= 0) ::close(fd);
  if (got <= 0) throw std::runtime_error("cannot read /proc/self/statm");
  text[got] = '\0';
  std::size_t size = 0;
  ResidentPages pages;
  if (std::sscanf(text, "%zu %zu %zu", &size, &pages.all, &pages.shared) != 3)
    throw std::runtime_error("cannot parse /proc/self/statm");
  return pages;
}

std::size_t page_bytes() { return static_cast<std::size_t>(sysconf(_SC_PAGESIZE)); }

}  // namespace

std::size_t rss_bytes() { return resident_pages().all * page_bytes(); }

std::size_t anonymous_rss_bytes() {
  const ResidentPages pages = resident_pages();
  return (pages.all - pages.shared) * page_bytes();
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double quantile(std::vector<double>& values, double q) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

namespace {

// Reads or writes exactly `size` bytes, or fails.
bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t w = ::write(fd, data, size);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    size -= static_cast<std::size_t>(w);
  }
  return true;
}

std::size_t read_all(int fd, char* data, std::size_t size) {
  std::size_t got = 0;
  while (got < size) {
    const ssize_t r = ::read(fd, data + got, size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

}  // namespace

namespace {

/// A child process that runs `body(write end of a pipe)` and exits with its status, and the
/// read end of that pipe for the parent.
struct Child {
  pid_t pid;
  int from_child;
};

Child fork_child(const std::function<int(int to_parent)>& body) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error(fmt::format("pipe: {}", std::strerror(errno)));
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    ::close(fds[0]);
    int status = 1;
    try {
      status = body(fds[1]);
    } catch (const std::exception& e) {
      std::cerr << "mode-bench: measurement failed: " << e.what() << std::endl;
    } catch (...) {
      std::cerr << "mode-bench: measurement failed" << std::endl;
    }
    // No exit handlers or static destructors: they belong to the parent.
    std::fflush(stdout);
    ::_exit(status);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

/// Waits for the child; throws std::runtime_error unless it exited with 0 and `ok` holds.
void join_child(pid_t pid, bool ok) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(
        WIFSIGNALED(status)
            ? fmt::format("measurement process killed by signal {}", WTERMSIG(status))
            : fmt::format("measurement process failed (status {})", WEXITSTATUS(status)));
  }
}

}  // namespace

void run_forked_raw(const std::function<void(void*)>& fn, void* out, std::size_t size) {
  const Child child = fork_child([&](int to_parent) {
    std::vector<char> buffer(size);
    fn(buffer.data());
    return write_all(to_parent, buffer.data(), size) ? 0 : 1;
  });
  const std::size_t got = read_all(child.from_child, static_cast<char*>(out), size);
  ::close(child.from_child);
  join_child(child.pid, got == size);
}

double exit_ms_after_sigterm(const std::function<int(int ready_fd)>& program) {
  const Child child = fork_child(program);
  char ready = 0;
  const bool is_ready = read_all(child.from_child, &ready, 1) == 1;
  ::close(child.from_child);
  const Clock::time_point t0 = Clock::now();
  if (is_ready) ::kill(child.pid, SIGTERM);
  join_child(child.pid, is_ready);
  return ms_between(t0, Clock::now());
}

void spawn(asio::io_context& ctx, awaitable<void> a, Completion& c) {
  asio::co_spawn(ctx, std::move(a), [&c](std::exception_ptr e) {
    c.done = true;
    c.error = std::move(e);
  });
}

void run_while_not(asio::io_context& ctx, const std::function<bool()>& done,
                   Clock::duration limit) {
  const Clock::time_point deadline = Clock::now() + limit;
  // A loop that ran out of work stops itself; what the caller just spawned is new work.
  if (ctx.stopped()) ctx.restart();
  // The clock is read every 256 handlers only, to keep it out of the measurements.
  for (unsigned i = 1; !done(); ++i) {
    if (i % 256 == 0 && Clock::now() >= deadline) throw std::runtime_error("benchmark timed out");
    if (ctx.run_one() == 0) throw std::runtime_error("the event loop ran out of work");
  }
}

void run_until_complete(asio::io_context& ctx, const Completion& c, Clock::duration limit) {
  run_while_not(
      ctx, [&c] { return c.done; }, limit);
  if (c.error) std::rethrow_exception(c.error);
}

std::unique_ptr<asio::ip::tcp::acceptor> idle_socket(asio::io_context& ctx, bool on) {
  if (!on) return nullptr;
  const asio::ip::tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
  return std::make_unique<asio::ip::tcp::acceptor>(ctx, loopback);
}

}  // namespace mode::bench
