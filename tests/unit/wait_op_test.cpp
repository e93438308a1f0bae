// Tests of mode/detail/wait_op.hpp: WaitOp, WaitList and the per-loop TimerQueue.
#include <mode/detail/wait_op.hpp>

// The header under test stays first and alone: it must compile on its own.
#include <mode/clock.hpp>
#include <mode/testing.hpp>

#include "kernel_objects.hpp"
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using mode::awaitable;
using mode::Clock;
using mode::ManualClock;
using mode::detail::TimerQueue;
using mode::detail::WaitList;
using mode::detail::WaitOp;
using mode::detail::Wake;

struct Resumed {
  int id;
  Wake why;
  Clock::time_point at;
};

// Waits on `op` (owned by the test), recording when and why it resumed.
awaitable<void> await_op(WaitOp* op, int id, std::vector<Resumed>* log) {
  const auto ex = co_await asio::this_coro::executor;
  const Wake why = co_await op->wait();
  log->push_back({id, why, TimerQueue::of(ex).now()});
}

// Arms a deadline `after` from now on the loop's clock, then waits on it.
awaitable<void> sleep_then_record(Clock::duration after, int id, std::vector<Resumed>* log) {
  const auto ex = co_await asio::this_coro::executor;
  TimerQueue& timers = TimerQueue::of(ex);
  WaitOp op;
  op.expire_at(timers.now() + after, ex);
  const Wake why = co_await op.wait();
  log->push_back({id, why, timers.now()});
}

// Runs `ctx` until `done()`; false if that takes more than two seconds.
template <class Pred>
bool finishes(asio::io_context& ctx, Pred done) {
  try {
    mode::testing::run_until(ctx, done, std::chrono::seconds(2));
    return true;
  } catch (const std::runtime_error&) {
    return false;
  }
}

void spawn(asio::io_context& ctx, awaitable<void> a) {
  asio::co_spawn(ctx, std::move(a), [](std::exception_ptr e) { EXPECT_EQ(e, nullptr); });
}

// ---- WaitOp ----

TEST(WaitOp, FiresOnceFirstReasonWins) {
  WaitOp op;
  EXPECT_EQ(op.result(), Wake::pending);
  op.fire(Wake::stopped);
  EXPECT_EQ(op.result(), Wake::stopped);
  op.fire(Wake::done);
  op.fire(Wake::timed_out);
  op.fire(Wake::cancelled);
  EXPECT_EQ(op.result(), Wake::stopped);
}

TEST(WaitOp, WaitOnFiredOpCompletesAtOnce) {
  asio::io_context ctx;
  WaitOp op;
  op.fire(Wake::timed_out);
  const auto wait = [&op]() -> awaitable<Wake> { co_return co_await op.wait(); };
  EXPECT_EQ(mode::testing::run(ctx, wait()), Wake::timed_out);
  EXPECT_EQ(mode::testing::run(ctx, wait()), Wake::timed_out);  // and again
}

TEST(WaitOp, FireResumesTheWaiterLaterOnItsExecutorNotInline) {
  asio::io_context ctx;
  WaitOp op;
  std::vector<Resumed> log;
  spawn(ctx, await_op(&op, 1, &log));
  ctx.poll();
  EXPECT_TRUE(log.empty());
  op.fire(Wake::done);
  EXPECT_TRUE(log.empty());
  op.fire(Wake::stopped);  // ignored
  mode::testing::run_until(ctx, [&] { return !log.empty(); });
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].why, Wake::done);
}

