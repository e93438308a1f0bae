// Internal: a lifecycle flag of a service.
#pragma once

#include <atomic>

namespace mode::detail {

/// A lifecycle flag of a service. Written by the loop the service runs on, but read from other
/// threads for a ServiceThread (its parent's loop asks `crashed()`, `state()`), hence atomic;
/// acquire/release so that `crash_reason()` is visible once `crashed()` is. Plain moves on x86.
class StateFlag {
 public:
  StateFlag& operator=(bool v) noexcept {
    v_.store(v, std::memory_order_release);
    return *this;
  }
  operator bool() const noexcept { return v_.load(std::memory_order_acquire); }

 private:
  std::atomic<bool> v_{false};
};

}  // namespace mode::detail
