// Tests of mode/clock.hpp: the steady and manual clocks, use_clock, and timer slack.
#include <mode/clock.hpp>
#include <mode/detail/wait_op.hpp>
#include <mode/testing.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <ostream>
#include <tuple>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using mode::awaitable;
using mode::Clock;
using mode::ManualClock;
using mode::Seconds;
using mode::SteadyClock;
using mode::detail::TimerQueue;
using mode::detail::WaitOp;
using mode::detail::Wake;

struct Wakeup {
  int id;
  Clock::time_point at;
  Wake why;
  friend bool operator==(const Wakeup&, const Wakeup&) = default;
  friend void PrintTo(const Wakeup& w, std::ostream* os) {
    *os << "{id " << w.id << ", at " << w.at.time_since_epoch().count() << " ns, why "
        << static_cast<int>(w.why) << "}";
  }
};

// Sleeps `secs` on the loop's clock `times` times, recording each wake-up.
awaitable<void> sleeper(double secs, int times, int id, std::vector<Wakeup>* log) {
  const auto ex = co_await asio::this_coro::executor;
  TimerQueue& timers = TimerQueue::of(ex);
  for (int i = 0; i < times; ++i) {
    WaitOp op;
    op.expire_at(timers.now() + Seconds(secs).duration(), ex);
    const Wake why = co_await op.wait();
    log->push_back({id, timers.now(), why});
  }
}

void spawn(asio::io_context& ctx, awaitable<void> a, int* done) {
  asio::co_spawn(ctx, std::move(a), [done](std::exception_ptr e) {
    EXPECT_EQ(e, nullptr);
    ++*done;
  });
}

// ---- SteadyClock ----

TEST(SteadyClock, IsOneMonotonicRealClock) {
  const SteadyClock& clock = SteadyClock::instance();
  EXPECT_EQ(&clock, &SteadyClock::instance());
  EXPECT_FALSE(clock.manual());
  Clock::time_point last = clock.now();
  for (int i = 0; i < 1000; ++i) {
    const Clock::time_point t = clock.now();
    EXPECT_GE(t, last);
    last = t;
  }
}

TEST(SteadyClock, IsTheDefaultClockOfALoop) {
  asio::io_context ctx;
  const auto before = std::chrono::steady_clock::now();
  const auto t = mode::now(ctx);
  const auto after = std::chrono::steady_clock::now();
  EXPECT_LE(before, t);
  EXPECT_LE(t, after);
}

// ---- ManualClock ----

TEST(ManualClock, StandsStillUntilAdvanced) {
  const ManualClock clock;
  EXPECT_TRUE(clock.manual());
  EXPECT_EQ(clock.now(), Clock::time_point{} + 1h);
  EXPECT_EQ(clock.now(), clock.now());
  const ManualClock later(Clock::time_point{} + 5s);
  EXPECT_EQ(later.now(), Clock::time_point{} + 5s);
}

TEST(ManualClock, AdvanceWithNoDeadlinesMovesTimeAndRunsReadyHandlers) {
  asio::io_context ctx;
  ManualClock clock;
  const auto start = clock.now();
  bool ran = false;
  asio::post(ctx, [&] { ran = true; });
  clock.advance(2.5, ctx);
  EXPECT_TRUE(ran);
  EXPECT_EQ(clock.now(), start + 2500ms);
  clock.advance(0, ctx);
  EXPECT_EQ(clock.now(), start + 2500ms);
}

TEST(ManualClock, UseClockMakesItTheClockOfTheLoop) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  EXPECT_EQ(mode::now(ctx), clock.now());
  clock.advance(3, ctx);
  EXPECT_EQ(mode::now(ctx), clock.now());
  EXPECT_EQ(&TimerQueue::of(ctx.get_executor()).clock(), &clock);
}

TEST(ManualClock, AdvanceFiresDeadlinesInOrderAtTheirTime) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  const auto t0 = clock.now();
  std::vector<Wakeup> log;
  int done = 0;
  spawn(ctx, sleeper(3, 1, 3, &log), &done);
  spawn(ctx, sleeper(1, 1, 1, &log), &done);
  spawn(ctx, sleeper(2, 1, 2, &log), &done);
  ctx.poll();
  EXPECT_TRUE(log.empty());
  clock.advance(5, ctx);
  EXPECT_EQ(done, 3);
  EXPECT_EQ(log, (std::vector<Wakeup>{{1, t0 + 1s, Wake::timed_out},
                                      {2, t0 + 2s, Wake::timed_out},
                                      {3, t0 + 3s, Wake::timed_out}}));
  EXPECT_EQ(clock.now(), t0 + 5s);
}