// The signal is declared first: an Asio cancellation slot's signal must outlive the operation.
TEST(WaitOp, AsioCancellationFiresCancelled) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  WaitOp op;
  WaitList list;
  list.push_back(op.source_link);
  std::vector<Resumed> log;
  asio::co_spawn(ctx, await_op(&op, 1, &log),
                 asio::bind_cancellation_slot(signal.slot(), [](std::exception_ptr e) {
                   EXPECT_EQ(e, nullptr);  // a cancelled wait is a value, not an exception
                 }));
  ctx.poll();
  signal.emit(asio::cancellation_type::terminal);
  if (!finishes(ctx, [&] { return !log.empty(); })) {
    ADD_FAILURE() << "Asio cancellation did not reach the WaitOp";
    op.fire(Wake::done);  // let the waiter finish so that the test cleans up
    mode::testing::run_until(ctx, [&] { return !log.empty(); });
    return;
  }
  EXPECT_EQ(op.result(), Wake::cancelled);
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(log[0].why, Wake::cancelled);
}

TEST(WaitOp, AsioCancellationRemovesTheDeadline) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  TimerQueue& timers = TimerQueue::of(ctx.get_executor());
  asio::cancellation_signal signal;
  WaitOp op;
  op.expire_at(clock.now() + 1s, ctx.get_executor());
  std::vector<Resumed> log;
  asio::co_spawn(ctx, await_op(&op, 1, &log),
                 asio::bind_cancellation_slot(signal.slot(), [](std::exception_ptr) {}));
  ctx.poll();
  signal.emit(asio::cancellation_type::terminal);
  ctx.poll();
  EXPECT_EQ(op.result(), Wake::cancelled) << "Asio cancellation did not reach the WaitOp";
  EXPECT_FALSE(timers.scheduled(op));
  clock.advance(2, ctx);  // fires the deadline if the cancellation was lost
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(log[0].why, Wake::cancelled);
}

TEST(WaitOp, CancellationAfterFireChangesNothing) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  WaitOp op;
  std::vector<Resumed> log;
  asio::co_spawn(ctx, await_op(&op, 1, &log),
                 asio::bind_cancellation_slot(signal.slot(), [](std::exception_ptr) {}));
  ctx.poll();
  op.fire(Wake::done);
  signal.emit(asio::cancellation_type::terminal);
  mode::testing::run_until(ctx, [&] { return !log.empty(); });
  EXPECT_EQ(log[0].why, Wake::done);
}

TEST(WaitOp, FireUnhooksFromEveryListAndTheTimerQueue) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  TimerQueue& timers = TimerQueue::of(ctx.get_executor());
  WaitList stops;
  WaitList sources;
  WaitOp op;
  stops.push_back(op.stop_link);
  sources.push_back(op.source_link);
  op.expire_at(clock.now() + 1s, ctx.get_executor());
  EXPECT_TRUE(op.stop_link.linked());
  EXPECT_TRUE(op.source_link.linked());
  EXPECT_TRUE(timers.scheduled(op));
  op.fire(Wake::done);
  EXPECT_FALSE(op.stop_link.linked());
  EXPECT_FALSE(op.source_link.linked());
  EXPECT_TRUE(stops.empty());
  EXPECT_TRUE(sources.empty());
  EXPECT_FALSE(timers.scheduled(op));
  EXPECT_EQ(timers.next_deadline(), std::nullopt);
  clock.advance(2, ctx);
  EXPECT_EQ(op.result(), Wake::done);
}

TEST(WaitOp, DestructorUnhooksFromEveryListAndTheTimerQueue) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  TimerQueue& timers = TimerQueue::of(ctx.get_executor());
  WaitList stops;
  WaitList sources;
  WaitOp keep;
  sources.push_back(keep.source_link);
  keep.expire_at(clock.now() + 2s, ctx.get_executor());
  {
    WaitOp op;
    stops.push_back(op.stop_link);
    sources.push_back(op.source_link);
    op.expire_at(clock.now() + 1s, ctx.get_executor());
    EXPECT_EQ(sources.size(), 2u);
    EXPECT_EQ(timers.next_deadline(), clock.now() + 1s);
  }
  EXPECT_TRUE(stops.empty());
  EXPECT_EQ(sources.size(), 1u);
  EXPECT_EQ(timers.next_deadline(), clock.now() + 2s);
  clock.advance(2, ctx);
  EXPECT_EQ(keep.result(), Wake::timed_out);
}

