// Tests of mode/utils/queues.hpp (FlowControlQueue, ThrowableQueue) against BEHAVIOUR.md §10.
#include <mode/utils/queues.hpp>

// The header under test stays first and alone: it must compile on its own.
#include <mode/testing.hpp>
#include <mode/utils/locks.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/system_error.hpp>
#include <gtest/gtest.h>

#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;

using mode::awaitable;
using mode::FlowControlEvent;
using mode::FlowControlQueue;
using mode::ThrowableQueue;
using mode::testing::poll;

template <class T>
using Outcome = std::shared_ptr<mode::testing::Outcome<T>>;

using mode::testing::is_cancellation;

std::string what(const std::exception_ptr& e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::exception& err) {
    return err.what();
  }
  return {};
}

template <class Q>
Outcome<void> spawn_put(asio::io_context& ctx, Q& q, int v,
                        asio::cancellation_signal* signal = nullptr) {
  return mode::testing::spawn(ctx, q.put(v), signal);
}

template <class Q>
Outcome<int> spawn_get(asio::io_context& ctx, Q& q, asio::cancellation_signal* signal = nullptr) {
  return mode::testing::spawn(ctx, q.get(), signal);
}

template <class T>
void run_until_finished(asio::io_context& ctx, const Outcome<T>& out) {
  mode::testing::run_until(ctx, [&] { return out->finished; });
}

TEST(FlowControlQueue, UnboundedPutGetIsFifo) {
  asio::io_context ctx;
  FlowControlQueue<int> q;
  EXPECT_EQ(q.maxsize(), 0u);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.full());
  EXPECT_EQ(q.flow_control(), nullptr);
  mode::testing::run(ctx, [](FlowControlQueue<int>* q) -> awaitable<void> {
    for (int i = 0; i < 100; ++i) co_await q->put(i);
  }(&q));
  EXPECT_EQ(q.qsize(), 100u);
  EXPECT_FALSE(q.full());
  for (int i = 0; i < 100; ++i) {
    const int v = mode::testing::run(ctx, q.get());
    EXPECT_EQ(v, i);
  }
  EXPECT_TRUE(q.empty());
}

TEST(FlowControlQueue, NowaitVariantsThrowWhenEmptyOrFull) {
  FlowControlQueue<std::string> q(2);
  EXPECT_THROW(q.get_nowait(), mode::QueueEmpty);
  q.put_nowait("a");
  q.put_nowait("b");
  EXPECT_TRUE(q.full());
  EXPECT_THROW(q.put_nowait("c"), mode::QueueFull);
  EXPECT_EQ(q.get_nowait(), "a");
  EXPECT_EQ(q.get_nowait(), "b");
  EXPECT_THROW(q.get_nowait(), mode::QueueEmpty);
}

TEST(FlowControlQueue, GetWaitsForPut) {
  asio::io_context ctx;
  FlowControlQueue<int> q;
  auto got = spawn_get(ctx, q);
  poll(ctx);
  EXPECT_FALSE(got->finished);
  EXPECT_EQ(q.getters(), 1u);
  q.put_nowait(7);
  run_until_finished(ctx, got);
  EXPECT_EQ(got->value, 7);
  EXPECT_EQ(q.getters(), 0u);
  EXPECT_TRUE(q.empty());
}

TEST(FlowControlQueue, WaitingGettersAreServedInOrder) {
  asio::io_context ctx;
  FlowControlQueue<int> q;
  auto a = spawn_get(ctx, q);
  auto b = spawn_get(ctx, q);
  auto c = spawn_get(ctx, q);
  poll(ctx);
  EXPECT_EQ(q.getters(), 3u);
  q.put_nowait(1);
  q.put_nowait(2);
  q.put_nowait(3);
  mode::testing::run_until(ctx, [&] { return a->finished && b->finished && c->finished; });
  EXPECT_EQ(a->value, 1);
  EXPECT_EQ(b->value, 2);
  EXPECT_EQ(c->value, 3);
}

TEST(FlowControlQueue, WokenGetterThatLosesTheItemWaitsAgain) {
  asio::io_context ctx;
  FlowControlQueue<int> q;
  auto a = spawn_get(ctx, q);
  poll(ctx);
  q.put_nowait(1);
  EXPECT_EQ(q.get_nowait(), 1);  // taken before the woken getter runs
  poll(ctx);
  EXPECT_FALSE(a->finished);
  EXPECT_EQ(q.getters(), 1u);
  q.put_nowait(2);
  run_until_finished(ctx, a);
  EXPECT_EQ(a->value, 2);
}

