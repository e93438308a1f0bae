// mode::Service: a class with a lifecycle (start, stop, restart, crash), child services,
// background tasks and timers, and waits that end when the service stops.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/clock.hpp>
#include <mode/detail/context_stack.hpp>
#include <mode/detail/event_ring.hpp>
#include <mode/detail/race.hpp>
#include <mode/detail/state_flag.hpp>
#include <mode/detail/task_group.hpp>
#include <mode/detail/wait_op.hpp>
#include <mode/detail/waits.hpp>
#include <mode/diag.hpp>
#include <mode/event_ring.hpp>
#include <mode/timers.hpp>
#include <mode/utils/locks.hpp>
#include <mode/utils/logging.hpp>
#include <mode/utils/times.hpp>
#include <mode/utils/trees.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/this_coro.hpp>

#include <concepts>
#include <cstdint>
#include <exception>
#include <iosfwd>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace mode {

class Service;
class ServiceThread;

/// What `Service::wait` returns: the awaited value if it finished first, else why not.
template <class T>
struct WaitResult {
  std::optional<T> result;
  bool stopped = false;    ///< the service stopped or crashed first
  bool timed_out = false;  ///< the timeout passed first
  explicit operator bool() const noexcept { return result.has_value(); }
};

/// `Service::wait` of an `awaitable<void>` or an Event.
template <>
struct WaitResult<void> {
  bool done = false;
  bool stopped = false;
  bool timed_out = false;
  explicit operator bool() const noexcept { return done; }
};

/// What `Service::wait_first` returns: the indices of the awaitables that finished (in argument
/// order) and their values; the others were cancelled.
template <class T>
struct WaitFirstResult {
  std::vector<std::size_t> done;
  std::vector<detail::Stored<T>> results;
  bool stopped = false;
  bool timed_out = false;
};

/// Told when a service it supervises crashes or stops (implemented by the supervisors).
class SupervisorHook {
 public:
  virtual void wakeup(Service& service) noexcept = 0;

 protected:
  ~SupervisorHook() = default;
};

namespace detail {
/// The calls of the service tree that a service whose lifecycle runs on a thread of its own
/// (ServiceThread) takes across threads; any other service takes them where it is.
class ThreadCrossing {
 public:
  /// Marks the service and its children crashed.
  virtual void mark_crashed(const std::exception_ptr& reason) noexcept = 0;
  /// After a crash: tells the supervisor, or else marks the ancestors crashed.
  virtual void escalate_crash(const std::exception_ptr& reason) noexcept = 0;
  /// At the end of a stop: wakes the supervisor, if any.
  virtual void notify_supervisor() noexcept = 0;
  /// Appends what a stop that overran its bound still waits for.
  virtual void describe_stop(std::string& out) = 0;

 protected:
  ~ThreadCrossing() = default;
};
}  // namespace detail

/// Yields the sleep time of each iteration of a drift-corrected periodic loop until the service
/// stops (Mode's `itertimer`); see Service::itertimer.
class Itertimer {
 public:
  /// The next sleep time, after sleeping it; empty once the service should stop.
  awaitable<std::optional<double>> next(
      std::source_location where = std::source_location::current());

 private:
  friend class Service;
  Itertimer(Service& service, Timer timer) : service_(&service), timer_(std::move(timer)) {}
  Service* service_;
  Timer timer_;
};

/// A future added with `Service::add_future`: its name, whether it ended, and a way to cancel it.
/// Copyable; it may outlive the service.
class FutureHandle {
 public:
  const std::string& name() const noexcept { return state_->name; }
  /// True once it ended (finished, failed, or cancelled), or if it never ran and never will.
  bool done() const noexcept { return state_->done; }
  /// Cancels it (Asio's terminal cancellation) if it runs; drops it if it did not start yet.
  void cancel() noexcept;

 private:
  friend class Service;
  explicit FutureHandle(std::shared_ptr<detail::FutureState> s) : state_(std::move(s)) {}
  std::shared_ptr<detail::FutureState> state_;
};

