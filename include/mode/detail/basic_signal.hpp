// Internal: what mode::Signal and mode::SyncSignal share, and their sender-less form.
#pragma once

#include <mode/connection.hpp>
#include <mode/detail/signal_receivers.hpp>

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

/// What Signal and SyncSignal share: receivers, connection, names. See the file comment.
template <class R, class Sender, class... Args>
class BasicSignal {
 public:
  using sender_type = Sender;

  /// A signal with no receivers; `owner` names the class that declares it, for `label()`.
  explicit BasicSignal(std::string name = {}, std::string owner = {})
      : list_(new ReceiverList(std::move(name), std::move(owner))) {}
  BasicSignal(const BasicSignal&) = delete;
  BasicSignal& operator=(const BasicSignal&) = delete;
  BasicSignal(BasicSignal&&) noexcept = default;
  BasicSignal& operator=(BasicSignal&&) noexcept = default;
  ~BasicSignal() = default;

  /// Connects `fn`, called as `fn(sender, args...)` for every send. On a signal with a default
  /// sender, it receives only that sender's sends (as in Mode).
  template <class F>
  requires ReceiverOf<std::decay_t<F>, R, Sender&, const Args&...> Connection connect(F&& fn) {
    return add(make_strong_receiver<R, Sender, Args...>(std::forward<F>(fn)), default_sender_);
  }
  /// Connects `fn` for the sends from `sender` only. The explicit sender wins over a default
  /// sender (Mode would silently use the default one instead).
  template <class F>
  requires ReceiverOf<std::decay_t<F>, R, Sender&, const Args&...> Connection
  connect(F&& fn, Sender& sender) {
    return add(make_strong_receiver<R, Sender, Args...>(std::forward<F>(fn)),
               std::addressof(sender));
  }
  /// Connects `fn`, called as `fn(owner, sender, args...)` (`fn` may be a pointer to a member
  /// of Owner) while `owner` lives; once it dies the receiver is dropped. It does not keep the
  /// owner alive, except during a call. Sender filtering as for `connect(fn)`.
  template <class Owner, class F>
  requires ReceiverOf<std::decay_t<F>, R, Owner&, Sender&, const Args&...> Connection
  connect_weak(std::weak_ptr<Owner> owner, F&& fn) {
    return add(make_weak_receiver<R, Sender, Args...>(std::move(owner), std::forward<F>(fn)),
               default_sender_);
  }
  /// A weak receiver (see above) for the sends from `sender` only.
  template <class Owner, class F>
  requires ReceiverOf<std::decay_t<F>, R, Owner&, Sender&, const Args&...> Connection
  connect_weak(std::weak_ptr<Owner> owner, F&& fn, Sender& sender) {
    return add(make_weak_receiver<R, Sender, Args...>(std::move(owner), std::forward<F>(fn)),
               std::addressof(sender));
  }

  /// Disconnects `c` if it is a receiver of this signal (or of one sharing its receivers);
  /// returns whether it was. A connection of another signal is left alone.
  bool disconnect(Connection& c) noexcept {
    if (!list_ || !c.slot_ || c.slot_->list != list_.get()) return false;
    c.disconnect();
    return true;
  }

  /// True when no receiver is connected (cheap: use it to skip building send arguments).
  bool empty() const noexcept { return !list_ || list_->size() == 0 || !list_->any_live(); }
  /// Connected receivers (weak ones whose owner died excluded).
  std::size_t receiver_count() const noexcept { return list_ ? list_->live_count() : 0; }

  const std::string& name() const noexcept { return list_ ? list_->name() : no_name(); }
  const std::string& owner() const noexcept { return list_ ? list_->owner() : no_name(); }
  /// `<owner>.<name>`, or `<name>` without an owner (Mode's label / ident).
  std::string label() const { return owner().empty() ? name() : owner() + "." + name(); }
  /// The sender of `send(args...)`, or null.
  Sender* default_sender() const noexcept { return default_sender_; }

 protected:
  /// Mode's repr, for a signal of kind `kind` ("Signal", "SyncSignal").
  std::string repr_as(std::string_view kind) const {
    if (default_sender_ == nullptr) return signal_repr(kind, label(), nullptr);
    const std::string sender = sender_repr(*default_sender_);
    return signal_repr(kind, label(), &sender);
  }

