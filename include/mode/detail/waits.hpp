// Internal: the waits of one service (its sleeps, waits and timers), which its stop and crash wake.
#pragma once

#include <mode/detail/wait_list.hpp>

#include <source_location>
#include <string>
#include <string_view>
#include <vector>

namespace mode::detail {

class WaitOp;

/// The pending waits of one service, oldest first. Each is woken (`Wake::stopped`) when the
/// service stops or crashes, and is named, with its deadline and caller, in the report of where
/// the service is suspended.
class Waits {
 public:
  /// Hooks `op` (whose deadline, if any, is the caller's); `what` and `where` name it in
  /// describe().
  void hook(WaitOp& op, std::string_view what, std::source_location where = {}) noexcept;
  /// Wakes every wait, oldest first.
  void wake_all() noexcept;
  /// One line per wait, oldest first: `sleep (29.5 s left) in awaitable<void> App::tick() at
  /// app.cpp:42`.
  std::vector<std::string> describe() const;

 private:
  WaitList list_;
};

}  // namespace mode::detail
