// Pending waits.
#include <mode/detail/wait_op.hpp>

#include <boost/asio/cancellation_type.hpp>

namespace mode::detail {

namespace {
struct CancelWait {
  WaitOp* op;
  void operator()(asio::cancellation_type type) const {
    if ((type & asio::cancellation_type::all) != asio::cancellation_type::none)
      op->fire(Wake::cancelled);
  }
};
}  // namespace

WaitOp::~WaitOp() { unhook(); }

void WaitOp::unhook() noexcept {
  stop_link.unlink();
  source_link.unlink();
  suspended_link.unlink();
  if (timers_) timers_->cancel(*this);
}

void WaitOp::expire_at(Clock::time_point when, const asio::any_io_executor& ex) {
  timers_ = &TimerQueue::of(ex);
  timers_->schedule(*this, when, ex);
}

void WaitOp::fire(Wake why) noexcept {
  if (result_ != Wake::pending) return;
  result_ = why;
  unhook();
  if (!handler_) return;  // not suspended yet: the wait completes at once
  handler_.get_cancellation_slot().clear();
  resume();
}

void WaitOp::resume() noexcept {
  // Never inline: the firing code (stop, Event::set) may be iterating a list.
  if (batched_ && timers_->in_loop_thread()) {
    timers_->resume_soon(suspended_link);
    return;
  }
  handler_.post(result_);
}

void WaitOp::suspend(Handler handler) {
  handler_ = std::move(handler);
  const asio::any_io_executor ex = handler_.get_executor();
  TimerQueue& loop = TimerQueue::of(ex);
  if (timers_ == nullptr) timers_ = &loop;
  // A coroutine on a strand or another executor must resume through it: post it.
  batched_ = timers_ == &loop && loop.batches(ex);
  if (result_ != Wake::pending) {  // fired before the caller suspended
    resume();
    return;
  }
  auto slot = handler_.get_cancellation_slot();
  if (slot.is_connected()) slot.template emplace<CancelWait>(CancelWait{this});
  loop.track(suspended_link);
}

}  // namespace mode::detail
