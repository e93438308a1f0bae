// mode::Diag: a service's diagnostic flags and when each last changed (Mode's ServiceDiag).
#pragma once

#include <mode/awaitable.hpp>
#include <mode/clock.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace mode {

/// A set of named flags (e.g. "FLUSHING") with the steady time each was last set. Most services
/// never set one, so the sets are allocated on the first `set_flag`: an empty Diag is a pointer.
class Diag {
 public:
  using Flags = std::set<std::string, std::less<>>;
  using Transitions = std::map<std::string, Clock::time_point, std::less<>>;

  void set_flag(std::string_view flag);
  /// Removes the flag; its last transition time stays.
  void unset_flag(std::string_view flag);
  bool has_flag(std::string_view flag) const { return state_ && state_->flags.contains(flag); }
  const Flags& flags() const noexcept { return state_ ? state_->flags : kNoFlags; }
  const Transitions& last_transition() const noexcept {
    return state_ ? state_->last_transition : kNoTransitions;
  }

  /// Sets `flag` while `a` runs and unsets it afterwards, also on error (Mode's `transitions_to`
  /// decorator and `transition_with`).
  template <class T>
  awaitable<T> transition_with(std::string flag, awaitable<T> a) {
    set_flag(flag);
    struct Unset {
      Diag* diag;
      const std::string* flag;
      ~Unset() { diag->unset_flag(*flag); }
    } unset{this, &flag};
    co_return co_await std::move(a);
  }

 private:
  struct State {
    Flags flags;
    Transitions last_transition;
  };
  static const Flags kNoFlags;
  static const Transitions kNoTransitions;
  std::unique_ptr<State> state_;
};

}  // namespace mode
