// Internal: the Worker's side of systemd's notify protocol (sd_notify): status, readiness, the
// stop, a crash, start and stop timeouts extended while the tree progresses, watchdog pings.
#pragma once

#include <mode/service.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <string>

namespace mode::detail {

/// Tells the service manager named by `NOTIFY_SOCKET` how the Worker is doing. From its
/// construction it sends `STATUS=Starting...`, and `WATCHDOG=1` every half `WATCHDOG_USEC` when
/// systemd asks for a watchdog (`sd_watchdog_enabled`). While a start or a stop runs, it checks the
/// tree every second and, when a service has begun its start, begun its stop or ended it since
/// the last check, sends `EXTEND_TIMEOUT_USEC=`.
///
/// Contract: built, called and destroyed on the Worker's loop thread; its timers are handlers on
/// that loop, so a blocked loop sends neither watchdog pings nor extensions. `close()` cancels
/// them (run the loop after it to let their handlers end). A failed send is reported once,
/// through `on_error`; nothing here throws after the construction.
class SystemdNotifier {
 public:
  using ErrorFn = std::function<void(const std::string&)>;

  /// True when `NOTIFY_SOCKET` is set: only then is a notifier built.
  static bool wanted() noexcept;

  /// `root`, the Worker, must outlive the notifier.
  SystemdNotifier(asio::io_context& ctx, const Service& root, ErrorFn on_error);
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  /// The whole tree has started: `READY=1` and `STATUS=Running N services`.
  void ready() noexcept;
  /// The stop begins: `STOPPING=1`, `STATUS=Stopping...`; the stop's timeout is extended next.
  void stopping() noexcept;
  /// The stop has ended: no more extensions.
  void stopped() noexcept;
  /// The worker exits on a crash or a failed start: `STATUS=Crashed: <reason>` and `ERRNO=`
  /// (the exception's errno if it carries one, else ENOTRECOVERABLE).
  void failed(const std::exception_ptr& reason) noexcept;
  /// Cancels the timers: no more watchdog pings or extensions.
  void close() noexcept;

 private:
  void send(const char* message) noexcept;
  void check_progress() noexcept;
  void ping_watchdog() noexcept;

  const Service& root_;
  ErrorFn on_error_;
  bool failed_to_send_ = false;
  asio::steady_timer progress_timer_;
  std::size_t progress_ = 0;
  asio::steady_timer watchdog_timer_;
  std::chrono::microseconds watchdog_interval_{0};  // zero: no watchdog
};

}  // namespace mode::detail
