// Tests of mode::Service's tasks, timers, futures, contexts and from_awaitable.
#include <mode/service.hpp>
#include <mode/testing.hpp>

#include "service_fixture.hpp"
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <vector>

namespace {

using namespace service_test;

// Tasks and timers.

struct Base : Service {
  explicit Base(std::vector<std::string>& log) : log_(log) {
    task(&Base::first, "first");
    task(&Base::second, "second");
  }
  virtual awaitable<void> first() {
    log_.push_back("Base.first");
    co_return;
  }
  awaitable<void> second() {
    log_.push_back("Base.second");
    co_return;
  }
  std::vector<std::string>& log_;
};

struct Derived : Base {
  explicit Derived(std::vector<std::string>& log) : Base(log) { task(&Derived::first, "first"); }
  awaitable<void> first() override {
    log_.push_back("Derived.first");
    co_return;
  }
};

TEST_F(ServiceTest, TasksStartInRegistrationOrderAndOverridesRunOnce) {
  std::vector<std::string> log;
  auto s = std::make_shared<Derived>(log);
  run(ctx, s->start());
  mode::testing::run_until(ctx, [&] { return log.size() == 2; });
  EXPECT_THAT(log, ElementsAre("Derived.first", "Base.second"));
  run(ctx, s->stop());
}

TEST_F(ServiceTest, TimerRunsOnAFixedScheduleOnTheManualClock) {
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  struct Ticker : Service {
    Ticker() {
      timer(1.0, &Ticker::tick, "tick");
      timer(0.5, &Ticker::atick, "atick");
    }
    void tick() { ++ticks; }
    awaitable<void> atick() {
      ++aticks;
      co_return;
    }
    int ticks = 0;
    int aticks = 0;
  };
  auto s = std::make_shared<Ticker>();
  run(ctx, s->start());
  clock.advance(0.999, ctx);
  EXPECT_EQ(s->ticks, 0);  // first after one interval, not two
  clock.advance(0.001, ctx);
  EXPECT_EQ(s->ticks, 1);
  clock.advance(9.0, ctx);
  EXPECT_EQ(s->ticks, 10);
  EXPECT_EQ(s->aticks, 20);
  run(ctx, s->stop());
  clock.advance(5.0, ctx);
  EXPECT_EQ(s->ticks, 10);
}

TEST_F(ServiceTest, TimerThatOverrunsLogsOverlapAndSkips) {
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  struct Slow : Service {
    explicit Slow(mode::ManualClock& c) : clock(c) { timer(1.0, &Slow::tick, "tick"); }
    awaitable<void> tick() {
      ++ticks;
      if (ticks == 2) co_await sleep(2.5);  // runs longer than the interval
    }
    mode::ManualClock& clock;
    int ticks = 0;
  };
  auto s = std::make_shared<Slow>(clock);
  run(ctx, s->start());
  clock.advance(6.0, ctx);
  EXPECT_THAT(cap.matching("overlapping"),
              ElementsAre("Timer Slow.tick is overlapping (interval=1.0 runtime=2.5)"));
  // Ticks at 1, 2 (runs until 4.5), then back on the grid at 5 and 6: the missed ticks at 3
  // and 4 are skipped, not fired in a burst.
  EXPECT_EQ(s->ticks, 4);
  run(ctx, s->stop());
}

TEST_F(ServiceTest, BadTimerIntervalIsRejected) {
  struct Bad : Service {
    explicit Bad(double interval) { timer(interval, &Bad::tick); }
    void tick() {}
  };
  EXPECT_THROW(Bad(0.0), std::invalid_argument);
  EXPECT_THROW(Bad(-1.0), std::invalid_argument);
}

TEST_F(ServiceTest, ItertimerYieldsSleepTimesUntilStop) {
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  struct Looper : Service {
    Looper() { task(&Looper::loop, "loop"); }
    awaitable<void> loop() {
      auto it = itertimer(1.0);
      for (;;) {
        const std::optional<double> t = co_await it.next();
        if (!t) break;
        slept.push_back(*t);
      }
      ended = true;
    }
    std::vector<double> slept;
    bool ended = false;
  };
  auto s = std::make_shared<Looper>();
  run(ctx, s->start());
  clock.advance(3.0, ctx);
  EXPECT_THAT(s->slept, ElementsAre(1.0, 1.0, 1.0));
  run(ctx, s->stop());
  EXPECT_TRUE(s->ended);
}

// Futures, contexts, from_awaitable.

TEST_F(ServiceTest, ContextsExitInReverseOrderSyncFirst) {
  struct Sync {
    std::vector<std::string>* log;
    std::string name;
    void enter() { log->push_back("enter " + name); }
    void exit() { log->push_back("exit " + name); }
  };
  struct Async {
    std::vector<std::string>* log;
    std::string name;
    awaitable<void> enter() {
      log->push_back("enter " + name);
      co_return;
    }
    awaitable<void> exit() {
      log->push_back("exit " + name);
      co_return;
    }
  };
  std::vector<std::string> log;
  auto s = std::make_shared<Service>();
  run(ctx, s->start());
  s->add_context(Sync{&log, "s1"});
  s->add_context(Sync{&log, "s2"});
  run(ctx, s->add_async_context(Async{&log, "a1"}));
  run(ctx, s->add_async_context(Async{&log, "a2"}));
  run(ctx, s->stop());
  EXPECT_THAT(log, ElementsAre("enter s1", "enter s2", "enter a1", "enter a2", "exit s2", "exit s1",
                               "exit a2", "exit a1"));
}

awaitable<void> throw_soon() {
  const auto ex = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer t(ex, 1ms);
  co_await t.async_wait(mode::use_awaitable);
  throw Boom();
}

TEST_F(ServiceTest, AddFutureIsJoinedAndCrashesOnError) {
  auto s = std::make_shared<Service>();
  run(ctx, s->start());
  int n = 0;
  const mode::FutureHandle counter = s->add_future(count_until_cancelled(&n), "counter");
  EXPECT_EQ(counter.name(), "counter");
  EXPECT_FALSE(counter.done());
  s->add_future(throw_soon(), "thrower");
  run(ctx, s->wait_until_stopped());
  EXPECT_TRUE(s->crashed());
  run(ctx, s->stop());
  EXPECT_TRUE(s->task_names().empty());
  EXPECT_TRUE(counter.done());
}

awaitable<void> count_to(int* n, int until) {
  while (*n < until) {
    const auto ex = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer t(ex, 1ms);
    co_await t.async_wait(mode::use_awaitable);
    ++*n;
  }
}

TEST_F(ServiceTest, AddFutureBeforeTheStartRunsWhenItStartsAndCanBeCancelled) {
  auto s = std::make_shared<Service>();
  int n = 0;
  int m = 0;
  const mode::FutureHandle early = s->add_future(count_to(&n, 3), "early");
  mode::FutureHandle dropped = s->add_future(count_to(&m, 3), "dropped");
  dropped.cancel();
  EXPECT_TRUE(dropped.done());
  EXPECT_FALSE(early.done());
  mode::testing::poll(ctx);
  EXPECT_EQ(n, 0);  // not before the start
  run(ctx, s->start());
  mode::testing::run_until(ctx, [&] { return early.done(); });
  EXPECT_EQ(n, 3);
  EXPECT_EQ(m, 0);
  int k = 0;
  mode::FutureHandle running = s->add_future(count_until_cancelled(&k), "running");
  mode::testing::run_until(ctx, [&] { return k >= 1; });
  running.cancel();
  mode::testing::run_until(ctx, [&] { return running.done(); });
  EXPECT_FALSE(s->crashed());
  run(ctx, s->stop());
}

awaitable<void> sleep_on_timer(int* ended, std::chrono::milliseconds d) {
  const auto ex = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer t(ex, d);
  co_await t.async_wait(mode::use_awaitable);
  ++*ended;
}

TEST_F(ServiceTest, FromAwaitableStartAwaitsIt) {
  int n = 0;
  auto s = Service::from_awaitable(count_to(&n, 3), "counter");
  EXPECT_EQ(s->label(), "counter");
  run(ctx, s->start());
  EXPECT_EQ(n, 3);  // start returned once it finished
  run(ctx, s->stop());
  EXPECT_FALSE(s->crashed());

  auto failing = Service::from_awaitable(throw_soon(), "failing");
  EXPECT_THROW(run(ctx, failing->start()), Boom);
  EXPECT_TRUE(failing->crashed());
}

TEST_F(ServiceTest, FromAwaitableStopCancelsIt) {
  int ended = 0;
  auto s = Service::from_awaitable(sleep_on_timer(&ended, 1h), "sleeper");
  auto start = mode::testing::spawn(ctx, s->start());
  mode::testing::poll(ctx);
  EXPECT_FALSE(start->finished);
  run(ctx, s->stop());
  mode::testing::run_until(ctx, [&] { return start->finished; });
  EXPECT_FALSE(start->error);  // the stop's cancellation is not an error of the start
  EXPECT_EQ(ended, 0);
  EXPECT_FALSE(s->crashed());
  EXPECT_EQ(s->state(), "shutdown");
}

TEST_F(ServiceTest, FromAwaitableCancelledByOthersThrowsFromStart) {
  boost::asio::steady_timer timer(ctx, 1h);
  auto wait_timer = [](boost::asio::steady_timer* t) -> awaitable<void> {
    co_await t->async_wait(mode::use_awaitable);
  };
  auto s = Service::from_awaitable(wait_timer(&timer), "timer");
  auto start = mode::testing::spawn(ctx, s->start());
  mode::testing::poll(ctx);
  timer.cancel();
  mode::testing::run_until(ctx, [&] { return start->finished; });
  EXPECT_TRUE(mode::testing::is_cancellation(start->error));
  EXPECT_TRUE(cap.matching("Crashed").empty());  // a cancellation is not a crash
  run(ctx, s->stop());
}

TEST_F(ServiceTest, ItertimerGivesNothingWhenTheStopLandsWithTheWakeUp) {
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  struct Looper : Service {
    Looper() {
      task(&Looper::crasher, "crasher");
      task(&Looper::loop, "loop");
    }
    awaitable<void> loop() {
      auto it = itertimer(1.0);
      for (;;) {
        const std::optional<double> t = co_await it.next();
        if (!t) break;
        ++ticks;
      }
    }
    // Wakes just before the second tick, within the timer slack: both wake-ups resume in the
    // same pass of the loop, this one first, so the service crashes in between.
    awaitable<void> crasher() {
      const bool slept = co_await sleep(1.9999);
      if (slept) throw Boom();
    }
    int ticks = 0;
  };
  auto s = std::make_shared<Looper>();
  run(ctx, s->start());
  clock.advance(1.0, ctx);
  EXPECT_EQ(s->ticks, 1);
  clock.advance(1.0, ctx);
  EXPECT_TRUE(s->crashed());
  EXPECT_EQ(s->ticks, 1);
  run(ctx, s->stop());
}

TEST_F(ServiceTest, TimerWithExecFirstRunsAtOnceThenEveryInterval) {
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  struct Ticker : Service {
    Ticker() { timer(1.0, &Ticker::tick, "tick", /*exec_first=*/true); }
    void tick() { ++ticks; }
    int ticks = 0;
  };
  auto s = std::make_shared<Ticker>();
  run(ctx, s->start());
  EXPECT_EQ(s->ticks, 1);
  clock.advance(0.999, ctx);
  EXPECT_EQ(s->ticks, 1);
  clock.advance(0.001, ctx);
  EXPECT_EQ(s->ticks, 2);
  clock.advance(3.0, ctx);
  EXPECT_EQ(s->ticks, 5);
  run(ctx, s->stop());
}

}  // namespace
