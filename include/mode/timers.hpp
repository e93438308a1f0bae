// mode::Timer: Mode's drift-correcting interval generator, behind Service::itertimer and timer().
#pragma once

#include <mode/clock.hpp>
#include <mode/utils/times.hpp>

#include <spdlog/logger.h>

#include <cstdint>
#include <memory>
#include <string>

namespace mode {

/// Computes how long to sleep before each iteration of a periodic loop, correcting the drift of
/// the previous sleep by at most `max_drift_correction` seconds, and logs late or overlapping
/// wake-ups exactly as Mode's `mode.timers.Timer` does.
///
/// Use: `t = timer.tick(); sleep(t); timer.on_yield();` per iteration. Drift lines are only
/// logged for intervals of one second or more.
class Timer {
 public:
  Timer(Seconds interval, double max_drift_correction = 0.1, std::string name = {},
        const Clock& clock = SteadyClock::instance(), std::shared_ptr<spdlog::logger> logger = {});

  /// The next sleep time in seconds.
  double tick();
  /// Records that the sleep ended and the caller's work for this iteration begins.
  void on_yield() noexcept { last_yield_at_ = clock_->now(); }
  /// How much longer than the time `tick()` returned the last sleep lasted (from `tick()` to
  /// `on_yield()`); negative if it was shorter.
  Clock::duration lateness() const noexcept { return last_yield_at_ - last_wakeup_at_ - planned_; }

  double interval() const noexcept { return interval_; }
  double max_drift() const noexcept { return max_drift_; }
  double min_interval() const noexcept { return min_interval_; }
  double max_interval() const noexcept { return max_interval_; }
  std::uint64_t iteration() const noexcept { return iteration_; }
  std::uint64_t drifting() const noexcept { return drifting_; }
  std::uint64_t drifting_early() const noexcept { return drifting_early_; }
  std::uint64_t drifting_late() const noexcept { return drifting_late_; }
  std::uint64_t overlaps() const noexcept { return overlaps_; }
  const std::string& name() const noexcept { return name_; }

  /// Logs Mode's "woke up too early/late" line (drift > 0: early) at INFO.
  static void log_drift(spdlog::logger& log, const std::string& name, double drift, double ran,
                        double slept);
  /// Logs Mode's "is overlapping" WARNING.
  static void log_overlap(spdlog::logger& log, const std::string& name, double interval,
                          double ran);

 private:
  double adjust_interval(double drift) const noexcept;
  double seconds_since(Clock::time_point a, Clock::time_point b) const noexcept;

  double interval_;
  double max_drift_;
  double min_interval_;
  double max_interval_;
  std::string name_;
  const Clock* clock_;
  std::shared_ptr<spdlog::logger> logger_;
  Clock::time_point epoch_;
  Clock::time_point last_wakeup_at_;
  Clock::time_point last_yield_at_;
  Clock::duration planned_{};  // the sleep tick() returned last
  std::uint64_t iteration_ = 0;
  std::uint64_t drifting_ = 0;
  std::uint64_t drifting_early_ = 0;
  std::uint64_t drifting_late_ = 0;
  std::uint64_t overlaps_ = 0;
};

}  // namespace mode