TEST(WaitOp, DeadlineFiresTimedOutAndUnlinksFromLists) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  WaitList sources;
  WaitOp op;
  sources.push_back(op.source_link);
  op.expire_at(clock.now() + 1s, ctx.get_executor());
  clock.advance(0.5, ctx);
  EXPECT_EQ(op.result(), Wake::pending);
  clock.advance(0.5, ctx);
  EXPECT_EQ(op.result(), Wake::timed_out);
  EXPECT_TRUE(sources.empty());
}

TEST(WaitOp, ExpireAtAgainReplacesTheDeadline) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  TimerQueue& timers = TimerQueue::of(ctx.get_executor());
  WaitOp op;
  op.expire_at(clock.now() + 1s, ctx.get_executor());
  op.expire_at(clock.now() + 3s, ctx.get_executor());
  EXPECT_EQ(timers.next_deadline(), clock.now() + 3s);
  clock.advance(2, ctx);
  EXPECT_EQ(op.result(), Wake::pending);
  clock.advance(1, ctx);
  EXPECT_EQ(op.result(), Wake::timed_out);
}

// Asio destroys a coroutine suspended in one of its operations when the io_context is destroyed;
// a coroutine suspended on a WaitOp must be destroyed too, not leaked with everything it owns.
TEST(WaitOp, DestroyingTheContextReleasesASuspendedWaiter) {
  auto owned = std::make_shared<int>(0);
  {
    asio::io_context ctx;
    asio::co_spawn(
        ctx,
        [](std::shared_ptr<int> keep) -> awaitable<void> {
          WaitOp op;
          const Wake why = co_await op.wait();
          *keep = static_cast<int>(why);
        }(owned),
        [](std::exception_ptr) {});
    ctx.poll();
    EXPECT_EQ(owned.use_count(), 2);
  }
  EXPECT_EQ(owned.use_count(), 1) << "the waiting coroutine's frame was leaked";
}

TEST(WaitOp, DestroyingTheContextReleasesAWaiterWithADeadline) {
  auto owned = std::make_shared<int>(0);
  {
    asio::io_context ctx;
    asio::co_spawn(
        ctx,
        [](std::shared_ptr<int> keep) -> awaitable<void> {
          const auto ex = co_await asio::this_coro::executor;
          WaitOp op;
          op.expire_at(TimerQueue::of(ex).now() + 1h, ex);
          const Wake why = co_await op.wait();
          *keep = static_cast<int>(why);
        }(owned),
        [](std::exception_ptr) {});
    ctx.poll();
    EXPECT_EQ(owned.use_count(), 2);
  }
  EXPECT_EQ(owned.use_count(), 1) << "the waiting coroutine's frame was leaked";
}

TEST(WaitOp, DestroyingTheContextReleasesAFiredWaiterNotYetResumed) {
  auto owned = std::make_shared<int>(0);
  {
    asio::io_context ctx;
    WaitOp* waiting = nullptr;
    asio::co_spawn(
        ctx,
        [](std::shared_ptr<int> keep, WaitOp** out) -> awaitable<void> {
          WaitOp op;
          *out = &op;
          const Wake why = co_await op.wait();
          *keep = static_cast<int>(why);
        }(owned, &waiting),
        [](std::exception_ptr) {});
    ctx.poll();
    ASSERT_NE(waiting, nullptr);
    // Fired from a handler of the loop: queued for the loop's next batch, which never runs.
    asio::post(ctx, [&] { waiting->fire(Wake::done); });
    EXPECT_EQ(ctx.run_one(), 1u);
    EXPECT_EQ(owned.use_count(), 2);
  }
  EXPECT_EQ(owned.use_count(), 1) << "the fired coroutine's frame was leaked";
}

// ---- Batched resumption ----

