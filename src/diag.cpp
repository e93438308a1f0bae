// Diag.
#include <mode/diag.hpp>

namespace mode {

const Diag::Flags Diag::kNoFlags;
const Diag::Transitions Diag::kNoTransitions;

void Diag::set_flag(std::string_view flag) {
  if (!state_) state_ = std::make_unique<State>();
  state_->flags.emplace(flag);
  state_->last_transition.insert_or_assign(std::string(flag), SteadyClock::instance().now());
}

void Diag::unset_flag(std::string_view flag) {
  if (!state_) return;
  if (auto it = state_->flags.find(flag); it != state_->flags.end()) state_->flags.erase(it);
}

}  // namespace mode