/// A service: the unit programs are built of (Mode's `mode.Service`).
///
/// Subclass it, override the `on_*` callbacks, and register background tasks and timers in the
/// constructor. Services live in `std::shared_ptr` (`std::make_shared`): tasks keep their
/// service alive until they finish.
///
/// Executor: a service runs on the executor of the coroutine that first starts (or stops) it;
/// children inherit it. Calling `start`, `stop` or `restart` from another executor throws
/// std::invalid_argument. A service is not thread-safe: use ServiceThread to cross threads.
///
/// Stop: wakes every `sleep` and `wait*` of the service first (they return normally, reporting
/// "stopped"), stops the children in reverse order, then cancels what still runs with Asio's
/// terminal cancellation and joins it. `stop()` returns within `shutdown_timeout` even when a
/// callback, a child or a task hangs; the log then names what hung.
///
/// Errors: an exception escaping a task, a timer or a callback crashes the service (`crash`),
/// which is logged once, wakes its waits, marks its children crashed, and tells its supervisor
/// or else marks its ancestors crashed (Mode's "poison pill"). A failing start also stops what
/// it started and rethrows.
class Service : public std::enable_shared_from_this<Service>, private CompositeLogger::Owner {
 public:
  using ServicePtr = std::shared_ptr<Service>;

  Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;
  /// Destroying a service that is still running is a bug: it is logged, never undefined.
  virtual ~Service();

  // Lifecycle.

  /// Starts the service, then its background tasks, then its children, in Mode's order:
  /// `on_init` and `on_first_start` (first start only), `on_start`, tasks and timers, children,
  /// `on_started`.
  /// Throws std::logic_error if it already started or crashed (use `restart`).
  /// (Virtual, like the other lifecycle calls below, only so that ServiceThread can run them on
  /// its own thread.)
  virtual awaitable<void> start();
  /// Starts it unless it already started; true if this call started it.
  virtual awaitable<bool> maybe_start();
  /// Stops the service in Mode's order: `on_stop`, the children in reverse order, the tasks,
  /// the contexts, `on_shutdown`. A second call waits for the first to complete.
  virtual awaitable<void> stop();
  /// stop, service_reset, on_init, on_restart, start.
  virtual awaitable<void> restart();
  /// Crashes the service with `reason` (see the class comment). Never throws.
  virtual void crash(std::exception_ptr reason) noexcept;
  /// Returns once the service stops or crashes.
  awaitable<void> wait_until_stopped(std::source_location where = std::source_location::current());
  /// Sets the flag a `wait_for_shutdown` service's stop waits for.
  void set_shutdown() noexcept;
  /// Clears every flag for a new start; counts a restart. Recurses into children.
  virtual void service_reset();

  // State.

