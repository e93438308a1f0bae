// Clocks behind every mode deadline: the steady clock, or a manual clock that tests advance.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/utils/times.hpp>

#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <vector>

namespace mode {

namespace detail {
class TimerQueue;
}

/// Source of "now" for sleeps, timers and deadlines on one event loop.
class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  using duration = std::chrono::steady_clock::duration;

  virtual ~Clock() = default;
  virtual time_point now() const noexcept = 0;
  /// `now()` to within a few milliseconds, for timestamps taken often (a service's events):
  /// cheaper than `now()` where the clock has such a reading.
  virtual time_point coarse_now() const noexcept { return now(); }
  /// True when the clock only moves when told to, so no real timer should wait for it.
  virtual bool manual() const noexcept { return false; }
};

/// `std::chrono::steady_clock`: the default clock of every loop.
class SteadyClock final : public Clock {
 public:
  time_point now() const noexcept override { return std::chrono::steady_clock::now(); }
  /// CLOCK_MONOTONIC_COARSE where there is one (Linux): the same time line as `now()`, at the
  /// resolution of the kernel's tick.
  time_point coarse_now() const noexcept override;
  static SteadyClock& instance() noexcept;
};

/// A clock that stands still until `advance` moves it, firing due deadlines in order.
///
/// Attach it to a loop with `use_clock(ctx, clock)` before any service on that loop sleeps;
/// `advance` runs the loop's ready handlers between deadlines, so a task that sleeps again
/// inside the advanced span is woken again, exactly as it would be in real time.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(time_point start = time_point{} + std::chrono::hours(1)) : now_(start) {}
  ~ManualClock() override;

  time_point now() const noexcept override { return now_; }
  bool manual() const noexcept override { return true; }

  /// Moves time forward by `d`, firing every deadline on the way, and runs `ctx` until idle.
  void advance(Seconds d, asio::io_context& ctx);

 private:
  friend class detail::TimerQueue;
  time_point now_;
  std::vector<detail::TimerQueue*> queues_;
};

/// Makes every mode deadline on `ctx` use `clock` (which must outlive the context's use of it).
void use_clock(asio::execution_context& ctx, Clock& clock);

/// Now, on the clock of `ctx`.
Clock::time_point now(asio::execution_context& ctx);

/// How close deadlines must be to share one wake-up of the loop (default 500 µs).
void set_timer_slack(asio::execution_context& ctx, Seconds slack);

}  // namespace mode
