// mode::flight_recorder (Mode's mode.utils.logging.flight_recorder and on_timeout): log lines
// kept back and written only if a scope runs longer than its timeout.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/utils/locals.hpp>
#include <mode/utils/logging.hpp>
#include <mode/utils/times.hpp>

#include <fmt/format.h>
#include <spdlog/logger.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace mode {

class Service;

namespace detail {
class FlightRecorderState;
}

/// The context of extra data a flight recorder adds to the lines it replays (Mode's
/// `extra_context`), rendered after each replayed message as ` key=value, key=value`.
using ExtraContext = std::map<std::string, std::string>;

/// A scope whose log lines are buffered and replayed only if it outlives its timeout.
///
/// Made by `co_await flight_recorder(logger, timeout)`, which also makes it the current (innermost)
/// recorder of the awaiting coroutine chain (see mode/utils/locals.hpp) until it is destroyed.
/// While the scope runs, `info(...)` and the other helpers format the line at once and keep it
/// with the time it was logged. If the scope is still alive when the timeout fires (on the loop's
/// clock: a ManualClock in tests), the recorder writes, on the loop's thread:
///
///     WARNING Warning: Task timed out!
///     WARNING Please make sure it's hanging before restart.
///     INFO    [Flight Recorder-1] (started at Thu Apr 19 09:43:45 2018) Replaying logs...
///     <level> [Flight Recorder-1] (Thu Apr 19 09:43:45 2018) <each kept line>
///     INFO    [Flight Recorder-1] -End of log-
///     INFO    [Flight Recorder-1] Task traceback
///     INFO    [Flight Recorder-1] sleep (4.5 s left) in awaitable<void> App::refresh() at ...
///
/// (Mode's task traceback is, in C++, where the recorder's service is suspended in its own waits:
/// Service::suspensions(), one line each; a recorder made without a service, or a service not
/// suspended in one of its waits, writes `-missing-: ...` instead) and from then on writes each
/// new line at once in the replay form (Mode drops them). Destroying the recorder
/// before its timeout cancels it: nothing is ever written. Dates are the wall-clock date at the
/// start plus the loop clock's time since. Logging never throws. A recorder belongs to the loop
/// that made it; destroy it on that loop.
class FlightRecorder : public detail::LevelHelpers<FlightRecorder> {
 public:
  FlightRecorder(FlightRecorder&& other) noexcept;
  FlightRecorder& operator=(FlightRecorder&&) = delete;
  /// Leaves the scope: no longer current, timeout cancelled, kept lines forgotten.
  ~FlightRecorder();

  /// `Flight Recorder-<id>`; ids count from 1 in the process.
  std::string ident() const;
  std::uint64_t id() const noexcept;
  /// The date the scope started, as C's asctime writes it (`Thu Apr 19 09:43:45 2018`).
  std::string started_at_date() const;
  /// True once the timeout fired and the lines were replayed.
  bool timed_out() const noexcept;
  /// The extra data of replayed lines; starts with the keys of the recorder that was current
  /// when this one was made (its own keys win).
  ExtraContext& extra_context() noexcept;
  /// Lines kept back so far (0 after the replay).
  std::size_t buffered() const noexcept;

  template <class... A>
  void log(LogLevel level, fmt::format_string<A...> f, A&&... args) const noexcept {
    try {
      record(level, fmt::format(f, std::forward<A>(args)...));
    } catch (...) {
    }
  }

  /// Keeps (or, after the timeout, writes) an already formatted line.
  void record(LogLevel level, std::string message) const noexcept;

 private:
  friend class detail::FlightRecorderState;
  explicit FlightRecorder(std::unique_ptr<detail::FlightRecorderState> state) noexcept;

  std::unique_ptr<detail::FlightRecorderState> state_;
};

/// Starts a flight recorder writing to `logger` that replays its lines if it is still alive after
/// `timeout`; it is the awaiting chain's current recorder until destroyed. `extra_context` is its
/// own extra data (keys of the enclosing recorder it lacks are added).
awaitable<FlightRecorder> flight_recorder(std::shared_ptr<spdlog::logger> logger, Seconds timeout,
                                          ExtraContext extra_context = {});
/// The same, writing through a service's `log` (its lines get the service's prefix). `logger`
/// must outlive the recorder.
awaitable<FlightRecorder> flight_recorder(const CompositeLogger& logger, Seconds timeout,
                                          ExtraContext extra_context = {});
/// The same, writing through `service.log`, and the replay ends with where the service is
/// suspended (its task traceback): `co_await flight_recorder(*this, 10.0)` in a service.
/// `service` must outlive the recorder.
awaitable<FlightRecorder> flight_recorder(const Service& service, Seconds timeout,
                                          ExtraContext extra_context = {});

/// Mode's `on_timeout`: log helpers that write to the current (innermost) flight recorder of the
/// coroutine chain that made it, looked up at each call, and drop the line if there is none.
///
/// Get it with `co_await on_timeout()`; use it only in that chain (pass it to plain functions the
/// chain calls).
class OnTimeout : public detail::LevelHelpers<OnTimeout> {
 public:
  template <class... A>
  void log(LogLevel level, fmt::format_string<A...> f, A&&... args) const noexcept {
    if (!active()) return;
    try {
      record(level, fmt::format(f, std::forward<A>(args)...));
    } catch (...) {
    }
  }

  /// True while the chain has a current flight recorder.
  bool active() const noexcept;
  /// Gives an already formatted line to the current recorder, if any.
  void record(LogLevel level, std::string message) const noexcept;

 private:
  friend awaitable<OnTimeout> on_timeout();
  explicit OnTimeout(ChainId chain) noexcept : chain_(chain) {}
  ChainId chain_;
};

/// The `on_timeout` helpers of the awaiting coroutine chain.
awaitable<OnTimeout> on_timeout();

}  // namespace mode
