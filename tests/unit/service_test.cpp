// Tests of mode::Service's lifecycle: the manual's ordering tables, states, crash paths, stop
// errors, diag flags and log helpers.
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
      const auto ex = co_await boost::asio::this_coro::executor;
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
              ElementsAre("[^Failing]: Crashed reason=service_test::Boom('boom')"));
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
                                                   "service_test::Boom('boom')"));
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
                          "service_test::Boom('boom')"));
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
  EXPECT_THAT(cap.lines(), ElementsAre("[^-Service]: served 3 requests", "[^-Service]: careful",
                                       "[^-Service]: bad news",
                                       "[^-Service]: while serving: service_test::Boom('boom')"));
}

// Mode parity.

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
              ElementsAre("[^Bad]: Crashed reason=service_test::Boom('boom')"));
  EXPECT_TRUE(s->crashed());
  EXPECT_FALSE(s->started());  // not started with its on_restart unfinished
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
