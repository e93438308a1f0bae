// mode::ServiceThread and mode::QueueServiceThread (Mode's mode.threads): a service whose
// lifecycle runs on its own std::thread and io_context, and one that runs calls sent to it there.
#pragma once

#include <mode/detail/thread_call.hpp>
#include <mode/detail/wait_op.hpp>
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
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

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
class ServiceThread : public Service, private detail::ThreadCrossing {
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
  // on_thread_stop (`final`: once more after the service stopped). An exception of open_queue
  // fails the start.
  virtual void open_queue() {}
  virtual awaitable<void> close_queue(bool /*final*/) { co_return; }

  bool owns_thread() const noexcept override { return true; }
  detail::ThreadCrossing* crossing() noexcept override { return this; }
  // detail::ThreadCrossing: on the thread, or before it launched, as any service; otherwise
  // posted to the side that owns what it touches.
  void mark_crashed(const std::exception_ptr& reason) noexcept override;
  void escalate_crash(const std::exception_ptr& reason) noexcept override;
  void describe_stop(std::string& out) override;
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

/// A ServiceThread that runs functions sent from other loops on its thread (Mode's
/// `QueueServiceThread`), e.g. to wrap a blocking client.
///
/// `call_thread(f, args...)` runs `f(args...)` on the thread and resumes the caller on its own
/// executor with the result, or rethrows f's exception there; an `f` that returns `awaitable<T>`
/// is awaited on the thread (as a task of the service, cancelled if it still runs at stop).
/// `cast_thread` does the same without waiting; an exception of a cast function is logged.
/// Calls run in the order they were sent from one thread (Mode's MethodQueue is the thread
/// loop's own queue here: no worker services, and no locks on the call path once the queue is
/// open).
///
/// The queue opens at the end of `on_thread_started` and closes when `on_thread_stop` begins.
/// While it is open, calls and casts are taken. Every call taken runs and completes, even when
/// the service stops or crashes meanwhile (Mode 4.3.0): at stop, the queue is drained before
/// `on_thread_stop` and the children's stop (Mode 4.1.9), for up to `shutdown_timeout` for
/// awaitable calls, which are then cancelled with the service's tasks. Once it closed (stop
/// began, or the service stopped or crashed) both throw ThreadNotRunning at once.
///
/// Before the queue first opened (the service is constructed, or starting), as in Mode a cast is
/// held, from any thread: the held casts run on the thread in the order sent as soon as the
/// queue opens, before any call sent after that and before `start()` returns (an awaitable one
/// is started as a task then), unless `flush()` ran them first. A service destroyed without ever
/// starting destroys its held casts without running them; one whose start fails or is stopped
/// before the queue opened drops them at that stop (logged as a warning); stopping a service
/// that never started keeps them. `call_thread` still throws ThreadNotRunning before the queue
/// opened: a caller waiting for a start that may never come would hang.
///
/// A caller cancelled (Asio cancellation) before the thread began its call gets
/// `operation_aborted` and the call is skipped; once begun, the call completes normally. A loop
/// that calls `call_thread` must live until the service stopped: the thread may still be
/// returning from its post to that loop.
class QueueServiceThread : public ServiceThread {
 public:
  /// Runs `f(args...)` on the thread; see the class comment. Arguments are moved to the thread.
  template <class F, class... Args>
  awaitable<detail::CallResult<F, Args...>> call_thread(F f, Args... args);
  /// Sends `f(args...)` to the thread and returns at once; before the queue opened, holds it.
  template <class F, class... Args>
  void cast_thread(F f, Args... args);

