// Tests of mode::Service's waits: sleep, wait*, wait_for_shutdown, hung stops and the report of
// where each coroutine is suspended.
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
using ::testing::AllOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Each wait of the service says what it is and where it was called (the SIGUSR1 report's
// SUSPENDED lines).
class Suspends : public Service {
 public:
  Suspends() {
    task(&Suspends::sleeper, "sleeper");
    task(&Suspends::waiter, "waiter");
    timer(2.0, &Suspends::tick, "tick");
  }
  awaitable<void> sleeper() {
    sleep_line = __LINE__ + 1;
    const bool slept = co_await sleep(30.0);
    (void)slept;
  }
  awaitable<void> waiter() {
    wait_line = __LINE__ + 1;
    const mode::WaitResult<void> r = co_await wait(event, 5.0);
    (void)r;
  }
  int sleep_line = 0;
  int wait_line = 0;
  void tick() {}
  mode::Event event;
};

TEST_F(ServiceTest, SuspensionsSayWhatWaitsWhereWithTheTimeLeft) {
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  auto s = std::make_shared<Suspends>();
  EXPECT_TRUE(s->suspensions().empty());
  run(ctx, s->start());
  clock.advance(0.5, ctx);
  // The function is named as the compiler names it (g++ and clang differ).
  EXPECT_THAT(
      s->suspensions(),
      ElementsAre(AllOf(StartsWith("sleep (29.5 s left) in "), HasSubstr("Suspends::sleeper()"),
                        EndsWith(fmt::format(" at service_waits_test.cpp:{}", s->sleep_line))),
                  AllOf(StartsWith("wait(Event) (4.5 s left) in "), HasSubstr("Suspends::waiter()"),
                        EndsWith(fmt::format(" at service_waits_test.cpp:{}", s->wait_line))),
                  "timer Suspends.tick (1.5 s left)"));
  s->event.set();
  mode::testing::poll(ctx);
  EXPECT_EQ(s->suspensions().size(), 2u);
  run(ctx, s->stop());
  EXPECT_TRUE(s->suspensions().empty());
}

TEST_F(ServiceTest, AStopHungJoiningTasksNamesTheTasks) {
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  struct Stubborn : Service {
    Stubborn() { task(&Stubborn::stubborn, "stubborn"); }
    awaitable<void> stubborn() { return hang_ignoring_cancellation(); }
  };
  auto s = std::make_shared<Stubborn>();
  s->shutdown_timeout = 5.0;
  run(ctx, s->start());
  bool stopped = false;
  boost::asio::co_spawn(ctx, s->stop(), [&](std::exception_ptr) { stopped = true; });
  clock.advance(5.1, ctx);
  EXPECT_TRUE(stopped);
  EXPECT_THAT(cap.matching("Stop did not finish"),
              ElementsAre("[^Stubborn]: Stop did not finish within 5s; still waiting for: "
                          "Stubborn in joining tasks (stubborn)"));
  ctx.stop();
}

TEST_F(ServiceTest, StopReturnsWithinShutdownTimeoutWhenOnStopHangs) {
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  struct Hangs : Service {
    awaitable<void> on_stop() override { return hang_ignoring_cancellation(); }
  };
  auto s = std::make_shared<Hangs>();
  s->shutdown_timeout = 5.0;
  run(ctx, s->start());
  bool stopped = false;
  boost::asio::co_spawn(ctx, s->stop(), [&](std::exception_ptr) { stopped = true; });
  clock.advance(4.9, ctx);
  EXPECT_FALSE(stopped);
  clock.advance(0.2, ctx);
  EXPECT_TRUE(stopped);
  EXPECT_THAT(cap.matching("Stop did not finish"),
              ElementsAre("[^Hangs]: Stop did not finish within 5s; still waiting for: Hangs in "
                          "on_stop"));
  ctx.stop();
}

TEST_F(ServiceTest, WaitForShutdownWaitsForTheFlag) {
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  struct Flusher : Service {
    Flusher() {
      wait_for_shutdown = true;
      task(&Flusher::run, "run");
    }
    awaitable<void> run() {
      co_await wait_until_stopped();
      set_shutdown();  // e.g. after flushing what was buffered
    }
  };
  auto quick = std::make_shared<Flusher>();
  run(ctx, quick->start());
  run(ctx, quick->stop());
  EXPECT_EQ(quick->state(), "shutdown");
  EXPECT_THAT(cap.matching("Waiting for shutdown"),
              ElementsAre("[^Flusher]: Waiting for shutdown"));

  // A flag that never comes: stop gives up after shutdown_timeout and says so.
  struct Never : Service {
    Never() {
      wait_for_shutdown = true;
      shutdown_timeout = 3.0;
    }
  };
  auto never = std::make_shared<Never>();
  run(ctx, never->start());
  bool stopped = false;
  boost::asio::co_spawn(ctx, never->stop(), [&](std::exception_ptr) { stopped = true; });
  clock.advance(2.9, ctx);
  EXPECT_FALSE(stopped);
  clock.advance(0.1, ctx);
  EXPECT_TRUE(stopped);
  EXPECT_THAT(cap.matching("Shutdown flag"),
              ElementsAre("[^Never]: Shutdown flag not set within 3s"));
}

TEST_F(ServiceTest, TaskIgnoringStopIsCancelledAndJoined) {
  struct Reader : Service {
    Reader() { task(&Reader::read, "read"); }
    awaitable<void> read() {
      // Blocked in a plain Asio operation that knows nothing of the service.
      const auto ex = co_await boost::asio::this_coro::executor;
      boost::asio::steady_timer t(ex, 1h);
      co_await t.async_wait(mode::use_awaitable);
    }
  };
  auto s = std::make_shared<Reader>();
  run(ctx, s->start());
  EXPECT_EQ(s->task_names(), std::vector<std::string>{"read"});
  run(ctx, s->stop());
  EXPECT_TRUE(s->task_names().empty());
  EXPECT_FALSE(s->crashed());
  EXPECT_TRUE(cap.matching("Crashed").empty());
  EXPECT_TRUE(cap.matching("Terminating").empty());
}

TEST_F(ServiceTest, TaskCancelledWhileRunningIsLoggedNotCrashed) {
  struct Canceller : Service {
    Canceller() { task(&Canceller::work, "work"); }
    awaitable<void> work() {
      throw boost::system::system_error(boost::asio::error::operation_aborted);
      co_return;
    }
  };
  auto s = std::make_shared<Canceller>();
  run(ctx, s->start());
  mode::testing::run_until(ctx, [&] { return s->task_names().empty(); });
  EXPECT_FALSE(s->crashed());
  EXPECT_THAT(cap.matching("Terminating"),
              ElementsAre("[^Canceller]: Terminating cancelled task: work"));
  run(ctx, s->stop());
}

// Waiting.

TEST_F(ServiceTest, SleepReturnsFalseAtOnceOnStop) {
  struct Sleeper : Service {
    Sleeper() { task(&Sleeper::nap, "nap"); }
    awaitable<void> nap() {
      const bool slept = co_await sleep(3600.0);
      result = slept;
    }
    std::optional<bool> result;
  };
  auto s = std::make_shared<Sleeper>();
  run(ctx, s->start());
  const auto before = std::chrono::steady_clock::now();
  run(ctx, s->stop());
  EXPECT_LT(std::chrono::steady_clock::now() - before, 30s);  // not the hour
  EXPECT_EQ(s->result, false);
  EXPECT_FALSE(run(ctx, s->sleep(1.0)));
}

// Handlers the loop runs until `a`, spawned from outside the loop, completes.
int handlers_until_done(boost::asio::io_context& ctx, awaitable<void> a) {
  ctx.restart();
  bool done = false;
  boost::asio::co_spawn(ctx, std::move(a), [&](std::exception_ptr e) {
    EXPECT_EQ(e, nullptr);
    done = true;
  });
  int handlers = 0;
  while (!done && ctx.run_one() > 0) ++handlers;
  EXPECT_TRUE(done);
  return handlers;
}

// The stop of each child wakes its task and lets it leave: those wake-ups resume in the loop's
// batches, so stopping a wide tree costs a few passes of the loop, not one or two per child.
TEST_F(ServiceTest, StoppingAWideTreeOfSleepersTakesFewLoopPasses) {
  struct Sleeper : Service {
    Sleeper() { task(&Sleeper::nap, "nap"); }
    awaitable<void> nap() {
      const bool slept = co_await sleep(3600.0);
      woke_early = !slept;
    }
    bool woke_early = false;
  };
  constexpr int kChildren = 100;
  auto root = std::make_shared<Service>();
  std::vector<std::shared_ptr<Sleeper>> children;
  for (int i = 0; i < kChildren; ++i) {
    children.push_back(std::make_shared<Sleeper>());
    root->add_dependency(children.back());
  }
  run(ctx, root->start());
  EXPECT_LT(handlers_until_done(ctx, root->stop()), 10);
  for (const auto& child : children) EXPECT_TRUE(child->woke_early);
}

// stop() runs the stop in a coroutine of its own (to give up on it after shutdown_timeout); a
// stop with nothing to wait for must still cost no more loop passes than an empty coroutine.
TEST_F(ServiceTest, AStopThatNeverWaitsCostsNoExtraLoopPass) {
  const int empty = handlers_until_done(ctx, []() -> awaitable<void> { co_return; }());
  auto s = std::make_shared<Service>();
  run(ctx, s->start());
  EXPECT_EQ(handlers_until_done(ctx, s->stop()), empty);
  EXPECT_EQ(s->state(), "shutdown");
}

TEST_F(ServiceTest, SleepOnTheManualClockSleepsFully) {
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  auto s = std::make_shared<Service>();
  run(ctx, s->start());
  std::optional<bool> slept;
  boost::asio::co_spawn(ctx, s->sleep(2.0), [&](std::exception_ptr, bool b) { slept = b; });
  clock.advance(1.9, ctx);
  EXPECT_FALSE(slept);
  clock.advance(0.1, ctx);
  EXPECT_EQ(slept, true);
  run(ctx, s->stop());
}

TEST_F(ServiceTest, WaitOnAnEvent) {
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  auto s = std::make_shared<Service>();
  run(ctx, s->start());
  mode::Event ev;
  std::optional<mode::WaitResult<void>> r;
  boost::asio::co_spawn(ctx, s->wait(ev, 5.0),
                        [&](std::exception_ptr, mode::WaitResult<void> x) { r = x; });
  clock.advance(1.0, ctx);
  EXPECT_FALSE(r);
  EXPECT_EQ(ev.waiters(), 1u);
  ev.set();
  ctx.restart();
  ctx.poll();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->done);
  EXPECT_FALSE(r->stopped);
  EXPECT_EQ(ev.waiters(), 0u);

  // Already set: at once. Timed out: timed_out, not stopped.
  EXPECT_TRUE(run(ctx, s->wait(ev)).done);
  ev.clear();
  r.reset();
  boost::asio::co_spawn(ctx, s->wait(ev, 5.0),
                        [&](std::exception_ptr, mode::WaitResult<void> x) { r = x; });
  clock.advance(5.0, ctx);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->done);
  EXPECT_TRUE(r->timed_out);
  EXPECT_FALSE(r->stopped);

  // Stop: stopped.
  r.reset();
  boost::asio::co_spawn(ctx, s->wait(ev),
                        [&](std::exception_ptr, mode::WaitResult<void> x) { r = x; });
  ctx.poll();
  run(ctx, s->stop());
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->stopped);
  EXPECT_FALSE(r->timed_out);
  EXPECT_TRUE(run(ctx, s->wait_for_stopped(ev)));
}

