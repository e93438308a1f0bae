// mode::Signal and mode::SyncSignal: observer events that a sender emits to connected receivers
// (Mode's mode.signals). POSIX signals are not these: they live only in the Worker.
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
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

// The contract, for both signal kinds:
//
// - A receiver is called as `fn(sender, args...)`: the sender as `Sender&` (never null; make
//   `Sender` const for const senders), the arguments as const lvalues (a receiver may take them
//   by value or by const reference; with `Args = T&` it gets the `T&`). Unlike Mode, receivers
//   are not passed the signal itself.
// - `connect` returns a Connection, C++'s RAII spelling of Mode's handle: dropping it
//   disconnects; `release()` keeps the receiver for the signal's lifetime instead (Mode's plain
//   `connect`). A connection is the identity of a receiver: connecting the same callable twice
//   makes two receivers. `disconnect` works for filtered and unfiltered receivers alike (Mode's
//   ignores a strong receiver and raises for a filtered one).
// - Receivers run in connection order (filtered and unfiltered ones interleaved as connected),
//   each connection once per send (Mode's order is unspecified). A receiver filtered by sender
//   is called only for sends from that sender; senders are compared by address.
// - Connecting or disconnecting during a send is safe: a receiver connected during a send is
//   not called by that send; one disconnected before its turn is not called. A receiver stays
//   alive while it runs even if it disconnects itself or destroys the signal.
// - Errors: a receiver's exception propagates out of `send` (as in Mode) and the receivers
//   after it are not called by that send; the signal stays usable.
// - Weak receivers are opt-in (`connect_weak`), as in Mode: they get the owner as their first
//   argument, are skipped and dropped once the owner dies, and keep it alive while they run.
// - Threads: a signal, the signals sharing its receivers (`with_default_sender`) and their
//   Connections belong to one thread (the loop that uses them): connect, disconnect, send and
//   destroying a Connection all happen there. No locks are taken.
// - Sending when no receiver is connected does no work beyond checking that: SyncSignal calls
//   nothing; Signal returns an awaitable that completes at once (its coroutine frame comes from
//   Asio's per-thread frame cache, not the heap). A hot path can skip even that with `empty()`.
// - The sender: `send(sender, args...)` takes an lvalue, which must outlive the send, or a
//   temporary (an async send moves it into the send and keeps it until the send completes; it
//   matches no sender filter). `Signal<void, Args...>` and `SyncSignal<void, Args...>` have no
//   sender at all: receivers are called as `fn(args...)`.
// - A default sender (`with_default_sender(*this)`, the per-instance signal) is kept by address,
//   so its type must be neither movable nor copyable (the `PinnedSender` concept, checked at
//   compile time): an owner whose move would leave the signal pointing at the moved-from object
//   cannot be moved at all. (Rebinding on move was rejected: the receivers filtered by the old
//   address would have to follow too.) Services are not movable, so `*this` in a service is fine.
// - Text form as Mode's repr: `<Signal: Owner.name>`, with a default sender
//   `<SyncSignal: Owner.name sender=<sender>>`, through `repr()`, `fmt` and `operator<<`. The
//   sender is shown with its `fmt::formatter` if it has one, quoted if it is a string, else as
//   `<Type object at 0x...>`.

namespace mode {

class Connection;

namespace detail {

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

}  // namespace detail

/// A type whose objects stay where they are: neither movable nor copyable (so neither
/// assignable). A signal keeps its default sender by address, so only such a sender can be one;
/// see the file comment.
template <class T>
concept PinnedSender = !std::is_move_constructible_v<std::remove_cv_t<T>> &&
                       !std::is_move_assignable_v<std::remove_cv_t<T>>;

/// The handle of one connected receiver: disconnects it when dropped (RAII).
///
/// Move-only. Outliving its signal is fine (it then reports disconnected). Use it on the
/// signal's thread only.
class [[nodiscard]] Connection {
 public:
  Connection() noexcept = default;
  Connection(Connection&&) noexcept = default;
  /// Disconnects the receiver this held, then takes over `other`'s.
  Connection& operator=(Connection&& other) noexcept {
    if (this != &other) {
      disconnect();
      slot_ = std::move(other.slot_);
    }
    return *this;
  }
  ~Connection() { disconnect(); }

  /// Disconnects the receiver now (idempotent). A send in progress will not call it again.
  void disconnect() noexcept;
  /// True while the receiver is connected (false once disconnected, its signal destroyed, or
  /// its weak owner dead).
  bool connected() const noexcept;
  /// Lets go without disconnecting: the receiver stays until its signal is destroyed.
  void release() noexcept { slot_.reset(); }

