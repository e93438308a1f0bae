// ServiceThread: the thread, the hand-over of start/stop/crash between the two loops, the
// keepalives; QueueServiceThread's call accounting.
#include <mode/threads.hpp>
#include <mode/utils/objects.hpp>

#include "detail/simulated_loop.hpp"
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>

namespace mode {

using detail::WaitOp;
using detail::Wake;

namespace {

// The ServiceThread whose thread this is (none on other threads).
thread_local const ServiceThread* current_thread_service = nullptr;

// A thread of its own runs on real time, beside a loop whose time is virtual: refused, never run
// half simulated.
void refuse_simulated_loop(const asio::any_io_executor& parent, const ServiceThread& service) {
  if (detail::SimulatedLoop::find(asio::query(parent, asio::execution::context)) == nullptr) return;
  throw std::logic_error(fmt::format(
      "{}: a ServiceThread cannot run under mode::testing::Simulation: its OS thread and its "
      "loop run on real time (docs/testing.md lists what a simulation refuses)",
      service.label()));
}

}  // namespace

ServiceThread::ServiceThread() : thread_ctx_(std::make_unique<asio::io_context>(1)) {
  task(&ServiceThread::thread_keepalive, "_thread_keepalive");
}

ServiceThread::~ServiceThread() {
  if (!thread_.joinable()) return;
  // The thread holds the service while it runs: only an ended thread (or this one, when the
  // last reference went with it) can be here.
  if (thread_.get_id() == std::this_thread::get_id())
    thread_.detach();
  else
    thread_.join();
}

bool ServiceThread::on_thread() const noexcept { return current_thread_service == this; }

std::shared_ptr<ServiceThread> ServiceThread::shared_this() {
  return std::static_pointer_cast<ServiceThread>(shared_from_this());
}

template <class Fn>
void ServiceThread::post_to_thread(Fn fn) {
  // Weak: a handler stranded in the stopped loop must not keep the service (and its loop) alive.
  // The generation drops handlers meant for an earlier run of the thread.
  asio::post(thread_ctx_->get_executor(), [weak = std::weak_ptr<ServiceThread>(shared_this()),
                                           gen = generation_, fn = std::move(fn)]() mutable {
    const std::shared_ptr<ServiceThread> self = weak.lock();
    if (self && self->generation_ == gen) fn(*self);
  });
}

// Parent side.

awaitable<void> ServiceThread::bind_parent(const char* what) {
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  if (!parent_executor_) {
    parent_executor_ = ex;
  } else if (parent_executor_ != ex) {
    throw std::invalid_argument(fmt::format(
        "{}: {}() called from another executor than the parent loop it runs from", label(), what));
  }
}

awaitable<void> ServiceThread::start() {
  if (on_thread()) throw std::logic_error(fmt::format("{}: start() on its own thread", label()));
  co_await bind_parent("start");
  if (crashed()) {
    throw std::logic_error(fmt::format(
        "{}: cannot start a crashed service; call restart() or service_reset() first", label()));
  }
  if (thread_started_) throw std::logic_error(fmt::format("{}: already started", label()));
  refuse_simulated_loop(parent_executor_, *this);
  thread_started_ = true;
  co_await launch(false);
}

awaitable<bool> ServiceThread::maybe_start() {
  if (on_thread()) co_return false;
  co_await bind_parent("maybe_start");
  if (thread_started_) co_return false;
  co_await start();
  co_return true;
}

awaitable<void> ServiceThread::restart() {
  if (on_thread()) throw std::logic_error(fmt::format("{}: restart() on its own thread", label()));
  co_await bind_parent("restart");
  refuse_simulated_loop(parent_executor_, *this);
  co_await stop();
  service_reset();
  thread_started_ = true;
  co_await launch(true);
}

void ServiceThread::service_reset() {
  if (thread_alive_) {
    throw std::logic_error(
        fmt::format("{}: service_reset() while its thread runs: stop it first", label()));
  }
  Service::service_reset();
  thread_started_ = false;
  parent_stopping_ = false;
  parent_stopped_ = false;
}

awaitable<void> ServiceThread::launch(bool restarting) {
  if (thread_alive_)
    throw std::logic_error(fmt::format("{}: its previous thread is still running", label()));
  if (thread_.joinable()) thread_.join();  // it ended: this does not block
  (void)logger();                          // created here: the thread only reads it
  ++generation_;
  parent_stopping_ = false;
  parent_stopped_ = false;
  start_error_ = nullptr;
  thread_ctx_->restart();
  thread_alive_ = true;
  try {
    thread_ = std::thread([self = shared_this(), restarting]() mutable {
      ServiceThread& t = *self;
      t.thread_main(std::move(self), restarting);
    });
  } catch (...) {
    thread_alive_ = false;
    throw;
  }
  start_heartbeat();
  if (!wait_for_thread) co_return;
  WaitOp op;
  start_op_ = &op;
  const Wake why = co_await op.wait();
  start_op_ = nullptr;
  if (why == Wake::cancelled) throw boost::system::system_error(asio::error::operation_aborted);
  if (start_error_) std::rethrow_exception(std::exchange(start_error_, nullptr));
}

void ServiceThread::report_started(std::exception_ptr error) noexcept {
  if (start_op_ == nullptr) return;
  if (error && !start_error_) start_error_ = std::move(error);
  start_op_->fire(Wake::done);
}

awaitable<void> ServiceThread::stop() {
  if (on_thread()) {
    // A task of the service cannot wait for its own stop (stop joins it): ask, and return.
    stop_requested_.set();
    co_return;
  }
  co_await bind_parent("stop");
  if (!thread_started_) co_return;  // never started: nothing to wait for
  if (parent_stopping_) {
    if (!parent_stopped_) {
      WaitOp op;
      stop_done_waiters_.push_back(op.stop_link);
      co_await op.wait();
    }
    co_return;
  }
  parent_stopping_ = true;
  end_heartbeat();
  if (heartbeat_running_) {
    WaitOp op;
    heartbeat_joined_.push_back(op.stop_link);
    co_await op.wait();
  }
  if (thread_alive_) {
    post_to_thread([](ServiceThread& t) { t.stop_requested_.set(); });
    WaitOp op;
    exit_waiters_.push_back(op.stop_link);
    op.expire_at(detail::TimerQueue::of(parent_executor_).now() + shutdown_timeout.duration(),
                 parent_executor_);
    const Wake why = co_await op.wait();
    if (why == Wake::timed_out) {
      log.error("Thread did not stop within {}s; it is joined when it ends",
                shutdown_timeout.count());
    }
  }
  parent_stopped_ = true;
  stop_done_waiters_.fire_all(Wake::done);
}

void ServiceThread::thread_exited() noexcept {
  if (thread_.joinable()) thread_.join();  // it posted this as its last act
  thread_alive_ = false;
  end_heartbeat();
  if (start_op_ != nullptr) start_op_->fire(Wake::done);
  exit_waiters_.fire_all(Wake::done);
}

void ServiceThread::describe_stop(std::string& out) {
  if (parent_stopped_ || !thread_alive_) return;
  if (!out.empty()) out += "; ";
  out += fmt::format("{} in stopping its thread", shortlabel());
}

void ServiceThread::crash(std::exception_ptr reason) noexcept {
  if (on_thread() || !thread_alive_) {
    Service::crash(std::move(reason));
    return;
  }
  // From the parent's loop: a waiting start() fails now (Mode 4.1.8), the thread crashes.
  report_started(reason);
  try {
    post_to_thread([reason](ServiceThread& t) { t.Service::crash(reason); });
  } catch (...) {
  }
}

void ServiceThread::mark_crashed(const std::exception_ptr& reason) noexcept {
  if (on_thread() || !thread_alive_) {
    Service::mark_crashed_here(reason);
    return;
  }
  report_started(reason);
  try {
    post_to_thread([reason](ServiceThread& t) { t.Service::mark_crashed_here(reason); });
  } catch (...) {
  }
}

void ServiceThread::escalate_crash(const std::exception_ptr& reason) noexcept {
  if (!on_thread()) {
    report_started(reason);
    Service::escalate_crash_here(reason);
    return;
  }
  // The supervisor and the ancestors belong to the parent's loop: take the crash there.
  try {
    asio::post(parent_executor_, [self = shared_this(), reason, gen = generation_] {
      if (gen == self->generation_) self->report_started(reason);
      self->Service::escalate_crash_here(reason);
    });
  } catch (...) {
  }
}

void ServiceThread::notify_supervisor() noexcept {
  if (!on_thread()) {
    Service::notify_supervisor_here();
    return;
  }
  try {
    asio::post(parent_executor_,
               [self = shared_this()] { self->Service::notify_supervisor_here(); });
  } catch (...) {
  }
}

// Keepalive, parent side: ping the thread, complain when it does not answer.

void ServiceThread::end_heartbeat() noexcept {
  // The flag too: the heartbeat may be between two waits (woken, not yet resumed).
  heartbeat_ending_ = true;
  heartbeat_stop_.fire_all(Wake::stopped);
}

void ServiceThread::start_heartbeat() {
  heartbeat_running_ = true;
  heartbeat_ending_ = false;
  last_pong_ = detail::TimerQueue::of(parent_executor_).now();
  asio::co_spawn(parent_executor_, parent_heartbeat(),
                 [self = shared_this()](std::exception_ptr e) {
                   self->heartbeat_running_ = false;
                   self->heartbeat_joined_.fire_all(Wake::done);
                   if (e && !is_cancellation(e)) {
                     try {
                       std::rethrow_exception(e);
                     } catch (...) {
                       self->log.exception("Thread keepalive failed");
                     }
                   }
                 });
}

awaitable<void> ServiceThread::parent_heartbeat() {
  const asio::any_io_executor ex = parent_executor_;
  detail::TimerQueue& clock = detail::TimerQueue::of(ex);
  for (;;) {
    if (heartbeat_ending_) co_return;
    WaitOp op;
    heartbeat_stop_.push_back(op.stop_link);
    op.expire_at(clock.now() + keepalive_interval.duration(), ex);
    const Wake why = co_await op.wait();
    if (why != Wake::timed_out) co_return;
    if (clock.now() - last_pong_ > keepalive_timeout.duration())
      log.error("Thread keepalive is not responding...");
    post_to_thread([](ServiceThread& t) {
      asio::post(t.parent_executor_, [weak = std::weak_ptr<ServiceThread>(t.shared_this())] {
        if (const auto self = weak.lock())
          self->last_pong_ = detail::TimerQueue::of(self->parent_executor_).now();
      });
    });
  }
}

// Thread side.

void ServiceThread::thread_main(std::shared_ptr<ServiceThread> self, bool restarting) {
  current_thread_service = this;
  asio::io_context& ctx = *thread_ctx_;
  // serve() catches everything; its end stops the loop, whatever a user left in it.
  asio::co_spawn(ctx, serve(restarting), [ctx = &ctx](std::exception_ptr) { ctx->stop(); });
  detail::TimerQueue::run_driving(ctx);
  current_thread_service = nullptr;
  // The last act of the thread: the parent joins it when this arrives.
  asio::post(parent_executor_, [self = std::move(self)] { self->thread_exited(); });
}

awaitable<void> ServiceThread::serve(bool restarting) {
  stop_requested_.clear();
  std::exception_ptr failure;
  bool reported = false;
  try {
    if (restarting) {
      on_init();
      co_await on_restart();
    }
    co_await Service::start();
    if (!should_stop()) {
      co_await on_thread_started();
      open_queue();
      asio::post(parent_executor_, [self = shared_this(), gen = generation_] {
        if (gen == self->generation_) self->report_started(nullptr);
      });
      reported = true;
      const WaitResult<void> r = co_await wait(stop_requested_);
      (void)r;  // set, or the service crashed: either way, stop
    }
  } catch (...) {
    failure = std::current_exception();
  }
  if (failure && !is_cancellation(failure)) crash(failure);  // a failed start already did
  if (!reported) {
    std::exception_ptr error = failure ? failure : (crashed() ? crash_reason() : nullptr);
    asio::post(parent_executor_, [self = shared_this(), gen = generation_, error] {
      if (gen == self->generation_) self->report_started(error);
    });
  }
  co_await close_queue(false);
  try {
    co_await on_thread_stop();
  } catch (...) {
    crash(std::current_exception());
  }
  try {
    co_await Service::stop();
  } catch (...) {
    log.exception("Error while stopping");
  }
  co_await close_queue(true);
}

awaitable<void> ServiceThread::thread_keepalive() {
  // Ping the parent's loop; its answer comes back here. Silence means the parent is stuck.
  detail::TimerQueue& clock = detail::TimerQueue::of(executor());
  last_parent_pong_ = clock.now();
  for (;;) {
    const bool slept = co_await sleep(keepalive_interval);
    if (!slept) co_return;
    if (clock.now() - last_parent_pong_ > keepalive_timeout.duration())
      log.error("Parent loop keepalive is not responding...");
    asio::post(parent_executor_, [weak = std::weak_ptr<ServiceThread>(shared_this())] {
      if (const auto self = weak.lock()) {
        self->post_to_thread([](ServiceThread& t) {
          t.last_parent_pong_ = detail::TimerQueue::of(t.executor()).now();
        });
      }
    });
  }
}

// QueueServiceThread.

void QueueServiceThread::open_queue() {
  // The held casts run here, not posted: a post made inside the thread's running handler waits
  // for the handler's end, behind the posts other threads make meanwhile, which would overtake
  // them once the queue is seen open. A cast sent while they run is held for the next round.
  for (;;) {
    std::list<std::unique_ptr<HeldCast>> casts;
    {
      const std::lock_guard lock(held_mutex_);
      if (held_.empty()) {
        // Clears kClosed of a previous run; keeps the count of held casts still running.
        const std::uint64_t s = queue_state_.load(std::memory_order_acquire);
        queue_state_.store(kOpen | (s & kCount), std::memory_order_release);
        return;
      }
      casts.swap(held_);
    }
    for (const std::unique_ptr<HeldCast>& cast : casts) {
      queue_state_.fetch_add(1, std::memory_order_acq_rel);  // taken: it ends with call_done
      cast->run_on_thread(*this);
    }
  }
}

bool QueueServiceThread::accept(const char* what, bool hold) {
  std::uint64_t s = queue_state_.load(std::memory_order_acquire);
  do {
    if ((s & kOpen) == 0 || (s & kClosed) != 0) {
      if (hold && (s & (kOpen | kClosed)) == 0) return false;
      throw ThreadNotRunning(
          fmt::format("{}: {}: its thread is not running ({})", label(), what,
                      (s & kClosed) != 0 ? "stopping, stopped or crashed" : "not started yet"));
    }
  } while (!queue_state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel,
                                               std::memory_order_acquire));
  return true;
}