TEST_F(ServiceTest, WaitOnAnAwaitable) {
  auto s = std::make_shared<Service>();
  run(ctx, s->start());
  const auto r = run(ctx, s->wait(answer_after(1ms, 42)));
  EXPECT_EQ(r.result, 42);
  EXPECT_FALSE(r.stopped);
  EXPECT_FALSE(r.timed_out);

  const auto slow = run(ctx, s->wait(answer_after(1h, 1), 0.01));
  EXPECT_FALSE(slow.result);
  EXPECT_TRUE(slow.timed_out);
  EXPECT_FALSE(slow.stopped);

  EXPECT_THROW(run(ctx, s->wait(fail_after(1ms))), Boom);
  EXPECT_FALSE(s->crashed());  // the waiter got the error; the service did not crash

  std::optional<mode::WaitResult<int>> stopped;
  boost::asio::co_spawn(ctx, s->wait(answer_after(1h, 1)),
                        [&](std::exception_ptr, mode::WaitResult<int> x) { stopped = x; });
  ctx.poll();
  run(ctx, s->stop());
  ASSERT_TRUE(stopped);
  EXPECT_TRUE(stopped->stopped);
  EXPECT_TRUE(s->task_names().empty());  // the cancelled awaitable was joined
}

TEST_F(ServiceTest, WaitFirstAndWaitMany) {
  auto s = std::make_shared<Service>();
  run(ctx, s->start());
  std::vector<awaitable<int>> xs;
  xs.push_back(answer_after(1h, 1));
  xs.push_back(answer_after(1ms, 2));
  const auto first = run(ctx, s->wait_first(std::move(xs)));
  EXPECT_THAT(first.done, ElementsAre(1u));
  EXPECT_THAT(first.results, ElementsAre(2));
  mode::testing::run_until(ctx, [&] { return s->task_names().empty(); });  // loser cancelled

  std::vector<awaitable<int>> all;
  all.push_back(answer_after(2ms, 1));
  all.push_back(answer_after(1ms, 2));
  const auto many = run(ctx, s->wait_many(std::move(all)));
  ASSERT_TRUE(many.result);
  EXPECT_THAT(*many.result, ElementsAre(1, 2));

  std::vector<awaitable<int>> slow;
  slow.push_back(answer_after(1ms, 1));
  slow.push_back(answer_after(1h, 2));
  const auto timed = run(ctx, s->wait_many(std::move(slow), 0.02));
  EXPECT_FALSE(timed.result);
  EXPECT_TRUE(timed.timed_out);
  run(ctx, s->stop());
  EXPECT_TRUE(run(ctx, s->wait_first(std::vector<awaitable<int>>{})).stopped);
}