TEST(WaitOp, WaitsFiredTogetherResumeInOneHandlerInFiringOrder) {
  asio::io_context ctx;
  std::vector<std::unique_ptr<WaitOp>> ops;
  std::vector<Resumed> log;
  for (int i = 0; i < 3; ++i) {
    ops.push_back(std::make_unique<WaitOp>());
    spawn(ctx, await_op(ops.back().get(), i, &log));
  }
  ctx.poll();
  // Fired from a handler of the loop: a wait fired from elsewhere is posted on its own.
  asio::post(ctx, [&] {
    ops[2]->fire(Wake::done);
    ops[0]->fire(Wake::stopped);
    ops[1]->fire(Wake::done);
  });
  EXPECT_EQ(ctx.run_one(), 1u);  // the firing handler
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(ctx.run_one(), 1u);
  ASSERT_EQ(log.size(), 3u) << "each fired wait cost a handler of its own";
  EXPECT_EQ(log[0].id, 2);
  EXPECT_EQ(log[1].id, 0);
  EXPECT_EQ(log[1].why, Wake::stopped);
  EXPECT_EQ(log[2].id, 1);
}

// A chain of wake-ups (each resumed coroutine wakes the next) stays in one batch.
TEST(WaitOp, AWaitFiredByAResumedCoroutineJoinsTheSameBatch) {
  asio::io_context ctx;
  WaitOp first;
  WaitOp second;
  std::vector<int> order;
  spawn(ctx, [](WaitOp* op, WaitOp* next, std::vector<int>* out) -> awaitable<void> {
    co_await op->wait();
    out->push_back(1);
    next->fire(Wake::done);
  }(&first, &second, &order));
  spawn(ctx, [](WaitOp* op, std::vector<int>* out) -> awaitable<void> {
    co_await op->wait();
    out->push_back(2);
  }(&second, &order));
  ctx.poll();
  asio::post(ctx, [&] { first.fire(Wake::done); });
  EXPECT_EQ(ctx.run_one(), 1u);  // the firing handler
  EXPECT_EQ(ctx.run_one(), 1u);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

// Coroutines that keep waking each other must not starve the loop: a batch is bounded, and
// a handler posted meanwhile runs between two batches.
TEST(WaitOp, ABatchIsBoundedSoOtherHandlersRunBetweenBatches) {
  asio::io_context ctx;
  constexpr int kWaits = 600;
  std::vector<std::unique_ptr<WaitOp>> ops;
  std::vector<Resumed> log;
  for (int i = 0; i < kWaits; ++i) {
    ops.push_back(std::make_unique<WaitOp>());
    spawn(ctx, await_op(ops.back().get(), i, &log));
  }
  ctx.poll();
  std::size_t resumed_before_other = 0;
  asio::post(ctx, [&] {
    for (auto& op : ops) op->fire(Wake::done);
    asio::post(ctx, [&] { resumed_before_other = log.size(); });
  });
  ctx.poll();
  ASSERT_EQ(log.size(), static_cast<std::size_t>(kWaits));
  EXPECT_GT(resumed_before_other, 0u);
  EXPECT_LT(resumed_before_other, static_cast<std::size_t>(kWaits));
}

// A coroutine on a strand resumes through its strand, not in the loop's batch.
TEST(WaitOp, AWaiterOnAStrandResumesOnItsStrand) {
  asio::io_context ctx;
  auto strand = asio::make_strand(ctx);
  WaitOp op;
  bool on_strand = false;
  bool done = false;
  asio::co_spawn(
      strand,
      [](WaitOp* op, decltype(strand) s, bool* on) -> awaitable<void> {
        co_await op->wait();
        *on = s.running_in_this_thread();
      }(&op, strand, &on_strand),
      [&](std::exception_ptr e) {
        EXPECT_EQ(e, nullptr);
        done = true;
      });
  ctx.poll();
  op.fire(Wake::done);
  mode::testing::run_until(ctx, [&] { return done; });
  EXPECT_TRUE(on_strand);
}

// The handler of an awaiting coroutine fits in the op; any other handler works too, held on the
// heap if it is larger (a plain callback bound to an executor here).
TEST(WaitOp, AnyCompletionHandlerIsHeldAndResumedOnItsExecutor) {
  asio::io_context ctx;
  WaitOp op;
  struct Large {
    std::size_t words[8] = {};
  };
  Large payload;
  payload.words[7] = 7;
  std::optional<Wake> got;
  std::size_t seen = 0;
  op.wait()(asio::bind_executor(ctx.get_executor(), [payload, &got, &seen](Wake why) {
    got = why;
    seen = payload.words[7];
  }));
  op.fire(Wake::stopped);
  EXPECT_FALSE(got);  // posted, never inline
  ctx.run();
  EXPECT_EQ(got, Wake::stopped);
  EXPECT_EQ(seen, 7u);
}

TEST(WaitOp, ACallbackHandlerLeftPendingIsDestroyedWithTheOp) {
  asio::io_context ctx;
  auto alive = std::make_shared<int>(0);
  {
    WaitOp op;
    op.wait()(asio::bind_executor(ctx.get_executor(), [alive](Wake) {}));
    EXPECT_EQ(alive.use_count(), 2);
  }
  EXPECT_EQ(alive.use_count(), 1);
}

// ---- WaitList ----

TEST(WaitList, LinksAndUnlinksWithoutAllocation) {
  WaitList list;
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.size(), 0u);
  WaitOp a;
  WaitOp b;
  EXPECT_FALSE(a.source_link.linked());
  list.push_back(a.source_link);
  list.push_back(b.source_link);
  EXPECT_EQ(list.size(), 2u);
  a.source_link.unlink();
  EXPECT_FALSE(a.source_link.linked());
  EXPECT_EQ(list.size(), 1u);
  a.source_link.unlink();  // unlinking twice is harmless
  EXPECT_EQ(list.size(), 1u);
}

