// Tests of mode/utils/locks.hpp (Event) against BEHAVIOUR.md §17.1 and the conventions.
#include <mode/utils/locks.hpp>

// The header under test stays first and alone: it must compile on its own.
#include <mode/detail/wait_op.hpp>
#include <mode/testing.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/system_error.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using mode::awaitable;
using mode::Event;

// What a spawned waiter ended with.
struct Outcome {
  bool finished = false;
  std::exception_ptr error;
};

awaitable<void> wait_and_record(Event* event, std::vector<int>* order, int id) {
  co_await event->wait();
  order->push_back(id);
}

// Spawns `event->wait()` on `ctx`, recording its outcome.
void spawn_wait(asio::io_context& ctx, Event& event, std::shared_ptr<Outcome> out) {
  asio::co_spawn(ctx, event.wait(), [out](std::exception_ptr e) {
    out->finished = true;
    out->error = e;
  });
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

// The error code of a system_error in `e`, or nothing.
std::optional<boost::system::error_code> system_error_code(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& err) {
    return err.code();
  } catch (...) {
  }
  return std::nullopt;
}

TEST(Event, StartsClearAndSetClearToggleTheFlag) {
  Event event;
  EXPECT_FALSE(event.is_set());
  EXPECT_EQ(event.waiters(), 0u);
  event.set();
  EXPECT_TRUE(event.is_set());
  event.set();  // idempotent
  EXPECT_TRUE(event.is_set());
  event.clear();
  EXPECT_FALSE(event.is_set());
  event.clear();
  EXPECT_FALSE(event.is_set());
}

TEST(Event, WaitOnSetEventReturnsAtOnce) {
  asio::io_context ctx;
  Event event;
  event.set();
  mode::testing::run(ctx, event.wait());
  EXPECT_TRUE(event.is_set());
  EXPECT_EQ(event.waiters(), 0u);
}

TEST(Event, WaitSuspendsUntilSet) {
  asio::io_context ctx;
  Event event;
  auto out = std::make_shared<Outcome>();
  spawn_wait(ctx, event, out);
  ctx.poll();
  EXPECT_FALSE(out->finished);
  EXPECT_EQ(event.waiters(), 1u);
  event.set();
  EXPECT_EQ(event.waiters(), 0u);
  mode::testing::run_until(ctx, [&] { return out->finished; });
  EXPECT_EQ(out->error, nullptr);
}

TEST(Event, SetWakesAllWaitersInOrder) {
  asio::io_context ctx;
  Event event;
  std::vector<int> order;
  int done = 0;
  for (int id = 0; id < 4; ++id)
    asio::co_spawn(ctx, wait_and_record(&event, &order, id), [&](std::exception_ptr e) {
      EXPECT_EQ(e, nullptr);
      ++done;
    });
  ctx.poll();
  EXPECT_EQ(event.waiters(), 4u);
  EXPECT_TRUE(order.empty());
  event.set();
  EXPECT_TRUE(order.empty());  // waiters resume on their executor, not inside set()
  mode::testing::run_until(ctx, [&] { return done == 4; });
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(event.waiters(), 0u);
}

TEST(Event, ClearDoesNotWakeWaiters) {
  asio::io_context ctx;
  Event event;
  auto out = std::make_shared<Outcome>();
  spawn_wait(ctx, event, out);
  ctx.poll();
  event.clear();
  ctx.poll();
  EXPECT_FALSE(out->finished);
  EXPECT_EQ(event.waiters(), 1u);
  event.set();
  mode::testing::run_until(ctx, [&] { return out->finished; });
  EXPECT_EQ(out->error, nullptr);
}

TEST(Event, SetThenClearStillWakesWaitersAlreadyWaiting) {
  asio::io_context ctx;
  Event event;
  auto out = std::make_shared<Outcome>();
  spawn_wait(ctx, event, out);
  ctx.poll();
  event.set();
  event.clear();
  mode::testing::run_until(ctx, [&] { return out->finished; });
  EXPECT_EQ(out->error, nullptr);
  EXPECT_FALSE(event.is_set());
}

