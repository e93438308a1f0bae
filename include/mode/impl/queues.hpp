// The bodies of utils/queues.hpp's templates.
#pragma once

#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace mode {

template <class Same, class MakeDrop>
bool FlowControlQueueBase::enter_pressure_high(std::size_t size, const Same& same,
                                               const MakeDrop& make_drop, const void* key) {
  for (const PressureDrop& p : pending_drops_)
    if (same(p)) return false;
  if (size < pressure_high_size()) return false;
  pending_drops_.push_back(PressureDrop{make_drop(), key});
  ++stats_.pressure_highs;
  on_pressure_high();
  return true;
}

template <class T>
awaitable<void> FlowControlQueue<T>::put(T value) {
  if (flow_control_ && !flow_control_->is_active()) {
    const auto since = begin_put_wait(this->stats_.flow_control_waits);
    co_await flow_control_->acquire();
    this->end_put_wait(since);
  }
  if (full()) {
    const auto since = begin_put_wait(this->stats_.full_waits);
    while (full()) co_await park(putters_);
    this->end_put_wait(since);
  }
  push(std::move(value));
}

template <class T>
void FlowControlQueue<T>::put_nowait(T value) {
  if (full()) throw QueueFull();
  push(std::move(value));
}

template <class T>
template <class High, class Drop>
requires std::invocable<High&> && std::invocable < std::decay_t<Drop>
& > &&std::equality_comparable<std::decay_t<Drop>>&&
        std::copy_constructible<std::decay_t<Drop>> bool
        FlowControlQueue<T>::put_nowait_enhanced(T value, High&& on_pressure_high,
                                                 Drop&& on_pressure_drop) {
  using D = std::decay_t<Drop>;
  const D& drop = on_pressure_drop;
  const auto same = [&drop](const PressureDrop& p) {
    const D* fn = p.key == nullptr ? p.fn.template target<D>() : nullptr;
    return fn != nullptr && *fn == drop;
  };
  return enhanced(std::move(value), on_pressure_high, same, std::forward<Drop>(on_pressure_drop),
                  nullptr);
}

template <class T>
template <class High, class Drop>
requires std::invocable<High&> && std::invocable < std::decay_t<Drop>
& > &&std::copy_constructible<std::decay_t<Drop>> bool FlowControlQueue<T>::put_nowait_enhanced(
        T value, High&& on_pressure_high, Drop&& on_pressure_drop, const void* key) {
  if (key == nullptr) throw std::invalid_argument("put_nowait_enhanced: null key");
  const auto same = [key](const PressureDrop& p) { return p.key == key; };
  return enhanced(std::move(value), on_pressure_high, same, std::forward<Drop>(on_pressure_drop),
                  key);
}

template <class T>
awaitable<T> FlowControlQueue<T>::get() {
  if (!errors_.empty()) raise_error(!items_.empty());
  if (items_.empty()) maybe_endorse_pressure_drop(0);
  for (;;) {
    if (!errors_.empty()) raise_error(!items_.empty());
    if (!items_.empty()) co_return take();
    co_await park(getters_);
  }
}

template <class T>
T FlowControlQueue<T>::get_nowait() {
  if (!errors_.empty()) raise_error(!items_.empty());
  maybe_endorse_pressure_drop(items_.size());
  if (items_.empty()) throw QueueEmpty();
  return take();
}

template <class T>
void FlowControlQueue<T>::clear() noexcept {
  items_.clear();
  errors_.clear();
  abort_putters();
}

template <class T>
template <class High, class Same, class Drop>
bool FlowControlQueue<T>::enhanced(T&& value, High& on_pressure_high, const Same& same,
                                   Drop&& on_pressure_drop, const void* key) {
  const auto make_drop = [&] {
    return std::function<void()>(std::forward<Drop>(on_pressure_drop));
  };
  const bool high = this->enter_pressure_high(items_.size(), same, make_drop, key);
  if (high) on_pressure_high();
  push(std::move(value));
  return high;
}

template <class T>
void FlowControlQueue<T>::push(T&& value) {
  items_.push_back(std::move(value));
  wake_one(getters_);
}

template <class T>
T FlowControlQueue<T>::take() {
  T value = std::move(items_.front());
  items_.pop_front();
  wake_one(putters_);
  // A consumer woken for an item that another took meanwhile waits again: pass the wake-up on.
  if (!items_.empty()) wake_one(getters_);
  return value;
}

template <class T>
void ThrowableQueue<T>::throw_(std::exception_ptr error) {
  if (!error) throw std::invalid_argument("ThrowableQueue::throw_: null exception_ptr");
  this->errors_.push_back(std::move(error));
  this->wake_one(this->getters_);
}

}  // namespace mode
