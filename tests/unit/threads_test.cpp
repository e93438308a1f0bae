// Tests of mode::ServiceThread and mode::QueueServiceThread: which thread runs what, start/stop,
// crash propagation to the parent's loop, keepalive, call_thread/cast_thread and their races.
#include <mode/supervisors.hpp>
#include <mode/testing.hpp>
#include <mode/threads.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <thread>

namespace {

using mode::awaitable;
using mode::QueueServiceThread;
using mode::Service;
using mode::ServiceThread;
using mode::ThreadNotRunning;
using mode::testing::is_cancellation;
using mode::testing::LogCapture;
using mode::testing::run;
using mode::testing::run_until;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

/// Which thread each callback ran on, readable from the test's thread.
class Where {
 public:
  void note(const std::string& what) {
    const std::lock_guard lock(mutex_);
    ids_[what] = std::this_thread::get_id();
  }
  std::optional<std::thread::id> of(const std::string& what) const {
    const std::lock_guard lock(mutex_);
    auto it = ids_.find(what);
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::thread::id> ids_;
};

/// A thread service that records each callback (in the capture, and where it ran).
template <class Base>
class Probe : public Base {
 public:
  Probe(LogCapture& cap, Where& where) : cap_(cap), where_(where) {}
  std::string label() const override { return "T"; }

 protected:
  awaitable<void> on_start() override {
    note("on_start");
    co_return;
  }
  awaitable<void> on_started() override {
    note("on_started");
    co_return;
  }
  awaitable<void> on_thread_started() override {
    note("on_thread_started");
    co_return;
  }
  awaitable<void> on_thread_stop() override {
    note("on_thread_stop");
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
  void note(const std::string& what) {
    cap_.record("T." + what);
    where_.note(what);
  }

  LogCapture& cap_;
  Where& where_;
};

using ThreadProbe = Probe<ServiceThread>;
using QueueProbe = Probe<QueueServiceThread>;

/// A plain service that records its start and stop.
class Child : public Service {
 public:
  Child(LogCapture& cap, Where& where) : cap_(cap), where_(where) {}
  std::string label() const override { return "C"; }

 protected:
  awaitable<void> on_start() override {
    cap_.record("C.on_start");
    where_.note("child.on_start");
    co_return;
  }
  awaitable<void> on_stop() override {
    cap_.record("C.on_stop");
    co_return;
  }

 private:
  LogCapture& cap_;
  Where& where_;
};

/// A gate a thread function blocks on until the test opens it.
struct Gate {
  std::promise<void> promise;
  std::shared_future<void> future = promise.get_future().share();
  std::atomic<bool> entered{false};
  void block() {
    entered = true;
    future.wait();
  }
  void open() { promise.set_value(); }
};

class ThreadsTest : public ::testing::Test {
 protected:
  template <class T>
  std::shared_ptr<T> make() {
    return std::make_shared<T>(cap, where);
  }
  /// Runs the test's loop until `pred`, with a generous deadline.
  template <class Pred>
  void until(Pred pred) {
    run_until(ctx, pred, 20s);
  }

