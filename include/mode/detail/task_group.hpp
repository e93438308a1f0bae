// Internal: the tasks a service owns and joins at its stop (in the spirit of folly's AsyncScope
// and Seastar's gate).
#pragma once

#include <mode/awaitable.hpp>
#include <mode/clock.hpp>
#include <mode/detail/wait_list.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <list>
#include <memory>
#include <optional>
#include <string>
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
  Handle add(std::string name);
  /// Removes the entry of a task that ended; wakes the joiners if it was the last.
  void finish(Handle task) noexcept;
  /// Emits Asio's terminal cancellation to every task, newest first.
  void cancel_all();
  /// Returns once no task runs, or at `deadline` on the loop of `ex`; true if none runs.
  awaitable<bool> join(Clock::time_point deadline, const asio::any_io_executor& ex);

 private:
  std::list<Task> tasks_;
  WaitList joined_;  // woken when the last task ends
};

}  // namespace mode::detail
