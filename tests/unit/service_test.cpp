// Tests of mode::Service: the manual's ordering tables, crash paths, waits, children, contexts.
#include <mode/service.hpp>
#include <mode/testing.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <vector>

namespace {

using mode::awaitable;
using mode::Service;
using mode::testing::LogCapture;
using mode::testing::run;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using namespace std::chrono_literals;

/// Records each callback as "<label>.<callback>" in the capture, between the log lines.
class Recorder : public Service {
 public:
  Recorder(LogCapture& cap, std::string name) : cap_(cap), name_(std::move(name)) {}
  std::string label() const override { return name_; }

 protected:
  void on_init() override { note("on_init"); }
  awaitable<void> on_first_start() override {
    note("on_first_start");
    co_return;
  }
  awaitable<void> on_start() override {
    note("on_start");
    co_return;
  }
  awaitable<void> on_started() override {
    note("on_started");
    co_return;
  }
  awaitable<void> on_stop() override {
    note("on_stop");
    co_return;
  }
  awaitable<void> on_shutdown() override {
    note("on_shutdown");
    co_return;
  }
  awaitable<void> on_restart() override {
    note("on_restart");
    co_return;
  }
  void note(std::string_view what) { cap_.record(name_ + "." + std::string(what)); }

  LogCapture& cap_;
  std::string name_;
};

struct Tree {
  explicit Tree(LogCapture& cap)
      : root(std::make_shared<Recorder>(cap, "Root")),
        a(std::make_shared<Recorder>(cap, "A")),
        b(std::make_shared<Recorder>(cap, "B")),
        c(std::make_shared<Recorder>(cap, "C")) {
    b->add_dependency(c);
    root->add_dependency(b);
    root->add_dependency(a);
  }
  std::shared_ptr<Recorder> root, a, b, c;
};

class ServiceTest : public ::testing::Test {
 protected:
  boost::asio::io_context ctx;
  LogCapture cap;
};

TEST_F(ServiceTest, StartOrderFollowsTheManual) {
  Tree t(cap);
  run(ctx, t.root->start());
  EXPECT_THAT(
      cap.lines(),
      ElementsAre("Root.on_init", "Root.on_first_start", "[^Root]: Starting...", "Root.on_start",
                  "B.on_init", "B.on_first_start", "[^-B]: Starting...", "B.on_start", "C.on_init",
                  "C.on_first_start", "[^--C]: Starting...", "C.on_start", "[^--C]: Started.",
                  "C.on_started", "[^-B]: Started.", "B.on_started", "A.on_init",
                  "A.on_first_start", "[^-A]: Starting...", "A.on_start", "[^-A]: Started.",
                  "A.on_started", "[^Root]: Started.", "Root.on_started"));
  EXPECT_EQ(t.root->state(), "running");
  EXPECT_EQ(t.c->state(), "running");
  run(ctx, t.root->stop());
}

TEST_F(ServiceTest, StopOrderFollowsTheManual) {
  Tree t(cap);
  run(ctx, t.root->start());
  cap.clear();
  run(ctx, t.root->stop());
  const std::vector<std::string> expected = {"[^Root]: Stopping...",        "Root.on_stop",
                                             "[^-A]: Stopping...",          "A.on_stop",
                                             "[^-A]: Shutting down...",     "A.on_shutdown",
                                             "[^-A]: Shutdown complete!",   "[^-A]: -Stopped!",
                                             "[^-B]: Stopping...",          "B.on_stop",
                                             "[^--C]: Stopping...",         "C.on_stop",
                                             "[^--C]: Shutting down...",    "C.on_shutdown",
                                             "[^--C]: Shutdown complete!",  "[^--C]: -Stopped!",
                                             "[^-B]: Shutting down...",     "B.on_shutdown",
                                             "[^-B]: Shutdown complete!",   "[^-B]: -Stopped!",
                                             "[^Root]: Shutting down...",   "Root.on_shutdown",
                                             "[^Root]: Shutdown complete!", "[^Root]: -Stopped!"};
  EXPECT_THAT(cap.lines(), ElementsAreArray(expected));
  EXPECT_EQ(t.root->state(), "shutdown");
  EXPECT_EQ(t.c->state(), "shutdown");
}

TEST_F(ServiceTest, RestartOrderFollowsTheManual) {
  Tree t(cap);
  run(ctx, t.root->start());
  run(ctx, t.root->stop());
  cap.clear();
  run(ctx, t.root->restart());
  EXPECT_THAT(cap.lines(), ElementsAre("Root.on_init", "Root.on_restart", "[^Root]: Starting...",
                                       "Root.on_start", "[^-B]: Starting...", "B.on_start",
                                       "[^--C]: Starting...", "C.on_start", "[^--C]: Started.",
                                       "C.on_started", "[^-B]: Started.", "B.on_started",
                                       "[^-A]: Starting...", "A.on_start", "[^-A]: Started.",
                                       "A.on_started", "[^Root]: Started.", "Root.on_started"));
  EXPECT_EQ(t.root->restart_count(), 1u);
  EXPECT_EQ(t.c->restart_count(), 1u);
  run(ctx, t.root->stop());
}

TEST_F(ServiceTest, RestartOfARunningServiceStopsItFirst) {
  Tree t(cap);
  run(ctx, t.root->start());
  cap.clear();
  run(ctx, t.root->restart());
  const auto lines = cap.lines();
  EXPECT_EQ(lines.front(), "[^Root]: Stopping...");
  EXPECT_EQ(lines.back(), "Root.on_started");
  EXPECT_EQ(t.root->state(), "running");
  run(ctx, t.root->stop());
}

TEST_F(ServiceTest, StatesAndMaybeStart) {
  auto s = std::make_shared<Service>();
  EXPECT_EQ(s->state(), "init");
  EXPECT_FALSE(s->started());
  EXPECT_TRUE(run(ctx, s->maybe_start()));
  EXPECT_FALSE(run(ctx, s->maybe_start()));
  EXPECT_EQ(s->state(), "running");
  EXPECT_FALSE(s->should_stop());
  EXPECT_THROW(run(ctx, s->start()), std::logic_error);
  run(ctx, s->stop());
  EXPECT_TRUE(s->should_stop());
  EXPECT_EQ(s->state(), "shutdown");
  EXPECT_EQ(s->label(), "Service");
  EXPECT_EQ(s->shortlabel(), "Service");
}

TEST_F(ServiceTest, StoppingTwiceStopsOnce) {
  Tree t(cap);
  run(ctx, t.root->start());
  cap.clear();
  run(ctx, t.root->stop());
  run(ctx, t.root->stop());
  EXPECT_EQ(cap.matching("Root.on_stop").size(), 1u);
}

TEST_F(ServiceTest, ConcurrentStopWaitsForTheFirst) {
  struct Slow : Recorder {
    using Recorder::Recorder;
    awaitable<void> on_shutdown() override {
      const auto ex =
          co_await boost::asio::this_coro::executor;
      boost::asio::steady_timer t(ex, 20ms);
      co_await t.async_wait(mode::use_awaitable);
      note("on_shutdown");
    }
  };
  auto s = std::make_shared<Slow>(cap, "Slow");
  run(ctx, s->start());
  bool first_done = false;
  boost::asio::co_spawn(ctx, s->stop(), [&](std::exception_ptr) { first_done = true; });
  run(ctx, s->stop());
  EXPECT_EQ(s->state(), "shutdown");
  EXPECT_EQ(cap.matching("Slow.on_shutdown").size(), 1u);
  mode::testing::run_until(ctx, [&] { return first_done; });
}

TEST_F(ServiceTest, StopOfANeverStartedServiceStopsItsChildren) {
  Tree t(cap);
  run(ctx, t.root->stop());
  EXPECT_EQ(t.root->state(), "init");
  EXPECT_EQ(cap.matching("C.on_stop").size(), 1u);
}

// Crash paths.

struct Boom : std::runtime_error {
  Boom() : std::runtime_error("boom") {}
};

TEST_F(ServiceTest, OnStartThrowingCrashesStopsAndRethrows) {
  struct Failing : Recorder {
    using Recorder::Recorder;
    awaitable<void> on_start() override {
      note("on_start");
      if (restart_count() == 0) throw Boom();  // fails the first time only
      co_return;
    }
  };
  auto s = std::make_shared<Failing>(cap, "Failing");
  EXPECT_THROW(run(ctx, s->start()), Boom);
  EXPECT_TRUE(s->crashed());
  EXPECT_EQ(s->state(), "crashed");
  EXPECT_THAT(cap.matching("Crashed"),
              ElementsAre("[^Failing]: Crashed reason=(anonymous namespace)::Boom('boom')"));
  EXPECT_EQ(cap.matching("Failing.on_stop").size(), 1u);
  EXPECT_TRUE(cap.matching("Started.").empty());
  // A crashed service does not start again without a reset.
  EXPECT_THROW(run(ctx, s->start()), std::logic_error);
  run(ctx, s->restart());
  EXPECT_FALSE(s->crashed());
  EXPECT_EQ(s->crash_reason(), nullptr);
  EXPECT_EQ(s->state(), "running");
  run(ctx, s->stop());
}

TEST_F(ServiceTest, ChildFailingToStartStopsTheTree) {
  struct Failing : Recorder {
    using Recorder::Recorder;
    awaitable<void> on_start() override {
      throw Boom();
      co_return;
    }
  };
  auto root = std::make_shared<Recorder>(cap, "Root");
  auto first = root->add_dependency(std::make_shared<Recorder>(cap, "First"));
  auto bad = root->add_dependency(std::make_shared<Failing>(cap, "Bad"));
  auto never = root->add_dependency(std::make_shared<Recorder>(cap, "Never"));
  EXPECT_THROW(run(ctx, root->start()), Boom);
  EXPECT_TRUE(root->crashed());
  EXPECT_TRUE(first->crashed());
  EXPECT_TRUE(cap.matching("Never.on_start").empty());
  EXPECT_EQ(cap.matching("First.on_stop").size(), 1u);
  EXPECT_EQ(cap.matching("Crashed reason").size(), 1u);  // logged once, by the one that crashed
  EXPECT_TRUE(cap.matching("Root.on_started").empty());
}

TEST_F(ServiceTest, TaskExceptionCrashesTheServiceAndItsAncestors) {
  struct Crashy : Service {
    Crashy() { task(&Crashy::work, "work"); }
    awaitable<void> work() {
      co_await sleep(0.001);
      throw Boom();
    }
  };
  auto root = std::make_shared<Service>();
  auto crashy = root->add_dependency(std::make_shared<Crashy>());
  auto sibling = root->add_dependency(std::make_shared<Service>());
  run(ctx, root->start());
  run(ctx, root->wait_until_stopped());
  EXPECT_TRUE(crashy->crashed());
  EXPECT_TRUE(root->crashed());
  EXPECT_TRUE(sibling->crashed());
  EXPECT_EQ(root->crash_reason(), crashy->crash_reason());
  EXPECT_THAT(cap.matching("Crashed"), ElementsAre("[^-Crashy]: Crashed reason="
                                                   "(anonymous namespace)::Boom('boom')"));
  run(ctx, root->stop());
  EXPECT_EQ(root->state(), "crashed");
}

struct Hook : mode::SupervisorHook {
  std::vector<Service*> woken;
  void wakeup(Service& s) noexcept override { woken.push_back(&s); }
};

TEST_F(ServiceTest, SupervisedCrashWakesTheSupervisorOnly) {
  auto root = std::make_shared<Service>();
  auto child = root->add_dependency(std::make_shared<Service>());
  auto grandchild = child->add_dependency(std::make_shared<Service>());
  Hook hook;
  child->set_supervisor(&hook);
  run(ctx, root->start());
  child->crash(std::make_exception_ptr(Boom()));
  child->crash(std::make_exception_ptr(Boom()));
  EXPECT_THAT(hook.woken, ElementsAre(child.get()));
  EXPECT_TRUE(grandchild->crashed());
  EXPECT_FALSE(root->crashed());
  run(ctx, root->stop());
}

TEST_F(ServiceTest, StopDuringStartEndsStartEarly) {
  struct SlowStart : Recorder {
    using Recorder::Recorder;
    awaitable<void> on_start() override {
      note("on_start");
      co_await sleep(10.0);
    }
  };
  auto s = std::make_shared<SlowStart>(cap, "Slow");
  auto child = s->add_dependency(std::make_shared<Recorder>(cap, "Child"));
  bool started = false;
  boost::asio::co_spawn(ctx, s->start(), [&](std::exception_ptr e) {
    EXPECT_FALSE(e);
    started = true;
  });
  mode::testing::run_until(ctx, [&] { return !cap.matching("Slow.on_start").empty(); });
  run(ctx, s->stop());
  mode::testing::run_until(ctx, [&] { return started; });
  EXPECT_TRUE(cap.matching("Started.").empty());
  EXPECT_TRUE(cap.matching("Slow.on_started").empty());
  EXPECT_TRUE(cap.matching("Child.on_start").empty());
  EXPECT_EQ(child->state(), "init");
  EXPECT_EQ(s->state(), "shutdown");
}

struct BadStop : Recorder {
  using Recorder::Recorder;
  awaitable<void> on_stop() override {
    note("on_stop");
    throw Boom();
    co_return;
  }
};

// Mode's stop: a child's stop error is logged by the parent, which goes on; nothing crashes.
TEST_F(ServiceTest, ChildStopErrorIsLoggedAndTheStopGoesOn) {
  auto root = std::make_shared<Recorder>(cap, "Root");
  auto first = root->add_dependency(std::make_shared<Recorder>(cap, "First"));
  auto bad = root->add_dependency(std::make_shared<BadStop>(cap, "Bad"));
  auto other = root->add_dependency(std::make_shared<Recorder>(cap, "Other"));
  run(ctx, root->start());
  run(ctx, root->stop());
  EXPECT_THAT(cap.matching("Error while stopping"),
              ElementsAre("[^Root]: Error while stopping child <Bad: shutdown>: "
                          "(anonymous namespace)::Boom('boom')"));
  // The rest of the child's stop ran, and so did the siblings' and the parent's.
  for (const char* step :
       {"Bad.on_shutdown", "Other.on_shutdown", "First.on_shutdown", "Root.on_shutdown"})
    EXPECT_EQ(cap.matching(step).size(), 1u) << step;
  EXPECT_TRUE(cap.matching("Crashed").empty());
  for (const auto& s : {root, first, other}) EXPECT_EQ(s->state(), "shutdown");
  EXPECT_FALSE(bad->crashed());
}

TEST_F(ServiceTest, OwnStopErrorComesOutOfStopAfterEveryStep) {
  auto bad = std::make_shared<BadStop>(cap, "Bad");
  auto child = bad->add_dependency(std::make_shared<Recorder>(cap, "Child"));
  run(ctx, bad->start());
  EXPECT_THROW(run(ctx, bad->stop()), Boom);
  EXPECT_EQ(cap.matching("Child.on_shutdown").size(), 1u);
  EXPECT_EQ(cap.matching("Bad.on_shutdown").size(), 1u);
  EXPECT_EQ(bad->state(), "shutdown");
}

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
  EXPECT_THAT(s->suspensions(),
              ElementsAre(fmt::format("sleep (29.5 s left) in mode::awaitable<void> "
                                      "{{anonymous}}::Suspends::sleeper() at service_test.cpp:{}",
                                      s->sleep_line),
                          fmt::format("wait(Event) (4.5 s left) in mode::awaitable<void> "
                                      "{{anonymous}}::Suspends::waiter() at service_test.cpp:{}",
                                      s->wait_line),
                          "timer Suspends.tick (1.5 s left)"));
  s->event.set();
  mode::testing::poll(ctx);
  EXPECT_EQ(s->suspensions().size(), 2u);
  run(ctx, s->stop());
  EXPECT_TRUE(s->suspensions().empty());
}

