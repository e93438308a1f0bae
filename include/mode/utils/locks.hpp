// mode::Event: a level-triggered flag that coroutines wait on (Mode's mode.utils.locks.Event), and
// FlowControlEvent, the suspend/resume switch of flow-controlled queues.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/detail/wait_op.hpp>

#include <vector>

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

namespace mode {

class FlowControlQueueBase;

/// Flow control shared by one or many `FlowControlQueue`s (Mode's mode.utils.queues
/// FlowControlEvent): while suspended, producers calling `put` on those queues wait.
///
/// Starts suspended unless `initially_suspended` is false. Belongs to one loop; `acquire()` is
/// cancellable with Asio cancellation (it then throws `operation_aborted`). It must outlive the
/// queues that use it. Queues created with `clear_on_resume` are cleared by every `resume()`.
class FlowControlEvent {
 public:
  explicit FlowControlEvent(bool initially_suspended = true) noexcept;
  FlowControlEvent(const FlowControlEvent&) = delete;
  FlowControlEvent& operator=(const FlowControlEvent&) = delete;
  ~FlowControlEvent();

  /// Makes producers wait in `put` (and in `acquire`) until `resume()`.
  void suspend() noexcept;
  /// Lets waiting producers go on, then clears every managed queue.
  void resume() noexcept;
  /// True unless suspended.
  bool is_active() const noexcept { return !suspended_; }
  /// Clears every managed queue (their waiting producers' `put` throw `operation_aborted`);
  /// the suspended state is unchanged.
  void clear() noexcept;
  /// Returns at once if active, else when `resume()` is called.
  awaitable<void> acquire();
  /// Clears `queue` on every `resume()` until the queue is destroyed.
  void manage_queue(FlowControlQueueBase& queue);

 private:
  friend class FlowControlQueueBase;
  bool suspended_;
  Event resume_;
  std::vector<FlowControlQueueBase*> queues_;
};

}  // namespace mode