awaitable<void> count_after(boost::asio::steady_timer::duration d, int* n) {
  (void)co_await answer_after(d, 0);
  ++*n;
}

// Ends only when cancelled, and then not at once: it shrugs off the cancellation and ends
// normally a moment later, as code that ignores cancellation does.
awaitable<void> finish_regardless(int* n) {
  const auto ex = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer t(ex, 1h);
  try {
    co_await t.async_wait(mode::use_awaitable);
  } catch (...) {
  }
  co_await boost::asio::this_coro::reset_cancellation_state();
  boost::asio::steady_timer again(ex, 1ms);
  co_await again.async_wait(mode::use_awaitable);
  ++*n;
}

TEST_F(ServiceTest, AnItemThatEndsAfterItsWaitReturnedIsHarmless) {
  auto s = std::make_shared<Service>();
  run(ctx, s->start());
  int late = 0;
  int quick = 0;
  std::vector<awaitable<void>> xs;
  xs.push_back(finish_regardless(&late));
  xs.push_back(count_after(1ms, &quick));
  const auto first = run(ctx, s->wait_first(std::move(xs)));
  EXPECT_THAT(first.done, ElementsAre(1u));
  // The loser shrugs off its cancellation and ends normally, after the waiter has returned.
  mode::testing::run_until(ctx, [&] { return late == 1; });
  EXPECT_TRUE(s->task_names().empty());
  run(ctx, s->stop());
}

