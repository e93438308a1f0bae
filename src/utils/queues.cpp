// The item-independent part of FlowControlQueue: waiting, waking and flow-control registration.
#include <mode/utils/queues.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <vector>

namespace mode {

FlowControlQueueBase::FlowControlQueueBase(std::size_t maxsize, FlowControlEvent* flow_control,
                                           bool clear_on_resume)
    : maxsize_(maxsize), flow_control_(flow_control) {
  if (flow_control && clear_on_resume) flow_control->manage_queue(*this);
}

FlowControlQueueBase::~FlowControlQueueBase() {
  if (managed_by_) std::erase(managed_by_->queues_, this);
}

awaitable<void> FlowControlQueueBase::park(detail::WaitList& list) {
  detail::WaitOp op;
  list.push_back(op.source_link);
  const detail::Wake why = co_await op.wait();
  if (why == detail::Wake::cancelled)
    throw boost::system::system_error(asio::error::operation_aborted);
}

std::weak_ptr<const FlowControlQueueBase> FlowControlQueueBase::lifetime() const {
  if (!lifetime_) lifetime_ = std::make_shared<const char>('\0');
  // Shares the ownership of lifetime_ (which dies with the queue), points at the queue.
  return std::shared_ptr<const FlowControlQueueBase>(lifetime_, this);
}

void FlowControlQueueBase::wake_one(detail::WaitList& list) noexcept {
  if (detail::WaitOp* op = list.front()) op->fire(detail::Wake::done);
}

void FlowControlQueueBase::raise_error(bool items_left) {
  std::exception_ptr error = std::move(errors_.front());
  errors_.pop_front();
  if (items_left || !errors_.empty()) wake_one(getters_);
  std::rethrow_exception(error);
}

void FlowControlQueueBase::endorse_pressure_drop(std::size_t size) {
  if (size > 0) {
    if (size > pressure_drop_size()) return;
    // Items are left to call the others as the queue drains further.
    const PressureDrop drop = std::move(pending_drops_.front());
    pending_drops_.pop_front();
    ++stats_.pressure_drops;
    drop.fn();
  } else {
    while (!pending_drops_.empty()) {
      const PressureDrop drop = std::move(pending_drops_.front());
      pending_drops_.pop_front();
      ++stats_.pressure_drops;
      drop.fn();
    }
  }
  on_pressure_drop();
}

}  // namespace mode
