// Intrusive lists of pending waits.
#include <mode/detail/wait_list.hpp>
#include <mode/detail/wait_op.hpp>

namespace mode::detail {

void WaitHook::unlink() noexcept {
  if (!linked()) return;
  prev->next = next;
  next->prev = prev;
  prev = next = nullptr;
}

std::size_t WaitList::size() const noexcept {
  std::size_t n = 0;
  for (const WaitHook* l = head_.next; l != &head_; l = l->next) ++n;
  return n;
}

void WaitList::push_back(WaitLink& link) noexcept {
  link.unlink();
  link.prev = head_.prev;
  link.next = &head_;
  head_.prev->next = &link;
  head_.prev = &link;
}

void WaitList::fire_all(Wake why) noexcept {
  // Firing unlinks the op, so always take the first; ops added while firing are fired too. An op
  // that fired already (one in a loop's ready list) would stay linked: it is only unlinked.
  while (WaitOp* op = front()) {
    if (op->result() == Wake::pending)
      op->fire(why);
    else
      head_.next->unlink();
  }
}

}  // namespace mode::detail