TEST(Event, WaitAfterClearSuspendsAgain) {
  asio::io_context ctx;
  Event event;
  event.set();
  event.clear();
  auto out = std::make_shared<Outcome>();
  spawn_wait(ctx, event, out);
  ctx.poll();
  EXPECT_FALSE(out->finished);
  event.set();
  mode::testing::run_until(ctx, [&] { return out->finished; });
}

// The signal is declared before the event: an Asio cancellation slot's signal must outlive the
// operation, and if the cancellation is lost the waiter is still suspended at the event's end.
TEST(Event, WaitIsCancellableWithAsioCancellation) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  Event event;
  auto out = std::make_shared<Outcome>();
  asio::co_spawn(ctx, event.wait(),
                 asio::bind_cancellation_slot(signal.slot(), [out](std::exception_ptr e) {
                   out->finished = true;
                   out->error = e;
                 }));
  ctx.poll();
  ASSERT_EQ(event.waiters(), 1u);
  signal.emit(asio::cancellation_type::terminal);
  if (!finishes(ctx, [&] { return out->finished; })) {
    ADD_FAILURE() << "Asio cancellation did not end Event::wait()";
    event.set();  // let the waiter finish so that the test cleans up
    mode::testing::run_until(ctx, [&] { return out->finished; });
    return;
  }
  EXPECT_EQ(event.waiters(), 0u);
  ASSERT_NE(out->error, nullptr);
  EXPECT_EQ(system_error_code(out->error), asio::error::operation_aborted);
  // The event is untouched, and a later set() has nobody to wake.
  EXPECT_FALSE(event.is_set());
  event.set();
  ctx.poll();
}

TEST(Event, CancellingOneWaiterLeavesTheOthers) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  Event event;
  auto cancelled = std::make_shared<Outcome>();
  auto kept = std::make_shared<Outcome>();
  asio::co_spawn(ctx, event.wait(),
                 asio::bind_cancellation_slot(signal.slot(), [cancelled](std::exception_ptr e) {
                   cancelled->finished = true;
                   cancelled->error = e;
                 }));
  spawn_wait(ctx, event, kept);
  ctx.poll();
  ASSERT_EQ(event.waiters(), 2u);
  signal.emit(asio::cancellation_type::terminal);
  const bool cancelled_in_time = finishes(ctx, [&] { return cancelled->finished; });
  EXPECT_TRUE(cancelled_in_time) << "Asio cancellation did not end Event::wait()";
  EXPECT_FALSE(kept->finished);
  EXPECT_EQ(event.waiters(), cancelled_in_time ? 1u : 2u);
  event.set();
  mode::testing::run_until(ctx, [&] { return kept->finished && cancelled->finished; });
  EXPECT_EQ(kept->error, nullptr);
}

TEST(Event, DestroyingAnEventWithWaitersAbortsTheirWaits) {
  asio::io_context ctx;
  auto event = std::make_unique<Event>();
  auto a = std::make_shared<Outcome>();
  auto b = std::make_shared<Outcome>();
  spawn_wait(ctx, *event, a);
  spawn_wait(ctx, *event, b);
  ctx.poll();
  ASSERT_EQ(event->waiters(), 2u);
  event.reset();
  mode::testing::run_until(ctx, [&] { return a->finished && b->finished; });
  EXPECT_EQ(system_error_code(a->error), asio::error::operation_aborted);
  EXPECT_EQ(system_error_code(b->error), asio::error::operation_aborted);
}

