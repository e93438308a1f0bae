// Internal: the tasks a service owns and joins at its stop (in the spirit of folly's AsyncScope
// and Seastar's gate).
#pragma once

#include <mode/awaitable.hpp>
#include <mode/detail/wait_list.hpp>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>

#include <iterator>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mode::detail {

/// What a FutureHandle and the future's task share.
struct FutureState {
  std::string name;
  std::optional<awaitable<void>> pending;       // added before the start: runs when it starts
  asio::cancellation_signal* signal = nullptr;  // while its task runs
  bool done = false;
};

/// The running tasks of a service, each with a name and its own cancellation signal. The owner
/// launches a task's coroutine on the slot of the entry `add` made, and calls `finish` when it
/// ends; the group cancels them all and wakes who joins it when the last one ends.
class TaskGroup {
 public:
  struct Task {
    asio::cancellation_signal signal;
    std::string name;
    std::shared_ptr<FutureState> future;  // for add_future's handle
  };
  using Handle = std::list<Task>::iterator;

  TaskGroup() noexcept = default;
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  bool empty() const noexcept { return tasks_.empty(); }
  /// The names of the tasks still running, oldest first.
  std::vector<std::string> names() const;
  /// A new entry, for a task about to be launched.
  Handle add(std::string name) {
    Task& t = tasks_.emplace_back();
    t.name = std::move(name);
    return std::prev(tasks_.end());
  }
  /// Removes the entry of a task that ended; wakes the joiners if it was the last.
  void finish(Handle task) noexcept {
    if (task->future) {
      task->future->signal = nullptr;
      task->future->done = true;
    }
    tasks_.erase(task);
    if (tasks_.empty()) joined_.fire_all(Wake::done);
  }
  /// Emits Asio's terminal cancellation to every task, newest first.
  void cancel_all() {
    for (auto it = tasks_.rbegin(); it != tasks_.rend(); ++it)
      it->signal.emit(asio::cancellation_type::terminal);
  }
  /// Hooks a wait to fire (`Wake::done`) when the last task ends: the joiner awaits it, with
  /// its own deadline. Not a coroutine of its own: a stop pays no frame for it.
  void hook_join(WaitLink& link) noexcept { joined_.push_back(link); }

 private:
  std::list<Task> tasks_;
  WaitList joined_;  // woken when the last task ends
};

}  // namespace mode::detail