TEST(ManualClock, DeadlineAtTheTargetFiresOneBeyondItWaits) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  const auto t0 = clock.now();
  std::vector<Wakeup> log;
  int done = 0;
  spawn(ctx, sleeper(1, 1, 1, &log), &done);
  spawn(ctx, sleeper(1.5, 1, 2, &log), &done);
  ctx.poll();
  clock.advance(1, ctx);
  EXPECT_EQ(log, (std::vector<Wakeup>{{1, t0 + 1s, Wake::timed_out}}));
  clock.advance(0.25, ctx);
  EXPECT_EQ(log.size(), 1u);
  clock.advance(0.25, ctx);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1], (Wakeup{2, t0 + 1500ms, Wake::timed_out}));
  EXPECT_EQ(done, 2);
}

TEST(ManualClock, AdvanceStepsThroughSleepsReArmedInsideTheSpan) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  const auto t0 = clock.now();
  std::vector<Wakeup> log;
  int done = 0;
  spawn(ctx, sleeper(1, 5, 1, &log), &done);
  spawn(ctx, sleeper(2.5, 2, 2, &log), &done);
  ctx.poll();
  clock.advance(10, ctx);
  EXPECT_EQ(done, 2);
  // Equal deadlines (both sleepers at 5 s) may fire in either order.
  std::sort(log.begin(), log.end(), [](const Wakeup& a, const Wakeup& b) {
    return std::tie(a.at, a.id) < std::tie(b.at, b.id);
  });
  EXPECT_EQ(log, (std::vector<Wakeup>{{1, t0 + 1s, Wake::timed_out},
                                      {1, t0 + 2s, Wake::timed_out},
                                      {2, t0 + 2500ms, Wake::timed_out},
                                      {1, t0 + 3s, Wake::timed_out},
                                      {1, t0 + 4s, Wake::timed_out},
                                      {1, t0 + 5s, Wake::timed_out},
                                      {2, t0 + 5s, Wake::timed_out}}))
      << "a sleep re-armed at 2.5 s fires at 5 s, with the fifth 1 s sleep";
  EXPECT_EQ(clock.now(), t0 + 10s);
}

TEST(ManualClock, AdvanceInStepsMatchesOneBigAdvance) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  const auto t0 = clock.now();
  std::vector<Wakeup> log;
  int done = 0;
  spawn(ctx, sleeper(0.3, 10, 1, &log), &done);
  ctx.poll();
  for (int i = 0; i < 30; ++i) clock.advance(0.1, ctx);
  ASSERT_EQ(done, 1);
  ASSERT_EQ(log.size(), 10u);
  for (std::size_t i = 0; i < log.size(); ++i)
    EXPECT_EQ(log[i].at, t0 + static_cast<int>(i + 1) * 300ms) << "wake-up " << i;
}

TEST(ManualClock, OutlivedByItsLoopFallsBackToRealTime) {
  asio::io_context ctx;
  {
    ManualClock clock;
    mode::use_clock(ctx, clock);
    EXPECT_EQ(mode::now(ctx), clock.now());
  }
  const auto before = std::chrono::steady_clock::now();
  const auto t = mode::now(ctx);
  EXPECT_LE(before, t);
  EXPECT_FALSE(TimerQueue::of(ctx.get_executor()).clock().manual());
}

TEST(ManualClock, OutlivesItsLoop) {
  ManualClock clock;
  {
    asio::io_context ctx;
    mode::use_clock(ctx, clock);
    std::vector<Wakeup> log;
    int done = 0;
    spawn(ctx, sleeper(1, 1, 1, &log), &done);
    ctx.poll();
    clock.advance(1, ctx);
    EXPECT_EQ(done, 1);
  }
  asio::io_context other;
  mode::use_clock(other, clock);
  std::vector<Wakeup> log;
  int done = 0;
  spawn(other, sleeper(1, 1, 1, &log), &done);
  other.poll();
  clock.advance(1, other);  // must not touch the first loop's queue
  EXPECT_EQ(done, 1);
}

TEST(ManualClock, UseClockAgainSwitchesBackToSteady) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  mode::use_clock(ctx, SteadyClock::instance());
  EXPECT_FALSE(TimerQueue::of(ctx.get_executor()).clock().manual());
  clock.advance(1, ctx);  // the loop's queue is no longer the clock's
}

