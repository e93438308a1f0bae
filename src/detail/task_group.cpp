// The tasks a service owns.
#include <mode/detail/task_group.hpp>
#include <mode/detail/wait_op.hpp>

#include <iterator>
#include <utility>

namespace mode::detail {

std::vector<std::string> TaskGroup::names() const {
  std::vector<std::string> out;
  for (const Task& t : tasks_) out.push_back(t.name);
  return out;
}

TaskGroup::Handle TaskGroup::add(std::string name) {
  Task& t = tasks_.emplace_back();
  t.name = std::move(name);
  return std::prev(tasks_.end());
}

void TaskGroup::finish(Handle task) noexcept {
  if (task->future) {
    task->future->signal = nullptr;
    task->future->done = true;
  }
  tasks_.erase(task);
  if (tasks_.empty()) joined_.fire_all(Wake::done);
}

void TaskGroup::cancel_all() {
  for (auto it = tasks_.rbegin(); it != tasks_.rend(); ++it)
    it->signal.emit(asio::cancellation_type::terminal);
}

awaitable<bool> TaskGroup::join(Clock::time_point deadline, const asio::any_io_executor& ex) {
  if (tasks_.empty()) co_return true;
  WaitOp op;
  joined_.push_back(op.stop_link);
  op.expire_at(deadline, ex);
  const Wake why = co_await op.wait();
  co_return why != Wake::timed_out;
}

}  // namespace mode::detail