  bool started() const noexcept { return started_; }
  bool crashed() const noexcept { return crashed_; }
  /// True once stopping began or the service crashed.
  bool should_stop() const noexcept { return stopping_ || crashed_; }
  /// `init`, `running`, `stopping`, `shutdown` or `crashed`.
  std::string_view state() const noexcept;
  /// Label for graphs: the class name without namespaces, unless overridden.
  virtual std::string label() const;
  /// Label for logs: `label()` unless overridden.
  virtual std::string shortlabel() const;
  /// The text form (Mode's repr): `<App: running>`, or `<Worker: init [<App: init>]>` where
  /// `repr_info()` says more. Also through `fmt::format("{}", service)` and `operator<<`.
  std::string repr() const;
  /// This service's node in the tree of services.
  Node<Service*>& beacon() const noexcept { return *beacon_; }
  std::exception_ptr crash_reason() const noexcept { return crash_reason_; }
  std::uint32_t restart_count() const noexcept { return restart_count_; }
  const std::vector<ServicePtr>& dependencies() const noexcept { return children_; }
  SupervisorHook* supervisor() const noexcept { return supervisor_; }
  void set_supervisor(SupervisorHook* s) noexcept { supervisor_ = s; }
  /// True for a service whose lifecycle runs on its own thread (ServiceThread): from any other
  /// thread only its state getters may be read, not its tasks, waits, events or children.
  virtual bool owns_thread() const noexcept { return false; }
  /// Names of the background tasks still running.
  std::vector<std::string> task_names() const;
  /// Where the service's coroutines are suspended in its own waits (sleep, wait*, timers),
  /// oldest first: `sleep (29.5 s left) in awaitable<void> App::tick() at app.cpp:42`. Waits
  /// that are not the service's (a socket read, say) are not seen.
  std::vector<std::string> suspensions() const;
  /// The service's last events, oldest first (its last 64: see set_event_ring_size): state
  /// changes, crashes, restart delays, its supervisor giving up, a stop past its bound, a late
  /// timer. Kept across restarts.
  std::vector<ServiceEvent> events() const;
  /// Its crashes of the last minute, from its events. Past `logged_crashes_per_minute`, a crash
  /// is recorded but no longer logged (nor is its restart), so that a restart storm does not
  /// flood the log.
  std::size_t recent_crashes() const noexcept;
  /// The clock of the service's loop (the steady clock before it has one).
  const Clock& loop_clock() const noexcept;
  static constexpr std::size_t logged_crashes_per_minute = 3;
  /// The executor the service runs on (empty before its first start or stop).
  const asio::any_io_executor& executor() const noexcept;

  /// Stop waits for `set_shutdown()` (up to `shutdown_timeout`).
  bool wait_for_shutdown = false;
  /// Level of the Starting... / Stopping... / -Stopped! lines (debug while the service's
  /// crashes are no longer logged: see recent_crashes).
  LogLevel mundane_level = LogLevel::info;
  /// Bound of `stop()`, and of waiting for the shutdown flag.
  Seconds shutdown_timeout = 60.0;

  // Children.

  /// Adds a child, started after this service's tasks and stopped before it. Throws
  /// std::invalid_argument for a null service, the service itself or a cycle; adding a child
  /// twice adds it once.
  template <class S>
  std::shared_ptr<S> add_dependency(std::shared_ptr<S> s) {
    add_child(s);
    return s;
  }
  /// add_dependency, then starts the child now if this service runs.
  template <class S>
  awaitable<std::shared_ptr<S>> add_runtime_dependency(std::shared_ptr<S> s) {
    add_child(s);
    co_await start_runtime_child(s);
    co_return s;
  }
  /// Stops the child and removes it. Throws std::invalid_argument (before stopping anything)
  /// if it is not a child.
  awaitable<void> remove_dependency(ServicePtr s);
  /// Starts each in order (a failure crashes this service and goes on with the next), then
  /// stops them all in reverse order.
  awaitable<void> join_services(std::vector<ServicePtr> services);

  // Futures and contexts.

  /// Runs `a` as a task of this service: joined (cancelled if needed) at stop, its exception
  /// crashes the service. Added before the start, it runs when the service starts; added
  /// once the service is stopping (or crashed), it never runs: the handle says done at once.
  FutureHandle add_future(awaitable<void> a, std::string name = "future");

  /// Keeps `c` until stop, when contexts are exited in reverse order (sync ones first). If `C`
  /// has `enter()`, it is called now; if it has `exit()`, that is called at stop; otherwise
  /// destruction is the exit.
  template <class C>
  C& add_context(C c) {
    static_assert(!detail::AsyncContext<C>,
                  "use co_await add_async_context(ctx) for an async context");
    return contexts_.push(std::move(c));
  }
  /// Awaits `c.enter()` and keeps `c` until stop, when `c.exit()` is awaited (reverse order,
  /// after the sync contexts).
  template <class C>
  awaitable<C*> add_async_context(C c) {
    static_assert(detail::AsyncContext<C>, "an async context has awaitable enter() and exit()");
    return contexts_.push_async(std::move(c));
  }

  /// A service whose start awaits `a` (Mode's `from_awaitable`): `start()` returns when `a`
  /// finished and throws what `a` threw (a cancellation only when not stopping); `stop()`
  /// cancels `a` if it still runs. It runs `a` once: it cannot restart.
  static ServicePtr from_awaitable(awaitable<void> a, std::string name = "from_awaitable");

