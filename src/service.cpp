// Service: lifecycle, children, tasks, waits and crash handling.
#include <mode/service.hpp>
#include <mode/utils/objects.hpp>

#include "detail/task_thread.hpp"
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <mutex>
#include <ostream>
#include <typeindex>
#include <unordered_map>

namespace mode {

using detail::WaitOp;
using detail::Wake;

namespace {

// How many of its last events follow a crash's log line.
constexpr std::size_t kEventsInCrashLine = 10;

// The stop step whose report also names the tasks still running.
constexpr const char* kJoiningTasks = "joining tasks";

[[noreturn]] void throw_cancelled() {
  throw boost::system::system_error(asio::error::operation_aborted);
}

// Demangling is slow; labels are asked for on every log line.
const std::string& cached_shortname(const std::type_info& type) {
  thread_local std::unordered_map<std::type_index, std::string> cache;
  auto [it, inserted] = cache.try_emplace(std::type_index(type));
  if (inserted) it->second = shortname(type);
  return it->second;
}

}  // namespace

Service::Service() : beacon_(Node<Service*>::make(this)) {}

Service::~Service() {
  if (started_ && !stopped_ && !crashed_) {
    try {
      get_logger("mode")->error("Service@{} destroyed while still running: stop it first",
                                static_cast<const void*>(this));
    } catch (...) {
    }
  }
  // Children's parent links are weak: they clear themselves when this node goes. Releasing
  // the children last first lets each one that dies detach from the end of our node's list.
  beacon_->detach();
  while (!children_.empty()) children_.pop_back();
}

const asio::any_io_executor& Service::executor() const noexcept {
  static const asio::any_io_executor none;
  return executor_ ? *executor_ : none;
}

std::string_view Service::state() const noexcept {
  if (crashed_) return "crashed";
  if (!started_) return "init";
  if (!stopping_) return "running";
  if (!stopped_) return "stopping";
  return "shutdown";
}

std::string Service::label() const { return cached_shortname(typeid(*this)); }

std::string Service::shortlabel() const { return label(); }

std::string Service::repr() const {
  std::string info = repr_info();
  return fmt::format("<{}: {}{}{}>", label(), state(), info.empty() ? "" : " ", info);
}

std::ostream& operator<<(std::ostream& out, const Service& service) {
  return out << service.repr();
}

std::string Service::logger_name() const { return logger_name_of(typeid(*this)); }

spdlog::logger& Service::logger() const {
  if (!logger_) {
    // logger_name() is a property of the class: look it up once per class, not per instance.
    thread_local std::unordered_map<std::type_index, std::shared_ptr<spdlog::logger>> by_class;
    auto [it, inserted] = by_class.try_emplace(std::type_index(typeid(*this)));
    if (inserted) it->second = get_logger(logger_name());
    logger_ = it->second;
  }
  return *logger_;
}

std::string Service::log_path() const { return beacon_->path(); }

void Service::format_log_prefix(fmt::memory_buffer& out) const {
  format_service_log_prefix(out, beacon_->depth(), shortlabel());
}

std::vector<std::string> Service::suspensions() const { return waits_.describe(); }

const Clock& Service::loop_clock() const noexcept {
  if (executor_) return detail::TimerQueue::of(*executor_).clock();
  return SteadyClock::instance();
}

LogLevel Service::lifecycle_level() const noexcept {
  // Checked only for a line that would be written: counting crashes reads the clock.
  if (!log.enabled(mundane_level) || recent_crashes() <= logged_crashes_per_minute)
    return mundane_level;
  return LogLevel::debug;  // a restart storm: its restarts are routine
}

std::vector<ServiceEvent> Service::events() const { return events_.snapshot(); }

void Service::record(ServiceEventKind kind, double value, const char* detail,
                     const std::exception_ptr& reason) noexcept {
  events_.record(loop_clock(), kind, value, detail, reason);
}

std::size_t Service::recent_crashes() const noexcept {
  if (events_.empty()) return 0;
  const Clock::time_point since = loop_clock().coarse_now() - std::chrono::minutes(1);
  std::size_t n = 0;
  events_.for_each_newest_first([&](const ServiceEvent& e) {
    if (e.time < since) return false;
    if (e.kind == ServiceEventKind::crashed) ++n;
    return true;
  });
  return n;
}

std::vector<std::string> Service::task_names() const { return tasks_.names(); }

// Lifecycle.

void Service::bind_executor(const asio::any_io_executor& ex, const char* what) {
  if (!executor_) {
    executor_ = detail::TimerQueue::of(ex).shared_executor(ex);
  } else if (*executor_ != ex) {
    throw std::invalid_argument(fmt::format(
        "{}: {}() called from another executor than the service runs on", label(), what));
  }
}

awaitable<void> Service::adopt_executor() {
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  executor_ = detail::TimerQueue::of(ex).shared_executor(ex);
}

awaitable<void> Service::start() {
  // Checked by a plain call: a coroutine would cost a frame per call.
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  bind_executor(ex, "start");
  if (crashed_) {
    throw std::logic_error(fmt::format(
        "{}: cannot start a crashed service; call restart() or service_reset() first", label()));
  }
  if (started_) throw std::logic_error(fmt::format("{}: already started", label()));
  started_ = true;
  std::exception_ptr failure;
  try {
    co_await start_body();
  } catch (...) {
    failure = std::current_exception();
  }
  if (!failure) co_return;
  if (is_cancellation(failure)) {
    // Not a crash. One that a stop caused ends the start quietly (Mode swallows it too); any
    // other stops what started and goes to the caller.
    if (stopping_) co_return;
    co_await asio::this_coro::reset_cancellation_state();
    co_await stop_logged(shared_from_this());
    std::rethrow_exception(failure);
  }
  // A failed start leaves nothing running: crash, stop what started, and tell the caller.
  crash(failure);
  co_await stop_logged(shared_from_this());
  std::rethrow_exception(failure);
}

awaitable<void> Service::start_body() {
  // A stop and a reset (a restart) may come while this start waits in a callback or a child's
  // start that ignores the stop: this start then belongs to a life that is over, and must not go
  // on into the next one.
  const std::uint32_t life = restart_count_;
  const auto over = [this, life] { return should_stop() || restart_count_ != life; };
  if (restart_count_ == 0) {
    on_init();
    for (ServicePtr& s : on_init_dependencies()) add_child(s);
    co_await on_first_start();
    if (over()) co_return;
  }
  log.log(lifecycle_level(), "Starting...");
  record(ServiceEventKind::starting);
  co_await on_start();
  if (over()) co_return;
  for (const TaskSpec& spec : task_specs_) {
    if (spec.interval > 0) {
      spawn(run_timer(spec), spec.name);
    } else {
      spawn((this->*std::get<AsyncFn>(spec.fn))(), spec.name);
    }
  }
  for (std::shared_ptr<detail::FutureState>& future : std::exchange(pending_futures_, {})) {
    if (!future->pending) continue;  // cancelled meanwhile
    awaitable<void> body = std::move(*future->pending);
    future->pending.reset();
    spawn_future(std::move(future), std::move(body));
  }
  // Index, not iterator: a child's start may add children to this service.
  for (std::size_t i = 0; i < children_.size(); ++i) {
    co_await start_dependency(children_[i]);
    if (over()) co_return;
  }
  log.debug("Started.");
  record(ServiceEventKind::started);
  co_await on_started();
}

awaitable<void> Service::start_dependency(ServicePtr child) { co_await child->maybe_start(); }

awaitable<bool> Service::maybe_start() {
  if (started_) co_return false;
  co_await start();
  co_return true;
}

awaitable<void> Service::stop() {
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  bind_executor(ex, "stop");
  if (stopping_) {
    if (!stopped_) {
      // Bounded as the first call is: that one may have given up on a step that hangs, and
      // then nothing ever completes the stop.
      WaitOp op;
      stop_finished_.push_back(op.stop_link);
      op.expire_at(detail::TimerQueue::of(*executor_).now() + shutdown_timeout.duration(),
                   *executor_);
      co_await op.wait();
    }
    co_return;
  }
  // The stop body runs as its own coroutine so that this call can give up on it after
  // shutdown_timeout, whatever a callback or a child does.
  struct Guard {
    asio::cancellation_signal signal;
    WaitOp* op = nullptr;
    bool finished = false;
    bool gave_up = false;
    std::exception_ptr error;
    std::weak_ptr<Service> service;
  };
  auto guard = std::make_shared<Guard>();
  guard->service = weak_from_this();
  // A stop that never waited reports at once: a restart is mostly such a stop, and a later
  // report would cost it two more passes of the loop.
  detail::spawn_task(
      *executor_, stop_body(), guard->signal.slot(),
      [guard](std::exception_ptr e) noexcept {
        guard->finished = true;
        if (guard->gave_up) {
          // Nobody waits for this error any more: it goes to the log, not nowhere.
          const std::shared_ptr<Service> s = guard->service.lock();
          if (s && e && !is_cancellation(e))
            s->log.error("Error while stopping, after the stop gave up: {}", ExceptionRepr{e});
          return;
        }
        guard->error = std::move(e);
        if (guard->op) guard->op->fire(Wake::done);
      },
      detail::Report::at_once);
  if (!guard->finished) {
    WaitOp op;
    guard->op = &op;
    op.expire_at(detail::TimerQueue::of(*executor_).now() + shutdown_timeout.duration(),
                 *executor_);
    const Wake why = co_await op.wait();
    guard->op = nullptr;
    if (why == Wake::timed_out) {
      report_hung_stop();
      guard->gave_up = true;
      guard->signal.emit(asio::cancellation_type::terminal);
      // A lambda: it reaches the children's private state, as a member would, without a
      // declaration in the header.
      [](Service& self) noexcept {
        // The hung step kept the rest of the stop from running: what it did not stop yet must not
        // run on (nor restart anything) after stop() returned. Services not stopping yet are marked
        // stopped without their callbacks; those whose own stop hangs keep it, to finish if it can.
        std::vector<Service*> rest{&self};
        std::vector<std::string> abandoned;
        while (!rest.empty()) {
          Service* s = rest.back();
          rest.pop_back();
          if (s->stopped_ || s->owns_thread()) continue;
          if (!s->stopping_) {
            s->stopping_ = true;
            s->stopped_ = true;
            s->record(ServiceEventKind::stopping);
            s->record(ServiceEventKind::stopped);
            abandoned.push_back(s->shortlabel());
          }
          s->waits_.wake_all();
          s->tasks_.cancel_all();
          for (const ServicePtr& child : s->children_) rest.push_back(child.get());
        }
        if (!abandoned.empty()) {
          self.log.warning("Stopped without their stop callbacks (the stop gave up): {}",
                           fmt::join(abandoned, ", "));
        }
      }(*this);
      co_return;
    }
  }
  if (guard->error) std::rethrow_exception(guard->error);
}

void Service::report_hung_stop() {
  std::string hung;
  describe_stop(hung);
  log.error("Stop did not finish within {}s; still waiting for: {}", shutdown_timeout.count(),
            hung);
  record(ServiceEventKind::slow_stop, shutdown_timeout.count(), stop_step_ ? stop_step_ : "stop");
}

void Service::describe_stop(std::string& out) {
  if (detail::ThreadCrossing* c = crossing())
    c->describe_stop(out);
  else
    describe_stop_here(out);
}

void Service::describe_stop_here(std::string& out) {
  if (stopped_) return;
  if (stop_step_ != nullptr) {
    if (!out.empty()) out += "; ";
    out += fmt::format("{} in {}", shortlabel(), stop_step_);
    if (stop_step_ == kJoiningTasks) {
      out += fmt::format(" ({})", fmt::join(task_names(), ", "));
    }
  }
  for (const ServicePtr& child : children_) child->describe_stop(out);
}

awaitable<void> Service::stop_body() {
  if (!executor_) co_await adopt_executor();
  stopping_ = true;
  log.log(lifecycle_level(), "Stopping...");
  record(ServiceEventKind::stopping);
  waits_.wake_all();
  // An error of a step does not cut the stop short: the others still run, then the first
  // error goes to whoever stopped this service.
  std::exception_ptr error = co_await run_callback(&Service::on_stop, "on_stop");
  try {
    stop_step_ = "stopping children";
    const std::vector<ServicePtr> children = children_;
    for (auto it = children.rbegin(); it != children.rend(); ++it) co_await stop_dependency(*it);
    log.debug("Shutting down...");
    co_await stop_tasks();
    if (!contexts_.empty()) {
      stop_step_ = "exiting contexts";
      co_await contexts_.exit_all(log);
    }
  } catch (...) {
    // Cancelled: a stop that gave up cuts short what is left of it. on_stop's error, if any,
    // is still the one to report.
    if (!error) error = std::current_exception();
  }
  std::exception_ptr shutdown_error = co_await run_callback(&Service::on_shutdown, "on_shutdown");
  if (!error) error = std::move(shutdown_error);
  log.debug("Shutdown complete!");
  stop_step_ = nullptr;
  stopped_ = true;
  stop_finished_.fire_all(Wake::done);
  log.log(lifecycle_level(), "-Stopped!");
  record(ServiceEventKind::stopped);
  notify_supervisor();
  if (error) std::rethrow_exception(error);
}

void Service::notify_supervisor() noexcept {
  if (detail::ThreadCrossing* c = crossing())
    c->notify_supervisor();
  else
    notify_supervisor_here();
}

void Service::notify_supervisor_here() noexcept {
  if (supervisor_ != nullptr) supervisor_->wakeup(*this);
}

awaitable<void> Service::stop_dependency(ServicePtr child) {
  try {
    co_await stop_child(child);
  } catch (...) {
    // A cancellation is a stop that gave up (and said so), not an error of the child.
    const std::exception_ptr e = std::current_exception();
    log.log(is_cancellation(e) ? LogLevel::debug : LogLevel::err,
            "Error while stopping child {}: {}", *child, ExceptionRepr{e});
  }
}

awaitable<void> Service::stop_child(ServicePtr child) {
  if (child->owns_thread()) {
    co_await child->stop();
  } else if (child->stopping_) {
    if (!child->stopped_) {
      WaitOp op;
      child->stop_finished_.push_back(op.stop_link);
      co_await op.wait();
    }
  } else {
    // Inline, not through stop(): the parent's stop already bounds it.
    co_await child->stop_body();
  }
}

awaitable<void> Service::stop_logged(ServicePtr s) {
  try {
    co_await s->stop();
  } catch (...) {
    s->log.error("Error while stopping: {}", ExceptionRepr{std::current_exception()});
  }
}

awaitable<void> Service::stop_tasks() {
  if (!tasks_.empty()) {
    stop_step_ = "cancelling tasks";
    // Resuming after the tasks the stop woke lets them leave on their own, without an exception.
    WaitOp turn;
    turn.fire(Wake::done);
    co_await turn.wait();
    tasks_.cancel_all();
  }
  const auto deadline = [this] {
    return detail::TimerQueue::of(*executor_).now() + shutdown_timeout.duration();
  };
  if (wait_for_shutdown) {
    log.debug("Waiting for shutdown");
    stop_step_ = "waiting for shutdown";
    WaitOp op;
    shutdown_.attach(op);
    op.expire_at(deadline(), *executor_);
    const Wake why = co_await op.wait();
    if (why == Wake::timed_out) {
      log.warning("Shutdown flag not set within {}s", shutdown_timeout.count());
      record(ServiceEventKind::slow_stop, shutdown_timeout.count(), stop_step_);
    }
    log.debug("Shutting down now");
  }
  if (tasks_.empty()) co_return;
  stop_step_ = kJoiningTasks;
  WaitOp op;
  tasks_.hook_join(op.stop_link);
  op.expire_at(deadline(), *executor_);
  if (co_await op.wait() == Wake::timed_out) {
    log.error("Tasks still running {}s after stop: {}", shutdown_timeout.count(),
              fmt::join(task_names(), ", "));
    record(ServiceEventKind::slow_stop, shutdown_timeout.count(), kJoiningTasks);
  }
}

awaitable<std::exception_ptr> Service::run_callback(awaitable<void> (Service::*cb)(),
                                                    const char* step) {
  stop_step_ = step;
  std::exception_ptr error;
  try {
    co_await (this->*cb)();
  } catch (...) {
    error = std::current_exception();
  }
  co_return error;
}

awaitable<void> Service::restart() {
  std::exception_ptr failure;
  try {
    co_await stop();
    service_reset();
    on_init();
    co_await on_restart();
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure) {
    // Like any callback's error, logged once as a crash (which tells the supervisor); the
    // service is not started with its restart unfinished.
    crash(failure);
    std::rethrow_exception(failure);
  }
  co_await start();
}

void Service::service_reset() {
  ++restart_count_;
  started_ = false;
  stopping_ = false;
  stopped_ = false;
  crashed_ = false;
  crash_reason_ = nullptr;
  shutdown_.clear();
  for (const ServicePtr& child : children_) child->service_reset();
}

void Service::set_shutdown() noexcept { shutdown_.set(); }

void Service::crash(std::exception_ptr reason) noexcept {
  if (crashed_) {
    // Crashed already (with a child's crash, say): another error changes nothing, but is not
    // lost either.
    if (reason != crash_reason_ && recent_crashes() <= logged_crashes_per_minute)
      log.error("Crashed again reason={}", ExceptionRepr{reason});
    return;
  }
  // What led to the crash follows its line, as a traceback follows Mode's.
  if (recent_crashes() < logged_crashes_per_minute) {
    log.error("Crashed reason={}", ExceptionRepr{reason});
    const std::vector<std::string> events =
        format_events(this->events(), loop_clock().now(), kEventsInCrashLine);
    if (!events.empty())
      log.error("Last events before that, oldest first:\n  {}", fmt::join(events, "\n  "));
  }
  mark_crashed(reason);
  escalate_crash(reason);
}

void Service::escalate_crash(const std::exception_ptr& reason) noexcept {
  if (detail::ThreadCrossing* c = crossing())
    c->escalate_crash(reason);
  else
    escalate_crash_here(reason);
}

void Service::escalate_crash_here(const std::exception_ptr& reason) noexcept {
  if (supervisor_ != nullptr) {
    supervisor_->wakeup(*this);
    return;
  }
  // No supervisor: the crash goes up the tree (Mode's "poison pill"), up to the first
  // ancestor that has a supervisor, which is told. The chain has no cycle (Node refuses one).
  for (auto n = beacon_->parent(); n; n = n->parent()) {
    Service* s = n->data();
    if (s == nullptr) continue;
    s->mark_crashed(reason);
    if (s->supervisor_ != nullptr || s->owns_thread()) {
      s->escalate_crash(reason);
      break;
    }
  }
}

void Service::mark_crashed(const std::exception_ptr& reason) noexcept {
  if (detail::ThreadCrossing* c = crossing())
    c->mark_crashed(reason);
  else
    mark_crashed_here(reason);
}

void Service::mark_crashed_here(const std::exception_ptr& reason) noexcept {
  if (crashed_) return;
  crash_reason_ = reason;  // before the flag: a reader that sees crashed() sees the reason
  crashed_ = true;
  record(ServiceEventKind::crashed, 0, nullptr, reason);
  waits_.wake_all();
  for (const ServicePtr& child : children_) child->mark_crashed(reason);
}

awaitable<void> Service::wait_until_stopped(std::source_location where) {
  WaitOp op;
  if (should_stop()) {
    co_await op.pass_turn();  // as sleep does
    co_return;
  }
  waits_.hook(op, "wait_until_stopped", where);
  const Wake why = co_await op.wait();
  if (why == Wake::cancelled) throw_cancelled();
}

// Children.

void Service::add_child(const ServicePtr& s) {
  if (!s) throw std::invalid_argument(fmt::format("{}: add_dependency of a null service", label()));
  if (s.get() == this)
    throw std::invalid_argument(fmt::format("{}: a service cannot depend on itself", label()));
  for (auto n = beacon_; n; n = n->parent()) {
    if (n->data() == s.get()) {
      throw std::invalid_argument(
          fmt::format("{}: adding {} as a dependency makes a cycle", label(), s->label()));
    }
  }
  if (s->beacon_->parent() == beacon_) return;  // already a child (no search: N adds stay linear)
  s->beacon_->reattach(beacon_);
  children_.push_back(s);
}

awaitable<void> Service::start_runtime_child(ServicePtr s) {
  if (started_ && !should_stop()) co_await start_dependency(s);
}

void Service::replace_dependency(const ServicePtr& old, const ServicePtr& replacement) {
  auto it = std::find(children_.begin(), children_.end(), old);
  if (it == children_.end()) {
    throw std::invalid_argument(
        fmt::format("{}: replace_dependency of {}, which is not a dependency", label(),
                    old ? old->label() : std::string("null")));
  }
  if (std::find(children_.begin(), children_.end(), replacement) != children_.end()) {
    throw std::invalid_argument(
        fmt::format("{}: {} is already a dependency", label(), replacement->label()));
  }
  add_child(replacement);  // validates, and appends: move it into the old one's place
  children_.pop_back();
  it = std::find(children_.begin(), children_.end(), old);
  *it = replacement;
  old->beacon_->detach();
}

void Service::discard_dependency(const ServicePtr& s) noexcept {
  if (std::erase(children_, s) > 0) s->beacon_->detach();
}

awaitable<void> Service::remove_dependency(ServicePtr s) {
  auto it = std::find(children_.begin(), children_.end(), s);
  if (it == children_.end()) {
    throw std::invalid_argument(
        fmt::format("{}: remove_dependency of {}, which is not a dependency", label(),
                    s ? s->label() : std::string("null")));
  }
  std::exception_ptr error;
  try {
    co_await s->stop();
  } catch (...) {
    error = std::current_exception();
  }
  discard_dependency(s);
  if (error) std::rethrow_exception(error);
}

awaitable<void> Service::join_services(std::vector<ServicePtr> services) {
  for (const ServicePtr& s : services) {
    std::exception_ptr failure;
    try {
      co_await s->maybe_start();
    } catch (...) {
      failure = std::current_exception();
    }
    if (failure) crash(failure);
  }
  for (auto it = services.rbegin(); it != services.rend(); ++it) co_await stop_logged(*it);
}

// Tasks.

void Service::check_interval(Seconds interval) {
  if (!(interval.count() > 0)) {
    throw std::invalid_argument(
        fmt::format("timer interval must be positive, got {}s", interval.count()));
  }
}

void Service::register_task(std::variant<AsyncFn, SyncFn> fn, double interval, std::string name,
                            bool exec_first) {
  for (const TaskSpec& spec : task_specs_)
    if (spec.fn == fn) return;  // the same virtual member, registered again by a subclass
  if (name.empty())
    name = fmt::format("{}#{}", interval > 0 ? "timer" : "task", task_specs_.size());
  task_specs_.push_back(TaskSpec{fn, interval, std::move(name), exec_first});
}

FutureHandle Service::add_future(awaitable<void> a, std::string name) {
  auto future = std::make_shared<detail::FutureState>();
  future->name = std::move(name);
  if (!started_) {
    future->pending.emplace(std::move(a));
    pending_futures_.push_back(future);
  } else if (should_stop()) {
    // A start that a stop cut short may still add one: it must not run on a stopped service.
    log.debug("Not running {}: the service is stopping", future->name);
    future->done = true;
  } else {
    spawn_future(future, std::move(a));
  }
  return FutureHandle(std::move(future));
}

void Service::spawn_future(std::shared_ptr<detail::FutureState> future, awaitable<void> body) {
  std::string name = future->name;
  const detail::TaskGroup::Handle task = spawn(std::move(body), std::move(name), &future->signal);
  // The task may have ended already (a body that never suspends).
  if (!future->done) task->future = std::move(future);
}

void FutureHandle::cancel() noexcept {
  if (state_->pending) {
    state_->pending.reset();
    state_->done = true;
  } else if (state_->signal != nullptr) {
    state_->signal->emit(asio::cancellation_type::terminal);
  }
}

detail::TaskGroup::Handle Service::spawn(awaitable<void> body, std::string name,
                                         asio::cancellation_signal** signal) {
  const detail::TaskGroup::Handle task = tasks_.add(std::move(name));
  if (signal != nullptr) *signal = &task->signal;  // before the body runs: it may end at once
  detail::spawn_task(*executor_, std::move(body), task->signal.slot(),
                     [self = shared_from_this(), task](std::exception_ptr e) noexcept {
                       self->task_done(task, std::move(e));
                     });
  return task;
}

void Service::task_done(detail::TaskGroup::Handle task, std::exception_ptr e) noexcept {
  if (e) {
    if (!is_cancellation(e))
      crash(e);
    else if (!should_stop())
      log.log(mundane_level, "Terminating cancelled task: {}", task->name);
  }
  tasks_.finish(task);
}

awaitable<void> Service::run_timer(TaskSpec spec) {
  const asio::any_io_executor ex = *executor_;
  detail::TimerQueue& clock = detail::TimerQueue::of(ex);
  const auto interval = Seconds(spec.interval).duration();
  const double max_drift = std::min(spec.interval * 0.30, 1.2);
  const std::string name = fmt::format("{}.{}", label(), spec.name);
  const std::string what = "timer " + name;
  const char* const event_name = detail::intern_event_text(spec.name);
  // A fixed schedule (epoch + k * interval) keeps the timer from drifting at all.
  auto next = clock.now() + (spec.exec_first ? Clock::duration::zero() : interval);
  bool due = spec.exec_first;  // once at the start, without waiting for the loop
  for (;;) {
    if (should_stop()) co_return;
    if (!due) {
      WaitOp op;
      waits_.hook(op, what);
      op.expire_at(next, ex);
      const Wake why = co_await op.wait();
      if (why != Wake::timed_out) co_return;
    }
    due = false;
    const auto woke = clock.now();
    clock.lateness().observe(woke - next);
    const double late = std::chrono::duration<double>(woke - next).count();
    if (late >= max_drift) {
      record(ServiceEventKind::late_timer, late, event_name);
      if (spec.interval >= 1.0) Timer::log_drift(logger(), name, -late, 0.0, spec.interval + late);
    }
    if (std::holds_alternative<SyncFn>(spec.fn))
      (this->*std::get<SyncFn>(spec.fn))();
    else
      co_await (this->*std::get<AsyncFn>(spec.fn))();
    if (should_stop()) co_return;
    const auto done = clock.now();
    const double ran = std::chrono::duration<double>(done - woke).count();
    if (ran > spec.interval) Timer::log_overlap(logger(), name, spec.interval, ran);
    next += interval;
    if (next <= done) {
      // Whole ticks missed (a slow callback or a stalled loop): skip them rather than fire them
      // in a burst, and stay on the grid.
      next += interval * ((done - next) / interval + 1);
    }
  }
}

// Waiting.

bool Service::hook_wait(WaitOp& op, std::optional<Seconds> timeout, std::string_view what,
                        std::source_location where) {
  if (should_stop()) return false;
  waits_.hook(op, what, where);
  if (timeout)
    op.expire_at(detail::TimerQueue::of(*executor_).now() + timeout->duration(), *executor_);
  return true;
}

bool Service::hook_sleep(WaitOp& op, Seconds d, std::source_location where) {
  return hook_wait(op, d, "sleep", where);
}

awaitable<bool> Service::sleep(Seconds d, std::source_location where) {
  if (!executor_) co_await adopt_executor();
  WaitOp op;
  if (!hook_sleep(op, d, where)) {
    // Stopping already: give the loop a turn first, so that a task looping on sleep without
    // reading its result does not spin, and meets the stop's cancellation.
    co_await op.pass_turn();
    co_return false;
  }
  const Wake why = co_await op.wait();
  if (why == Wake::cancelled) throw_cancelled();
  co_return why == Wake::timed_out;
}

awaitable<WaitResult<void>> Service::wait(Event& e, std::optional<Seconds> timeout,
                                          std::source_location where) {
  WaitResult<void> r;
  if (!executor_) co_await adopt_executor();
  if (should_stop()) {
    WaitOp turn;
    co_await turn.pass_turn();  // as sleep does
    r.stopped = true;
    co_return r;
  }
  if (e.is_set()) {
    r.done = true;
    co_return r;
  }
  WaitOp op;
  e.attach(op);
  hook_wait(op, timeout, "wait(Event)", where);  // cannot fail: not stopping
  const Wake why = co_await op.wait();
  if (why == Wake::cancelled) throw_cancelled();
  r.done = why == Wake::done;
  r.stopped = why == Wake::stopped;
  r.timed_out = why == Wake::timed_out;
  co_return r;
}

awaitable<bool> Service::wait_for_stopped(Event& e, std::optional<Seconds> timeout,
                                          std::source_location where) {
  const WaitResult<void> r = co_await wait(e, timeout, where);
  co_return r.stopped;
}

awaitable<bool> Service::wait_for_stopped(std::optional<Seconds> timeout,
                                          std::source_location where) {
  if (!executor_) co_await adopt_executor();
  WaitOp op;
  if (!hook_wait(op, timeout, "wait_for_stopped", where)) {
    co_await op.pass_turn();  // as sleep does
    co_return true;
  }
  const Wake why = co_await op.wait();
  if (why == Wake::cancelled) throw_cancelled();
  co_return why == Wake::stopped;
}

awaitable<detail::RaceOutcome> Service::race(std::vector<awaitable<void>> items, bool all,
                                             std::optional<Seconds> timeout,
                                             std::source_location where) {
  detail::RaceOutcome out;
  out.done.assign(items.size(), 0);
  if (!executor_) co_await adopt_executor();
  if (should_stop()) {
    WaitOp turn;
    co_await turn.pass_turn();  // as sleep does
    out.stopped = true;
    co_return out;
  }
  if (items.empty()) co_return out;
  const auto state = std::make_shared<detail::Race>(items.size(), all);
  for (std::size_t i = 0; i < items.size(); ++i)
    spawn(detail::Race::run(state, i, std::move(items[i])), "wait", state->signal(i));
  WaitOp op;
  state->attach(op);
  Wake why = Wake::stopped;
  if (hook_wait(op, timeout, all ? "wait" : "wait_first", where)) why = co_await op.wait();
  co_return state->finish(why);
}

Itertimer Service::itertimer(Seconds interval, double max_drift_correction, std::string name) {
  check_interval(interval);
  return Itertimer(*this, Timer(interval, max_drift_correction, std::move(name), loop_clock()));
}

awaitable<std::optional<double>> Itertimer::next(std::source_location where) {
  if (service_->should_stop()) co_return std::nullopt;
  const double t = timer_.tick();
  const bool slept = co_await service_->sleep(t, where);
  // A stop in the same pass as the wake-up: the sleep ran its full time, yet nothing is due.
  if (!slept || service_->should_stop()) co_return std::nullopt;
  timer_.on_yield();
  detail::TimerQueue::of(service_->executor()).lateness().observe(timer_.lateness());
  co_return t;
}

// from_awaitable.

/// The service of Service::from_awaitable.
class AwaitableService final : public Service {
 public:
  AwaitableService(awaitable<void> body, std::string name)
      : body_(std::move(body)), name_(std::move(name)) {
    mundane_level = LogLevel::debug;
  }
  std::string label() const override { return name_; }

 protected:
  awaitable<void> on_start() override {
    if (!body_) {
      throw std::logic_error(fmt::format(
          "{}: a from_awaitable service runs its awaitable once and cannot restart", name_));
    }
    awaitable<void> body = std::move(*body_);
    body_.reset();
    // A stop wakes this wait, which cancels the body; what the body throws comes out here.
    const WaitResult<void> r = co_await wait(std::move(body));
    (void)r;
  }

 private:
  std::optional<awaitable<void>> body_;
  std::string name_;
};

Service::ServicePtr Service::from_awaitable(awaitable<void> a, std::string name) {
  return std::make_shared<AwaitableService>(std::move(a), std::move(name));
}

}  // namespace mode