 private:
  template <class R, class Sender, class... Args>
  friend class detail::BasicSignal;
  explicit Connection(boost::intrusive_ptr<detail::SlotBase> slot) noexcept
      : slot_(std::move(slot)) {}

  boost::intrusive_ptr<detail::SlotBase> slot_;
};

namespace detail {

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

}  // namespace detail

/// An asynchronous signal (Mode's `Signal`): receivers are coroutines
/// `awaitable<void>(Sender&, Args...)` or plain callables `void(Sender&, Args...)` (any result
/// that is not an awaitable is ignored), run one after the other in connection order by
/// `co_await sig.send(sender, args...)`: a coroutine is awaited, a plain callable called.
///
/// Receivers run on the sender's coroutine (its executor), one at a time; `send` completes when
/// the last one has. A receiver's exception, including `operation_aborted` when the sending
/// coroutine is cancelled, ends the send and propagates to the sender. Everything else is in
/// the contract at the top of this file.
template <class Sender, class... Args>
class Signal : public detail::BasicSignal<awaitable<void>, Sender, Args...> {
  using Base = detail::BasicSignal<awaitable<void>, Sender, Args...>;
  using Receiver = detail::Receiver<awaitable<void>, Sender, Args...>;
  using PlainReceiver = detail::Receiver<void, Sender, Args...>;
  using Owned = std::remove_cv_t<Sender>;

 public:
  using Base::Base;

  /// Awaits every receiver for `sender`, in connection order. `sender` must outlive the send.
  awaitable<void> send(Sender& sender, Args... args) const {
    detail::ReceiverList* list = this->sending_list();
    if (list == nullptr) return detail::ready();
    return deliver(boost::intrusive_ptr<detail::ReceiverList>(list), std::addressof(sender),
                   std::move(args)...);
  }
  /// Awaits every receiver for a temporary `sender`, which the send keeps (moved or copied)
  /// until it completes; no sender filter matches it.
  awaitable<void> send(Sender&& sender,
                       Args... args) const requires std::is_constructible_v<Owned, Sender&&> {
    detail::ReceiverList* list = this->sending_list();
    if (list == nullptr) return detail::ready();
    return deliver_owned(boost::intrusive_ptr<detail::ReceiverList>(list), Owned(std::move(sender)),
                         std::move(args)...);
  }
  /// `send` from the default sender; throws std::logic_error if there is none.
  awaitable<void> send(Args... args) const {
    return send(this->require_default_sender(), std::move(args)...);
  }

  /// A signal sharing these receivers (and name) whose `send(args...)` sends from `sender` and
  /// whose `connect(fn)` connects for `sender` only: the per-instance copy of a class's signal.
  /// `sender` must be pinned (not movable, not copyable): the signal keeps its address.
  Signal with_default_sender(Sender& sender) const requires PinnedSender<Sender> {
    return Signal(this->shared_list(), std::addressof(sender));
  }
  /// A signal with the same name, owner and default sender and no receivers (as in Mode).
  Signal clone() const { return Signal(this->fresh_list(), this->default_sender()); }

  /// Mode's repr: `<Signal: Owner.name>` or `<Signal: Owner.name sender=...>`.
  std::string repr() const { return this->repr_as("Signal"); }

 private:
  static awaitable<void> deliver(boost::intrusive_ptr<detail::ReceiverList> list, Sender* sender,
                                 Args... args) {
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
  static awaitable<void> deliver_owned(boost::intrusive_ptr<detail::ReceiverList> list,
                                       Owned sender, Args... args) {
    co_await deliver(std::move(list), std::addressof(sender), std::move(args)...);
  }
};

/// A synchronous signal (Mode's `SyncSignal`): receivers are plain callables
/// `void(Sender&, Args...)` (any result is ignored), called in connection order by
/// `sig.send(sender, args...)` before it returns.
///
/// A receiver's exception ends the send and propagates to the caller. Everything else is in the
/// contract at the top of this file.
template <class Sender, class... Args>
class SyncSignal : public detail::BasicSignal<void, Sender, Args...> {
  using Base = detail::BasicSignal<void, Sender, Args...>;
  using Receiver = detail::Receiver<void, Sender, Args...>;

 public:
  using Base::Base;