  BasicSignal(boost::intrusive_ptr<ReceiverList> list, Sender* default_sender) noexcept
      : list_(std::move(list)), default_sender_(default_sender) {}

  /// The list when a send has someone to call, else null. Inlined: this is the empty fast path.
  ReceiverList* sending_list() const noexcept {
    ReceiverList* list = list_.get();
    return list != nullptr && list->size() != 0 ? list : nullptr;
  }
  Sender& require_default_sender() const;
  boost::intrusive_ptr<ReceiverList> shared_list() const noexcept { return list_; }
  boost::intrusive_ptr<ReceiverList> fresh_list() const {
    return new ReceiverList(name(), owner());
  }

 private:
  Connection add(SlotBase* raw, const void* sender) {
    boost::intrusive_ptr<SlotBase> slot(raw);
    slot->sender = sender;
    if (!list_) list_ = new ReceiverList({}, {});  // a moved-from signal is usable again
    list_->add(slot);
    return Connection(std::move(slot));
  }
  static const std::string& no_name() noexcept {
    static const std::string empty;
    return empty;
  }

  boost::intrusive_ptr<ReceiverList> list_;
  Sender* default_sender_ = nullptr;
};

[[noreturn]] void throw_no_default_sender(const std::string& label);

template <class R, class Sender, class... Args>
Sender& BasicSignal<R, Sender, Args...>::require_default_sender() const {
  if (default_sender_ == nullptr) throw_no_default_sender(label());
  return *default_sender_;
}

/// The sender of a sender-less signal's sends.
struct NoSender {};
inline constexpr NoSender no_sender{};

/// A sender-less signal's receiver `fn(args...)`, called as the underlying signal's receivers.
template <class F>
struct WithoutSender {
  F fn;
  template <class... A>
  auto operator()(const NoSender& /*sender*/, A&&... args) -> std::invoke_result_t<F&, A&&...> {
    return std::invoke(fn, std::forward<A>(args)...);
  }
};
/// The same for a weak receiver `fn(owner, args...)`.
template <class F>
struct WeakWithoutSender {
  F fn;
  template <class Owner, class... A>
  auto operator()(Owner& owner, const NoSender& /*sender*/, A&&... args)
      -> std::invoke_result_t<F&, Owner&, A&&...> {
    return std::invoke(fn, owner, std::forward<A>(args)...);
  }
};

/// A signal without sender: receivers `fn(args...)`, `send(args...)`. Built on `Impl`, a
/// Signal or SyncSignal whose sender is a NoSender.
template <class Impl, class R, class... Args>
class SenderlessSignal {
 public:
  using sender_type = void;

  explicit SenderlessSignal(std::string name = {}, std::string owner = {})
      : impl_(std::move(name), std::move(owner)) {}

  /// Connects `fn`, called as `fn(args...)` for every send.
  template <class F>
  requires ReceiverOf < WithoutSender<std::decay_t<F>>, R,
  const NoSender&, const Args&... > Connection connect(F&& fn) {
    return impl_.connect(WithoutSender<std::decay_t<F>>{std::forward<F>(fn)});
  }
  /// Connects `fn`, called as `fn(owner, args...)` while `owner` lives (see BasicSignal).
  template <class Owner, class F>
  requires ReceiverOf<WeakWithoutSender<std::decay_t<F>>, R, Owner&, const NoSender&,
                      const Args&...>
      Connection connect_weak(std::weak_ptr<Owner> owner, F&& fn) {
    return impl_.connect_weak(std::move(owner),
                              WeakWithoutSender<std::decay_t<F>>{std::forward<F>(fn)});
  }
  bool disconnect(Connection& c) noexcept { return impl_.disconnect(c); }

  bool empty() const noexcept { return impl_.empty(); }
  std::size_t receiver_count() const noexcept { return impl_.receiver_count(); }
  const std::string& name() const noexcept { return impl_.name(); }
  const std::string& owner() const noexcept { return impl_.owner(); }
  std::string label() const { return impl_.label(); }
  std::string repr() const { return impl_.repr(); }

 protected:
  explicit SenderlessSignal(Impl impl) noexcept : impl_(std::move(impl)) {}

  Impl impl_;
};

}  // namespace mode::detail
