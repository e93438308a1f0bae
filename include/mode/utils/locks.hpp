// mode::Event: a level-triggered flag that coroutines wait on (Mode's mode.utils.locks.Event).
#pragma once

#include <mode/awaitable.hpp>
#include <mode/detail/wait_op.hpp>

namespace mode {

/// A flag with waiters: `set()` wakes every waiter, `clear()` only lowers the flag.
///
/// An Event belongs to one loop (one thread); waiters resume on their own executor. `wait()` is
/// cancellable with Asio cancellation (it then throws `operation_aborted`). A Service's `wait`
/// family accepts an Event directly and also returns when the service stops.
class Event {
 public:
  Event() noexcept = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  bool is_set() const noexcept { return set_; }
  /// Raises the flag and wakes every waiter (idempotent).
  void set() noexcept;
  void clear() noexcept { set_ = false; }
  /// Returns at once if set, else when `set()` is called.
  awaitable<void> wait();
  std::size_t waiters() const noexcept { return waiters_.size(); }

  /// Hooks `op` to fire `done` when the event is set (used by the Service waits).
  void attach(detail::WaitOp& op) noexcept;

 private:
  bool set_ = false;
  detail::WaitList waiters_;
};

}  // namespace mode