TEST(WaitList, PushBackMovesALinkFromAnotherList) {
  WaitList first;
  WaitList second;
  WaitOp op;
  first.push_back(op.source_link);
  second.push_back(op.source_link);
  EXPECT_TRUE(first.empty());
  EXPECT_EQ(second.size(), 1u);
  second.push_back(op.source_link);  // re-adding moves it to the back, once
  EXPECT_EQ(second.size(), 1u);
}

TEST(WaitList, FireAllFiresInTheOrderAdded) {
  asio::io_context ctx;
  WaitList list;
  WaitOp ops[4];
  std::vector<Resumed> log;
  for (int i : {2, 0, 3, 1}) {
    list.push_back(ops[i].stop_link);
    spawn(ctx, await_op(&ops[i], i, &log));
  }
  ctx.poll();
  list.fire_all(Wake::stopped);
  EXPECT_TRUE(list.empty());
  for (const WaitOp& op : ops) EXPECT_EQ(op.result(), Wake::stopped);
  mode::testing::run_until(ctx, [&] { return log.size() == 4; });
  std::vector<int> order;
  for (const Resumed& r : log) {
    order.push_back(r.id);
    EXPECT_EQ(r.why, Wake::stopped);
  }
  EXPECT_EQ(order, (std::vector<int>{2, 0, 3, 1}));
}

TEST(WaitList, FireAllSkipsNothingWhenOpsAreAlreadyFiredElsewhere) {
  WaitList list;
  WaitList other;
  WaitOp a;
  WaitOp b;
  list.push_back(a.source_link);
  list.push_back(b.source_link);
  other.push_back(b.stop_link);
  b.fire(Wake::done);  // unlinks b from both lists
  EXPECT_EQ(list.size(), 1u);
  list.fire_all(Wake::stopped);
  EXPECT_EQ(a.result(), Wake::stopped);
  EXPECT_EQ(b.result(), Wake::done);
  EXPECT_TRUE(other.empty());
}

