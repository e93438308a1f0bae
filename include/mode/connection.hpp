// mode::Connection: the handle of a receiver connected to a Signal or SyncSignal.
#pragma once

#include <mode/detail/signal_receivers.hpp>

#include <boost/smart_ptr/intrusive_ptr.hpp>

#include <utility>

namespace mode {

namespace detail {
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

}  // namespace mode
