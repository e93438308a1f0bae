// Event.
#include <mode/utils/locks.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

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