  /// Calls every receiver for `sender`, in connection order.
  void send(Sender& sender, const Args&... args) const {
    detail::ReceiverList* list = this->sending_list();
    if (list != nullptr) deliver(*list, std::addressof(sender), args...);
  }
  /// Calls every receiver for a temporary `sender` (which lives until the send returns); no
  /// sender filter matches it.
  void send(Sender&& sender, const Args&... args) const {
    send(static_cast<Sender&>(sender), args...);
  }
  /// `send` from the default sender; throws std::logic_error if there is none.
  void send(const Args&... args) const { send(this->require_default_sender(), args...); }

  /// A signal sharing these receivers (and name) whose `send(args...)` sends from `sender` and
  /// whose `connect(fn)` connects for `sender` only: the per-instance copy of a class's signal.
  /// `sender` must be pinned (not movable, not copyable): the signal keeps its address.
  SyncSignal with_default_sender(Sender& sender) const requires PinnedSender<Sender> {
    return SyncSignal(this->shared_list(), std::addressof(sender));
  }
  /// A signal with the same name, owner and default sender and no receivers (as in Mode).
  SyncSignal clone() const { return SyncSignal(this->fresh_list(), this->default_sender()); }

  /// Mode's repr: `<SyncSignal: Owner.name>` or `<SyncSignal: Owner.name sender=...>`.
  std::string repr() const { return this->repr_as("SyncSignal"); }

 private:
  static void deliver(detail::ReceiverList& list, Sender* sender, const Args&... args) {
    const detail::SendScope scope(list);
    const std::size_t n = list.size();  // receivers connected from now on wait for next send
    for (std::size_t i = 0; i < n; ++i) {
      detail::SlotBase& slot = list.at(i);
      if (!list.admits(slot, sender)) continue;
      static_cast<Receiver&>(slot).call(*sender, args...);
    }
  }
};

namespace detail {

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

}  // namespace detail

/// An asynchronous signal without sender: receivers are `awaitable<void>(Args...)` coroutines or
/// plain `void(Args...)` callables, run in connection order by `co_await sig.send(args...)`.
/// Otherwise as Signal.
template <class... Args>
class Signal<void, Args...>
    : public detail::SenderlessSignal<Signal<const detail::NoSender, Args...>, awaitable<void>,
                                      Args...> {
  using Impl = Signal<const detail::NoSender, Args...>;
  using Base = detail::SenderlessSignal<Impl, awaitable<void>, Args...>;

 public:
  using Base::Base;

  /// Runs every receiver, in connection order.
  awaitable<void> send(Args... args) const {
    return this->impl_.send(detail::no_sender, std::move(args)...);
  }
  /// A signal with the same name and owner and no receivers.
  Signal clone() const { return Signal(this->impl_.clone()); }

 private:
  explicit Signal(Impl impl) noexcept : Base(std::move(impl)) {}
};

/// A synchronous signal without sender: receivers are `void(Args...)` callables, called in
/// connection order by `sig.send(args...)`. Otherwise as SyncSignal.
template <class... Args>
class SyncSignal<void, Args...>
    : public detail::SenderlessSignal<SyncSignal<const detail::NoSender, Args...>, void, Args...> {
  using Impl = SyncSignal<const detail::NoSender, Args...>;
  using Base = detail::SenderlessSignal<Impl, void, Args...>;

 public:
  using Base::Base;

  /// Calls every receiver, in connection order.
  void send(const Args&... args) const { this->impl_.send(detail::no_sender, args...); }
  /// A signal with the same name and owner and no receivers.
  SyncSignal clone() const { return SyncSignal(this->impl_.clone()); }

 private:
  explicit SyncSignal(Impl impl) noexcept : Base(std::move(impl)) {}
};

template <class Sender, class... Args>
std::ostream& operator<<(std::ostream& out, const Signal<Sender, Args...>& s) {
  return out << s.repr();
}
template <class Sender, class... Args>
std::ostream& operator<<(std::ostream& out, const SyncSignal<Sender, Args...>& s) {
  return out << s.repr();
}

}  // namespace mode

template <class Sender, class... Args>
struct fmt::formatter<mode::Signal<Sender, Args...>> : fmt::formatter<std::string_view> {
  template <class Context>
  auto format(const mode::Signal<Sender, Args...>& s, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(s.repr(), ctx);
  }
};

template <class Sender, class... Args>
struct fmt::formatter<mode::SyncSignal<Sender, Args...>> : fmt::formatter<std::string_view> {
  template <class Context>
  auto format(const mode::SyncSignal<Sender, Args...>& s, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(s.repr(), ctx);
  }
};