TEST_F(ServiceTest, WaitOnVoidAwaitables) {
  auto s = std::make_shared<Service>();
  run(ctx, s->start());
  int n = 0;
  const mode::WaitResult<void> one = run(ctx, s->wait(count_after(1ms, &n)));
  EXPECT_TRUE(one.done);
  EXPECT_EQ(n, 1);
  std::vector<awaitable<void>> both;
  both.push_back(count_after(2ms, &n));
  both.push_back(count_after(1ms, &n));
  const auto many = run(ctx, s->wait_many(std::move(both)));
  ASSERT_TRUE(many.result);
  EXPECT_EQ(many.result->size(), 2u);
  EXPECT_EQ(n, 3);
  std::vector<awaitable<void>> race;
  race.push_back(count_after(1h, &n));
  race.push_back(count_after(1ms, &n));
  const auto first = run(ctx, s->wait_first(std::move(race)));
  EXPECT_THAT(first.done, ElementsAre(1u));
  EXPECT_EQ(n, 4);
  EXPECT_FALSE(run(ctx, s->wait_for_stopped(count_after(1ms, &n))));
  run(ctx, s->stop());
  EXPECT_EQ(n, 5);
}

TEST_F(ServiceTest, WaitForStoppedAndWaitUntilStopped) {
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  auto s = std::make_shared<Service>();
  run(ctx, s->start());
  std::optional<bool> by_timeout;
  boost::asio::co_spawn(ctx, s->wait_for_stopped(1.0),
                        [&](std::exception_ptr, bool b) { by_timeout = b; });
  clock.advance(1.0, ctx);
  EXPECT_EQ(by_timeout, false);
  bool until = false;
  boost::asio::co_spawn(ctx, s->wait_until_stopped(), [&](std::exception_ptr) { until = true; });
  ctx.poll();
  EXPECT_FALSE(until);
  run(ctx, s->stop());
  EXPECT_TRUE(until);
  EXPECT_TRUE(run(ctx, s->wait_for_stopped(std::nullopt)));
}

