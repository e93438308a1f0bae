// Flow-controlled async queues (Mode's mode.utils.queues): FlowControlQueue, whose producers wait
// while its FlowControlEvent is suspended, and ThrowableQueue, whose consumers can be sent errors.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/detail/wait_op.hpp>
#include <mode/utils/locks.hpp>

#include <cstddef>
#include <deque>
#include <exception>
#include <stdexcept>
#include <utility>

namespace mode {

/// Thrown by `get_nowait` on an empty queue (asyncio's QueueEmpty).
class QueueEmpty : public std::runtime_error {
 public:
  QueueEmpty() : std::runtime_error("queue empty") {}
};

/// Thrown by `put_nowait` on a full queue (asyncio's QueueFull).
class QueueFull : public std::runtime_error {
 public:
  QueueFull() : std::runtime_error("queue full") {}
};

/// What every FlowControlQueue shares whatever its item type: the waiting consumers and
/// producers, the flow control, and the errors of a ThrowableQueue. Not used on its own.
class FlowControlQueueBase {
 public:
  FlowControlQueueBase(const FlowControlQueueBase&) = delete;
  FlowControlQueueBase& operator=(const FlowControlQueueBase&) = delete;

  /// Drops every buffered item and error, and aborts every waiting `put` (`operation_aborted`).
  virtual void clear() noexcept = 0;

  /// The capacity; 0 = unbounded.
  std::size_t maxsize() const noexcept { return maxsize_; }
  /// Coroutines waiting in `get` / in `put` (for room or for flow control to resume).
  std::size_t getters() const noexcept { return getters_.size(); }
  std::size_t putters() const noexcept { return putters_.size(); }
  FlowControlEvent* flow_control() const noexcept { return flow_control_; }

 protected:
  FlowControlQueueBase(std::size_t maxsize, FlowControlEvent* flow_control, bool clear_on_resume);
  ~FlowControlQueueBase();

  /// Suspends in `list` until woken; throws `operation_aborted` if cancelled or cleared.
  static awaitable<void> park(detail::WaitList& list);
  static void wake_one(detail::WaitList& list) noexcept;
  /// Throws the oldest error, passing the wake-up on if more is waiting to be consumed.
  [[noreturn]] void raise_error(bool items_left);
  void abort_putters() noexcept { putters_.fire_all(detail::Wake::cancelled); }

  std::size_t maxsize_;
  FlowControlEvent* flow_control_;
  std::deque<std::exception_ptr> errors_;
  detail::WaitList getters_;
  detail::WaitList putters_;

 private:
  friend class FlowControlEvent;
  FlowControlEvent* managed_by_ = nullptr;
};

/// A FIFO queue of `T` with an optional capacity, whose `put` also waits while its
/// FlowControlEvent is suspended (Mode's FlowControlQueue, an asyncio.Queue).
///
/// Belongs to one loop. `get` and `put` complete without suspending when they can; when they
/// wait they are cancellable with Asio cancellation and then throw `operation_aborted`, losing
/// nothing (a cancelled `get` takes no item, a cancelled `put` adds none). Waiters are served in
/// arrival order. `clear()` drops the items and aborts every waiting `put`; destroying the queue
/// aborts every waiting `get` and `put`. `put_nowait` ignores flow control, as in Mode.
template <class T>
class FlowControlQueue : public FlowControlQueueBase {
 public:
  /// A queue without flow control (`put` waits only for room).
  explicit FlowControlQueue(std::size_t maxsize = 0)
      : FlowControlQueueBase(maxsize, nullptr, false) {}
  /// A queue whose `put` waits while `flow_control` is suspended; with `clear_on_resume` every
  /// `flow_control.resume()` clears it. `flow_control` must outlive the queue.
  FlowControlQueue(std::size_t maxsize, FlowControlEvent& flow_control,
                   bool clear_on_resume = false)
      : FlowControlQueueBase(maxsize, &flow_control, clear_on_resume) {}

  std::size_t qsize() const noexcept { return items_.size(); }
  std::size_t size() const noexcept { return items_.size(); }
  /// No items and no pending errors.
  bool empty() const noexcept { return items_.empty() && errors_.empty(); }
  bool full() const noexcept { return maxsize_ != 0 && items_.size() >= maxsize_; }

  /// Appends `value`, first waiting while flow control is suspended, then while the queue is full.
  awaitable<void> put(T value) {
    if (flow_control_ && !flow_control_->is_active()) co_await flow_control_->acquire();
    while (full()) co_await park(putters_);
    push(std::move(value));
  }

  /// Appends `value` now, or throws QueueFull. Ignores flow control.
  void put_nowait(T value) {
    if (full()) throw QueueFull();
    push(std::move(value));
  }

  /// Removes and returns the oldest item, waiting for one; raises the oldest pending error first
  /// (ThrowableQueue).
  awaitable<T> get() {
    for (;;) {
      if (!errors_.empty()) raise_error(!items_.empty());
      if (!items_.empty()) co_return take();
      co_await park(getters_);
    }
  }

  /// Removes and returns the oldest item now, or throws QueueEmpty; raises a pending error first.
  T get_nowait() {
    if (!errors_.empty()) raise_error(!items_.empty());
    if (items_.empty()) throw QueueEmpty();
    return take();
  }

  void clear() noexcept override {
    items_.clear();
    errors_.clear();
    abort_putters();
  }

 private:
  void push(T&& value) {
    items_.push_back(std::move(value));
    wake_one(getters_);
  }

  T take() {
    T value = std::move(items_.front());
    items_.pop_front();
    wake_one(putters_);
    // A consumer woken for an item that another took meanwhile waits again: pass the wake-up on.
    if (!items_.empty()) wake_one(getters_);
    return value;
  }

  std::deque<T> items_;
};

/// A FlowControlQueue whose consumers can be sent errors (Mode's ThrowableQueue).
///
/// `throw_(e)` makes the next `get` / `get_nowait` (a waiting one first) throw `e` instead of
/// returning an item; items stay queued. Errors are raised oldest first, before any item.
/// `empty()` is false while an error is pending; `clear()` drops items and errors and aborts
/// waiting puts.
template <class T>
class ThrowableQueue : public FlowControlQueue<T> {
 public:
  using FlowControlQueue<T>::FlowControlQueue;

  /// Queues `error` for the next `get`, waking a waiting consumer.
  void throw_(std::exception_ptr error) {
    if (!error) throw std::invalid_argument("ThrowableQueue::throw_: null exception_ptr");
    this->errors_.push_back(std::move(error));
    this->wake_one(this->getters_);
  }
  /// The number of errors not yet raised.
  std::size_t pending_errors() const noexcept { return this->errors_.size(); }
};

}  // namespace mode