TEST(Event, AttachFiresAtOnceWhenSetElseOnSet) {
  Event event;
  mode::detail::WaitOp pending;
  event.attach(pending);
  EXPECT_EQ(pending.result(), mode::detail::Wake::pending);
  EXPECT_EQ(event.waiters(), 1u);
  event.set();
  EXPECT_EQ(pending.result(), mode::detail::Wake::done);
  EXPECT_EQ(event.waiters(), 0u);

  mode::detail::WaitOp immediate;
  event.attach(immediate);
  EXPECT_EQ(immediate.result(), mode::detail::Wake::done);
  EXPECT_EQ(event.waiters(), 0u);
}

TEST(Event, DestroyedWaitOpLeavesTheWaiters) {
  Event event;
  {
    mode::detail::WaitOp op;
    event.attach(op);
    EXPECT_EQ(event.waiters(), 1u);
  }
  EXPECT_EQ(event.waiters(), 0u);
  event.set();
}

// A coroutine suspended in wait() when its io_context is destroyed must be destroyed with the
// context, as Asio destroys a coroutine suspended in any of its own operations: its frame (and
// everything it owns) must not leak.
TEST(Event, DestroyingTheContextReleasesASuspendedWaiter) {
  auto event = std::make_unique<Event>();
  auto owned = std::make_shared<int>(0);
  {
    asio::io_context ctx;
    asio::co_spawn(
        ctx,
        [](Event* e, std::shared_ptr<int> keep) -> awaitable<void> {
          co_await e->wait();
          ++*keep;
        }(event.get(), owned),
        [](std::exception_ptr) {});
    ctx.poll();
    ASSERT_EQ(event->waiters(), 1u);
    EXPECT_EQ(owned.use_count(), 2);
  }
  EXPECT_EQ(owned.use_count(), 1) << "the waiting coroutine's frame was leaked";
  EXPECT_EQ(event->waiters(), 0u);
  // If the frame leaked, its wait is still linked: destroying the event would fire it and post
  // to the dead context, so leak the event with it rather than crash the test binary.
  if (event->waiters() != 0) static_cast<void>(event.release());
}

}  // namespace

namespace {

using mode::FlowControlEvent;

TEST(FlowControlEvent, StartsSuspendedUnlessToldOtherwise) {
  FlowControlEvent suspended;
  EXPECT_FALSE(suspended.is_active());
  FlowControlEvent active(false);
  EXPECT_TRUE(active.is_active());
  active.suspend();
  EXPECT_FALSE(active.is_active());
  active.resume();
  EXPECT_TRUE(active.is_active());
  active.clear();  // no managed queues: nothing happens
  EXPECT_TRUE(active.is_active());
}

TEST(FlowControlEvent, AcquireReturnsAtOnceWhenActive) {
  asio::io_context ctx;
  FlowControlEvent flow(false);
  mode::testing::run(ctx, flow.acquire());
}

TEST(FlowControlEvent, AcquireWaitsForResume) {
  asio::io_context ctx;
  FlowControlEvent flow;
  auto out = std::make_shared<Outcome>();
  asio::co_spawn(ctx, flow.acquire(), [out](std::exception_ptr e) {
    out->finished = true;
    out->error = e;
  });
  ctx.poll();
  EXPECT_FALSE(out->finished);
  flow.suspend();  // suspending again changes nothing
  ctx.poll();
  EXPECT_FALSE(out->finished);
  flow.resume();
  mode::testing::run_until(ctx, [&] { return out->finished; });
  EXPECT_EQ(out->error, nullptr);
}

TEST(FlowControlEvent, AcquireIsCancellable) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  FlowControlEvent flow;
  auto out = std::make_shared<Outcome>();
  asio::co_spawn(ctx, flow.acquire(),
                 asio::bind_cancellation_slot(signal.slot(), [out](std::exception_ptr e) {
                   out->finished = true;
                   out->error = e;
                 }));
  ctx.poll();
  signal.emit(asio::cancellation_type::terminal);
  mode::testing::run_until(ctx, [&] { return out->finished; });
  EXPECT_EQ(system_error_code(out->error), asio::error::operation_aborted);
  EXPECT_FALSE(flow.is_active());
}

}  // namespace