  /// Runs or waits for everything sent so far (Mode's `MethodQueue.flush`).
  ///
  /// Before the queue opened: runs the held casts inline on the caller's executor, one at a time
  /// in the order sent, awaiting an awaitable one, until none is left; an exception of one is
  /// logged as from the thread (`cast_thread function raised`) and the others still run. Should
  /// the queue open meanwhile, the thread takes the rest and flush waits as below (if flush looks
  /// while the thread is still running them, at the opening, it does not wait). A cast that ends
  /// with a cancellation (flush itself was cancelled) ends flush; the rest stay held.
  ///
  /// While the queue is open: returns once every call and cast sent before it from the caller's
  /// thread has completed on the thread, awaitable ones included (a marker call through the
  /// queue, not polling). After the queue closed: returns at once, as stop drains the queue.
  ///
  /// Not on the service's own thread (a call waiting for the calls before it could wait for
  /// itself): throws std::logic_error there.
  awaitable<void> flush();

 private:
  static constexpr std::uint64_t kOpen = std::uint64_t{1} << 63;
  static constexpr std::uint64_t kClosed = std::uint64_t{1} << 62;
  static constexpr std::uint64_t kCount = kClosed - 1;

  /// A cast sent before the queue opened.
  struct HeldCast {
    virtual ~HeldCast() = default;
    /// On the thread, the queue open and the cast counted: runs it as cast_thread does.
    virtual void run_on_thread(QueueServiceThread& q) = 0;
    /// For flush(): runs it on the caller, awaiting an awaitable one; throws what it throws.
    virtual awaitable<void> run_here() = 0;
  };
  template <class F, class... Args>
  struct HeldCastOf;
  /// What flush() waits for (on the service's thread only): the awaitable calls and casts still
  /// running when its marker went through the queue, whose ids are below `before`; `remaining`
  /// of them have not ended yet.
  struct FlushWait {
    std::uint64_t before = 0;
    std::uint64_t remaining = 0;
    detail::WaitOp* op = nullptr;
  };

  void open_queue() override;
  awaitable<void> close_queue(bool final) override;
  /// Counts one more call in flight, or throws ThreadNotRunning; false instead when the queue
  /// never opened and `hold` is set (cast_thread then holds the cast).
  bool accept(const char* what, bool hold = false);
  /// Holds a cast until the queue opens, or sends it if the queue opened meanwhile.
  void hold(std::unique_ptr<HeldCast> cast);
  /// On the thread, when a taken call completed.
  void call_done() noexcept;
  /// On the thread: an awaitable call or cast begins (returns its id) or ends.
  std::uint64_t async_begun() noexcept;
  void async_done(std::uint64_t id) noexcept;
  /// On the thread, for flush(): what to wait for (null: nothing), then the wait for it.
  std::shared_ptr<FlushWait> flush_marker();
  awaitable<void> flush_wait(std::shared_ptr<FlushWait> wait);
  void log_cast_error() noexcept;

  /// On the thread: runs a taken cast, or starts an awaitable one as a task.
  template <class F, class... A>
  void run_cast(F&& f, A&&... args);
  template <class R, class H, class F, class... A>
  awaitable<void> run_async_call(detail::CallSlot<R>* slot, H handler, std::uint64_t id, F f,
                                 A... args);
  template <class F, class... A>
  awaitable<void> run_async_cast(std::uint64_t id, F f, A... args);

  // Open/closed bits and the number of calls taken and not yet completed: the callers' threads
  // add, the service's thread subtracts, so stop knows when nothing is left. Neither bit is set
  // until the queue first opens (or closes without having opened).
  std::atomic<std::uint64_t> queue_state_{0};
  detail::WaitOp* drain_op_ = nullptr;  // the service's thread only

  // Casts sent before the queue first opened. open_queue and close_queue set the first bit
  // under the mutex, so a cast is either held here or taken by the queue.
  std::mutex held_mutex_;
  std::list<std::unique_ptr<HeldCast>> held_;

  // The service's thread only: awaitable calls and casts running as tasks, for flush().
  std::uint64_t next_async_id_ = 0;
  std::uint64_t running_async_ = 0;
  std::vector<std::shared_ptr<FlushWait>> flush_waits_;
};

}  // namespace mode

#include <mode/impl/threads.hpp>
