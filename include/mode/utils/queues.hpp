// Flow-controlled async queues (Mode's mode.utils.queues): FlowControlQueue, whose producers wait
// while its FlowControlEvent is suspended, and ThrowableQueue, whose consumers can be sent errors.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/detail/wait_list.hpp>
#include <mode/utils/locks.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <type_traits>
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

  /// From this many items `put_nowait_enhanced` reports high pressure: maxsize / 1.25, rounded
  /// down (Mode's pressure_high_size; 0 for an unbounded queue).
  std::size_t pressure_high_size() const noexcept {
    return maxsize_ / 5 * 4 + maxsize_ % 5 * 4 / 5;
  }
  /// At or below this many items a get calls one pending pressure-drop callback: maxsize × 0.4,
  /// rounded down (Mode's pressure_drop_size).
  std::size_t pressure_drop_size() const noexcept {
    return maxsize_ / 5 * 2 + maxsize_ % 5 * 2 / 5;
  }
  /// Pressure-drop callbacks registered by `put_nowait_enhanced` and not called yet.
  std::size_t pending_pressure_drops() const noexcept { return pending_drops_.size(); }

  /// The items queued now.
  virtual std::size_t qsize() const noexcept = 0;

  /// What the queue has counted since it was made, for metrics (OperationsEndpoint::watch).
  struct Stats {
    std::uint64_t pressure_highs = 0;  ///< `put_nowait_enhanced` calls that reported high pressure
    std::uint64_t pressure_drops = 0;  ///< pressure-drop callbacks called
    std::uint64_t flow_control_waits = 0;  ///< `put` calls that waited for flow control
    std::uint64_t full_waits = 0;          ///< `put` calls that waited for room
    /// The time `put` calls spent waiting, for either reason (waits that ended in an exception
    /// are counted but not timed).
    std::chrono::nanoseconds put_wait_time{0};
  };
  const Stats& stats() const noexcept { return stats_; }

  /// A pointer to this queue that expires when the queue is destroyed, for who reads a queue that
  /// may go away (OperationsEndpoint::watch). Lock it only on the queue's loop.
  std::weak_ptr<const FlowControlQueueBase> lifetime() const;

 protected:
  FlowControlQueueBase(std::size_t maxsize, FlowControlEvent* flow_control, bool clear_on_resume);
  virtual ~FlowControlQueueBase();

  /// Counts a `put` that waits in `count`, and returns when it began.
  static std::chrono::steady_clock::time_point begin_put_wait(std::uint64_t& count) noexcept {
    ++count;
    return std::chrono::steady_clock::now();
  }
  /// Adds the time of a put's wait that ended (a wait that threw is not timed: the queue may be
  /// gone).
  void end_put_wait(std::chrono::steady_clock::time_point since) noexcept {
    stats_.put_wait_time += std::chrono::steady_clock::now() - since;
  }

  /// Suspends in `list` until woken; throws `operation_aborted` if cancelled or cleared.
  static awaitable<void> park(detail::WaitList& list);
  static void wake_one(detail::WaitList& list) noexcept;
  /// Throws the oldest error, passing the wake-up on if more is waiting to be consumed.
  [[noreturn]] void raise_error(bool items_left);
  void abort_putters() noexcept { putters_.fire_all(detail::Wake::cancelled); }

  /// Called when `put_nowait_enhanced` reports high pressure, before its callback (Mode's hook of
  /// the same name). Does nothing unless overridden.
  virtual void on_pressure_high() {}
  /// Called after a get called pending pressure-drop callbacks (Mode's hook). Does nothing unless
  /// overridden.
  virtual void on_pressure_drop() {}

  /// A pressure-drop callback waiting for the queue to drain, with what identifies it: `key`, or
  /// (key null) the callable itself, compared with `==`.
  struct PressureDrop {
    std::function<void()> fn;
    const void* key = nullptr;
  };
  /// Whether the drop callback identified by `same` is pending; if not and the queue holds
  /// `pressure_high_size()` items or more, registers `make_drop()` and calls the hook: high
  /// pressure.
  template <class Same, class MakeDrop>
  bool enter_pressure_high(std::size_t size, const Same& same, const MakeDrop& make_drop,
                           const void* key);
  /// Mode's endorse-drop check, run by a get that sees `size` items: at most
  /// `pressure_drop_size()` (and some) calls the oldest pending drop callback, none calls them all;
  /// then the hook.
  void maybe_endorse_pressure_drop(std::size_t size) {
    if (!pending_drops_.empty()) endorse_pressure_drop(size);
  }

  std::size_t maxsize_;
  FlowControlEvent* flow_control_;
  std::deque<std::exception_ptr> errors_;
  detail::WaitList getters_;
  detail::WaitList putters_;
  Stats stats_;

 private:
  friend class FlowControlEvent;
  void endorse_pressure_drop(std::size_t size);

  FlowControlEvent* managed_by_ = nullptr;
  std::deque<PressureDrop> pending_drops_;
  mutable std::shared_ptr<const char> lifetime_;  // made by the first lifetime()
};