void QueueServiceThread::hold(std::unique_ptr<HeldCast> cast) {
  {
    const std::lock_guard lock(held_mutex_);
    if ((queue_state_.load(std::memory_order_acquire) & (kOpen | kClosed)) == 0) {
      held_.push_back(std::move(cast));
      return;
    }
  }
  // The queue opened (its held casts already ran) or closed since accept() looked.
  accept("cast_thread");
  asio::post(thread_context().get_executor(),
             [this, c = std::move(cast)] { c->run_on_thread(*this); });
}

void QueueServiceThread::call_done() noexcept {
  const std::uint64_t s = queue_state_.fetch_sub(1, std::memory_order_acq_rel) - 1;
  if ((s & kClosed) != 0 && (s & kCount) == 0 && drain_op_ != nullptr) drain_op_->fire(Wake::done);
}

std::uint64_t QueueServiceThread::async_begun() noexcept {
  ++running_async_;
  return next_async_id_++;
}

void QueueServiceThread::async_done(std::uint64_t id) noexcept {
  --running_async_;
  if (flush_waits_.empty()) return;
  std::erase_if(flush_waits_, [id](const std::shared_ptr<FlushWait>& w) {
    if (id >= w->before || --w->remaining != 0) return false;
    if (w->op != nullptr) w->op->fire(Wake::done);
    return true;
  });
}