  // Waiting.

  // Each wait records its caller's source location, for the reports of where the service's
  // coroutines are suspended (`suspensions()`, the Worker's SIGUSR1 report).
  //
  // g++ 12 only: build an aggregate or a braced list in a named variable before a `co_await`
  // that uses it (`co_await wait(f(Request{...}))` destroys the Request twice: GCC bug 99576).
  // Testing a wait directly, as in `if (!co_await sleep(d))`, is fine on every compiler.

  /// Sleeps for `d`, or less if the service stops or crashes first; true if it slept fully.
  awaitable<bool> sleep(Seconds d, std::source_location where = std::source_location::current());
  /// Waits for `x` to finish, the service to stop, or the timeout. `x` is cancelled if it did
  /// not finish; its exception, if it finished with one, is rethrown.
  template <class T>
  awaitable<WaitResult<T>> wait(awaitable<T> x, std::optional<Seconds> timeout = {},
                                std::source_location where = std::source_location::current());
  awaitable<WaitResult<void>> wait(Event& e, std::optional<Seconds> timeout = {},
                                   std::source_location where = std::source_location::current());
  /// Waits for all of `xs`; `result` holds their values in order. The unfinished ones are
  /// cancelled on stop or timeout.
  template <class T>
  awaitable<WaitResult<std::vector<detail::Stored<T>>>> wait_many(
      std::vector<awaitable<T>> xs, std::optional<Seconds> timeout = {},
      std::source_location where = std::source_location::current());
  /// Waits for the first of `xs` to finish; the others are cancelled.
  template <class T>
  awaitable<WaitFirstResult<T>> wait_first(
      std::vector<awaitable<T>> xs, std::optional<Seconds> timeout = {},
      std::source_location where = std::source_location::current());
  /// True if the service stopped (or crashed) before `x` finished and before the timeout.
  template <class T>
  awaitable<bool> wait_for_stopped(awaitable<T> x, std::optional<Seconds> timeout = {},
                                   std::source_location where = std::source_location::current()) {
    const WaitResult<T> r = co_await wait(std::move(x), timeout, where);
    co_return r.stopped;
  }
  awaitable<bool> wait_for_stopped(Event& e, std::optional<Seconds> timeout = {},
                                   std::source_location where = std::source_location::current());
  /// True if the service stopped or crashed before the timeout.
  awaitable<bool> wait_for_stopped(std::optional<Seconds> timeout,
                                   std::source_location where = std::source_location::current());
  /// Mode's `itertimer`: `for (;;) { auto t = co_await it.next(); if (!t) break; ... }`.
  Itertimer itertimer(Seconds interval, double max_drift_correction = 0.1, std::string name = {});

  /// Diagnostic flags (Mode's `diag`).
  Diag diag;
  /// Logging with this service's prefix: `log.info("served {} requests", n)`.
  CompositeLogger log{*this};

 protected:
  // Callbacks, in the order a start and a stop run them; the defaults do nothing.

  /// Before the first start, and again by `restart()`.
  virtual void on_init() {}
  /// Children to add at the first start.
  virtual std::vector<ServicePtr> on_init_dependencies() { return {}; }
  virtual awaitable<void> on_first_start() { co_return; }
  virtual awaitable<void> on_start() { co_return; }
  virtual awaitable<void> on_started() { co_return; }
  virtual awaitable<void> on_stop() { co_return; }
  virtual awaitable<void> on_shutdown() { co_return; }
  virtual awaitable<void> on_restart() { co_return; }

