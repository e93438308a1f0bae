// mode::Signal and mode::SyncSignal: observer events that a sender emits to connected receivers
// (Mode's mode.signals). POSIX signals are not these: they live only in the Worker.
#pragma once

#include <mode/awaitable.hpp>

#include <boost/smart_ptr/intrusive_ptr.hpp>
#include <boost/smart_ptr/intrusive_ref_counter.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

// The contract, for both signal kinds (BEHAVIOUR.md §6, decisions D4 and D20):
//
// - A receiver is called as `fn(sender, args...)`: the sender as `Sender&` (never null; make
//   `Sender` const for const senders), the arguments as const lvalues (a receiver may take them
//   by value or by const reference; with `Args = T&` it gets the `T&`). Unlike Mode, receivers
//   are not passed the signal itself.
// - `connect` returns a Connection, C++'s RAII spelling of Mode's handle: dropping it
//   disconnects; `release()` keeps the receiver for the signal's lifetime instead (Mode's plain
//   `connect`). A connection is the identity of a receiver: connecting the same callable twice
//   makes two receivers. `disconnect` works for filtered and unfiltered receivers alike (D4).
// - Receivers run in connection order (filtered and unfiltered ones interleaved as connected),
//   each connection once per send (D20). A receiver filtered by sender is called only for sends
//   from that sender; senders are compared by address.
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

template <class F, class R, class... Params>
concept ReceiverOf = (std::is_void_v<R> && std::is_invocable_v<F&, Params...>) ||
                     (!std::is_void_v<R> && std::is_invocable_r_v<R, F&, Params...>);

template <class R, class Sender, class... Args>
class BasicSignal;

}  // namespace detail

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
    return add(new StrongReceiver<std::decay_t<F>, R, Sender, Args...>(std::forward<F>(fn)),
               default_sender_);
  }
  /// Connects `fn` for the sends from `sender` only. The explicit sender wins over a default
  /// sender (Mode would silently use the default one instead).
  template <class F>
  requires ReceiverOf<std::decay_t<F>, R, Sender&, const Args&...> Connection
  connect(F&& fn, Sender& sender) {
    return add(new StrongReceiver<std::decay_t<F>, R, Sender, Args...>(std::forward<F>(fn)),
               std::addressof(sender));
  }
  /// Connects `fn`, called as `fn(owner, sender, args...)` (`fn` may be a pointer to a member
  /// of Owner) while `owner` lives; once it dies the receiver is dropped. It does not keep the
  /// owner alive, except during a call. Sender filtering as for `connect(fn)`.
  template <class Owner, class F>
  requires ReceiverOf<std::decay_t<F>, R, Owner&, Sender&, const Args&...> Connection
  connect_weak(std::weak_ptr<Owner> owner, F&& fn) {
    return add(new WeakReceiver<Owner, std::decay_t<F>, R, Sender, Args...>(std::move(owner),
                                                                            std::forward<F>(fn)),
               default_sender_);
  }
  /// A weak receiver (see above) for the sends from `sender` only.
  template <class Owner, class F>
  requires ReceiverOf<std::decay_t<F>, R, Owner&, Sender&, const Args&...> Connection
  connect_weak(std::weak_ptr<Owner> owner, F&& fn, Sender& sender) {
    return add(new WeakReceiver<Owner, std::decay_t<F>, R, Sender, Args...>(std::move(owner),
                                                                            std::forward<F>(fn)),
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
/// `awaitable<void>(Sender&, Args...)`, awaited one after the other in connection order by
/// `co_await sig.send(sender, args...)`.
///
/// Receivers run on the sender's coroutine (its executor), one at a time; `send` completes when
/// the last one has. A receiver's exception, including `operation_aborted` when the sending
/// coroutine is cancelled, ends the send and propagates to the sender. Everything else is in
/// the contract at the top of this file.
template <class Sender, class... Args>
class Signal : public detail::BasicSignal<awaitable<void>, Sender, Args...> {
  using Base = detail::BasicSignal<awaitable<void>, Sender, Args...>;
  using Receiver = detail::Receiver<awaitable<void>, Sender, Args...>;

 public:
  using Base::Base;

  /// Awaits every receiver for `sender`, in connection order.
  awaitable<void> send(Sender& sender, Args... args) const {
    detail::ReceiverList* list = this->sending_list();
    if (list == nullptr) return detail::ready();
    return deliver(boost::intrusive_ptr<detail::ReceiverList>(list), std::addressof(sender),
                   std::move(args)...);
  }
  /// `send` from the default sender; throws std::logic_error if there is none.
  awaitable<void> send(Args... args) const {
    return send(this->require_default_sender(), std::move(args)...);
  }

  /// A signal sharing these receivers (and name) whose `send(args...)` sends from `sender` and
  /// whose `connect(fn)` connects for `sender` only: the per-instance copy of a class's signal.
  Signal with_default_sender(Sender& sender) const {
    return Signal(this->shared_list(), std::addressof(sender));
  }
  /// A signal with the same name, owner and default sender and no receivers (as in Mode).
  Signal clone() const { return Signal(this->fresh_list(), this->default_sender()); }

 private:
  static awaitable<void> deliver(boost::intrusive_ptr<detail::ReceiverList> list, Sender* sender,
                                 Args... args) {
    const detail::SendScope scope(*list);
    const std::size_t n = list->size();  // receivers connected from now on wait for next send
    for (std::size_t i = 0; i < n; ++i) {
      detail::SlotBase& slot = list->at(i);
      if (!list->admits(slot, sender)) continue;
      co_await static_cast<Receiver&>(slot).call(*sender, args...);
    }
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
  /// `send` from the default sender; throws std::logic_error if there is none.
  void send(const Args&... args) const { send(this->require_default_sender(), args...); }

  /// A signal sharing these receivers (and name) whose `send(args...)` sends from `sender` and
  /// whose `connect(fn)` connects for `sender` only: the per-instance copy of a class's signal.
  SyncSignal with_default_sender(Sender& sender) const {
    return SyncSignal(this->shared_list(), std::addressof(sender));
  }
  /// A signal with the same name, owner and default sender and no receivers (as in Mode).
  SyncSignal clone() const { return SyncSignal(this->fresh_list(), this->default_sender()); }

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

}  // namespace mode