TEST(WaitList, FireAllUnlinksAnOpThatFiredWhileLinked) {
  // As in a loop's ready list: the op fired, then joined the list (it hangs without the check).
  WaitOp fired;
  WaitOp pending;
  fired.fire(Wake::done);
  WaitList list;
  list.push_back(fired.suspended_link);
  list.push_back(pending.stop_link);
  list.fire_all(Wake::stopped);
  EXPECT_TRUE(list.empty());
  EXPECT_FALSE(fired.suspended_link.linked());
  EXPECT_EQ(fired.result(), Wake::done);
  EXPECT_EQ(pending.result(), Wake::stopped);
}

TEST(WaitList, DestructorFiresCancelled) {
  WaitOp op;
  {
    WaitList list;
    list.push_back(op.source_link);
  }
  EXPECT_EQ(op.result(), Wake::cancelled);
  EXPECT_FALSE(op.source_link.linked());
}

// ---- TimerQueue ----

TEST(TimerQueue, OnePerLoop) {
  asio::io_context a;
  asio::io_context b;
  EXPECT_EQ(&TimerQueue::of(a.get_executor()), &TimerQueue::of(a.get_executor()));
  EXPECT_NE(&TimerQueue::of(a.get_executor()), &TimerQueue::of(b.get_executor()));
}

TEST(TimerQueue, CancelRemovesFromTheHeap) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  TimerQueue& timers = TimerQueue::of(ctx.get_executor());
  WaitOp a;
  WaitOp b;
  WaitOp c;
  a.expire_at(clock.now() + 1s, ctx.get_executor());
  b.expire_at(clock.now() + 2s, ctx.get_executor());
  c.expire_at(clock.now() + 3s, ctx.get_executor());
  EXPECT_EQ(timers.next_deadline(), clock.now() + 1s);
  timers.cancel(a);
  EXPECT_FALSE(timers.scheduled(a));
  EXPECT_EQ(timers.next_deadline(), clock.now() + 2s);
  timers.cancel(a);  // cancelling twice is harmless
  timers.cancel(c);
  EXPECT_EQ(timers.next_deadline(), clock.now() + 2s);
  clock.advance(5, ctx);
  EXPECT_EQ(a.result(), Wake::pending);
  EXPECT_EQ(b.result(), Wake::timed_out);
  EXPECT_EQ(c.result(), Wake::pending);
  EXPECT_EQ(timers.next_deadline(), std::nullopt);
}

TEST(TimerQueue, CancellingTheLastDeadlineLetsTheLoopRunOutOfWork) {
  asio::io_context ctx;
  WaitOp op;
  op.expire_at(TimerQueue::of(ctx.get_executor()).now() + 1h, ctx.get_executor());
  TimerQueue::of(ctx.get_executor()).cancel(op);
  // With the Asio timer still armed, run() would wait out the hour; the bound only ends the test.
  ctx.run_for(30s);
  EXPECT_TRUE(ctx.stopped());
}

