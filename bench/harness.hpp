// mode-bench harness: result fields, measurements in a fresh child process, the loop driver,
// clocks and process counters shared by the scenarios.
#pragma once

#include <mode/awaitable.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace mode::bench {

/// One numeric field of a result line, printed with `decimals` digits after the point.
struct Field {
  std::string name;
  double value;
  int decimals;
};
using Fields = std::vector<Field>;

/// What the command line gave a scenario (0: not given, use the scenario's default).
struct Params {
  std::int64_t n = 0;
  std::int64_t k = 0;
  /// `--metrics`: the measured tree carries an OperationsEndpoint (which turns the timer lateness
  /// counting on) and is scraped once after the measurement (`scrape_ms`).
  bool metrics = false;
  /// `--idle-socket`: a listening socket on the measured loop, nothing more: what the endpoint of
  /// `--metrics` brings besides the metrics (Asio then polls epoll between handlers).
  bool idle_socket = false;
};

/// The median of each field over `runs` (which all have the same fields, in the same order),
/// after a first field `runs` that counts them.
Fields medians(const std::vector<Fields>& runs);

/// Writes `{"scenario":"<name>",<fields>}` and a newline to stdout, and flushes.
void print_json(std::string_view scenario, const Fields& fields);

using Clock = std::chrono::steady_clock;

/// Milliseconds between two time points.
inline double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

/// Resident set size of this process in bytes (/proc/self/statm).
std::size_t rss_bytes();
/// The part of it that is anonymous memory (heap, stacks): without the pages backed by a file,
/// which are code paged in on its first run and grow with the code paths taken, not the work.
std::size_t anonymous_rss_bytes();
/// User + system CPU time of this process in seconds (getrusage).
double cpu_seconds();
/// The `q`-quantile (0..1, nearest rank) of `values`, which it sorts; 0 if empty.
double quantile(std::vector<double>& values, double q);

/// Runs `fn` in a forked child process and returns what it returned: each measurement starts
/// from the same heap and RSS, and one measurement's memory cannot hide in another's. An
/// exception in the child (or its death) is rethrown here as std::runtime_error.
void run_forked_raw(const std::function<void(void*)>& fn, void* out, std::size_t size);

template <class T>
T run_forked(const std::function<T()>& fn) {
  static_assert(std::is_trivially_copyable_v<T>, "results cross a pipe as bytes");
  T result{};
  run_forked_raw([&fn](void* out) { *static_cast<T*>(out) = fn(); }, &result, sizeof(T));
  return result;
}

/// Runs `program(ready_fd)` in a forked child process, which writes a byte to `ready_fd` once
/// it runs; then sends it SIGTERM and returns the milliseconds until the process has exited.
/// Throws std::runtime_error if it dies before it is ready or exits with a non-zero status.
double exit_ms_after_sigterm(const std::function<int(int ready_fd)>& program);

/// With `on`: a socket listening on loopback (any port) on `ctx`'s loop, until destroyed.
std::unique_ptr<asio::ip::tcp::acceptor> idle_socket(asio::io_context& ctx, bool on);

/// How a coroutine spawned by `spawn` ended.
struct Completion {
  bool done = false;
  std::exception_ptr error;
};

/// co_spawns `a` on `ctx`, recording its end in `c` (which must outlive it).
void spawn(asio::io_context& ctx, awaitable<void> a, Completion& c);

/// Runs `ctx` one handler at a time until `done()` holds (restarting it first if it stopped for
/// lack of work). Throws std::runtime_error if the loop runs out of work or `limit` passes
/// first, so that a hang fails instead of blocking.
void run_while_not(asio::io_context& ctx, const std::function<bool()>& done,
                   Clock::duration limit = std::chrono::minutes(5));

/// Runs `ctx` until `c` completes (see run_while_not), then rethrows its exception if any.
void run_until_complete(asio::io_context& ctx, const Completion& c,
                        Clock::duration limit = std::chrono::minutes(5));

}  // namespace mode::bench
