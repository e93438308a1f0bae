// mode::Signal and mode::SyncSignal: observer events that a sender emits to connected receivers
// (Mode's mode.signals). POSIX signals are not these: they live only in the Worker.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/connection.hpp>
#include <mode/detail/basic_signal.hpp>
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

/// A type whose objects stay where they are: neither movable nor copyable (so neither
/// assignable). A signal keeps its default sender by address, so only such a sender can be one;
/// see the file comment.
template <class T>
concept PinnedSender = !std::is_move_constructible_v<std::remove_cv_t<T>> &&
                       !std::is_move_assignable_v<std::remove_cv_t<T>>;

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
  awaitable<void> send(Sender& sender, Args... args) const;
  /// Awaits every receiver for a temporary `sender`, which the send keeps (moved or copied)
  /// until it completes; no sender filter matches it.
  awaitable<void> send(Sender&& sender,
                       Args... args) const requires std::is_constructible_v<Owned, Sender&&>;
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
                                 Args... args);
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
  void send(Sender& sender, const Args&... args) const;
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
  static void deliver(detail::ReceiverList& list, Sender* sender, const Args&... args);
};

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

#include <mode/impl/signals.hpp>
