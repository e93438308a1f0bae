// Internal: the receivers of mode::Signal and mode::SyncSignal, and the list they are connected
// to.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/utils/objects.hpp>

#include <boost/smart_ptr/intrusive_ptr.hpp>
#include <boost/smart_ptr/intrusive_ref_counter.hpp>
#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

namespace mode::detail {

class ReceiverList;

/// One connected receiver. Owned by its signal's list and by its Connection (if any).
class SlotBase : public boost::intrusive_ref_counter<SlotBase, boost::thread_unsafe_counter> {
 public:
  SlotBase() noexcept = default;
  SlotBase(const SlotBase&) = delete;
  SlotBase& operator=(const SlotBase&) = delete;
  virtual ~SlotBase() = default;

  /// A weak receiver's owner died.
  virtual bool expired() const noexcept { return false; }

  /// The list it is connected to; null once disconnected or once the signal is gone.
  ReceiverList* list = nullptr;
  /// Receives only from this sender; null: from any sender.
  const void* sender = nullptr;
  /// Whether `expired()` must be checked (a weak receiver).
  bool weak = false;
  /// A plain callable (a `Receiver<void, ...>`) connected to an async Signal: called, not
  /// awaited.
  bool plain = false;
};

/// The receivers shared by a signal and its `with_default_sender` copies, in connection order.
///
/// Removal during a send only marks the slot disconnected; the list is compacted once no send
/// is running, so indices and slots stay valid for every send in progress.
class ReceiverList
    : public boost::intrusive_ref_counter<ReceiverList, boost::thread_unsafe_counter> {
 public:
  ReceiverList(std::string name, std::string owner) noexcept;
  ReceiverList(const ReceiverList&) = delete;
  ReceiverList& operator=(const ReceiverList&) = delete;
  /// Disconnects every slot (their Connections then report disconnected).
  ~ReceiverList();

  const std::string& name() const noexcept { return name_; }
  const std::string& owner() const noexcept { return owner_; }

  /// Slots, including disconnected ones not yet compacted away.
  std::size_t size() const noexcept { return slots_.size(); }
  SlotBase& at(std::size_t i) const noexcept { return *slots_[i]; }

  void add(boost::intrusive_ptr<SlotBase> slot);
  /// Disconnects `slot` if it is in this list.
  void remove(SlotBase& slot) noexcept;
  /// Connected receivers whose owner (if weak) is alive.
  std::size_t live_count() const noexcept;
  bool any_live() const noexcept;

  /// Whether `slot` is to be called for a send from `sender`; drops it if its owner died.
  bool admits(SlotBase& slot, const void* sender) noexcept {
    if (slot.list == nullptr) return false;
    if (slot.sender != nullptr && slot.sender != sender) return false;
    if (slot.weak && slot.expired()) {
      remove(slot);
      return false;
    }
    return true;
  }

  void begin_send() noexcept { ++sending_; }
  void end_send() noexcept {
    if (--sending_ == 0 && dirty_) compact();
  }

 private:
  void compact() noexcept;

  std::vector<boost::intrusive_ptr<SlotBase>> slots_;
  std::string name_;
  std::string owner_;
  std::uint32_t sending_ = 0;
  bool dirty_ = false;
};

/// Brackets one send: keeps the list alive and its slots in place until the send ends.
class SendScope {
 public:
  explicit SendScope(ReceiverList& list) noexcept : list_(&list) { list.begin_send(); }
  SendScope(const SendScope&) = delete;
  SendScope& operator=(const SendScope&) = delete;
  ~SendScope() { list_->end_send(); }

 private:
  boost::intrusive_ptr<ReceiverList> list_;
};

/// A receiver callable as R(Sender&, const Args&...).
template <class R, class Sender, class... Args>
class Receiver : public SlotBase {
 public:
  virtual R call(Sender& sender, const Args&... args) = 0;
};

template <class F, class R, class Sender, class... Args>
class StrongReceiver final : public Receiver<R, Sender, Args...> {
 public:
  explicit StrongReceiver(F fn) : fn_(std::move(fn)) {}
  R call(Sender& sender, const Args&... args) override {
    if constexpr (std::is_void_v<R>)
      static_cast<void>(std::invoke(fn_, sender, args...));
    else
      return std::invoke(fn_, sender, args...);
  }