/// A FIFO queue of `T` with an optional capacity, whose `put` also waits while its
/// FlowControlEvent is suspended (Mode's FlowControlQueue, an asyncio.Queue).
///
/// Belongs to one loop. `get` and `put` complete without suspending when they can; when they
/// wait they are cancellable with Asio cancellation and then throw `operation_aborted`, losing
/// nothing (a cancelled `get` takes no item, a cancelled `put` adds none). Waiters are served in
/// arrival order. `clear()` drops the items and aborts every waiting `put`; destroying the queue
/// aborts every waiting `get` and `put`. `put_nowait` ignores flow control, as in Mode.
///
/// Back-pressure (Mode's `put_nowait_enhanced`): a producer that must not wait queues with
/// `put_nowait_enhanced(value, on_pressure_high, on_pressure_drop)`, which always queues (even
/// beyond `maxsize`) and calls `on_pressure_high` when the queue holds `pressure_high_size()`
/// items or more and that producer's `on_pressure_drop` is not pending yet; `on_pressure_drop`
/// is then called by the consumers' gets once the queue has drained to `pressure_drop_size()`
/// items (one pending callback per `get_nowait`, oldest first) or to empty (all of them). As in
/// Mode, `get` runs that check only when it finds the queue empty. The callbacks run on the
/// caller's coroutine, synchronously; an exception from one propagates out of the put or get
/// that called it (a drop callback not called yet stays pending; a put whose `on_pressure_high`
/// threw queued nothing).
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

  std::size_t qsize() const noexcept override { return items_.size(); }
  std::size_t size() const noexcept { return items_.size(); }
  /// No items and no pending errors.
  bool empty() const noexcept { return items_.empty() && errors_.empty(); }
  bool full() const noexcept { return maxsize_ != 0 && items_.size() >= maxsize_; }

  /// Appends `value`, first waiting while flow control is suspended, then while the queue is full.
  awaitable<void> put(T value);

  /// Appends `value` now, or throws QueueFull. Ignores flow control.
  void put_nowait(T value);

  /// Appends `value` now, even beyond `maxsize`, ignoring flow control; returns true, after
  /// calling the hook `on_pressure_high()` then `on_pressure_high`, when this put finds the queue
  /// under high pressure (`qsize() >= pressure_high_size()`) and `on_pressure_drop` is not
  /// pending already, which it then is until a get calls it (see the class comment). A pending
  /// `on_pressure_drop` is recognised by `==` (a function pointer, or a callable with `==`): for
  /// a lambda, use the overload with a key.
  template <class High, class Drop>
  requires std::invocable<High&> && std::invocable < std::decay_t<Drop>
  & > &&std::equality_comparable<std::decay_t<Drop>>&&
          std::copy_constructible<std::decay_t<Drop>> bool
          put_nowait_enhanced(T value, High&& on_pressure_high, Drop&& on_pressure_drop);
  /// The same, for any callable `on_pressure_drop`, recognised as pending by `key` instead
  /// (Mode compares the callbacks; C++ lambdas cannot be compared): usually the address of the
  /// producer it resumes. `key` must not be null.
  template <class High, class Drop>
  requires std::invocable<High&> && std::invocable < std::decay_t<Drop>
  & > &&std::copy_constructible<std::decay_t<Drop>> bool put_nowait_enhanced(
          T value, High&& on_pressure_high, Drop&& on_pressure_drop, const void* key);

  /// Removes and returns the oldest item, waiting for one; raises the oldest pending error first
  /// (ThrowableQueue). Finding the queue empty, it first calls every pending pressure-drop
  /// callback (Mode).
  awaitable<T> get();

  /// Removes and returns the oldest item now, or throws QueueEmpty; raises a pending error first.
  /// Calls a pending pressure-drop callback when the queue has drained enough (class comment).
  T get_nowait();

  void clear() noexcept override;

 private:
  template <class High, class Same, class Drop>
  bool enhanced(T&& value, High& on_pressure_high, const Same& same, Drop&& on_pressure_drop,
                const void* key);
  void push(T&& value);
  T take();

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
  void throw_(std::exception_ptr error);
  /// The number of errors not yet raised.
  std::size_t pending_errors() const noexcept { return this->errors_.size(); }
};

}  // namespace mode

#include <mode/impl/queues.hpp>