TEST(FlowControlQueue, PutWaitsWhileFull) {
  asio::io_context ctx;
  FlowControlQueue<int> q(1);
  q.put_nowait(1);
  auto put = spawn_put(ctx, q, 2);
  poll(ctx);
  EXPECT_FALSE(put->finished);
  EXPECT_EQ(q.putters(), 1u);
  EXPECT_EQ(q.get_nowait(), 1);
  run_until_finished(ctx, put);
  EXPECT_EQ(put->error, nullptr);
  EXPECT_EQ(q.get_nowait(), 2);
}

TEST(FlowControlQueue, PutWaitsWhileSuspendedAndResumeLetsItGo) {
  asio::io_context ctx;
  FlowControlEvent flow;  // starts suspended
  EXPECT_FALSE(flow.is_active());
  FlowControlQueue<int> q(0, flow);
  EXPECT_EQ(q.flow_control(), &flow);
  auto put = spawn_put(ctx, q, 5);
  poll(ctx);
  EXPECT_FALSE(put->finished);
  EXPECT_TRUE(q.empty());
  q.put_nowait(4);  // put_nowait ignores flow control, as in Mode
  flow.resume();
  run_until_finished(ctx, put);
  EXPECT_EQ(put->error, nullptr);
  EXPECT_EQ(q.get_nowait(), 4);
  EXPECT_EQ(q.get_nowait(), 5);
  // Active flow control: put completes at once.
  mode::testing::run(ctx, q.put(6));
  EXPECT_EQ(q.get_nowait(), 6);
  flow.suspend();
  auto later = spawn_put(ctx, q, 7);
  poll(ctx);
  EXPECT_FALSE(later->finished);
  flow.resume();
  run_until_finished(ctx, later);
  EXPECT_EQ(q.get_nowait(), 7);
}

TEST(FlowControlQueue, ManyWaitingProducersAllGoOnResume) {
  asio::io_context ctx;
  FlowControlEvent flow;
  FlowControlQueue<int> q(0, flow);
  std::vector<Outcome<void>> puts;
  for (int i = 0; i < 10; ++i) puts.push_back(spawn_put(ctx, q, i));
  poll(ctx);
  for (auto& p : puts) EXPECT_FALSE(p->finished);
  flow.resume();
  mode::testing::run_until(ctx, [&] {
    for (auto& p : puts)
      if (!p->finished) return false;
    return true;
  });
  for (int i = 0; i < 10; ++i) EXPECT_EQ(q.get_nowait(), i);
}

TEST(FlowControlQueue, ClearDropsItemsAndAbortsWaitingPuts) {
  asio::io_context ctx;
  FlowControlQueue<int> q(1);
  q.put_nowait(1);
  auto a = spawn_put(ctx, q, 2);
  auto b = spawn_put(ctx, q, 3);
  poll(ctx);
  EXPECT_EQ(q.putters(), 2u);
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.putters(), 0u);
  mode::testing::run_until(ctx, [&] { return a->finished && b->finished; });
  EXPECT_TRUE(is_cancellation(a->error));
  EXPECT_TRUE(is_cancellation(b->error));
  EXPECT_TRUE(q.empty());
}

TEST(FlowControlQueue, ClearOnResumeClearsTheQueueWhenFlowResumes) {
  asio::io_context ctx;
  FlowControlEvent flow(false);
  EXPECT_TRUE(flow.is_active());
  FlowControlQueue<int> cleared(0, flow, true);
  FlowControlQueue<int> kept(0, flow);
  cleared.put_nowait(1);
  kept.put_nowait(1);
  flow.suspend();
  flow.resume();
  EXPECT_TRUE(cleared.empty());
  EXPECT_EQ(kept.qsize(), 1u);
  cleared.put_nowait(2);
  flow.clear();  // clears managed queues without changing the state
  EXPECT_TRUE(cleared.empty());
  EXPECT_EQ(kept.qsize(), 1u);
  EXPECT_TRUE(flow.is_active());
  // manage_queue registers any queue (once).
  flow.manage_queue(kept);
  flow.manage_queue(kept);
  flow.clear();
  EXPECT_TRUE(kept.empty());
}