  /// Registers `fn` as a background task, started with the service in registration order.
  /// Registering the same (virtual) member again, e.g. from a subclass, keeps one task.
  template <class S>
  void task(awaitable<void> (S::*fn)(), std::string name = {}) {
    register_task(to_service_fn(fn), 0.0, std::move(name));
  }
  /// Registers `fn` to run every `interval` on a fixed schedule (Mode's `@timer`): first after
  /// one interval, or at once with `exec_first` (Mode's `exec_first=True`); a late wake-up or
  /// a run longer than the interval is logged like Mode's Timer does. Throws
  /// std::invalid_argument for a zero or negative interval.
  template <class S, class R>
  void timer(Seconds interval, R (S::*fn)(), std::string name = {}, bool exec_first = false) {
    static_assert(std::is_void_v<R> || std::is_same_v<R, awaitable<void>>,
                  "a timer method returns void or awaitable<void>");
    check_interval(interval);
    register_task(to_service_fn(fn), interval.count(), std::move(name), exec_first);
  }

  /// Starts one child during start (the default: `maybe_start`, whose failure fails the start).
  virtual awaitable<void> start_dependency(ServicePtr child);
  /// Stops one child during stop (the default: stops it; an error of its stop is logged as
  /// `Error while stopping child <child>: <error>` and the stop goes on).
  virtual awaitable<void> stop_dependency(ServicePtr child);
  /// Stops `child` as this service's stop does (within this stop's bound); throws the first
  /// error of its stop steps.
  awaitable<void> stop_child(ServicePtr child);
  /// More text for `repr()`, after the state (none by default).
  virtual std::string repr_info() const { return {}; }
  /// Puts `replacement` in the place of the child `old` (which is neither stopped nor started).
  void replace_dependency(const ServicePtr& old, const ServicePtr& replacement);
  /// Removes a child without stopping it; unknown services are ignored.
  void discard_dependency(const ServicePtr& s) noexcept;

  /// The name of the logger the service writes to: its class's namespace (`main` if none).
  virtual std::string logger_name() const;
  /// Replaces the logger.
  void set_logger(std::shared_ptr<spdlog::logger> logger) { logger_ = std::move(logger); }

 private:
  friend class ServiceThread;       // runs this lifecycle on its own thread, see threads.hpp
  friend class SupervisorStrategy;  // records its decisions in its services' events
  using AsyncFn = awaitable<void> (Service::*)();
  using SyncFn = void (Service::*)();
  struct TaskSpec {
    std::variant<AsyncFn, SyncFn> fn;
    double interval;  // 0 for a task
    std::string name;
    bool exec_first;
  };
  template <class S, class R>
  static std::variant<AsyncFn, SyncFn> to_service_fn(R (S::*fn)()) {
    static_assert(std::is_base_of_v<Service, S>, "tasks are member functions of the service");
    return static_cast<R (Service::*)()>(fn);
  }

  // CompositeLogger::Owner
  spdlog::logger& logger() const override;
  void format_log_prefix(fmt::memory_buffer& out) const override;
  std::string log_path() const override;