// Waits forever, ignoring cancellation, as badly written code does.
awaitable<void> hang_ignoring_cancellation() {
  const auto ex = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer t(ex, 1h);
  for (;;) {
    try {
      co_await t.async_wait(mode::use_awaitable);
    } catch (...) {
    }
    co_await boost::asio::this_coro::reset_cancellation_state();
  }
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
      const auto ex =
          co_await boost::asio::this_coro::executor;
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

awaitable<int> answer_after(boost::asio::steady_timer::duration d, int value) {
  const auto ex = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer t(ex, d);
  co_await t.async_wait(mode::use_awaitable);
  co_return value;
}

awaitable<int> fail_after(boost::asio::steady_timer::duration d) {
  const auto ex = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer t(ex, d);
  co_await t.async_wait(mode::use_awaitable);
  throw Boom();
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

// Children.

TEST_F(ServiceTest, RuntimeDependencyStartsNowAndRemoveStopsIt) {
  auto root = std::make_shared<Service>();
  auto before = std::make_shared<Service>();
  run(ctx, root->add_runtime_dependency(before));
  EXPECT_EQ(before->state(), "init");  // root is not running: only added
  run(ctx, root->start());
  EXPECT_EQ(before->state(), "running");
  auto late = run(ctx, root->add_runtime_dependency(std::make_shared<Service>()));
  EXPECT_EQ(late->state(), "running");
  EXPECT_EQ(late->beacon().depth(), 2u);
  run(ctx, root->remove_dependency(late));
  EXPECT_EQ(late->state(), "shutdown");
  EXPECT_EQ(root->dependencies().size(), 1u);
  EXPECT_EQ(late->beacon().depth(), 1u);
  EXPECT_THROW(run(ctx, root->remove_dependency(late)), std::invalid_argument);
  run(ctx, root->stop());
}

TEST_F(ServiceTest, BadDependenciesAreRejected) {
  auto a = std::make_shared<Service>();
  auto b = a->add_dependency(std::make_shared<Service>());
  EXPECT_THROW(a->add_dependency(std::shared_ptr<Service>()), std::invalid_argument);
  EXPECT_THROW(a->add_dependency(a), std::invalid_argument);
  EXPECT_THROW(b->add_dependency(a), std::invalid_argument);
  a->add_dependency(b);
  EXPECT_EQ(a->dependencies().size(), 1u);
}

TEST_F(ServiceTest, InitDependenciesAreAddedAtFirstStartOnly) {
  struct Parent : Service {
    std::vector<ServicePtr> on_init_dependencies() override {
      ++calls;
      return {std::make_shared<Service>()};
    }
    int calls = 0;
  };
  auto p = std::make_shared<Parent>();
  run(ctx, p->start());
  ASSERT_EQ(p->dependencies().size(), 1u);
  EXPECT_EQ(p->dependencies()[0]->state(), "running");
  run(ctx, p->restart());
  EXPECT_EQ(p->calls, 1);
  EXPECT_EQ(p->dependencies().size(), 1u);
  run(ctx, p->stop());
}

TEST_F(ServiceTest, JoinServicesStartsThenStopsInReverse) {
  auto owner = std::make_shared<Recorder>(cap, "Owner");
  run(ctx, owner->start());
  cap.clear();
  auto x = std::make_shared<Recorder>(cap, "X");
  auto y = std::make_shared<Recorder>(cap, "Y");
  run(ctx, owner->join_services({x, y}));
  EXPECT_THAT(cap.matching(".on_st"), ElementsAre("X.on_start", "X.on_started", "Y.on_start",
                                                  "Y.on_started", "Y.on_stop", "X.on_stop"));
  run(ctx, owner->stop());
}

TEST_F(ServiceTest, CallsFromAnotherExecutorAreRejected) {
  auto s = std::make_shared<Service>();
  run(ctx, s->start());
  boost::asio::io_context other;
  EXPECT_THROW(run(other, s->stop()), std::invalid_argument);
  run(ctx, s->stop());
}

// A service holds its executor shared with the other services of its loop, not a copy of its
// own; one started on a strand keeps that strand.
TEST_F(ServiceTest, ServicesOnOneLoopShareOneExecutor) {
  auto a = std::make_shared<Service>();
  auto b = std::make_shared<Service>();
  run(ctx, a->start());
  run(ctx, b->start());
  EXPECT_EQ(&a->executor(), &b->executor());
  EXPECT_EQ(a->executor(), boost::asio::any_io_executor(ctx.get_executor()));
  auto on_strand = std::make_shared<Service>();
  const auto strand = boost::asio::make_strand(ctx);
  bool started = false;
  boost::asio::co_spawn(strand, on_strand->start(), [&](std::exception_ptr e) {
    EXPECT_EQ(e, nullptr);
    started = true;
  });
  mode::testing::run_until(ctx, [&] { return started; });
  EXPECT_EQ(on_strand->executor(), boost::asio::any_io_executor(strand));
  EXPECT_EQ(a->executor(), boost::asio::any_io_executor(ctx.get_executor()));
  ctx.restart();
  bool stopped = false;
  boost::asio::co_spawn(strand, on_strand->stop(), [&](std::exception_ptr) { stopped = true; });
  mode::testing::run_until(ctx, [&] { return stopped; });
  ctx.restart();
  run(ctx, a->stop());
  run(ctx, b->stop());
}

// Futures, contexts, from_awaitable, diag.

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

awaitable<void> count_until_cancelled(int* n) {
  for (;;) {
    const auto ex = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer t(ex, 1ms);
    co_await t.async_wait(mode::use_awaitable);
    ++*n;
  }
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

TEST_F(ServiceTest, DiagFlagsAndTransitions) {
  auto s = std::make_shared<Service>();
  s->diag.set_flag("FLUSHING");
  EXPECT_TRUE(s->diag.has_flag("FLUSHING"));
  EXPECT_EQ(s->diag.last_transition().count("FLUSHING"), 1u);
  s->diag.unset_flag("FLUSHING");
  EXPECT_TRUE(s->diag.flags().empty());
  EXPECT_EQ(s->diag.last_transition().count("FLUSHING"), 1u);
  const int v = run(ctx, s->diag.transition_with("WORKING", answer_after(1ms, 7)));
  EXPECT_EQ(v, 7);
  EXPECT_FALSE(s->diag.has_flag("WORKING"));
  EXPECT_THROW(run(ctx, s->diag.transition_with("FAILING", fail_after(1ms))), Boom);
  EXPECT_FALSE(s->diag.has_flag("FAILING"));
}

TEST_F(ServiceTest, LogHelpersUseThePrefixAndLevels) {
  auto root = std::make_shared<Service>();
  auto child = root->add_dependency(std::make_shared<Service>());
  child->log.info("served {} requests", 3);
  child->log.warn("careful");
  child->log.crit("bad {}", "news");
  try {
    throw Boom();
  } catch (...) {
    child->log.exception("while serving");
  }
  EXPECT_THAT(
      cap.lines(),
      ElementsAre("[^-Service]: served 3 requests", "[^-Service]: careful", "[^-Service]: bad news",
                  "[^-Service]: while serving: (anonymous namespace)::Boom('boom')"));
}

TEST_F(ServiceTest, GraphOfARunningTreeShowsEveryService) {
  Tree t(cap);
  run(ctx, t.root->start());
  std::ostringstream dot;
  t.root->beacon().as_graph().to_dot(dot);
  const std::string out = dot.str();
  EXPECT_NE(out.find("\"Root\" -> \"A\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"Root\" -> \"B\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"B\" -> \"C\""), std::string::npos) << out;
  EXPECT_EQ(t.c->beacon().path(), "Root/B/C");
  run(ctx, t.root->stop());
}

// Mode parity (issue 12) and faults under stress (issue 16).

TEST_F(ServiceTest, ACycleOfBeaconsCannotBeBuiltSoACrashReturns) {
  auto a = std::make_shared<Recorder>(cap, "A");
  auto b = a->add_dependency(std::make_shared<Recorder>(cap, "B"));
  EXPECT_THROW(a->beacon().set_parent(b->beacon().shared_from_this()), std::invalid_argument);
  EXPECT_EQ(a->beacon().depth(), 1u);
  run(ctx, a->start());
  b->crash(std::make_exception_ptr(Boom()));
  EXPECT_THAT(cap.matching("Crashed"),
              ElementsAre("[^-B]: Crashed reason=(anonymous namespace)::Boom('boom')"));
  EXPECT_TRUE(a->crashed());
  run(ctx, a->stop());
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

TEST_F(ServiceTest, ShuttingDownNowOnlyForWaitForShutdownServices) {
  auto plain = std::make_shared<Service>();
  run(ctx, plain->start());
  run(ctx, plain->stop());
  EXPECT_TRUE(cap.matching("Shutting down now").empty());
  auto flagged = std::make_shared<Service>();
  flagged->wait_for_shutdown = true;
  run(ctx, flagged->start());
  flagged->set_shutdown();
  run(ctx, flagged->stop());
  EXPECT_EQ(cap.matching("Shutting down now").size(), 1u);
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

TEST_F(ServiceTest, AStopDuringStartLeavesNothingRunning) {
  struct SlowStart : Service {
    awaitable<void> on_start() override {
      const bool slept = co_await sleep(10.0);
      (void)slept;  // cut short by the stop; the start goes on to add a future
      future = add_future(count_until_cancelled(&n), "late");
    }
    std::optional<mode::FutureHandle> future;
    int n = 0;
  };
  auto s = std::make_shared<SlowStart>();
  auto start = mode::testing::spawn(ctx, s->start());
  mode::testing::poll(ctx);
  run(ctx, s->stop());
  mode::testing::run_until(ctx, [&] { return start->finished; });
  EXPECT_FALSE(start->error);
  ASSERT_TRUE(s->future);
  EXPECT_TRUE(s->future->done());
  EXPECT_TRUE(s->task_names().empty());
  ctx.restart();
  ctx.run_for(10ms);
  EXPECT_EQ(s->n, 0);
  EXPECT_EQ(s->state(), "shutdown");
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

TEST_F(ServiceTest, OnRestartErrorIsLoggedOnceAndCrashes) {
  struct BadRestart : Recorder {
    using Recorder::Recorder;
    awaitable<void> on_restart() override {
      throw Boom();
      co_return;
    }
  };
  auto s = std::make_shared<BadRestart>(cap, "Bad");
  run(ctx, s->start());
  EXPECT_THROW(run(ctx, s->restart()), Boom);
  EXPECT_THAT(cap.matching("Crashed"),
              ElementsAre("[^Bad]: Crashed reason=(anonymous namespace)::Boom('boom')"));
  EXPECT_TRUE(s->crashed());
  EXPECT_FALSE(s->started());  // not started with its on_restart unfinished
}

TEST_F(ServiceTest, TextFormIsModesRepr) {
  auto s = std::make_shared<Recorder>(cap, "Root");
  EXPECT_EQ(fmt::format("{}", *s), "<Root: init>");
  run(ctx, s->start());
  std::ostringstream out;
  out << *s;
  EXPECT_EQ(out.str(), "<Root: running>");
  struct Informed : Service {
    std::string repr_info() const override { return "[x]"; }
  };
  EXPECT_EQ(fmt::format("{}", Informed()), "<Informed: init [x]>");
  run(ctx, s->stop());
  EXPECT_EQ(s->repr(), "<Root: shutdown>");
}

TEST_F(ServiceTest, WithStartedStartsRunsStopsAndResets) {
  auto s = std::make_shared<Recorder>(cap, "S");
  auto body = [](std::shared_ptr<Recorder> s) -> awaitable<int> {
    EXPECT_EQ(s->state(), "running");
    co_return 7;
  };
  EXPECT_EQ(run(ctx, mode::with_started(s, body(s))), 7);
  EXPECT_EQ(s->state(), "init");
  EXPECT_EQ(s->restart_count(), 1u);
  EXPECT_EQ(cap.matching("S.on_shutdown").size(), 1u);

  auto throwing = []() -> awaitable<void> {
    throw Boom();
    co_return;
  };
  EXPECT_THROW(run(ctx, mode::with_started(s, throwing())), Boom);
  EXPECT_EQ(cap.matching("S.on_shutdown").size(), 2u);
  EXPECT_EQ(s->state(), "init");
  EXPECT_EQ(s->restart_count(), 2u);
}

}  // namespace

namespace {

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