 private:
  F fn_;
};

/// An awaitable that completes at once.
awaitable<void> ready();
/// Awaits `a`, keeping `keep` alive until it completes.
awaitable<void> keep_alive(std::shared_ptr<const void> keep, awaitable<void> a);

template <class Owner, class F, class R, class Sender, class... Args>
class WeakReceiver final : public Receiver<R, Sender, Args...> {
 public:
  WeakReceiver(std::weak_ptr<Owner> owner, F fn) : owner_(std::move(owner)), fn_(std::move(fn)) {
    this->weak = true;
  }
  bool expired() const noexcept override { return owner_.expired(); }
  R call(Sender& sender, const Args&... args) override {
    std::shared_ptr<Owner> owner = owner_.lock();
    if constexpr (std::is_void_v<R>) {
      if (owner) static_cast<void>(std::invoke(fn_, *owner, sender, args...));
    } else {
      if (!owner) return ready();
      awaitable<void> a = std::invoke(fn_, *owner, sender, args...);
      return keep_alive(std::move(owner), std::move(a));
    }
  }

 private:
  std::weak_ptr<Owner> owner_;
  F fn_;
};

template <class T>
inline constexpr bool is_awaitable_v = false;
template <class T, class Executor>
inline constexpr bool is_awaitable_v<asio::awaitable<T, Executor>> = true;

/// Whether a receiver F called with Params runs as a plain call on a signal whose receivers
/// return R: always on a SyncSignal (R void; any result ignored), and on an async Signal when
/// its result is not an awaitable.
template <class F, class R, class... Params>
inline constexpr bool plain_receiver_v =
    std::is_void_v<R> || !is_awaitable_v<std::remove_cvref_t<std::invoke_result_t<F&, Params...>>>;

/// A receiver a signal accepts: on an async Signal a coroutine (`awaitable<void>`) or a plain
/// callable whose result is not an awaitable (an `awaitable<int>` would never run: refused).
template <class F, class R, class... Params>
concept ReceiverOf = std::is_invocable_v<F&, Params...> &&
    (std::is_void_v<R> || std::is_invocable_r_v<R, F&, Params...> ||
     !is_awaitable_v<std::remove_cvref_t<std::invoke_result_t<F&, Params...>>>);

/// Creates the slot of a receiver `fn` of a signal whose receivers return R.
template <class R, class Sender, class... Args, class F>
SlotBase* make_strong_receiver(F&& fn) {
  using D = std::decay_t<F>;
  if constexpr (plain_receiver_v<D, R, Sender&, const Args&...>) {
    SlotBase* slot = new StrongReceiver<D, void, Sender, Args...>(std::forward<F>(fn));
    slot->plain = true;
    return slot;
  } else {
    return new StrongReceiver<D, R, Sender, Args...>(std::forward<F>(fn));
  }
}

template <class R, class Sender, class... Args, class Owner, class F>
SlotBase* make_weak_receiver(std::weak_ptr<Owner> owner, F&& fn) {
  using D = std::decay_t<F>;
  if constexpr (plain_receiver_v<D, R, Owner&, Sender&, const Args&...>) {
    SlotBase* slot =
        new WeakReceiver<Owner, D, void, Sender, Args...>(std::move(owner), std::forward<F>(fn));
    slot->plain = true;
    return slot;
  } else {
    return new WeakReceiver<Owner, D, R, Sender, Args...>(std::move(owner), std::forward<F>(fn));
  }
}

template <class R, class Sender, class... Args>
class BasicSignal;

/// `<Kind: label>`, or `<Kind: label sender=<sender>>` (Mode's Signal repr).
std::string signal_repr(std::string_view kind, std::string_view label, const std::string* sender);

/// The text of a default sender in a signal's repr.
template <class Sender>
std::string sender_repr(const Sender& s) {
  using S = std::remove_cv_t<Sender>;
  if constexpr (std::is_convertible_v<const S&, std::string_view>) {
    return fmt::format("'{}'", std::string_view(s));
  } else if constexpr (fmt::is_formattable<S>::value) {
    return fmt::format("{}", s);
  } else {
    return fmt::format("<{} object at {}>", qualname(typeid(s)), fmt::ptr(&s));
  }
}

}  // namespace mode::detail