  void add_child(const ServicePtr& s);
  awaitable<void> start_runtime_child(ServicePtr s);
  void register_task(std::variant<AsyncFn, SyncFn> fn, double interval, std::string name,
                     bool exec_first = false);
  static void check_interval(Seconds interval);
  void bind_executor(const asio::any_io_executor& ex, const char* what);
  // Out of line: the executor it fetches would take room in every sleep's coroutine frame.
  awaitable<void> adopt_executor();
  awaitable<void> start_body();
  awaitable<void> stop_body();
  /// Stops `s`, logging an error of its stop instead of throwing it.
  static awaitable<void> stop_logged(ServicePtr s);
  void report_hung_stop();
  /// The level of the Starting... / Stopping... / -Stopped! lines: `mundane_level`, or debug
  /// while the service's crashes are no longer logged.
  LogLevel lifecycle_level() const noexcept;
  /// Records an event (see ServiceEvent for what `value`, `detail` and `reason` hold).
  void record(ServiceEventKind kind, double value = 0, const char* detail = nullptr,
              const std::exception_ptr& reason = nullptr) noexcept;
  awaitable<void> stop_tasks();
  /// Runs a stop step; returns what it threw.
  awaitable<std::exception_ptr> run_callback(awaitable<void> (Service::*cb)(), const char* step);
  void spawn_future(std::shared_ptr<detail::FutureState> future, awaitable<void> body);
  awaitable<void> run_timer(TaskSpec spec);
  /// Null, except for a service that takes the calls below across threads (ServiceThread).
  virtual detail::ThreadCrossing* crossing() noexcept { return nullptr; }
  // The calls of detail::ThreadCrossing: each goes through crossing() if there is one, else
  // runs here (the `_here` versions).
  void mark_crashed(const std::exception_ptr& reason) noexcept;
  void mark_crashed_here(const std::exception_ptr& reason) noexcept;
  void escalate_crash(const std::exception_ptr& reason) noexcept;
  /// Tells the supervisor, or else marks the ancestors crashed up to the first one with a
  /// supervisor (or that runs on another thread: it takes the crash across).
  void escalate_crash_here(const std::exception_ptr& reason) noexcept;
  void notify_supervisor() noexcept;
  void notify_supervisor_here() noexcept;
  void describe_stop(std::string& out);
  void describe_stop_here(std::string& out);
  /// Runs `body` as a task of this service; `signal`, if given, is set to the task's
  /// cancellation signal (valid until the task ends).
  detail::TaskGroup::Handle spawn(awaitable<void> body, std::string name,
                                  asio::cancellation_signal** signal = nullptr);
  void task_done(detail::TaskGroup::Handle task, std::exception_ptr e) noexcept;
  /// Hooks `op` to this service's stop and arms its deadline (`what` and `where` are for the
  /// reports); false, with nothing hooked, if the service should stop already.
  bool hook_wait(detail::WaitOp& op, std::optional<Seconds> timeout, std::string_view what,
                 std::source_location where);
  // hook_wait for sleep, out of line: its argument temporaries would take room in the frame of
  // every sleeping coroutine.
  bool hook_sleep(detail::WaitOp& op, Seconds d, std::source_location where);
  awaitable<detail::RaceOutcome> race(std::vector<awaitable<void>> items, bool all,
                                      std::optional<Seconds> timeout, std::source_location where);

  std::shared_ptr<Node<Service*>> beacon_;
  std::vector<ServicePtr> children_;
  std::vector<TaskSpec> task_specs_;
  detail::TaskGroup tasks_;
  detail::ContextStack contexts_;
  std::vector<std::shared_ptr<detail::FutureState>> pending_futures_;  // added before the start
  // Shared by the services of a loop (TimerQueue::shared_executor): 16 bytes, not 56, each.
  std::shared_ptr<const asio::any_io_executor> executor_;
  mutable std::shared_ptr<spdlog::logger> logger_;
  std::exception_ptr crash_reason_;
  SupervisorHook* supervisor_ = nullptr;
  detail::Waits waits_;  // woken by stop and crash
  detail::EventRing events_;
  detail::WaitList stop_finished_;  // woken when stop completes
  Event shutdown_;
  const char* stop_step_ = nullptr;  // what stop is doing now, for the log if it hangs
  std::uint32_t restart_count_ = 0;
  detail::StateFlag started_;
  detail::StateFlag stopping_;
  detail::StateFlag stopped_;
  detail::StateFlag crashed_;
};

/// Writes `service.repr()`.
std::ostream& operator<<(std::ostream& out, const Service& service);

/// Mode's `async with service:`. Starts `service`, awaits `body`, then stops the service and
/// resets it (`service_reset`), also when `body` throws; returns what `body` returned. A start
/// that fails throws at once (it already stopped what it started). An error of the stop is
/// thrown after the reset, unless `body` threw first.
template <class T>
awaitable<T> with_started(Service::ServicePtr service, awaitable<T> body);

}  // namespace mode

#include <mode/impl/service.hpp>

/// `fmt::format("{}", service)`: the service's repr().
template <class S>
requires std::derived_from<S, mode::Service>
struct fmt::formatter<S> : fmt::formatter<std::string_view> {
  template <class Context>
  auto format(const S& s, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(s.repr(), ctx);
  }
};
