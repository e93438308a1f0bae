// Diag.
#include <mode/diag.hpp>

namespace mode {

void Diag::set_flag(std::string_view flag) {
  flags_.emplace(flag);
  last_transition_.insert_or_assign(std::string(flag), SteadyClock::instance().now());
}

void Diag::unset_flag(std::string_view flag) {
  if (auto it = flags_.find(flag); it != flags_.end()) flags_.erase(it);
}

}  // namespace mode