TEST_F(ServiceTest, CrashWakesSleepers) {
  struct Sleeper : Service {
    Sleeper() { task(&Sleeper::nap, "nap"); }
    awaitable<void> nap() {
      const bool slept = co_await sleep(3600.0);
      result = slept;
    }
    std::optional<bool> result;
  };
  auto s = std::make_shared<Sleeper>();
  run(ctx, s->start());
  s->crash(std::make_exception_ptr(Boom()));
  mode::testing::run_until(ctx, [&] { return s->result.has_value(); });
  EXPECT_EQ(s->result, false);
  run(ctx, s->stop());
}

awaitable<int> wait_on(boost::asio::steady_timer* t) {
  co_await t->async_wait(mode::use_awaitable);
  co_return 1;
}
TEST_F(ServiceTest, WaitRethrowsACancellationThatIsNotItsOwn) {
  auto s = std::make_shared<Service>();
  run(ctx, s->start());
  for (const bool first : {false, true}) {
    boost::asio::steady_timer timer(ctx, 1h);
    auto waiting = [](std::shared_ptr<Service> s, boost::asio::steady_timer* t,
                      bool first) -> awaitable<void> {
      if (first) {
        std::vector<awaitable<int>> xs;
        xs.push_back(wait_on(t));
        const auto r = co_await s->wait_first(std::move(xs));
        (void)r;
      } else {
        const auto r = co_await s->wait(wait_on(t));
        (void)r;
      }
    };
    auto out = mode::testing::spawn(ctx, waiting(s, &timer, first));
    mode::testing::poll(ctx);
    timer.cancel();  // by someone else than the wait
    mode::testing::run_until(ctx, [&] { return out->finished; });
    EXPECT_TRUE(mode::testing::is_cancellation(out->error)) << first;
  }
  EXPECT_FALSE(s->crashed());
  run(ctx, s->stop());
}

