// Steady and manual clocks, and choosing the clock of a loop.
#include <mode/clock.hpp>
#include <mode/detail/timer_queue.hpp>

#include <algorithm>
#include <ctime>

namespace mode {

SteadyClock& SteadyClock::instance() noexcept {
  static SteadyClock clock;
  return clock;
}

Clock::time_point SteadyClock::coarse_now() const noexcept {
#if defined(CLOCK_MONOTONIC_COARSE) && defined(__linux__)
  // steady_clock is CLOCK_MONOTONIC on Linux (libstdc++ and libc++), which this reading shares.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
#else
  return now();
#endif
}

ManualClock::~ManualClock() {
  // Queues outliving the clock fall back to real time rather than read a dead clock.
  while (!queues_.empty()) queues_.back()->set_clock(SteadyClock::instance());
}

void ManualClock::advance(Seconds d, asio::io_context& ctx) {
  const time_point target = now_ + d.duration();
  for (;;) {
    for (detail::TimerQueue* q : queues_) q->fire_due();
    ctx.restart();
    ctx.poll();
    std::optional<time_point> next;
    for (const detail::TimerQueue* q : queues_) {
      const auto due = q->next_deadline();
      if (due && (!next || *due < *next)) next = due;
    }
    if (!next || *next > target) break;
    now_ = std::max(now_, *next);
  }
  now_ = target;
  for (detail::TimerQueue* q : queues_) q->fire_due();
  ctx.restart();
  ctx.poll();
}

void use_clock(asio::execution_context& ctx, Clock& clock) {
  asio::use_service<detail::TimerQueue>(ctx).set_clock(clock);
}

Clock::time_point now(asio::execution_context& ctx) {
  return asio::use_service<detail::TimerQueue>(ctx).now();
}

void set_timer_slack(asio::execution_context& ctx, Seconds slack) {
  asio::use_service<detail::TimerQueue>(ctx).set_slack(slack.duration());
}

}  // namespace mode
