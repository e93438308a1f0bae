// The contexts a service keeps until its stop.
#include <mode/detail/context_stack.hpp>
#include <mode/utils/logging.hpp>

namespace mode::detail {

awaitable<void> ContextStack::exit_all(CompositeLogger& log) {
  // Sync contexts first, then async ones, each in reverse order of entering (Mode's exit stacks).
  for (const bool async : {false, true}) {
    for (Holder* c = top_.get(); c != nullptr; c = c->below.get()) {
      if (c->async() != async) continue;
      try {
        if (async)
          co_await c->aexit();
        else
          c->exit();
      } catch (...) {
        log.exception("Error while exiting context");
      }
    }
  }
  release();
}

}  // namespace mode::detail
