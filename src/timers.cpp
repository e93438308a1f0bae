// Timer: Mode's drift arithmetic and log lines.
#include <mode/timers.hpp>
#include <mode/utils/logging.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace mode {
namespace {

// Python's repr of a float, which Mode's log lines show: shortest round trip, "1.0" not "1".
std::string repr(double x) {
  std::string s = fmt::format("{}", x);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

}  // namespace

Timer::Timer(Seconds interval, double max_drift_correction, std::string name, const Clock& clock,
             std::shared_ptr<spdlog::logger> logger)
    : interval_(interval.count()),
      max_drift_(std::min(interval_ * 0.30, 1.2)),
      min_interval_(interval_ > max_drift_correction ? interval_ - max_drift_correction
                                                     : interval_),
      max_interval_(interval_ > max_drift_correction ? interval_ + max_drift_correction
                                                     : interval_),
      name_(std::move(name)),
      clock_(&clock),
      logger_(logger ? std::move(logger) : get_logger("mode.timers")),
      epoch_(clock.now()),
      last_wakeup_at_(epoch_),
      last_yield_at_(epoch_) {}

double Timer::seconds_since(Clock::time_point a, Clock::time_point b) const noexcept {
  return std::chrono::duration<double>(b - a).count();
}

double Timer::adjust_interval(double drift) const noexcept {
  const double x = interval_ + drift;
  if (x > interval_) return std::min(x, max_interval_);
  if (x < interval_) return std::max(x, min_interval_);
  return interval_;
}

double Timer::tick() {
  const Clock::time_point now = clock_->now();
  if (last_yield_at_ == epoch_) {
    last_wakeup_at_ = now;
    planned_ =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_));
    return interval_;
  }
  const double since_epoch = seconds_since(epoch_, now);
  const double slept = seconds_since(last_wakeup_at_, last_yield_at_);
  const double ran = seconds_since(last_yield_at_, now);
  const double drift = interval_ - slept;
  const double next = adjust_interval(drift);
  if (interval_ >= 1.0 && std::abs(drift) >= max_drift_) {
    ++drifting_;
    ++(drift < 0 ? drifting_late_ : drifting_early_);
    log_drift(*logger_, name_, drift, ran, slept);
  } else {
    logger_->debug(
        "Timer {} woke up - iteration={} time_spent_sleeping={} drift={} new_interval={} "
        "since_epoch={}",
        name_, iteration_, repr(slept), repr(drift), repr(next), repr(since_epoch));
  }
  if (ran > interval_) {
    ++overlaps_;
    log_overlap(*logger_, name_, interval_, ran);
  }
  ++iteration_;
  last_wakeup_at_ = now;
  planned_ = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(next));
  return next;
}

void Timer::log_drift(spdlog::logger& log, const std::string& name, double drift, double ran,
                      double slept) {
  if (drift < 0)
    log.info("Timer {} woke up too late, with a drift of +{} runtime={} sleeptime={}", name,
             repr(std::abs(drift)), repr(ran), repr(slept));
  else
    log.info("Timer {} woke up too early, with a drift of -{} runtime={} sleeptime={}", name,
             repr(std::abs(drift)), repr(ran), repr(slept));
}

void Timer::log_overlap(spdlog::logger& log, const std::string& name, double interval, double ran) {
  log.warn("Timer {} is overlapping (interval={} runtime={})", name, repr(interval), repr(ran));
}

}  // namespace mode