TEST(FlowControlQueue, QueueAndEventMayBeDestroyedInEitherOrder) {
  auto flow = std::make_unique<FlowControlEvent>(false);
  auto q1 = std::make_unique<FlowControlQueue<int>>(0, *flow, true);
  {
    FlowControlQueue<int> q2(0, *flow, true);
    q2.put_nowait(1);
  }
  q1->put_nowait(1);
  flow->resume();  // q2 unregistered itself
  EXPECT_TRUE(q1->empty());
  flow.reset();
  q1.reset();  // the event detached q1: no use of the dead event
}

TEST(FlowControlQueue, WaitingGetIsCancellable) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  FlowControlQueue<int> q;
  auto cancelled = spawn_get(ctx, q, &signal);
  auto kept = spawn_get(ctx, q);
  poll(ctx);
  ASSERT_EQ(q.getters(), 2u);
  signal.emit(asio::cancellation_type::terminal);
  run_until_finished(ctx, cancelled);
  EXPECT_TRUE(is_cancellation(cancelled->error));
  EXPECT_EQ(q.getters(), 1u);
  q.put_nowait(9);  // goes to the remaining getter, none lost
  run_until_finished(ctx, kept);
  EXPECT_EQ(kept->value, 9);
  EXPECT_TRUE(q.empty());
}

TEST(FlowControlQueue, PutWaitingForRoomIsCancellableAndAddsNothing) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  FlowControlQueue<int> q(1);
  q.put_nowait(1);
  auto put = spawn_put(ctx, q, 2, &signal);
  poll(ctx);
  ASSERT_EQ(q.putters(), 1u);
  signal.emit(asio::cancellation_type::terminal);
  run_until_finished(ctx, put);
  EXPECT_TRUE(is_cancellation(put->error));
  EXPECT_EQ(q.putters(), 0u);
  EXPECT_EQ(q.get_nowait(), 1);
  EXPECT_TRUE(q.empty());
}

TEST(FlowControlQueue, PutWaitingForFlowControlIsCancellable) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  FlowControlEvent flow;
  FlowControlQueue<int> q(0, flow);
  auto put = spawn_put(ctx, q, 2, &signal);
  poll(ctx);
  signal.emit(asio::cancellation_type::terminal);
  run_until_finished(ctx, put);
  EXPECT_TRUE(is_cancellation(put->error));
  flow.resume();
  poll(ctx);
  EXPECT_TRUE(q.empty());
}

TEST(FlowControlQueue, DestroyingTheQueueAbortsWaiters) {
  asio::io_context ctx;
  auto full = std::make_unique<FlowControlQueue<int>>(1);
  full->put_nowait(0);
  auto put = spawn_put(ctx, *full, 1);
  auto empty = std::make_unique<FlowControlQueue<int>>();
  auto get = spawn_get(ctx, *empty);
  poll(ctx);
  full.reset();
  empty.reset();
  mode::testing::run_until(ctx, [&] { return put->finished && get->finished; });
  EXPECT_TRUE(is_cancellation(put->error));
  EXPECT_TRUE(is_cancellation(get->error));
}

awaitable<void> produce(FlowControlQueue<int>* q, int n) {
  for (int i = 0; i < n; ++i) co_await q->put(i);
}

awaitable<void> consume(FlowControlQueue<int>* q, int n, std::vector<int>* got) {
  for (int i = 0; i < n; ++i) {
    const int v = co_await q->get();
    got->push_back(v);
  }
}