  boost::asio::io_context ctx;
  LogCapture cap;
  Where where;
  const std::thread::id main_id = std::this_thread::get_id();
};

// ServiceThread.

TEST_F(ThreadsTest, StartRunsTheServiceOnItsThreadAndReturnsOnceStarted) {
  auto t = make<ThreadProbe>();
  run(ctx, [](std::shared_ptr<ThreadProbe> t, LogCapture& cap) -> awaitable<void> {
    co_await t->start();
    cap.record("start returned");
  }(t, cap));
  EXPECT_THAT(cap.matching("T."), ElementsAre("T.on_start", "T.on_started", "T.on_thread_started"));
  EXPECT_EQ(cap.lines().back(), "start returned");
  EXPECT_EQ(t->state(), "running");
  EXPECT_TRUE(t->thread_alive());
  const auto thread_id = where.of("on_start");
  ASSERT_TRUE(thread_id.has_value());
  EXPECT_NE(*thread_id, main_id);
  EXPECT_EQ(where.of("on_thread_started"), thread_id);
  EXPECT_EQ(t->task_names(), std::vector<std::string>{"_thread_keepalive"});

  run(ctx, t->stop());
  EXPECT_EQ(t->state(), "shutdown");
  EXPECT_FALSE(t->thread_alive());
  for (const char* cb : {"on_thread_stop", "on_stop", "on_shutdown"})
    EXPECT_EQ(where.of(cb), thread_id) << cb;
}

TEST_F(ThreadsTest, StopRunsOnThreadStopFirstThenTheOrdinaryStopOnTheThread) {
  auto t = make<ThreadProbe>();
  t->add_dependency(make<Child>());
  run(ctx, t->start());
  EXPECT_EQ(where.of("child.on_start"), where.of("on_start"));  // children run on the thread too
  cap.clear();
  run(ctx, t->stop());
  EXPECT_THAT(cap.lines(),
              ElementsAre("T.on_thread_stop", "[^T]: Stopping...", "T.on_stop",
                          "[^-C]: Stopping...", "C.on_stop", "[^-C]: Shutting down...",
                          "[^-C]: Shutdown complete!", "[^-C]: -Stopped!", "[^T]: Shutting down...",
                          "T.on_shutdown", "[^T]: Shutdown complete!", "[^T]: -Stopped!"));
  // A second stop waits for nothing and changes nothing.
  run(ctx, t->stop());
  EXPECT_EQ(t->state(), "shutdown");
}

TEST_F(ThreadsTest, StoppingAThreadThatNeverStartedDoesNotWait) {
  auto t = make<ThreadProbe>();
  run(ctx, t->stop());
  EXPECT_EQ(t->state(), "init");
  EXPECT_FALSE(t->thread_alive());
  EXPECT_TRUE(cap.matching("T.").empty());
}

TEST_F(ThreadsTest, WithoutWaitForThreadStartReturnsBeforeTheThreadStarted) {
  class Slow : public ThreadProbe {
   public:
    using ThreadProbe::ThreadProbe;
    Gate gate;

   protected:
    awaitable<void> on_start() override {
      gate.block();
      co_return;
    }
  };
  auto t = make<Slow>();
  t->wait_for_thread = false;
  run(ctx, t->start());  // would hang if it waited: on_start is blocked
  EXPECT_TRUE(cap.matching("T.on_thread_started").empty());
  t->gate.open();
  until([&] { return !cap.matching("T.on_thread_started").empty(); });
  EXPECT_EQ(t->state(), "running");
  run(ctx, t->stop());
  EXPECT_EQ(t->state(), "shutdown");
}

TEST_F(ThreadsTest, AsAChildItIsStartedAndStoppedWithItsParent) {
  auto parent = std::make_shared<Child>(cap, where);
  auto t = parent->add_dependency(make<ThreadProbe>());
  run(ctx, parent->start());
  EXPECT_EQ(t->state(), "running");
  EXPECT_NE(where.of("on_start"), main_id);
  EXPECT_FALSE(cap.matching("[^-T]: Starting...").empty());  // its place in the parent's tree
  run(ctx, parent->stop());
  EXPECT_EQ(t->state(), "shutdown");
  EXPECT_FALSE(t->thread_alive());
  EXPECT_EQ(parent->state(), "shutdown");
}

class Boom : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

TEST_F(ThreadsTest, AFailedStartRethrowsTheOriginalExceptionInTheParentsLoop) {
  class BadStart : public ThreadProbe {
   public:
    using ThreadProbe::ThreadProbe;

   protected:
    awaitable<void> on_start() override {
      throw Boom("start boom");
      co_return;
    }
  };
  auto t = make<BadStart>();
  try {
    run(ctx, t->start());
    ADD_FAILURE() << "start() did not throw";
  } catch (const Boom& e) {
    EXPECT_STREQ(e.what(), "start boom");
  }
  EXPECT_EQ(t->state(), "crashed");
  until([&] { return !t->thread_alive(); });  // a crashed thread ends by itself
  EXPECT_FALSE(cap.matching("T.on_thread_stop").empty());
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, AnExceptionInTheThreadCrashesTheServiceInTheParentsLoop) {
  class BadTask : public ThreadProbe {
   public:
    explicit BadTask(LogCapture& cap, Where& where) : ThreadProbe(cap, where) {
      task(&BadTask::work);
    }

    std::atomic<bool> go{false};

   private:
    awaitable<void> work() {
      while (!go) {
        const bool slept = co_await sleep(0.001);
        if (!slept) co_return;
      }
      throw Boom("thread boom");
    }
  };
  auto parent = std::make_shared<Child>(cap, where);
  auto t = parent->add_dependency(make<BadTask>());
  run(ctx, parent->start());
  t->go = true;
  until([&] { return parent->crashed(); });  // marked by the parent's loop
  EXPECT_EQ(t->state(), "crashed");
  ASSERT_NE(parent->crash_reason(), nullptr);
  EXPECT_EQ(parent->crash_reason(), t->crash_reason());  // the very same exception object
  try {
    std::rethrow_exception(parent->crash_reason());
  } catch (const Boom& e) {
    EXPECT_STREQ(e.what(), "thread boom");
  }
  EXPECT_EQ(cap.matching("[^-T]: Crashed reason=").size(), 1u);
  until([&] { return !t->thread_alive(); });
  run(ctx, parent->stop());
}

TEST_F(ThreadsTest, CrashFromTheParentsLoopEndsAPendingStartAtOnce) {
  class Hanging : public ThreadProbe {
   public:
    using ThreadProbe::ThreadProbe;

   protected:
    awaitable<void> on_start() override {
      const bool slept = co_await sleep(60.0);  // woken by the crash
      (void)slept;
    }
  };
  auto t = make<Hanging>();
  std::exception_ptr error;
  bool finished = false;
  boost::asio::co_spawn(ctx, t->start(), [&](std::exception_ptr e) {
    error = e;
    finished = true;
  });
  until([&] { return !cap.matching("[^T]: Starting...").empty(); });
  t->crash(std::make_exception_ptr(Boom("from parent")));
  until([&] { return finished; });
  ASSERT_NE(error, nullptr);
  EXPECT_THROW(std::rethrow_exception(error), Boom);
  until([&] { return !t->thread_alive(); });
  EXPECT_EQ(t->state(), "crashed");
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, ASupervisorRestartsACrashedThreadOnANewThread) {
  class Flaky : public ThreadProbe {
   public:
    explicit Flaky(LogCapture& cap, Where& where) : ThreadProbe(cap, where) { task(&Flaky::work); }
    std::atomic<int> runs{0};

   private:
    awaitable<void> work() {
      if (++runs == 1) throw Boom("first run");
      co_return;
    }
  };
  auto t = make<Flaky>();
  auto sup = std::make_shared<mode::OneForOneSupervisor>(std::vector<Service::ServicePtr>{t});
  run(ctx, sup->start());
  until([&] { return t->runs == 2 && t->state() == "running"; });
  EXPECT_FALSE(sup->crashed());  // the supervisor took the crash
  EXPECT_EQ(cap.matching("T.on_restart").size(), 1u);
  EXPECT_NE(where.of("on_restart"), main_id);  // on the (new) thread
  run(ctx, sup->stop());
  EXPECT_EQ(t->state(), "shutdown");
  EXPECT_FALSE(t->thread_alive());
}

TEST_F(ThreadsTest, RestartRunsAFreshThread) {
  auto t = make<QueueProbe>();
  run(ctx, t->start());
  // A thread-local counter tells threads apart (a new thread may reuse an old thread's id).
  auto count_calls_on_this_thread = [] {
    thread_local int calls = 0;
    return ++calls;
  };
  run(ctx, t->call_thread(count_calls_on_this_thread));
  EXPECT_EQ(run(ctx, t->call_thread(count_calls_on_this_thread)), 2);
  run(ctx, t->restart());
  EXPECT_EQ(run(ctx, t->call_thread(count_calls_on_this_thread)), 1);
  const auto id = run(ctx, t->call_thread([] { return std::this_thread::get_id(); }));
  EXPECT_EQ(where.of("on_restart"), id);
  EXPECT_EQ(t->state(), "running");
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, StopCalledOnItsOwnThreadEndsTheThread) {
  class SelfStopping : public ThreadProbe {
   public:
    explicit SelfStopping(LogCapture& cap, Where& where) : ThreadProbe(cap, where) {
      task(&SelfStopping::work);
    }

   private:
    awaitable<void> work() { co_await stop(); }
  };
  auto t = make<SelfStopping>();
  run(ctx, t->start());
  until([&] { return !t->thread_alive(); });
  EXPECT_EQ(t->state(), "shutdown");
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, KeepaliveNoticesABlockedThread) {
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  auto t = make<QueueProbe>();
  run(ctx, t->start());
  Gate gate;
  t->cast_thread([&gate] { gate.block(); });
  while (!gate.entered) std::this_thread::yield();
  EXPECT_TRUE(cap.matching("Thread keepalive is not responding...").empty());
  for (int i = 0; i < 5; ++i) clock.advance(1.1, ctx);
  EXPECT_FALSE(cap.matching("[^T]: Thread keepalive is not responding...").empty());
  gate.open();
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, KeepaliveOfAHealthyThreadStaysQuiet) {
  auto t = make<QueueProbe>();
  t->keepalive_interval = 0.005;
  t->keepalive_timeout = 10.0;  // generous: only a stuck thread gets there
  run(ctx, t->start());
  // Some round trips of both pings, with both loops running.
  const auto until_time = std::chrono::steady_clock::now() + 100ms;
  run_until(ctx, [&] { return std::chrono::steady_clock::now() > until_time; });
  EXPECT_TRUE(cap.matching("not responding").empty());
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, KeepaliveNoticesAParentLoopThatDoesNotRun) {
  auto t = make<ThreadProbe>();
  t->keepalive_interval = 0.002;
  t->keepalive_timeout = 0.02;
  run(ctx, t->start());
  // The parent's loop (this test's) does not run now: the thread notices.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (cap.matching("Parent loop keepalive is not responding...").empty() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  EXPECT_FALSE(cap.matching("[^T]: Parent loop keepalive is not responding...").empty());
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, StartAndStopFromAnotherLoopAreRefused) {
  auto t = make<ThreadProbe>();
  run(ctx, t->start());
  boost::asio::io_context other;
  EXPECT_THROW(run(other, t->stop()), std::invalid_argument);
  EXPECT_THROW(run(ctx, t->start()), std::logic_error);  // already started
  const bool started_again = run(ctx, t->maybe_start());
  EXPECT_FALSE(started_again);
  run(ctx, t->stop());
}

// QueueServiceThread.

TEST_F(ThreadsTest, CallThreadRunsOnTheThreadAndReturnsItsResult) {
  auto t = make<QueueProbe>();
  run(ctx, t->start());
  const int r = run(ctx, t->call_thread([](int x) { return x * 2; }, 21));
  EXPECT_EQ(r, 42);
  const auto id = run(ctx, t->call_thread([] { return std::this_thread::get_id(); }));
  EXPECT_EQ(id, where.of("on_start"));
  // Move-only arguments and results, void functions, awaitable functions.
  auto p =
      run(ctx, t->call_thread([](std::unique_ptr<int> v) { return v; }, std::make_unique<int>(7)));
  EXPECT_EQ(*p, 7);
  int touched = 0;
  run(ctx, t->call_thread([&touched] { touched = 1; }));
  EXPECT_EQ(touched, 1);
  const int a = run(ctx, t->call_thread([](int x) -> awaitable<int> { co_return x + 1; }, 1));
  EXPECT_EQ(a, 2);
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, CallThreadRethrowsTheExceptionInTheCaller) {
  auto t = make<QueueProbe>();
  run(ctx, t->start());
  try {
    run(ctx, t->call_thread([]() -> int { throw Boom("call boom"); }));
    ADD_FAILURE() << "no exception";
  } catch (const Boom& e) {
    EXPECT_STREQ(e.what(), "call boom");
  }
  EXPECT_THROW(run(ctx, t->call_thread([]() -> awaitable<void> {
                 throw Boom("async boom");
                 co_return;
               })),
               Boom);
  EXPECT_EQ(t->state(), "running");  // a failed call is the caller's error, not a crash
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, CallsOutsideTheRunningThreadGiveAClearError) {
  auto t = make<QueueProbe>();
  try {
    run(ctx, t->call_thread([] { return 1; }));
    ADD_FAILURE() << "no exception";
  } catch (const ThreadNotRunning& e) {
    EXPECT_THAT(e.what(), HasSubstr("T: call_thread: its thread is not running (not started yet)"));
  }
  EXPECT_NO_THROW(t->cast_thread([] {}));  // held until the queue opens
  run(ctx, t->start());
  run(ctx, t->stop());
  try {
    run(ctx, t->call_thread([] { return 1; }));
    ADD_FAILURE() << "no exception";
  } catch (const ThreadNotRunning& e) {
    EXPECT_THAT(e.what(), HasSubstr("(stopping, stopped or crashed)"));
  }
  EXPECT_THROW(t->cast_thread([] {}), ThreadNotRunning);
}

TEST_F(ThreadsTest, CallOnAThreadThatCrashedGivesAClearError) {
  auto t = make<QueueProbe>();
  run(ctx, t->start());
  run(ctx, t->call_thread([self = t.get()] { self->crash(std::make_exception_ptr(Boom("x"))); }));
  until([&] { return !t->thread_alive(); });
  EXPECT_EQ(t->state(), "crashed");
  EXPECT_THROW(run(ctx, t->call_thread([] { return 1; })), ThreadNotRunning);
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, ManyConcurrentCallsFromSeveralCoroutinesAndThreads) {
  auto t = make<QueueProbe>();
  run(ctx, t->start());
  constexpr int kCoroutines = 8;
  constexpr int kCalls = 200;
  int on_thread_count = 0;  // touched only on the service's thread
  auto caller = [](std::shared_ptr<QueueProbe> t, int* count, int base) -> awaitable<long> {
    long sum = 0;
    for (int i = 0; i < kCalls; ++i) {
      const int r = co_await t->call_thread(
          [count](int v) {
            ++*count;
            return v;
          },
          base + i);
      sum += r;
    }
    co_return sum;
  };
  std::atomic<int> finished{0};
  std::atomic<long> total{0};
  for (int c = 0; c < kCoroutines; ++c) {
    boost::asio::co_spawn(ctx, caller(t, &on_thread_count, c * 1000),
                          [&](std::exception_ptr e, long sum) {
                            EXPECT_EQ(e, nullptr);
                            total += sum;
                            ++finished;
                          });
  }
  // And one more caller on a third thread's loop. That loop outlives the service's run: the
  // thread may still be inside its last post to it when the caller resumes.
  boost::asio::io_context other_ctx;
  std::thread other([&] {
    const long sum = run(other_ctx, caller(t, &on_thread_count, kCoroutines * 1000));
    total += sum;
    ++finished;
  });
  until([&] { return finished == kCoroutines + 1; });
  other.join();
  long expected = 0;
  for (int c = 0; c <= kCoroutines; ++c)
    for (int i = 0; i < kCalls; ++i) expected += c * 1000 + i;
  EXPECT_EQ(total, expected);
  const int count = run(ctx, t->call_thread([&on_thread_count] { return on_thread_count; }));
  EXPECT_EQ(count, (kCoroutines + 1) * kCalls);
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, CastThreadDoesNotWaitAndKeepsTheOrder) {
  auto t = make<QueueProbe>();
  run(ctx, t->start());
  Gate gate;
  std::vector<int> seen;  // touched only on the service's thread
  t->cast_thread([&gate] { gate.block(); });
  for (int i = 0; i < 100; ++i) t->cast_thread([&seen](int v) { seen.push_back(v); }, i);
  gate.open();  // every cast returned while the thread was blocked: none waited
  const auto got = run(ctx, t->call_thread([&seen] { return seen; }));
  std::vector<int> expected(100);
  for (int i = 0; i < 100; ++i) expected[i] = i;
  EXPECT_EQ(got, expected);
  // A cast that throws is logged; the service goes on.
  t->cast_thread([] { throw Boom("cast boom"); });
  run(ctx, t->call_thread([] {}));
  EXPECT_EQ(cap.matching("[^T]: cast_thread function raised").size(), 1u);
  EXPECT_EQ(t->state(), "running");
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, ACancelledCallThatHasNotBegunIsSkipped) {
  auto t = make<QueueProbe>();
  run(ctx, t->start());
  Gate gate;
  t->cast_thread([&gate] { gate.block(); });
  while (!gate.entered) std::this_thread::yield();
  std::atomic<bool> ran{false};
  boost::asio::cancellation_signal cancel;
  std::exception_ptr error;
  bool finished = false;
  boost::asio::co_spawn(
      ctx, t->call_thread([&ran] { ran = true; }),
      boost::asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) {
        error = e;
        finished = true;
      }));
  mode::testing::poll(ctx);  // the call is sent, and waits behind the blocked one
  cancel.emit(boost::asio::cancellation_type::terminal);
  mode::testing::poll(ctx);  // co_spawn hands the cancellation to the coroutine's loop
  gate.open();
  until([&] { return finished; });
  EXPECT_TRUE(is_cancellation(error));
  EXPECT_FALSE(ran);
  run(ctx, t->call_thread([] {}));  // the queue goes on
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, NoCallTakenIsLostWhenStopRaces) {
  for (int round = 0; round < 20; ++round) {
    auto t = make<QueueProbe>();
    run(ctx, t->start());
    std::atomic<int> ran{0};
    int ok = 0;
    int refused = 0;
    int done = 0;
    constexpr int kCalls = 50;
    for (int i = 0; i < kCalls; ++i) {
      boost::asio::co_spawn(ctx, t->call_thread([&ran] { return ++ran; }),
                            [&](std::exception_ptr e, int) {
                              ++done;
                              if (!e) {
                                ++ok;
                              } else {
                                try {
                                  std::rethrow_exception(e);
                                } catch (const ThreadNotRunning&) {
                                  ++refused;
                                } catch (...) {
                                  ADD_FAILURE() << "unexpected error";
                                }
                              }
                            });
      if (i == round)
        boost::asio::co_spawn(ctx, t->stop(), [](std::exception_ptr e) { EXPECT_EQ(e, nullptr); });
    }
    until([&] { return done == kCalls && !t->thread_alive(); });
    EXPECT_EQ(ok + refused, kCalls);
    EXPECT_EQ(ran, ok);  // every call that was taken ran, and only those
    run(ctx, t->stop());
  }
}

TEST_F(ThreadsTest, TheQueueIsDrainedBeforeTheChildrenStop) {
  auto t = make<QueueProbe>();
  auto child = t->add_dependency(make<Child>());
  run(ctx, t->start());
  Gate gate;
  t->cast_thread([&gate] { gate.block(); });
  while (!gate.entered) std::this_thread::yield();
  std::string child_state;
  bool call_done = false;
  boost::asio::co_spawn(ctx, t->call_thread([&child] { return std::string(child->state()); }),
                        [&](std::exception_ptr e, std::string s) {
                          EXPECT_EQ(e, nullptr);
                          child_state = std::move(s);
                          call_done = true;
                        });
  mode::testing::poll(ctx);  // the call is taken, behind the blocked one
  bool stopped = false;
  boost::asio::co_spawn(ctx, t->stop(), [&](std::exception_ptr) { stopped = true; });
  mode::testing::poll(ctx);
  gate.open();
  until([&] { return stopped && call_done; });
  EXPECT_EQ(child_state, "running");  // Mode 4.1.9: the method queue stops before the children
  EXPECT_EQ(child->state(), "shutdown");
}

// Casts before the start, and flush() (Mode's MethodQueue.cast and flush).

TEST_F(ThreadsTest, CastsSentBeforeTheStartRunInOrderOnceTheQueueOpens) {
  auto t = make<QueueProbe>();
  std::mutex mutex;
  std::vector<int> seen;  // written on the service's thread, read here after a call
  std::vector<std::thread::id> ran_on;
  auto note = [&](int v) {
    const std::lock_guard lock(mutex);
    seen.push_back(v);
    ran_on.push_back(std::this_thread::get_id());
    cap.record("cast " + std::to_string(v));
  };
  for (int i = 0; i < 5; ++i) t->cast_thread(note, i);
  // From another thread too: held under the lock, after the five above.
  std::thread other([&] {
    for (int i = 5; i < 10; ++i) t->cast_thread(note, i);
  });
  other.join();
  {
    const std::lock_guard lock(mutex);
    EXPECT_TRUE(seen.empty());  // nothing runs before the start
  }
  run(ctx, t->start());
  {
    const std::lock_guard lock(mutex);
    EXPECT_EQ(seen.size(), 10u);  // they ran before start() returned
  }
  t->cast_thread(note, 100);  // sent after the opening: after every held one
  run(ctx, t->call_thread([] {}));
  std::vector<int> expected{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100};
  const std::lock_guard lock(mutex);
  EXPECT_EQ(seen, expected);
  for (const std::thread::id id : ran_on) EXPECT_EQ(id, where.of("on_thread_started"));
  // They ran once the queue opened, after on_thread_started.
  const std::vector<std::string> lines = cap.lines();
  const auto opened = std::find(lines.begin(), lines.end(), "T.on_thread_started");
  const auto first = std::find(lines.begin(), lines.end(), "cast 0");
  EXPECT_TRUE(opened < first);
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, CastsSentWhileStartingAreHeldUntilTheQueueOpens) {
  class Slow : public QueueProbe {
   public:
    using QueueProbe::QueueProbe;
    Gate gate;

   protected:
    awaitable<void> on_start() override {
      gate.block();
      co_return;
    }
  };
  auto t = make<Slow>();
  t->wait_for_thread = false;
  run(ctx, t->start());
  while (!t->gate.entered) std::this_thread::yield();
  std::atomic<int> order{0};
  std::atomic<int> held_ran_at{0};
  t->cast_thread([&] { held_ran_at = ++order; });                   // the service is starting: held
  EXPECT_THROW(run(ctx, t->call_thread([] {})), ThreadNotRunning);  // calls are not held
  t->gate.open();
  until([&] { return held_ran_at != 0; });  // it ran once the queue opened
  EXPECT_FALSE(cap.matching("T.on_thread_started").empty());
  const int call_ran_at = run(ctx, t->call_thread([&] { return ++order; }));
  EXPECT_EQ(held_ran_at, 1);
  EXPECT_EQ(call_ran_at, 2);
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, FlushBeforeTheStartRunsTheHeldCastsOnTheCaller) {
  auto t = make<QueueProbe>();
  std::vector<std::string> seen;  // the casts run on this test's thread
  std::vector<std::thread::id> ran_on;
  t->cast_thread([&] {
    seen.push_back("a");
    ran_on.push_back(std::this_thread::get_id());
  });
  t->cast_thread([] { throw Boom("held boom"); });
  // An awaitable one, awaited on the caller's loop (it suspends there once).
  t->cast_thread(
      [](std::vector<std::string>* seen, std::vector<std::thread::id>* ran_on) -> awaitable<void> {
        const auto ex = co_await boost::asio::this_coro::executor;
        co_await boost::asio::post(ex, boost::asio::use_awaitable);
        seen->push_back("b");
        ran_on->push_back(std::this_thread::get_id());
      },
      &seen, &ran_on);
  t->cast_thread([]() -> awaitable<void> {
    throw Boom("held async boom");
    co_return;
  });
  t->cast_thread([&] { seen.push_back("c"); });
  run(ctx, t->flush());
  EXPECT_THAT(seen, ElementsAre("a", "b", "c"));
  EXPECT_THAT(ran_on, ElementsAre(main_id, main_id));
  const auto errors = cap.matching("[^T]: cast_thread function raised");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_THAT(errors[0], HasSubstr("held boom"));
  EXPECT_THAT(errors[1], HasSubstr("held async boom"));
  // Nothing is left for the thread.
  run(ctx, t->start());
  run(ctx, t->call_thread([] {}));
  EXPECT_THAT(seen, ElementsAre("a", "b", "c"));
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, FlushWhileRunningWaitsForEarlierCasts) {
  auto t = make<QueueProbe>();
  run(ctx, t->start());
  Gate gate;
  std::atomic<bool> slow_done{false};
  std::atomic<bool> async_started{false};
  std::atomic<bool> release{false};
  std::atomic<bool> async_done{false};
  t->cast_thread([&] {
    gate.block();
    slow_done = true;
  });
  // An awaitable cast still running (as a task) when flush's marker gets through the queue.
  t->cast_thread(
      [](QueueProbe* t, std::atomic<bool>* started, std::atomic<bool>* release,
         std::atomic<bool>* done) -> awaitable<void> {
        *started = true;
        while (!*release) {
          const bool slept = co_await t->sleep(0.001);
          if (!slept) co_return;
        }
        *done = true;
      },
      t.get(), &async_started, &release, &async_done);
  bool flushed = false;
  bool slow_done_at_flush = false;
  bool async_done_at_flush = false;
  boost::asio::co_spawn(ctx, t->flush(), [&](std::exception_ptr e) {
    EXPECT_EQ(e, nullptr);
    flushed = true;
    slow_done_at_flush = slow_done;
    async_done_at_flush = async_done;
  });
  while (!gate.entered) std::this_thread::yield();
  mode::testing::poll(ctx);
  EXPECT_FALSE(flushed);  // its marker waits behind the blocked cast
  gate.open();
  until([&] { return async_started.load(); });
  const auto a_while = std::chrono::steady_clock::now() + 50ms;
  run_until(ctx, [&] { return flushed || std::chrono::steady_clock::now() > a_while; });
  EXPECT_FALSE(flushed);  // the awaitable cast still runs
  release = true;
  until([&] { return flushed; });
  EXPECT_TRUE(slow_done_at_flush);
  EXPECT_TRUE(async_done_at_flush);
  // With nothing sent, flush is one round trip.
  run(ctx, t->flush());
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, FlushAfterStopReturnsAndCastsStillThrow) {
  auto t = make<QueueProbe>();
  run(ctx, t->start());
  // flush from the service's own thread would wait for itself: refused.
  const bool refused = run(ctx, t->call_thread(
                                    [](QueueProbe* t) -> awaitable<bool> {
                                      try {
                                        co_await t->flush();
                                      } catch (const std::logic_error&) {
                                        co_return true;
                                      }
                                      co_return false;
                                    },
                                    t.get()));
  EXPECT_TRUE(refused);
  run(ctx, t->stop());
  run(ctx, t->flush());  // returns at once: stop drained the queue
  EXPECT_THROW(t->cast_thread([] {}), ThreadNotRunning);
  EXPECT_THROW(run(ctx, t->call_thread([] {})), ThreadNotRunning);
}

TEST_F(ThreadsTest, CastsHeldWhenTheStartFailsAreDroppedWithAWarning) {
  class BadStart : public QueueProbe {
   public:
    using QueueProbe::QueueProbe;

   protected:
    awaitable<void> on_start() override {
      throw Boom("start boom");
      co_return;
    }
  };
  auto t = make<BadStart>();
  auto token = std::make_shared<int>(1);
  std::atomic<bool> ran{false};
  t->cast_thread([token, &ran] { ran = true; });
  EXPECT_EQ(token.use_count(), 2);
  EXPECT_THROW(run(ctx, t->start()), Boom);
  until([&] { return !t->thread_alive(); });
  EXPECT_FALSE(ran);
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_EQ(
      cap.matching("[^T]: Dropped 1 casts sent before the start: the queue closed before it opened")
          .size(),
      1u);
  EXPECT_THROW(t->cast_thread([] {}), ThreadNotRunning);  // the queue closed
  run(ctx, t->stop());
}

TEST_F(ThreadsTest, CastsHeldByANeverStartedServiceAreDestroyedWithIt) {
  auto t = make<QueueProbe>();
  auto token = std::make_shared<int>(1);
  bool ran = false;
  t->cast_thread([token, &ran] { ran = true; });
  t->cast_thread([](std::shared_ptr<int>) -> awaitable<void> { co_return; }, token);
  EXPECT_EQ(token.use_count(), 3);
  run(ctx, t->stop());  // stopping a service that never started keeps them held
  EXPECT_EQ(token.use_count(), 3);
  t.reset();
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_FALSE(ran);
}

}  // namespace