// ---- timer slack ----

TEST(TimerSlack, DeadlinesWithinTheSlackFireEarlyOnAManualClock) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);  // a manual clock starts with no slack
  const auto t0 = clock.now();
  std::vector<Wakeup> log;
  int done = 0;
  spawn(ctx, sleeper(0.5, 1, 1, &log), &done);
  ctx.poll();
  clock.advance(0, ctx);
  EXPECT_TRUE(log.empty());
  mode::set_timer_slack(ctx, 1);
  clock.advance(0, ctx);
  EXPECT_EQ(log, (std::vector<Wakeup>{{1, t0, Wake::timed_out}}));
}

// Several deadlines within the slack of the earliest are all fired by its wake-up: when the first
// wait resumes, the others have completed too, each no earlier than its deadline minus the slack.
TEST(TimerSlack, CoalescesDeadlinesIntoOneWakeUpOnTheRealClock) {
  asio::io_context ctx;
  mode::set_timer_slack(ctx, 30ms);
  struct Seen {
    Clock::time_point first_woke{};
    Wake second = Wake::pending;
    Wake third = Wake::pending;
    Clock::time_point deadlines[3]{};
  };
  auto seen = std::make_shared<Seen>();
  auto body = [](std::shared_ptr<Seen> s) -> awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    const auto t0 = std::chrono::steady_clock::now();
    WaitOp a;
    WaitOp b;
    WaitOp c;
    s->deadlines[0] = t0 + 2ms;
    s->deadlines[1] = t0 + 10ms;
    s->deadlines[2] = t0 + 20ms;
    c.expire_at(s->deadlines[2], ex);
    a.expire_at(s->deadlines[0], ex);
    b.expire_at(s->deadlines[1], ex);
    const Wake first = co_await a.wait();
    s->first_woke = std::chrono::steady_clock::now();
    s->second = b.result();
    s->third = c.result();
    EXPECT_EQ(first, Wake::timed_out);
    const Wake second = co_await b.wait();
    const Wake third = co_await c.wait();
    EXPECT_EQ(second, Wake::timed_out);
    EXPECT_EQ(third, Wake::timed_out);
  }(seen);
  mode::testing::run(ctx, std::move(body));
  EXPECT_GE(seen->first_woke, seen->deadlines[0]);
  EXPECT_EQ(seen->second, Wake::timed_out) << "the second deadline did not share the wake-up";
  EXPECT_EQ(seen->third, Wake::timed_out) << "the third deadline did not share the wake-up";
}

// With no slack nothing fires before its deadline (whether or not the loop woke late).
TEST(TimerSlack, ZeroSlackNeverFiresEarly) {
  asio::io_context ctx;
  mode::set_timer_slack(ctx, 0);
  struct Seen {
    Clock::time_point first_woke{};
    Wake second = Wake::pending;
    Clock::time_point second_deadline{};
  };
  auto seen = std::make_shared<Seen>();
  auto body = [](std::shared_ptr<Seen> s) -> awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    const auto t0 = std::chrono::steady_clock::now();
    WaitOp a;
    WaitOp b;
    s->second_deadline = t0 + 30ms;
    a.expire_at(t0 + 1ms, ex);
    b.expire_at(s->second_deadline, ex);
    const Wake first = co_await a.wait();
    EXPECT_EQ(first, Wake::timed_out);
    s->first_woke = std::chrono::steady_clock::now();
    s->second = b.result();
    const Wake second = co_await b.wait();
    EXPECT_EQ(second, Wake::timed_out);
  }(seen);
  mode::testing::run(ctx, std::move(body));
  if (seen->second != Wake::pending) {
    EXPECT_GE(seen->first_woke, seen->second_deadline);
  }
}

TEST(TimerSlack, RealClockDeadlineFiresNoEarlierThanItsDeadline) {
  asio::io_context ctx;
  mode::set_timer_slack(ctx, 0);
  std::vector<Wakeup> log;
  const auto before = std::chrono::steady_clock::now();
  mode::testing::run(ctx, sleeper(0.005, 3, 1, &log));
  ASSERT_EQ(log.size(), 3u);
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].why, Wake::timed_out);
    EXPECT_GE(log[i].at, before + static_cast<int>(i + 1) * 5ms) << "wake-up " << i;
  }
}

}  // namespace
