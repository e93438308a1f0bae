// Tests of src/detail/task_thread.hpp: a task as its own coroutine thread.
#include "detail/task_thread.hpp"

// The header under test stays first and alone: it must compile on its own.
#include <mode/detail/wait_op.hpp>
#include <mode/testing.hpp>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unwind.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

// Every throw and rethrow starts an unwinding here (libstdc++ calls it from libgcc_s): counting
// the calls counts the unwindings, whatever throws.
std::atomic<int> unwindings{0};

}  // namespace

extern "C" _Unwind_Reason_Code _Unwind_RaiseException(_Unwind_Exception* e) {
  using Raise = _Unwind_Reason_Code (*)(_Unwind_Exception*);
  static const auto next = reinterpret_cast<Raise>(dlsym(RTLD_NEXT, "_Unwind_RaiseException"));
  unwindings.fetch_add(1);
  return next(e);
}

namespace {

namespace asio = boost::asio;
using mode::awaitable;
using mode::use_awaitable;
using mode::detail::spawn_task;
using mode::detail::WaitOp;
using mode::detail::Wake;

/// Where a task's end is recorded.
struct Ended {
  int calls = 0;
  std::exception_ptr error;
};

auto record_in(Ended* ended) {
  return [ended](std::exception_ptr e) noexcept {
    ++ended->calls;
    ended->error = std::move(e);
  };
}

std::string what(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  }
}

awaitable<void> turn_then_throw() {
  co_await asio::post(use_awaitable);
  throw std::runtime_error("boom");
}

awaitable<void> turn_then_return(bool* ran) {
  co_await asio::post(use_awaitable);
  *ran = true;
}

awaitable<void> return_at_once(bool* ran) {
  *ran = true;
  co_return;
}

// Spawns `body` from a handler running on `ctx`, as a service spawns its tasks.
template <class Done>
void spawn_on_loop(asio::io_context& ctx, awaitable<void> body, asio::cancellation_slot slot,
                   Done done) {
  asio::post(ctx, [&ctx, b = std::move(body), slot, done]() mutable {
    spawn_task(ctx.get_executor(), std::move(b), slot, done);
  });
}

TEST(TaskThread, ReportsWhatTheBodyThrew) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  Ended ended;
  spawn_task(ctx.get_executor(), turn_then_throw(), signal.slot(), record_in(&ended));
  ctx.run();
  EXPECT_EQ(ended.calls, 1);
  ASSERT_TRUE(ended.error);
  EXPECT_EQ(what(ended.error), "boom");
}

TEST(TaskThread, ReportsNoErrorWhenTheBodyReturns) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  Ended ended;
  bool ran = false;
  spawn_task(ctx.get_executor(), turn_then_return(&ran), signal.slot(), record_in(&ended));
  ctx.run();
  EXPECT_TRUE(ran);
  EXPECT_EQ(ended.calls, 1);
  EXPECT_FALSE(ended.error);
}

// The fast launch's reason to be; the portable one is co_spawn, and pays the rethrow.
TEST(TaskThread, ACrashUnwindsOnceWhereCoSpawnUnwindsTwice) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  Ended ended;
  spawn_task(ctx.get_executor(), turn_then_throw(), signal.slot(), record_in(&ended));
  int before = unwindings.load();
  ctx.run();
  // The body's own throw, nothing more.
  EXPECT_EQ(unwindings.load() - before, MODE_ASIO_INTERNALS ? 1 : 2);
  ASSERT_TRUE(ended.error);

  // The counter does see co_spawn handing the same crash over by a rethrow.
  std::exception_ptr spawned;
  asio::co_spawn(ctx, turn_then_throw(), [&](std::exception_ptr e) { spawned = e; });
  before = unwindings.load();
  ctx.restart();
  ctx.run();
  EXPECT_EQ(unwindings.load() - before, 2);
  ASSERT_TRUE(spawned);
}

/// What a spawn from a handler on the loop showed: the state when spawn_task returned, and at the
/// end of the run.
struct FromLoop {
  bool ran_inside_spawn = false;
  int calls_when_spawn_returned = -1;
  bool ran = false;
  int calls = 0;
};

// Spawns the body `make(&ran)` from a handler on a loop, as a service spawns its tasks.
template <class MakeBody>
FromLoop spawn_from_loop(MakeBody make, mode::detail::Report report) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  Ended ended;
  FromLoop seen;
  asio::post(ctx, [&] {
    spawn_task(ctx.get_executor(), make(&seen.ran), signal.slot(), record_in(&ended), report);
    seen.ran_inside_spawn = seen.ran;
    seen.calls_when_spawn_returned = ended.calls;
  });
  ctx.run();
  seen.calls = ended.calls;
  return seen;
}

