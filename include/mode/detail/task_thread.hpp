// Internal: a service's task as its own Asio coroutine thread. Like `co_spawn`, but what the
// task throws reaches its completion without being rethrown, and the thread keeps less.
//
// Asio hands a coroutine's exception to its awaiter by rethrowing it, and a rethrow unwinds the
// stack again: as costly as the throw itself, and a crashing task pays it on every crash. The
// task's runner awaits the body through `Caught` instead, which takes the exception as a value.
// `co_spawn`'s root frame keeps four executors (about 500 bytes); a task's keeps one.
//
// Tied to Boost 1.81's awaitable internals, like `WaitOp`'s handler: a Boost upgrade must
// recheck `awaitable_frame`, `awaitable_thread` and `awaitable_thread_has_context_switched`.
#pragma once

#include <mode/awaitable.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

#include <exception>
#include <utility>

namespace mode::detail {

/// How a task's body ended: `error` is what it threw, or null.
struct TaskOutcome {
  std::exception_ptr error;
};

/// `co_await Caught{body}` in an `awaitable<TaskOutcome>` runs `body` and returns what it threw.
struct Caught {
  awaitable<void> body;
};

}  // namespace mode::detail

namespace boost::asio::detail {

/// The promise of an `awaitable<TaskOutcome>`: Asio's `awaitable_frame<T>`, plus `co_await
/// Caught{...}`.
template <typename Executor>
class awaitable_frame<mode::detail::TaskOutcome, Executor> : public awaitable_frame_base<Executor> {
 public:
  using Outcome = mode::detail::TaskOutcome;

  awaitable<Outcome, Executor> get_return_object() noexcept {
    this->coro_ = coroutine_handle<awaitable_frame>::from_promise(*this);
    return awaitable<Outcome, Executor>(this);
  }

  void return_value(Outcome o) noexcept { result_ = std::move(o); }

  Outcome get() {
    this->caller_ = nullptr;
    this->rethrow_exception();
    return std::move(result_);
  }

  using awaitable_frame_base<Executor>::await_transform;

  auto await_transform(mode::detail::Caught&& c) {
    struct Awaiter {
      awaitable<void, Executor> body;
      bool await_ready() const noexcept { return false; }
      void await_suspend(coroutine_handle<awaitable_frame> h) { body.await_suspend(h); }
      std::exception_ptr await_resume() noexcept {
        // What awaitable<void>::await_resume would rethrow, taken instead. Named through this
        // class, the member gives a pointer to the base's member, usable on the body's frame.
        constexpr std::exception_ptr awaitable_frame_base<Executor>::*pending =
            &awaitable_frame::pending_exception_;
        return std::exchange(body.frame_->*pending, nullptr);
      }
    };
    return Awaiter{std::move(c.body)};
  }

 private:
  Outcome result_;
};

}  // namespace boost::asio::detail

namespace mode::detail {

/// Runs `body`; what it throws comes back as the outcome's error.
inline awaitable<TaskOutcome> run_caught(awaitable<void> body) {
  // A named operand: with a temporary one, g++ 12 destroyed the body's frame twice.
  Caught caught{std::move(body)};
  TaskOutcome outcome;
  outcome.error = co_await std::move(caught);
  co_return outcome;
}

/// When `done` runs for a body that ends without ever suspending.
enum class Report : bool {
  later,   // on a later turn of the loop, as with co_spawn: not inside the spawning call
  at_once  // inside the spawning call: for a `done` that only sets flags
};

/// The thread's root: runs the body, then calls `done` with what it threw (or null). `work` keeps
/// the loop running while the task lives, as co_spawn's does.
template <class Done>
awaitable<asio::detail::awaitable_thread_entry_point> task_entry(
    awaitable<TaskOutcome> runner, [[maybe_unused]] asio::any_io_executor work, Report report,
    Done done) {
  std::exception_ptr error;
  try {
    TaskOutcome outcome = co_await std::move(runner);
    error = std::move(outcome.error);
    const bool switched = co_await asio::detail::awaitable_thread_has_context_switched{};
    if (!switched && report == Report::later) co_await asio::post(use_awaitable);
  } catch (...) {
    // Cancelled before the body began, or during that last turn (the runner never throws).
    if (!error) error = std::current_exception();
  }
  done(std::move(error));
}

/// Runs `body` on `ex` as a new coroutine thread that `slot` cancels, and `done(error)` when it
/// ends. `done` must not throw. The body starts at once if the caller runs on `ex`.
template <class Done>
void spawn_task(const asio::any_io_executor& ex, awaitable<void> body, asio::cancellation_slot slot,
                Done done, Report report = Report::later) {
  asio::detail::awaitable_thread<asio::any_io_executor> thread(
      task_entry(run_caught(std::move(body)),
                 asio::prefer(ex, asio::execution::outstanding_work.tracked), report,
                 std::move(done)),
      ex, slot, asio::cancellation_state(slot));
  asio::dispatch(ex, [thread = std::move(thread)]() mutable { thread.launch(); });
}

}  // namespace mode::detail