// Random deadlines, some cancelled, some moved: the queue always reports the earliest remaining
// deadline, and stepping the clock to it fires exactly the waits due then.
TEST(TimerQueue, HeapOrderWithManyRandomDeadlines) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  TimerQueue& timers = TimerQueue::of(ctx.get_executor());
  const Clock::time_point t0 = clock.now();
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> millis(1, 20000);
  std::uniform_int_distribution<int> action(0, 5);

  constexpr std::size_t n = 600;
  std::vector<std::unique_ptr<WaitOp>> ops;
  std::vector<Clock::time_point> deadline(n);
  std::vector<bool> live(n, true);
  for (std::size_t i = 0; i < n; ++i) {
    ops.push_back(std::make_unique<WaitOp>());
    deadline[i] = t0 + std::chrono::milliseconds(millis(rng));
    ops[i]->expire_at(deadline[i], ctx.get_executor());
  }
  for (std::size_t i = 0; i < n; ++i) {
    switch (action(rng)) {
      case 0:  // cancelled
        timers.cancel(*ops[i]);
        live[i] = false;
        break;
      case 1:  // destroyed
        ops[i].reset();
        live[i] = false;
        break;
      case 2:  // moved
        deadline[i] = t0 + std::chrono::milliseconds(millis(rng));
        ops[i]->expire_at(deadline[i], ctx.get_executor());
        break;
      default:
        break;
    }
  }

  std::size_t fired = 0;
  while (const auto next = timers.next_deadline()) {
    Clock::time_point earliest = Clock::time_point::max();
    for (std::size_t i = 0; i < n; ++i)
      if (live[i] && ops[i]->result() == Wake::pending) earliest = std::min(earliest, deadline[i]);
    ASSERT_EQ(*next, earliest);
    clock.advance(*next - clock.now(), ctx);
    ASSERT_EQ(clock.now(), *next);
    for (std::size_t i = 0; i < n; ++i) {
      if (!live[i]) continue;
      const bool due = deadline[i] <= clock.now();
      ASSERT_EQ(ops[i]->result(), due ? Wake::timed_out : Wake::pending) << "wait " << i;
    }
    fired = static_cast<std::size_t>(std::count_if(
        ops.begin(), ops.end(),
        [](const std::unique_ptr<WaitOp>& op) { return op && op->result() == Wake::timed_out; }));
  }
  for (std::size_t i = 0; i < n; ++i)
    if (ops[i]) {
      EXPECT_EQ(ops[i]->result(), live[i] ? Wake::timed_out : Wake::pending);
    }
  EXPECT_EQ(fired, static_cast<std::size_t>(std::count(live.begin(), live.end(), true)));
  EXPECT_GT(fired, n / 3);
}

// Waiting coroutines with random deadlines resume in deadline order, each at its deadline.
TEST(TimerQueue, WaitersResumeInDeadlineOrderOnAManualClock) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  const Clock::time_point t0 = clock.now();
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> millis(0, 5000);
  std::vector<Resumed> log;
  std::vector<Clock::duration> after;
  for (int i = 0; i < 200; ++i) {
    after.push_back(std::chrono::milliseconds(millis(rng)));
    spawn(ctx, sleep_then_record(after.back(), i, &log));
  }
  ctx.poll();
  clock.advance(6, ctx);
  ASSERT_EQ(log.size(), after.size());
  for (std::size_t k = 0; k < log.size(); ++k) {
    EXPECT_EQ(log[k].why, Wake::timed_out);
    EXPECT_EQ(log[k].at, t0 + after[static_cast<std::size_t>(log[k].id)]) << "waiter " << log[k].id;
    if (k > 0) {
      EXPECT_LE(log[k - 1].at, log[k].at);
    }
  }
}

// Sleeps through two deadlines on the real clock, counting the event-loop kernel objects open
// meanwhile (epoll or io_uring instances).
awaitable<void> sleep_twice(int* kernel_objects, Clock::time_point* woke) {
  const auto ex = co_await asio::this_coro::executor;
  for (int i = 0; i < 2; ++i) {
    WaitOp op;
    op.expire_at(TimerQueue::of(ex).now() + 5ms, ex);
    const Wake why = co_await op.wait();
    EXPECT_EQ(why, Wake::timed_out);
  }
  *woke = TimerQueue::of(ex).now();
  *kernel_objects = mode::testing::open_kernel_objects();
}

TEST(TimerQueue, RunDrivingFiresDeadlinesWithoutAnAsioTimer) {
  int before = -1;
  Clock::time_point unused;
  {
    asio::io_context probe;
    bool done = false;
    asio::co_spawn(probe, sleep_twice(&before, &unused), [&](std::exception_ptr) { done = true; });
    probe.run();  // an Asio timer: the loop opens its epoll (or io_uring) instance
    ASSERT_TRUE(done);
  }
  asio::io_context ctx;
  int during = -1;
  Clock::time_point woke;
  const Clock::time_point start = mode::now(ctx);
  asio::co_spawn(ctx, sleep_twice(&during, &woke), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  TimerQueue::run_driving(ctx);
  EXPECT_GE(woke - start, 10ms);
  EXPECT_EQ(during, before - 1);  // no kernel event-loop object of its own
}

}  // namespace