TEST(TaskThread, StartsAtOnceAndReportsOnALaterTurnWhenSpawnedOnItsLoop) {
  const FromLoop seen = spawn_from_loop(return_at_once, mode::detail::Report::later);
  EXPECT_TRUE(seen.ran_inside_spawn);
  EXPECT_EQ(seen.calls_when_spawn_returned, 0);  // ended at once, reported later
  EXPECT_EQ(seen.calls, 1);
}

TEST(TaskThread, ReportAtOnceEndsABodyThatNeverSuspendsInsideTheSpawningCall) {
  const FromLoop seen = spawn_from_loop(return_at_once, mode::detail::Report::at_once);
  EXPECT_EQ(seen.calls_when_spawn_returned, 1);
  EXPECT_EQ(seen.calls, 1);
}

TEST(TaskThread, ReportAtOnceStillWaitsForABodyThatSuspends) {
  const FromLoop seen = spawn_from_loop(turn_then_return, mode::detail::Report::at_once);
  EXPECT_EQ(seen.calls_when_spawn_returned, 0);
  EXPECT_TRUE(seen.ran);
  EXPECT_EQ(seen.calls, 1);
}

TEST(TaskThread, WaitsForItsLoopWhenSpawnedFromOutside) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  Ended ended;
  bool ran = false;
  spawn_task(ctx.get_executor(), return_at_once(&ran), signal.slot(), record_in(&ended));
  EXPECT_FALSE(ran);
  ctx.run();
  EXPECT_TRUE(ran);
  EXPECT_EQ(ended.calls, 1);
}

awaitable<void> wait_an_hour() {
  const auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  timer.expires_after(std::chrono::hours(1));
  co_await timer.async_wait(use_awaitable);
}

TEST(TaskThread, TheSlotCancelsWhatTheBodyAwaits) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  Ended ended;
  spawn_on_loop(ctx, wait_an_hour(), signal.slot(), record_in(&ended));
  mode::testing::poll(ctx);
  EXPECT_EQ(ended.calls, 0);
  signal.emit(asio::cancellation_type::terminal);
  ctx.run();
  EXPECT_EQ(ended.calls, 1);
  EXPECT_TRUE(mode::testing::is_cancellation(ended.error));
}

TEST(TaskThread, CancelledBeforeItBeganItReportsTheCancellation) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  Ended ended;
  bool ran = false;
  spawn_task(ctx.get_executor(), return_at_once(&ran), signal.slot(), record_in(&ended));
  signal.emit(asio::cancellation_type::terminal);
  ctx.run();
  EXPECT_FALSE(ran);
  EXPECT_EQ(ended.calls, 1);
  EXPECT_TRUE(mode::testing::is_cancellation(ended.error));
}

awaitable<void> wait_on(WaitOp* op, std::optional<Wake>* why) { *why = co_await op->wait(); }

TEST(TaskThread, KeepsItsLoopRunningWhileItLives) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  Ended ended;
  WaitOp op;  // no deadline: nothing of Asio's is pending while the task waits on it
  std::optional<Wake> why;
  spawn_task(ctx.get_executor(), wait_on(&op, &why), signal.slot(), record_in(&ended));
  ctx.poll();
  EXPECT_FALSE(ctx.stopped());  // a loop without work stops when polled
  op.fire(Wake::done);
  ctx.run();
  EXPECT_EQ(why, Wake::done);
  EXPECT_EQ(ended.calls, 1);
  EXPECT_TRUE(ctx.stopped());
}

/// Sets its flag when its coroutine frame is destroyed.
struct SetOnDestroy {
  bool* flag;
  ~SetOnDestroy() { *flag = true; }
};

awaitable<void> hold_then_wait_an_hour(bool* destroyed) {
  const SetOnDestroy held{destroyed};
  co_await wait_an_hour();
}

TEST(TaskThread, DestroyingTheLoopDestroysASuspendedTaskWithoutEndingIt) {
  bool destroyed = false;
  Ended ended;
  asio::cancellation_signal signal;
  {
    asio::io_context ctx;
    spawn_task(ctx.get_executor(), hold_then_wait_an_hour(&destroyed), signal.slot(),
               record_in(&ended));
    ctx.poll();
    EXPECT_FALSE(destroyed);
  }
  EXPECT_TRUE(destroyed);
  EXPECT_EQ(ended.calls, 0);
}

}  // namespace