// A task that loops on sleep without reading its result: once stopping, each sleep gives the
// loop a turn, so the stop's cancellation reaches the task instead of it spinning forever.
TEST_F(ServiceTest, ATaskLoopingOnStoppedWaitsMeetsTheCancellation) {
  struct Spinner : Service {
    Spinner() {
      task(&Spinner::on_sleep, "sleep");
      task(&Spinner::on_wait, "wait");
    }
    awaitable<void> on_sleep() {
      for (;;) {
        const bool slept = co_await sleep(0.1);
        (void)slept;
        ++spins;
      }
    }
    awaitable<void> on_wait() {
      for (;;) {
        const bool stopped = co_await wait_for_stopped(0.1);
        (void)stopped;
        ++spins;
      }
    }
    int spins = 0;
  };
  auto s = std::make_shared<Spinner>();
  run(ctx, s->start());
  run(ctx, s->stop(), 10s);
  EXPECT_TRUE(s->task_names().empty());
  EXPECT_LT(s->spins, 100);
  EXPECT_TRUE(cap.matching("Tasks still running").empty());
}

// Every way a Mode user tests a sleep, in a task of a service that is not the first base of its
// class, so that a wrong `this` or a destructor run twice shows (under ASan too). On g++ 12 only
// a braced initializer inside a co_await expression is miscompiled; none of these forms has one.
struct OtherBase {
  virtual ~OtherBase() = default;
  long pad[3] = {};
};

struct Ticks {
  Ticks(bool slept, int& ticks) {
    if (slept) ++ticks;
  }
};

class SleepForms : public OtherBase, public Service {
 public:
  explicit SleepForms(int form) : form_(form) { task(&SleepForms::run, "run"); }
  int ticks = 0;
  bool ended = false;  // the task saw the sleep cut short by the stop
  std::string tag = "intact";

 private:
  awaitable<void> run() {
    switch (form_) {
      case 0:
        for (;;) {
          if (!co_await sleep(1.0)) break;
          ++ticks;
        }
        break;
      case 1:
        while (co_await sleep(1.0)) ++ticks;
        break;
      case 2:
        for (;;) {
          if (co_await sleep(1.0))
            ++ticks;
          else
            break;
        }
        break;
      case 3:
        for (int slept = 1; slept;) {
          slept = co_await sleep(1.0) ? 1 : 0;
          ticks += slept;
        }
        break;
      case 4:
        while (co_await sleep(1.0) && !should_stop()) ++ticks;
        break;
      case 5:
        for (;;) {
          const int before = ticks;
          Ticks counted(co_await sleep(1.0), ticks);  // in constructor arguments
          if (ticks == before) break;
        }
        break;
      case 6:
        for (std::vector<bool> slept;;) {
          slept.push_back(co_await sleep(1.0));  // as a call argument
          if (!slept.back()) break;
          ++ticks;
        }
        break;
    }
    ended = true;
  }
  int form_;
};

class SleepFormTest : public ServiceTest, public ::testing::WithParamInterface<int> {};

TEST_P(SleepFormTest, EachFormSeesItsSleepsAndTheStop) {
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  auto s = std::make_shared<SleepForms>(GetParam());
  run(ctx, s->start());
  for (int i = 0; i < 3; ++i) clock.advance(1.0, ctx);
  EXPECT_EQ(s->ticks, 3);
  EXPECT_FALSE(s->ended);
  run(ctx, s->stop());
  EXPECT_TRUE(s->ended);
  EXPECT_EQ(s->ticks, 3);
  EXPECT_EQ(s->tag, "intact");
}

INSTANTIATE_TEST_SUITE_P(CoAwaitForms, SleepFormTest, ::testing::Range(0, 7));

}  // namespace