TEST(FlowControlQueue, BoundedProducerConsumerDeliversEverythingInOrder) {
  asio::io_context ctx;
  FlowControlEvent flow(false);
  FlowControlQueue<int> q(3, flow);
  std::vector<int> got;
  int done = 0;
  auto count = [&](std::exception_ptr e) {
    EXPECT_EQ(e, nullptr);
    ++done;
  };
  asio::co_spawn(ctx, consume(&q, 1000, &got), count);
  asio::co_spawn(ctx, produce(&q, 1000), count);
  mode::testing::run_until(ctx, [&] { return done == 2; });
  ASSERT_EQ(got.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(got[i], i);
}

// ---- put_nowait_enhanced (BEHAVIOUR.md §10.2) ----

std::vector<std::string>* pressure_log = nullptr;
void drop0() { pressure_log->push_back("D0"); }
void drop1() { pressure_log->push_back("D1"); }

// Counts Mode's two hooks.
class HookedQueue : public FlowControlQueue<int> {
 public:
  using FlowControlQueue<int>::FlowControlQueue;
  int highs = 0;
  int drops = 0;

 protected:
  void on_pressure_high() override { ++highs; }
  void on_pressure_drop() override { ++drops; }
};

TEST(FlowControlQueue, PressureThresholdsAreModes) {
  EXPECT_EQ(FlowControlQueue<int>(10).pressure_high_size(), 8u);
  EXPECT_EQ(FlowControlQueue<int>(10).pressure_drop_size(), 4u);
  EXPECT_EQ(FlowControlQueue<int>(0).pressure_high_size(), 0u);
  EXPECT_EQ(FlowControlQueue<int>(0).pressure_drop_size(), 0u);
  for (std::size_t m : {1u, 2u, 3u, 4u, 7u, 9u, 11u, 99u, 1000u, 1001u}) {
    EXPECT_EQ(FlowControlQueue<int>(m).pressure_high_size(),
              static_cast<std::size_t>(static_cast<double>(m) / 1.25))
        << m;
    EXPECT_EQ(FlowControlQueue<int>(m).pressure_drop_size(),
              static_cast<std::size_t>(static_cast<double>(m) * 0.40))
        << m;
  }
}

TEST(FlowControlQueue, PutNowaitEnhancedReportsHighPressureOncePerDropCallback) {
  std::vector<std::string> log;
  pressure_log = &log;
  HookedQueue q(10);
  int highs = 0;
  auto high = [&] { ++highs; };
  std::vector<bool> results;
  for (int i = 0; i < 12; ++i) results.push_back(q.put_nowait_enhanced(i, high, &drop0));
  // Only the 9th put found 8 items (pressure_high_size); D0 then stays pending.
  for (int i = 0; i < 12; ++i) EXPECT_EQ(results[i], i == 8) << i;
  EXPECT_EQ(highs, 1);
  EXPECT_EQ(q.highs, 1);
  EXPECT_EQ(q.qsize(), 12u);  // beyond maxsize: put_nowait_enhanced never refuses
  EXPECT_TRUE(q.put_nowait_enhanced(12, high, &drop1));  // another callback: reported again
  EXPECT_EQ(highs, 2);
  EXPECT_EQ(q.pending_pressure_drops(), 2u);

  // Draining with get_nowait: one drop callback per get from 4 items (pressure_drop_size) down.
  for (int i = 0; i < 9; ++i) EXPECT_EQ(q.get_nowait(), i);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(q.get_nowait(), 9);  // saw 4 items
  EXPECT_EQ(log, (std::vector<std::string>{"D0"}));
  EXPECT_EQ(q.drops, 1);
  EXPECT_EQ(q.get_nowait(), 10);  // saw 3
  EXPECT_EQ(log, (std::vector<std::string>{"D0", "D1"}));
  EXPECT_EQ(q.drops, 2);
  EXPECT_EQ(q.pending_pressure_drops(), 0u);
  EXPECT_EQ(q.get_nowait(), 11);
  EXPECT_EQ(q.get_nowait(), 12);
  EXPECT_EQ(q.drops, 2);
  // Pressure dropped: D0 may report high pressure again.
  EXPECT_FALSE(q.put_nowait_enhanced(0, high, &drop0));
  pressure_log = nullptr;
}

TEST(FlowControlQueue, PendingDropCallbacksAllRunWhenAGetFindsTheQueueEmpty) {
  asio::io_context ctx;
  std::vector<std::string> log;
  FlowControlQueue<int> q(2);  // drop size 0: only an empty queue calls them
  const int producer_a = 0;
  const int producer_b = 0;
  auto high = [] {};
  EXPECT_FALSE(q.put_nowait_enhanced(
      1, high, [&] { log.push_back("a"); }, &producer_a));
  EXPECT_TRUE(q.put_nowait_enhanced(
      2, high, [&] { log.push_back("a"); }, &producer_a));
  EXPECT_FALSE(q.put_nowait_enhanced(
      3, high, [&] { log.push_back("a"); }, &producer_a));
  EXPECT_TRUE(q.put_nowait_enhanced(
      4, high, [&] { log.push_back("b"); }, &producer_b));
  EXPECT_EQ(q.pending_pressure_drops(), 2u);
  // `get` checks only when it finds the queue empty (Mode): items left, nothing called.
  for (int i = 1; i <= 4; ++i) EXPECT_EQ(mode::testing::run(ctx, q.get()), i);
  EXPECT_TRUE(log.empty());
  auto waiting = spawn_get(ctx, q);  // finds it empty: calls both, then waits
  poll(ctx);
  EXPECT_EQ(log, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(q.pending_pressure_drops(), 0u);
  EXPECT_FALSE(waiting->finished);
  q.put_nowait(5);
  run_until_finished(ctx, waiting);
  EXPECT_EQ(waiting->value, 5);
}

TEST(FlowControlQueue, UnboundedQueueReportsHighPressureAtOnceAsMode) {
  FlowControlQueue<int> q;
  int highs = 0;
  const int key = 0;
  EXPECT_TRUE(q.put_nowait_enhanced(
      1, [&] { ++highs; }, [] {}, &key));
  EXPECT_FALSE(q.put_nowait_enhanced(
      2, [&] { ++highs; }, [] {}, &key));
  EXPECT_EQ(highs, 1);
  EXPECT_EQ(q.get_nowait(), 1);
  EXPECT_EQ(q.pending_pressure_drops(), 1u);  // 1 item > pressure_drop_size 0
  EXPECT_EQ(q.get_nowait(), 2);
  EXPECT_THROW(q.get_nowait(), mode::QueueEmpty);  // empty: called, then QueueEmpty
  EXPECT_EQ(q.pending_pressure_drops(), 0u);
  EXPECT_THROW(q.put_nowait_enhanced(
                   3, [] {}, [] {}, nullptr),
               std::invalid_argument);
}

TEST(FlowControlQueue, PutNowaitEnhancedWakesAWaitingGetterAndIgnoresFlowControl) {
  asio::io_context ctx;
  FlowControlEvent flow;  // suspended
  ThrowableQueue<int> q(1, flow);
  auto got = spawn_get(ctx, q);
  poll(ctx);
  const int key = 0;
  EXPECT_TRUE(q.put_nowait_enhanced(
      7, [] {}, [] {}, &key));  // pressure_high_size 0
  run_until_finished(ctx, got);
  EXPECT_EQ(got->value, 7);
}

TEST(FlowControlQueue, ThrowingPressureCallbacks) {
  FlowControlQueue<int> q(10);
  for (int i = 0; i < 8; ++i) q.put_nowait(i);
  const int key = 0;
  auto boom = [] { throw std::runtime_error("high"); };
  EXPECT_THROW(q.put_nowait_enhanced(
                   8, boom, [] {}, &key),
               std::runtime_error);
  EXPECT_EQ(q.qsize(), 8u);  // nothing queued
  EXPECT_EQ(q.pending_pressure_drops(), 1u);
  const int other = 0;
  int calls = 0;
  EXPECT_TRUE(q.put_nowait_enhanced(
      8, [] {}, [&] { ++calls; }, &other));
  while (q.qsize() > 4) q.get_nowait();
  EXPECT_EQ(q.get_nowait(), 5);  // the first drop callback (does nothing) ran
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(q.get_nowait(), 6);
  EXPECT_EQ(calls, 1);
}

TEST(FlowControlQueue, StatsCountPressureAndWaitingPuts) {
  asio::io_context ctx;
  FlowControlEvent flow(false);
  FlowControlQueue<int> q(5, flow);
  EXPECT_EQ(q.stats().pressure_highs, 0u);
  for (int i = 0; i < 4; ++i) q.put_nowait(i);
  int key = 0;
  EXPECT_TRUE(q.put_nowait_enhanced(
      4, [] {}, [] {}, &key));  // found 4 items: pressure_high_size
  EXPECT_FALSE(q.put_nowait_enhanced(
      5, [] {}, [] {}, &key));  // its drop callback is pending: not again
  EXPECT_EQ(q.stats().pressure_highs, 1u);
  for (int i = 0; i < 3; ++i) q.get_nowait();
  EXPECT_EQ(q.stats().pressure_drops, 0u);
  q.get_nowait();  // saw 3 items: not yet (pressure_drop_size is 2)
  q.get_nowait();  // saw 2
  EXPECT_EQ(q.stats().pressure_drops, 1u);

  // A put that waits for room, then one that waits for flow control.
  for (int i = 0; i < 4; ++i) q.put_nowait(i);
  EXPECT_TRUE(q.full());
  auto full = spawn_put(ctx, q, 9);
  poll(ctx);
  EXPECT_EQ(q.stats().full_waits, 1u);
  q.get_nowait();
  run_until_finished(ctx, full);
  EXPECT_EQ(full->error, nullptr);
  q.clear();
  flow.suspend();
  auto held = spawn_put(ctx, q, 10);
  poll(ctx);
  EXPECT_EQ(q.stats().flow_control_waits, 1u);
  EXPECT_EQ(q.stats().full_waits, 1u);
  flow.resume();
  run_until_finished(ctx, held);
  EXPECT_EQ(held->error, nullptr);
  EXPECT_GT(q.stats().put_wait_time.count(), 0);
  // A put that does not wait counts nothing.
  mode::testing::run(ctx, q.put(11));
  EXPECT_EQ(q.stats().flow_control_waits, 1u);
  EXPECT_EQ(q.stats().full_waits, 1u);
}

TEST(FlowControlQueue, LifetimeExpiresWithTheQueue) {
  std::weak_ptr<const mode::FlowControlQueueBase> seen;
  {
    FlowControlQueue<int> q(3);
    seen = q.lifetime();
    EXPECT_EQ(seen.lock().get(), &q);
    EXPECT_EQ(q.lifetime().lock().get(), &q);  // the same anchor each time
  }
  EXPECT_TRUE(seen.expired());
}

TEST(ThrowableQueue, ThrowMakesTheNextGetRaiseThenItemsFollow) {
  asio::io_context ctx;
  ThrowableQueue<int> q;
  mode::testing::run(ctx, q.put(3));
  mode::testing::run(ctx, q.put(4));
  q.throw_(std::make_exception_ptr(std::out_of_range("key")));
  EXPECT_FALSE(q.empty());
  EXPECT_EQ(q.pending_errors(), 1u);
  EXPECT_THROW(mode::testing::run(ctx, q.get()), std::out_of_range);
  EXPECT_EQ(mode::testing::run(ctx, q.get()), 3);
  EXPECT_EQ(mode::testing::run(ctx, q.get()), 4);
  EXPECT_TRUE(q.empty());
}

TEST(ThrowableQueue, ThrowWakesAWaitingGetter) {
  asio::io_context ctx;
  ThrowableQueue<int> q;
  auto get = spawn_get(ctx, q);
  poll(ctx);
  ASSERT_EQ(q.getters(), 1u);
  q.throw_(std::make_exception_ptr(std::runtime_error("boom")));
  run_until_finished(ctx, get);
  EXPECT_EQ(what(get->error), "boom");
  EXPECT_TRUE(q.empty());
}

TEST(ThrowableQueue, ErrorsAreRaisedOldestFirstAlsoByGetNowait) {
  ThrowableQueue<int> q;
  q.put_nowait(1);
  q.throw_(std::make_exception_ptr(std::runtime_error("first")));
  q.throw_(std::make_exception_ptr(std::runtime_error("second")));
  std::vector<std::string> seen;
  for (int i = 0; i < 2; ++i) {
    try {
      q.get_nowait();
    } catch (const std::runtime_error& e) {
      seen.push_back(e.what());
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"first", "second"}));
  EXPECT_EQ(q.get_nowait(), 1);
  EXPECT_THROW(q.get_nowait(), mode::QueueEmpty);
}

TEST(ThrowableQueue, ErrorAndItemsReachSeveralWaitingGetters) {
  asio::io_context ctx;
  ThrowableQueue<int> q;
  auto a = spawn_get(ctx, q);
  auto b = spawn_get(ctx, q);
  poll(ctx);
  q.throw_(std::make_exception_ptr(std::runtime_error("x")));
  q.put_nowait(1);
  mode::testing::run_until(ctx, [&] { return a->finished && b->finished; });
  EXPECT_EQ(what(a->error), "x");
  EXPECT_EQ(b->value, 1);
}

TEST(ThrowableQueue, ClearDropsErrorsItemsAndAbortsPuts) {
  asio::io_context ctx;
  FlowControlEvent flow(false);
  ThrowableQueue<int> q(1, flow);
  q.put_nowait(1);
  q.throw_(std::make_exception_ptr(std::runtime_error("x")));
  auto put = spawn_put(ctx, q, 2);
  poll(ctx);
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.pending_errors(), 0u);
  run_until_finished(ctx, put);
  EXPECT_TRUE(is_cancellation(put->error));
  EXPECT_THROW(q.get_nowait(), mode::QueueEmpty);
}

TEST(ThrowableQueue, NullErrorIsRejected) {
  ThrowableQueue<int> q;
  EXPECT_THROW(q.throw_(nullptr), std::invalid_argument);
  EXPECT_TRUE(q.empty());
}

}  // namespace
