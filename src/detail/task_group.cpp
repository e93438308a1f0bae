// The tasks a service owns.
#include <mode/detail/task_group.hpp>

namespace mode::detail {

std::vector<std::string> TaskGroup::names() const {
  std::vector<std::string> out;
  for (const Task& t : tasks_) out.push_back(t.name);
  return out;
}

}  // namespace mode::detail
