// Internal: why a pending wait ended, and the intrusive lists that hold pending waits (a service's
// stop list, an event's waiters) without allocating.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mode::detail {

/// Why a pending wait ended. The first source to fire wins; the others are unhooked.
enum class Wake : std::uint8_t { pending, done, stopped, timed_out, cancelled };

class WaitOp;

/// The two pointers of a place in an intrusive list (a list's head has only these).
struct WaitHook {
  WaitHook* prev = nullptr;
  WaitHook* next = nullptr;

  bool linked() const noexcept { return next != nullptr; }
  void unlink() noexcept;
};

/// A hook of a WaitOp in one intrusive list (a service's stop list, an event's waiters).
struct WaitLink : WaitHook {
  WaitOp* op = nullptr;
};

/// Intrusive list of pending waits; no allocation to add or remove one.
class WaitList {
 public:
  WaitList() noexcept { head_.prev = head_.next = &head_; }
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;
  ~WaitList() { fire_all(Wake::cancelled); }

  bool empty() const noexcept { return head_.next == &head_; }
  /// Calls `f(const WaitOp&)` for each wait, oldest first; `f` must not change the list.
  template <class F>
  void for_each(F f) const {
    for (const WaitHook* l = head_.next; l != &head_; l = l->next) f(*link(l)->op);
  }
  WaitOp* front() const noexcept { return empty() ? nullptr : link(head_.next)->op; }
  std::size_t size() const noexcept;
  void push_back(WaitLink& link) noexcept;
  /// Fires every wait in the list (in the order they were added) with `why`.
  void fire_all(Wake why) noexcept;

 private:
  // Every hook but the head is a WaitLink.
  static const WaitLink* link(const WaitHook* h) noexcept {
    return static_cast<const WaitLink*>(h);
  }

  WaitHook head_;
};

}  // namespace mode::detail
