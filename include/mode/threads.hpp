// mode::ServiceThread and mode::QueueServiceThread (Mode's mode.threads): a service whose
// lifecycle runs on its own std::thread and io_context, and one that runs calls sent to it there.
#pragma once

#include <mode/service.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>

namespace mode {

/// Thrown by `call_thread` and `cast_thread` when the service's thread does not take calls:
/// not started yet, stopping, stopped or crashed. The message says which.
class ThreadNotRunning : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A service whose lifecycle runs on its own `std::thread` with its own `io_context` (Mode's
/// `ServiceThread`).
///
/// The object lives in its parent's tree (it can be a child, added with `add_dependency`) and
/// its parent's loop calls `start`, `stop`, `restart` and `crash`; everything else of the
/// service runs on the thread.
///
/// Executors: on the thread's loop (`thread_context()`): `on_init`, `on_first_start`,
/// `on_start`, the tasks and timers, the children, `on_started`, `on_thread_started`, then at
/// stop `on_thread_stop`, `on_stop`, the children's stop, `on_shutdown`; and every `sleep`,
/// `wait*` and `add_future` of the service. On the parent's loop (the executor of the first
/// `start`/`stop` call): the calls above and the parent side of the keepalive. A thread's
/// services must not touch the parent's services directly, nor the reverse: use
/// QueueServiceThread::call_thread, or post to the other loop.
///
/// Start: `start()` launches the thread and, with `wait_for_thread` (the default), returns once
/// the thread's service has started and `on_thread_started` returned; a failed start rethrows
/// its original exception there.
///
/// Stop: `stop()` asks the thread to stop and waits (without blocking the parent's loop) until
/// `on_thread_stop` and the ordinary stop ran on the thread and the thread ended; then it joins
/// the thread. It gives up after `shutdown_timeout` (the thread is then joined when it ends, at
/// the latest by the destructor). Stopping a thread that never started returns at once. Called
/// on the thread itself, `stop()` only asks for the stop and returns.
///
/// Errors: an exception on the thread (a task, a callback, a child) crashes the service there,
/// then the crash is taken to the parent's loop with the original exception: a pending `start()`
/// rethrows it, and the supervisor is told, or else the ancestors are marked crashed, exactly as
/// for a service of that loop. A crashed thread stops its service and ends. `crash()` called on
/// the parent's loop ends a pending `start()` at once and crashes the service on its thread.
///
/// Keepalive (both ways, every `keepalive_interval`): the parent pings the thread's loop and logs
/// `Thread keepalive is not responding...` (ERROR) when no answer came for `keepalive_timeout`;
/// the thread pings the parent's loop and logs `Parent loop keepalive is not responding...`.
///
/// The parent's loop must keep running until the service stopped, and the service must be
/// stopped before its parent's loop is destroyed.
class ServiceThread : public Service {
 public:
  ServiceThread();
  ~ServiceThread() override;

  /// Launches the thread, which starts the service; see the class comment.
  awaitable<void> start() override;
  /// Starts unless `start()` was already called (keyed on the thread launch, as in Mode).
  awaitable<bool> maybe_start() override;
  awaitable<void> stop() override;
  /// stop, service_reset, then on the new thread: on_init, on_restart, start.
  awaitable<void> restart() override;
  void crash(std::exception_ptr reason) noexcept override;
  /// Clears the flags for a new start. Throws std::logic_error while the thread runs.
  void service_reset() override;

  /// The event loop of the thread (the same one across restarts), e.g. for `use_clock`.
  asio::io_context& thread_context() noexcept { return *thread_ctx_; }
  /// True when called on this service's thread.
  bool on_thread() const noexcept;
  /// On the parent's loop: the thread was launched and has not ended yet.
  bool thread_alive() const noexcept { return thread_alive_; }

  /// `start()` waits until the thread's service has started (Mode's default).
  bool wait_for_thread = true;
  /// How often each side pings the other.
  Seconds keepalive_interval = 1.1;
  /// Silence after which a side logs that the other one is not responding.
  Seconds keepalive_timeout = 3.0;

 protected:
  /// On the thread, after the service started (and before `start()` returns on the parent).
  virtual awaitable<void> on_thread_started() { co_return; }
  /// On the thread, first thing when it stops (before `on_stop` and the children's stop).
  virtual awaitable<void> on_thread_stop() { co_return; }

 private:
  friend class QueueServiceThread;
  // For QueueServiceThread, on the thread: right after on_thread_started, and before
  // on_thread_stop (`final`: once more after the service stopped).
  virtual void open_queue() noexcept {}
  virtual awaitable<void> close_queue(bool /*final*/) { co_return; }

  bool owns_thread() const noexcept override { return true; }
  void mark_crashed(const std::exception_ptr& reason) noexcept override;
  void escalate_crash(const std::exception_ptr& reason) noexcept override;
  void describe_stop(std::string& out) const override;
  void notify_supervisor() noexcept override;

  awaitable<void> bind_parent(const char* what);
  awaitable<void> launch(bool restarting);
  void thread_main(std::shared_ptr<ServiceThread> self, bool restarting);
  awaitable<void> serve(bool restarting);
  awaitable<void> thread_keepalive();
  awaitable<void> parent_heartbeat();
  void start_heartbeat();
  void end_heartbeat() noexcept;
  void report_started(std::exception_ptr error) noexcept;
  void thread_exited() noexcept;
  template <class Fn>
  void post_to_thread(Fn fn);
  std::shared_ptr<ServiceThread> shared_this();

  std::unique_ptr<asio::io_context> thread_ctx_;
  std::thread thread_;
  asio::any_io_executor parent_executor_;  // set before the first launch, then constant
  std::uint64_t generation_ = 0;           // written by the parent only while no thread runs

  // Owned by the parent's loop.
  bool thread_started_ = false;  // Mode's "thread started" event
  bool thread_alive_ = false;
  bool parent_stopping_ = false;
  bool parent_stopped_ = false;
  bool heartbeat_running_ = false;
  bool heartbeat_ending_ = false;
  detail::WaitOp* start_op_ = nullptr;
  std::exception_ptr start_error_;
  detail::WaitList exit_waiters_;
  detail::WaitList stop_done_waiters_;
  detail::WaitList heartbeat_stop_;
  detail::WaitList heartbeat_joined_;
  Clock::time_point last_pong_{};

  // Owned by the thread's loop.
  Event stop_requested_;
  Clock::time_point last_parent_pong_{};
};

namespace detail {

template <class T>
struct AwaitableValue {
  using type = void;
  static constexpr bool value = false;
};
template <class T, class E>
struct AwaitableValue<asio::awaitable<T, E>> {
  using type = T;
  static constexpr bool value = true;
};

/// What `call_thread(f, args...)` returns: `T` if `f` returns `awaitable<T>`, else f's result.
template <class F, class... Args>
using CallRaw = std::decay_t<std::invoke_result_t<F, Args...>>;
template <class F, class... Args>
inline constexpr bool call_is_async = AwaitableValue<CallRaw<F, Args...>>::value;
template <class F, class... Args>
using CallResult =
    std::conditional_t<call_is_async<F, Args...>,
                       typename AwaitableValue<CallRaw<F, Args...>>::type, CallRaw<F, Args...>>;

/// Where the thread leaves a call's outcome: in the caller's coroutine frame, which stays
/// suspended until the completion posted after writing it resumes it.
template <class R>
struct CallSlot {
  std::optional<std::conditional_t<std::is_void_v<R>, bool, R>> value;
  std::exception_ptr error;
  std::atomic<bool> cancelled{false};
};

/// The caller's cancellation: the thread skips the call if it has not begun it.
struct CancelCall {
  std::atomic<bool>* flag;
  void operator()(asio::cancellation_type type) const noexcept {
    if ((type & asio::cancellation_type::all) != asio::cancellation_type::none)
      flag->store(true, std::memory_order_release);
  }
};

/// Posts `handler` back to its own executor, clearing its cancellation slot there (on the
/// caller's thread, the only one that may touch it).
template <class H>
void complete_on_caller(H&& handler) {
  auto ex = asio::get_associated_executor(handler);
  asio::post(ex, [h = std::forward<H>(handler)]() mutable {
    asio::get_associated_cancellation_slot(h).clear();
    std::move(h)();
  });
}

}  // namespace detail

/// A ServiceThread that runs functions sent from other loops on its thread (Mode's
/// `QueueServiceThread`), e.g. to wrap a blocking client.
///
/// `call_thread(f, args...)` runs `f(args...)` on the thread and resumes the caller on its own
/// executor with the result, or rethrows f's exception there; an `f` that returns `awaitable<T>`
/// is awaited on the thread (as a task of the service, cancelled if it still runs at stop).
/// `cast_thread` does the same without waiting; an exception of a cast function is logged.
/// Calls run in the order they were sent from one thread (Mode's MethodQueue is the thread
/// loop's own queue here: no worker services, no locks on the call path).
///
/// Calls are taken from the end of `on_thread_started` until `on_thread_stop` begins; otherwise
/// they throw ThreadNotRunning at once. Every call taken runs and completes, even when the
/// service stops or crashes meanwhile (Mode 4.3.0): at stop, the queue is drained before
/// `on_thread_stop` and the children's stop (Mode 4.1.9), for up to `shutdown_timeout` for
/// awaitable calls, which are then cancelled with the service's tasks. A caller cancelled (Asio
/// cancellation) before the thread began its call gets `operation_aborted` and the call is
/// skipped; once begun, the call completes normally. A loop that calls `call_thread` must live
/// until the service stopped: the thread may still be returning from its post to that loop.
class QueueServiceThread : public ServiceThread {
 public:
  /// Runs `f(args...)` on the thread; see the class comment. Arguments are moved to the thread.
  template <class F, class... Args>
  awaitable<detail::CallResult<F, Args...>> call_thread(F f, Args... args);
  /// Sends `f(args...)` to the thread and returns at once.
  template <class F, class... Args>
  void cast_thread(F f, Args... args);

 private:
  static constexpr std::uint64_t kOpen = std::uint64_t{1} << 63;
  static constexpr std::uint64_t kClosed = std::uint64_t{1} << 62;
  static constexpr std::uint64_t kCount = kClosed - 1;

  void open_queue() noexcept override;
  awaitable<void> close_queue(bool final) override;
  /// Counts one more call in flight, or throws ThreadNotRunning.
  void accept(const char* what);
  /// On the thread, when a taken call completed.
  void call_done() noexcept;
  void log_cast_error() noexcept;

  template <class R, class H, class F, class... A>
  awaitable<void> run_async_call(detail::CallSlot<R>* slot, H handler, F f, A... args);
  template <class F, class... A>
  awaitable<void> run_async_cast(F f, A... args);

  // Open/closed bits and the number of calls taken and not yet completed: the callers' threads
  // add, the service's thread subtracts, so stop knows when nothing is left.
  std::atomic<std::uint64_t> queue_state_{0};
  detail::WaitOp* drain_op_ = nullptr;  // the service's thread only
};

// Implementation of the templates.

template <class F, class... Args>
awaitable<detail::CallResult<F, Args...>> QueueServiceThread::call_thread(F f, Args... args) {
  using R = detail::CallResult<F, Args...>;
  detail::CallSlot<R> slot;
  // The initiation runs on the caller's thread once this coroutine is suspended; the thread
  // writes `slot`, then posts the handler back (two posts per call, as a bare round trip).
  co_await asio::async_initiate<decltype(use_awaitable), void()>(
      [this, &slot, &f, &args...](auto handler) {
        try {
          accept("call_thread");
        } catch (...) {
          slot.error = std::current_exception();
          detail::complete_on_caller(std::move(handler));
          return;
        }
        auto cancel_slot = asio::get_associated_cancellation_slot(handler);
        if (cancel_slot.is_connected())
          cancel_slot.template emplace<detail::CancelCall>(detail::CancelCall{&slot.cancelled});
        asio::post(thread_context().get_executor(), [this, s = &slot, h = std::move(handler),
                                                     fn = std::move(f),
                                                     ... a = std::move(args)]() mutable {
          if (s->cancelled.load(std::memory_order_acquire)) {
            s->error = std::make_exception_ptr(
                boost::system::system_error(asio::error::operation_aborted));
          } else if constexpr (detail::call_is_async<F, Args...>) {
            if (!should_stop()) {
              add_future(run_async_call<R>(s, std::move(h), std::move(fn), std::move(a)...),
                         "call_thread");
              return;  // run_async_call completes it
            }
            s->error = std::make_exception_ptr(
                ThreadNotRunning(label() + ": call_thread: the service stopped before the call"));
          } else {
            try {
              if constexpr (std::is_void_v<R>) {
                std::invoke(std::move(fn), std::move(a)...);
                s->value.emplace(true);
              } else {
                s->value.emplace(std::invoke(std::move(fn), std::move(a)...));
              }
            } catch (...) {
              s->error = std::current_exception();
            }
          }
          detail::complete_on_caller(std::move(h));  // `s` may be gone after this
          call_done();
        });
      },
      use_awaitable);
  if (slot.error) std::rethrow_exception(slot.error);
  if constexpr (!std::is_void_v<R>) co_return std::move(*slot.value);
}

template <class R, class H, class F, class... A>
awaitable<void> QueueServiceThread::run_async_call(detail::CallSlot<R>* slot, H handler, F f,
                                                   A... args) {
  try {
    if constexpr (std::is_void_v<R>) {
      co_await std::invoke(f, std::move(args)...);
      slot->value.emplace(true);
    } else {
      R r = co_await std::invoke(f, std::move(args)...);  // not inside emplace(): g++ 12
      slot->value.emplace(std::move(r));
    }
  } catch (...) {
    slot->error = std::current_exception();
  }
  detail::complete_on_caller(std::move(handler));
  call_done();
}

template <class F, class... Args>
void QueueServiceThread::cast_thread(F f, Args... args) {
  accept("cast_thread");
  asio::post(thread_context().get_executor(),
             [this, fn = std::move(f), ... a = std::move(args)]() mutable {
               if constexpr (detail::call_is_async<F, Args...>) {
                 if (!should_stop()) {
                   add_future(run_async_cast(std::move(fn), std::move(a)...), "cast_thread");
                   return;
                 }
               } else {
                 try {
                   std::invoke(std::move(fn), std::move(a)...);
                 } catch (...) {
                   log_cast_error();
                 }
               }
               call_done();
             });
}

template <class F, class... A>
awaitable<void> QueueServiceThread::run_async_cast(F f, A... args) {
  try {
    co_await std::invoke(f, std::move(args)...);
  } catch (...) {
    log_cast_error();
  }
  call_done();
}

}  // namespace mode
