// mode::testing::Simulation: a whole service tree run on one thread, on virtual time, from a seed,
// so that an hour of it takes milliseconds and a seed replays the same run.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/clock.hpp>
#include <mode/testing.hpp>
#include <mode/utils/times.hpp>

#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace mode::testing {

/// Thrown when a simulated run cannot go on (an awaited coroutine outlived its virtual budget,
/// or the loop spins without ever going idle); the message ends with the seed and the command
/// that replays it.
class SimulationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Runs services deterministically: one thread, one `io_context`, a ManualClock attached to it
/// with `use_clock`, and a seed.
///
/// `run_for(d)` runs the handlers that are ready until the loop is idle, then jumps virtual time
/// to the next deadline (a sleep, a timer, a `wait*` timeout, a supervisor's backoff, a stop's
/// `shutdown_timeout`), and so on until `d` has passed: an hour of a service tree takes
/// milliseconds. Nothing in the library reads real time or real randomness on a simulated loop
/// (supervisors draw their backoff jitter from the simulation's seeded generator), so the same
/// seed gives the same run and the same `trace()`, byte for byte.
///
/// What cannot be simulated is refused, never run on real time: a ServiceThread started on the
/// simulated loop throws std::logic_error. Asio's own timers and sockets (`steady_timer`, real
/// I/O) keep real time; a coroutine waiting on one looks suspended for ever to the simulation.
///
/// While it lives, the simulation records every line of every spdlog logger at debug level into
/// its trace, and (unless `echo`) takes the loggers' other sinks away, giving them back when it
/// is destroyed. Not thread-safe: use it from the thread that created it.
class Simulation {
 public:
  struct Options {
    /// Also write the log to the loggers' usual sinks.
    bool echo = false;
    /// Handlers run at one virtual instant before the loop is deemed to spin (SimulationError).
    std::size_t max_handlers_per_instant = 1'000'000;
  };

  /// A simulation of seed `seed`.
  explicit Simulation(std::uint64_t seed) : Simulation(seed, Options{}) {}
  Simulation(std::uint64_t seed, Options options);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  /// `MODE_SIM_SEED` from the environment when set (a replay), else `fallback`.
  static std::uint64_t seed_from_env(std::uint64_t fallback);

  asio::io_context& context() noexcept { return *ctx_; }
  ManualClock& clock() noexcept { return clock_; }
  std::uint64_t seed() const noexcept { return seed_; }
  /// The seeded generator of the run: the supervisors' jitter draws from it; so may the test.
  std::mt19937_64& rng() noexcept;
  Clock::time_point now() const noexcept { return clock_.now(); }
  /// Virtual time since the simulation began.
  Clock::duration elapsed() const noexcept { return clock_.now() - start_; }

  /// Runs `span` of virtual time (see the class comment); ends with the loop idle at its end.
  void run_for(Seconds span);
  /// Runs until `done()` holds (checked whenever the loop is idle) or `budget` of virtual time
  /// passed; returns `done()`. Time stops where `done()` became true.
  template <class Pred>
  bool run_until(Pred done, Seconds budget);
  /// Runs the handlers that are ready now, without moving time.
  void run_ready();
  /// The earliest pending deadline of the loop, if any.
  std::optional<Clock::time_point> next_deadline() const;
  /// True when no deadline is pending and no handler is ready: nothing will ever happen again
  /// unless the test does something.
  bool idle();

  /// co_spawns `a` on the loop; the outcome records how it ended.
  template <class T>
  std::shared_ptr<Outcome<T>> spawn(awaitable<T> a) {
    return testing::spawn(*ctx_, std::move(a));
  }
  /// Runs `a` until it finishes and returns its result (rethrowing its exception); throws
  /// SimulationError if it has not finished after `budget` of virtual time.
  template <class T>
  T run(awaitable<T> a, Seconds budget = 3600.0);

  /// The run so far: one line per log line, `+SECONDS LEVEL message` in virtual seconds since
  /// the start, with addresses (`0x...`) masked; the test's own notes as `+SECONDS - text`.
  std::string trace() const;
  std::vector<std::string> trace_lines() const;
  /// Appends a line of the test's own to the trace.
  void note(std::string_view text);

  /// The command that replays this run: `MODE_SIM_SEED=<seed> <program> --gtest_filter=<filter>`
  /// (without the filter when it is empty).
  std::string replay_command(std::string_view test_filter = {}) const;
  /// `seed <seed>; replay: <replay_command>`, for failure messages.
  std::string replay_hint(std::string_view test_filter = {}) const;

 private:
  class TraceSink;
  struct SavedLogger;
  [[noreturn]] void fail(std::string what) const;
  void step_to(Clock::time_point t);
  bool run_until_impl(const std::function<bool()>& done, Seconds budget);

  std::uint64_t seed_;
  Options options_;
  ManualClock clock_;
  Clock::time_point start_;
  std::shared_ptr<TraceSink> sink_;
  std::vector<SavedLogger> saved_;
  std::unique_ptr<asio::io_context> ctx_;
  // ManualClock::advance on an empty context moves time and fires deadlines without running
  // their handlers: the simulation runs those itself, counted (see Options).
  std::unique_ptr<asio::io_context> stepper_;
};

template <class Pred>
bool Simulation::run_until(Pred done, Seconds budget) {
  return run_until_impl(std::function<bool()>(std::move(done)), budget);
}

template <class T>
T Simulation::run(awaitable<T> a, Seconds budget) {
  const std::shared_ptr<Outcome<T>> out = spawn(std::move(a));
  if (!run_until([&] { return out->finished; }, budget))
    fail("the coroutine did not finish within " + std::to_string(budget.count()) +
         " s of virtual time");
  if (out->error) std::rethrow_exception(out->error);
  if constexpr (!std::is_void_v<T>) return std::move(*out->value);
}

}  // namespace mode::testing
