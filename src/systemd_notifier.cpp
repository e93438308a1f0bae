// SystemdNotifier: sd_notify messages and their timers on the Worker's loop.
#include "detail/systemd_notifier.hpp"

#include <mode/utils/objects.hpp>

#include <boost/system/system_error.hpp>
#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <system_error>

namespace mode::detail {

namespace {

constexpr auto kProgressCheck = std::chrono::seconds(1);
// Each sign of progress gives the start or stop 30 s beyond the unit's own timeout: a step that
// makes no progress for longer is stuck, and systemd may kill it.
constexpr const char* kExtend = "EXTEND_TIMEOUT_USEC=30000000";
// WATCHDOG_USEC is any positive number: pinging at least every hour cannot overflow the timer,
// and at most every millisecond cannot flood the loop.
constexpr auto kMinPing = std::chrono::milliseconds(1);
constexpr auto kMaxPing = std::chrono::hours(1);

// How far the tree has come: each service counts one for having begun its start, one for its
// stop, one for having ended it. A service on its own thread is counted, its children are not
// (they belong to that thread).
std::size_t progress_of(const Service& s) noexcept {
  std::size_t n =
      (s.started() ? 1 : 0) + (s.should_stop() ? 1 : 0) + (s.state() == "shutdown" ? 1 : 0);
  if (s.owns_thread()) return n;
  for (const Service::ServicePtr& child : s.dependencies()) n += progress_of(*child);
  return n;
}

std::size_t running_below(const Service& s) noexcept {
  std::size_t n = 0;
  for (const Service::ServicePtr& child : s.dependencies()) {
    if (child->state() == "running") ++n;
    if (!child->owns_thread()) n += running_below(*child);
  }
  return n;
}

int errno_of(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& x) {
    const boost::system::error_category& c = x.code().category();
    if ((c == boost::system::generic_category() || c == boost::system::system_category()) &&
        x.code().value() > 0)
      return x.code().value();
  } catch (const std::system_error& x) {
    const std::error_category& c = x.code().category();
    if ((c == std::generic_category() || c == std::system_category()) && x.code().value() > 0)
      return x.code().value();
  } catch (...) {
  }
  return ENOTRECOVERABLE;
}

// A newline would end the assignment early: the protocol is one `KEY=value` per line.
std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

const char* env_or_unset(const char* name) noexcept {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "(unset)";
}

}  // namespace

bool SystemdNotifier::wanted() noexcept {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  return socket != nullptr && *socket != '\0';
}

SystemdNotifier::SystemdNotifier(asio::io_context& ctx, const Service& root, ErrorFn on_error)
    : root_(root), on_error_(std::move(on_error)), progress_timer_(ctx), watchdog_timer_(ctx) {
  std::uint64_t usec = 0;
  const int watchdog = ::sd_watchdog_enabled(0, &usec);
  if (watchdog < 0) {
    on_error_(fmt::format(
        "Bad watchdog settings (WATCHDOG_USEC={}, WATCHDOG_PID={}): {}; sending "
        "no watchdog pings",
        env_or_unset("WATCHDOG_USEC"), env_or_unset("WATCHDOG_PID"), std::strerror(-watchdog)));
  } else if (watchdog > 0) {
    watchdog_interval_ = std::clamp<std::chrono::microseconds>(std::chrono::microseconds(usec / 2),
                                                               kMinPing, kMaxPing);
  }
  send("STATUS=Starting...");
  progress_ = progress_of(root_);
  check_progress();
  if (watchdog_interval_.count() > 0) ping_watchdog();
}

void SystemdNotifier::ready() noexcept {
  progress_timer_.cancel();
  try {
    send(fmt::format("READY=1\nSTATUS=Running {} services", running_below(root_)).c_str());
  } catch (...) {
    send("READY=1");
  }
}

void SystemdNotifier::stopping() noexcept {
  send("STOPPING=1\nSTATUS=Stopping...");
  progress_ = progress_of(root_);
  check_progress();
}

void SystemdNotifier::stopped() noexcept { progress_timer_.cancel(); }

void SystemdNotifier::failed(const std::exception_ptr& reason) noexcept {
  try {
    send(fmt::format("STATUS=Crashed: {}\nERRNO={}", one_line(exception_repr(reason)),
                     errno_of(reason))
             .c_str());
  } catch (...) {
    send("STATUS=Crashed");
  }
}

void SystemdNotifier::close() noexcept {
  progress_timer_.cancel();
  watchdog_timer_.cancel();
}

void SystemdNotifier::send(const char* message) noexcept {
  const int r = ::sd_notify(0, message);
  if (r >= 0 || failed_to_send_) return;
  // Once: the watchdog would repeat it every ping.
  failed_to_send_ = true;
  try {
    on_error_(fmt::format("Cannot notify systemd at NOTIFY_SOCKET={}: {}",
                          env_or_unset("NOTIFY_SOCKET"), std::strerror(-r)));
  } catch (...) {
  }
}

void SystemdNotifier::check_progress() noexcept {
  progress_timer_.expires_after(kProgressCheck);
  progress_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    const std::size_t now = progress_of(root_);
    if (now != progress_) {
      progress_ = now;
      send(kExtend);
    }
    check_progress();
  });
}

void SystemdNotifier::ping_watchdog() noexcept {
  send("WATCHDOG=1");
  watchdog_timer_.expires_after(watchdog_interval_);
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) ping_watchdog();
  });
}

}  // namespace mode::detail