std::shared_ptr<QueueServiceThread::FlushWait> QueueServiceThread::flush_marker() {
  // Everything sent before the marker has run by now, but awaitable calls and casts may still
  // be running as tasks: those are the ones to wait for.
  if (running_async_ == 0) return nullptr;
  auto wait = std::make_shared<FlushWait>();
  wait->before = next_async_id_;
  wait->remaining = running_async_;
  flush_waits_.push_back(wait);
  return wait;
}

awaitable<void> QueueServiceThread::flush_wait(std::shared_ptr<FlushWait> wait) {
  if (wait->remaining == 0) co_return;
  WaitOp op;
  wait->op = &op;
  const Wake why = co_await op.wait();
  wait->op = nullptr;
  (void)why;  // done, or cancelled at stop: either way the flush is over
}

awaitable<void> QueueServiceThread::flush() {
  if (on_thread()) throw std::logic_error(fmt::format("{}: flush() on its own thread", label()));
  // Before the queue opened: run the held casts here, one at a time (Mode: "process all
  // currently queued items inline until empty").
  for (;;) {
    std::unique_ptr<HeldCast> cast;
    {
      const std::lock_guard lock(held_mutex_);
      const std::uint64_t s = queue_state_.load(std::memory_order_acquire);
      if ((s & (kOpen | kClosed)) == 0 && !held_.empty()) {
        cast = std::move(held_.front());
        held_.pop_front();
      }
    }
    if (!cast) break;
    try {
      co_await cast->run_here();
    } catch (...) {
      if (is_cancellation(std::current_exception())) throw;
      log_cast_error();
    }
  }
  const std::uint64_t s = queue_state_.load(std::memory_order_acquire);
  if ((s & kOpen) == 0 || (s & kClosed) != 0) co_return;  // nothing held, or drained by stop
  try {
    std::shared_ptr<FlushWait> wait = co_await call_thread(&QueueServiceThread::flush_marker, this);
    if (wait) co_await call_thread(&QueueServiceThread::flush_wait, this, std::move(wait));
  } catch (const ThreadNotRunning&) {
    // The queue closed meanwhile: stop drains it.
  }
}

awaitable<void> QueueServiceThread::close_queue(bool final) {
  // No call is taken after this; every one taken before is waited for (none is lost).
  std::list<std::unique_ptr<HeldCast>> dropped;
  std::uint64_t s = 0;
  {
    const std::lock_guard lock(held_mutex_);
    s = queue_state_.fetch_or(kClosed, std::memory_order_acq_rel);
    dropped.swap(held_);  // casts held for a queue that never opened (the start failed)
  }
  if (!dropped.empty()) {
    log.warning("Dropped {} casts sent before the start: the queue closed before it opened",
                dropped.size());
    dropped.clear();
  }
  if ((s & kCount) == 0) co_return;
  WaitOp op;
  drain_op_ = &op;
  if (!final) {
    op.expire_at(detail::TimerQueue::of(executor()).now() + shutdown_timeout.duration(),
                 executor());
  }
  const Wake why = co_await op.wait();
  drain_op_ = nullptr;
  if (why == Wake::timed_out) {
    log.warning("{} calls still running {}s after stop began: cancelling them",
                queue_state_.load() & kCount, shutdown_timeout.count());
  }
}

void QueueServiceThread::log_cast_error() noexcept { log.exception("cast_thread function raised"); }

}  // namespace mode
