// The bodies of signals.hpp's templates.
#pragma once

#include <boost/smart_ptr/intrusive_ptr.hpp>

#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

namespace mode {

template <class Sender, class... Args>
awaitable<void> Signal<Sender, Args...>::send(Sender& sender, Args... args) const {
  detail::ReceiverList* list = this->sending_list();
  if (list == nullptr) return detail::ready();
  return deliver(boost::intrusive_ptr<detail::ReceiverList>(list), std::addressof(sender),
                 std::move(args)...);
}

template <class Sender, class... Args>
awaitable<void> Signal<Sender, Args...>::send(
    Sender&& sender, Args... args) const requires std::is_constructible_v<Owned, Sender&&> {
  detail::ReceiverList* list = this->sending_list();
  if (list == nullptr) return detail::ready();
  return deliver_owned(boost::intrusive_ptr<detail::ReceiverList>(list), Owned(std::move(sender)),
                       std::move(args)...);
}

template <class Sender, class... Args>
awaitable<void> Signal<Sender, Args...>::deliver(boost::intrusive_ptr<detail::ReceiverList> list,
                                                 Sender* sender, Args... args) {
  const detail::SendScope scope(*list);
  const std::size_t n = list->size();  // receivers connected from now on wait for next send
  for (std::size_t i = 0; i < n; ++i) {
    detail::SlotBase& slot = list->at(i);
    if (!list->admits(slot, sender)) continue;
    if (slot.plain)
      static_cast<PlainReceiver&>(slot).call(*sender, args...);
    else
      co_await static_cast<Receiver&>(slot).call(*sender, args...);
  }
}

template <class Sender, class... Args>
void SyncSignal<Sender, Args...>::send(Sender& sender, const Args&... args) const {
  detail::ReceiverList* list = this->sending_list();
  if (list != nullptr) deliver(*list, std::addressof(sender), args...);
}

template <class Sender, class... Args>
void SyncSignal<Sender, Args...>::deliver(detail::ReceiverList& list, Sender* sender,
                                          const Args&... args) {
  const detail::SendScope scope(list);
  const std::size_t n = list.size();  // receivers connected from now on wait for next send
  for (std::size_t i = 0; i < n; ++i) {
    detail::SlotBase& slot = list.at(i);
    if (!list.admits(slot, sender)) continue;
    static_cast<Receiver&>(slot).call(*sender, args...);
  }
}

}  // namespace mode
