// Tests of mode/utils/futures.hpp (stampede) against BEHAVIOUR.md §12.1 and decision D9.
#include <mode/utils/futures.hpp>

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
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace {

namespace asio = boost::asio;

using mode::awaitable;
using mode::Event;
using mode::StampedeWrapper;
using mode::testing::poll;

using Outcome = mode::testing::Outcome<int>;

using mode::testing::is_cancellation;

// Mode's example: a method that increments a counter, then waits (here: for `gate`).
class Client {
 public:
  awaitable<int> update() {
    const int n = ++count;
    if (gate) co_await gate->wait();
    if (fail) throw std::runtime_error("connect failed");
    co_return n;
  }

  int count = 0;
  Event* gate = nullptr;
  bool fail = false;
  StampedeWrapper<int> maybe_update = mode::stampede([this] { return update(); });
};

std::shared_ptr<Outcome> spawn_call(asio::io_context& ctx, const StampedeWrapper<int>& w,
                                    asio::cancellation_signal* signal = nullptr) {
  return mode::testing::spawn(ctx, w(), signal);
}

bool all_finished(const std::vector<std::shared_ptr<Outcome>>& outs) {
  for (const auto& o : outs)
    if (!o->finished) return false;
  return true;
}

TEST(Stampede, ConcurrentCallersShareOneExecution) {
  asio::io_context ctx;
  Event gate;
  Client c;
  c.gate = &gate;
  for (int batch = 1; batch <= 2; ++batch) {
    std::vector<std::shared_ptr<Outcome>> outs;
    for (int i = 0; i < 100; ++i) outs.push_back(spawn_call(ctx, c.maybe_update));

    poll(ctx);
    EXPECT_TRUE(c.maybe_update.in_flight());
    EXPECT_EQ(c.count, batch);
    gate.set();
    mode::testing::run_until(ctx, [&] { return all_finished(outs); });
    for (const auto& o : outs) EXPECT_EQ(o->value, batch);
    EXPECT_EQ(c.count, batch);
    gate.clear();

    poll(ctx);
    EXPECT_FALSE(c.maybe_update.in_flight());
  }
  gate.set();
  EXPECT_EQ(mode::testing::run(ctx, c.maybe_update()), 3);
}

TEST(Stampede, CallsInTheSameLoopIterationShareEvenAnOperationThatNeverSuspends) {
  asio::io_context ctx;
  Client c;  // no gate: update() completes without suspending
  std::vector<std::shared_ptr<Outcome>> outs;
  for (int i = 0; i < 4; ++i) outs.push_back(spawn_call(ctx, c.maybe_update));
  mode::testing::run_until(ctx, [&] { return all_finished(outs); });
  EXPECT_EQ(c.count, 1);
  for (const auto& o : outs) EXPECT_EQ(o->value, 1);
}

TEST(Stampede, SequentialCallersEachRunTheOperation) {
  asio::io_context ctx;
  Client c;
  EXPECT_EQ(mode::testing::run(ctx, c.maybe_update()), 1);
  EXPECT_EQ(mode::testing::run(ctx, c.maybe_update()), 2);
  mode::testing::run(ctx, [](Client* c) -> awaitable<void> {
    const int a = co_await c->maybe_update();
    const int b = co_await c->maybe_update();
    EXPECT_EQ(a, 3);
    EXPECT_EQ(b, 4);
  }(&c));
}

TEST(Stampede, EveryWaitingCallerGetsTheException) {
  asio::io_context ctx;
  Event gate;
  Client c;
  c.gate = &gate;
  c.fail = true;
  std::vector<std::shared_ptr<Outcome>> outs;
  for (int i = 0; i < 10; ++i) outs.push_back(spawn_call(ctx, c.maybe_update));
  poll(ctx);
  gate.set();
  mode::testing::run_until(ctx, [&] { return all_finished(outs); });
  EXPECT_EQ(c.count, 1);
  for (const auto& o : outs) {
    ASSERT_NE(o->error, nullptr);
    EXPECT_THROW(std::rethrow_exception(o->error), std::runtime_error);
  }
  // The failure is not cached: the next call runs again.
  c.fail = false;
  EXPECT_EQ(mode::testing::run(ctx, c.maybe_update()), 2);
}

TEST(Stampede, CancellingTheRunnerPropagatesToTheWaiters) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  Event gate;
  Client c;
  c.gate = &gate;
  auto runner = spawn_call(ctx, c.maybe_update, &signal);
  poll(ctx);  // the first caller runs the operation
  std::vector<std::shared_ptr<Outcome>> waiters;
  for (int i = 0; i < 3; ++i) waiters.push_back(spawn_call(ctx, c.maybe_update));
  poll(ctx);
  EXPECT_EQ(gate.waiters(), 1u);
  signal.emit(asio::cancellation_type::terminal);
  mode::testing::run_until(ctx, [&] { return runner->finished && all_finished(waiters); });
  EXPECT_TRUE(is_cancellation(runner->error));
  for (const auto& w : waiters) EXPECT_TRUE(is_cancellation(w->error));
  EXPECT_EQ(c.count, 1);
  poll(ctx);
  EXPECT_FALSE(c.maybe_update.in_flight());
}

TEST(Stampede, CancellingAWaiterLeavesTheExecutionToTheOthers) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  Event gate;
  Client c;
  c.gate = &gate;
  auto runner = spawn_call(ctx, c.maybe_update);
  poll(ctx);
  auto cancelled = spawn_call(ctx, c.maybe_update, &signal);
  auto kept = spawn_call(ctx, c.maybe_update);
  poll(ctx);
  signal.emit(asio::cancellation_type::terminal);
  mode::testing::run_until(ctx, [&] { return cancelled->finished; });
  EXPECT_TRUE(is_cancellation(cancelled->error));
  EXPECT_FALSE(runner->finished);
  gate.set();
  mode::testing::run_until(ctx, [&] { return runner->finished && kept->finished; });
  EXPECT_EQ(runner->value, 1);
  EXPECT_EQ(kept->value, 1);
}

awaitable<void> bump(int* calls) {
  ++*calls;
  co_return;
}

TEST(Stampede, VoidOperationsAndTheFactory) {
  asio::io_context ctx;
  int calls = 0;
  auto w = mode::stampede([&calls] { return bump(&calls); });
  static_assert(std::is_same_v<decltype(w), StampedeWrapper<void>>);
  int done = 0;
  for (int i = 0; i < 5; ++i)
    asio::co_spawn(ctx, w(), [&](std::exception_ptr e) {
      EXPECT_EQ(e, nullptr);
      ++done;
    });
  mode::testing::run_until(ctx, [&] { return done == 5; });
  EXPECT_EQ(calls, 1);
}

TEST(Stampede, WrapperDestroyedWhileInFlightStillDeliversTheOutcome) {
  asio::io_context ctx;
  Event gate;
  Client c;
  c.gate = &gate;
  auto w = std::make_unique<StampedeWrapper<int>>([&c] { return c.update(); });
  auto a = spawn_call(ctx, *w);
  auto b = spawn_call(ctx, *w);
  poll(ctx);
  w.reset();
  gate.set();
  mode::testing::run_until(ctx, [&] { return a->finished && b->finished; });
  EXPECT_EQ(a->value, 1);
  EXPECT_EQ(b->value, 1);
}

TEST(Stampede, EmptyFunctionIsRejected) {
  EXPECT_THROW(StampedeWrapper<int>(std::function<awaitable<int>()>()), std::invalid_argument);
}

}  // namespace
