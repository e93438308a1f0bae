// Event and FlowControlEvent.
#include <mode/utils/locks.hpp>
#include <mode/utils/queues.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <vector>

namespace mode {

void Event::set() noexcept {
  set_ = true;
  waiters_.fire_all(detail::Wake::done);
}

void Event::attach(detail::WaitOp& op) noexcept {
  if (set_)
    op.fire(detail::Wake::done);
  else
    waiters_.push_back(op.source_link);
}

awaitable<void> Event::wait() {
  if (set_) co_return;
  detail::WaitOp op;
  attach(op);
  const detail::Wake why = co_await op.wait();
  if (why == detail::Wake::cancelled)
    throw boost::system::system_error(asio::error::operation_aborted);
}

}  // namespace mode

namespace mode {

FlowControlEvent::FlowControlEvent(bool initially_suspended) noexcept
    : suspended_(initially_suspended) {
  if (!suspended_) resume_.set();
}

FlowControlEvent::~FlowControlEvent() {
  for (FlowControlQueueBase* q : queues_) q->managed_by_ = nullptr;
}

void FlowControlEvent::suspend() noexcept {
  resume_.clear();
  suspended_ = true;
}

void FlowControlEvent::resume() noexcept {
  suspended_ = false;
  resume_.set();
  clear();
}

void FlowControlEvent::clear() noexcept {
  // Clearing a queue only fires its waiters (posted): the list cannot change under the loop.
  for (FlowControlQueueBase* q : queues_) q->clear();
}

awaitable<void> FlowControlEvent::acquire() {
  if (!suspended_) co_return;
  co_await resume_.wait();
}

void FlowControlEvent::manage_queue(FlowControlQueueBase& queue) {
  if (queue.managed_by_ == this) return;
  if (queue.managed_by_) std::erase(queue.managed_by_->queues_, &queue);
  queues_.push_back(&queue);
  queue.managed_by_ = this;
}

}  // namespace mode
