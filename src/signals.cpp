// Connection and the receiver list behind Signal and SyncSignal.
#include <mode/signals.hpp>

#include <algorithm>
#include <stdexcept>

namespace mode {

void Connection::disconnect() noexcept {
  if (!slot_) return;
  // Hold the slot until the list has let go of it: its receiver's destructor may disconnect
  // other connections of the same signal.
  const boost::intrusive_ptr<detail::SlotBase> slot = std::move(slot_);
  if (slot->list != nullptr) slot->list->remove(*slot);
}

bool Connection::connected() const noexcept {
  return slot_ && slot_->list != nullptr && !(slot_->weak && slot_->expired());
}

namespace detail {

ReceiverList::ReceiverList(std::string name, std::string owner) noexcept
    : name_(std::move(name)), owner_(std::move(owner)) {}

ReceiverList::~ReceiverList() {
  // Detach first, destroy after: a receiver's destructor may use its Connection.
  const std::vector<boost::intrusive_ptr<SlotBase>> slots = std::move(slots_);
  for (const auto& slot : slots) slot->list = nullptr;
}

void ReceiverList::add(boost::intrusive_ptr<SlotBase> slot) {
  slot->list = this;
  slots_.push_back(std::move(slot));
}

void ReceiverList::remove(SlotBase& slot) noexcept {
  if (slot.list != this) return;
  slot.list = nullptr;
  if (sending_ > 0) {
    // A send is walking the list by index: leave the slot in place, skipped, until it ends.
    dirty_ = true;
    return;
  }
  const auto it =
      std::find_if(slots_.begin(), slots_.end(), [&](const auto& s) { return s.get() == &slot; });
  if (it == slots_.end()) return;
  const boost::intrusive_ptr<SlotBase> keep = std::move(*it);
  slots_.erase(it);
}

std::size_t ReceiverList::live_count() const noexcept {
  return static_cast<std::size_t>(std::count_if(slots_.begin(), slots_.end(), [](const auto& s) {
    return s->list != nullptr && !(s->weak && s->expired());
  }));
}

bool ReceiverList::any_live() const noexcept {
  return std::any_of(slots_.begin(), slots_.end(), [](const auto& s) {
    return s->list != nullptr && !(s->weak && s->expired());
  });
}

void ReceiverList::compact() noexcept {
  dirty_ = false;
  // Move the connected slots forward in order; the disconnected ones end up at the back.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (slots_[i]->list != nullptr) {
      if (i != kept) slots_[kept].swap(slots_[i]);
      ++kept;
    }
  }
  // Destroy them one by one with the list consistent: a receiver's destructor may disconnect
  // (or even connect) receivers of this signal.
  while (!slots_.empty() && slots_.back()->list == nullptr) {
    const boost::intrusive_ptr<SlotBase> dead = std::move(slots_.back());
    slots_.pop_back();
  }
  dirty_ = std::any_of(slots_.begin(), slots_.end(), [](const auto& s) { return !s->list; });
}

[[noreturn]] void throw_no_default_sender(const std::string& label) {
  throw std::logic_error("signal '" + label +
                         "': send without a sender needs a default sender (with_default_sender)");
}

std::string signal_repr(std::string_view kind, std::string_view label, const std::string* sender) {
  // Mode's format: with an empty label, `<SyncSignal:  sender='snd'>` (two spaces).
  if (sender == nullptr) return fmt::format("<{}: {}>", kind, label);
  return fmt::format("<{}: {} sender={}>", kind, label, *sender);
}

awaitable<void> ready() { co_return; }

awaitable<void> keep_alive(std::shared_ptr<const void> keep, awaitable<void> a) {
  co_await std::move(a);
  static_cast<void>(keep);  // the owner of a weak receiver lives until its call completes
}

}  // namespace detail
}  // namespace mode
