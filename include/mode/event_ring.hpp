// mode::ServiceEvent: what a service went through, kept in a bounded ring per service (always on).
#pragma once

#include <mode/clock.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace mode {

/// The kinds of event a service records (Service::events).
enum class ServiceEventKind : std::uint8_t {
  starting,
  started,
  stopping,
  stopped,
  crashed,          ///< `reason` says why
  restart_delayed,  ///< its supervisor waits `value` seconds (backoff) before restarting it
  gave_up,          ///< a supervisor gave up (`detail` says why): too many restarts
  slow_stop,        ///< its stop overran its bound (`value` seconds) in step `detail`
  late_timer,       ///< its timer `detail` fired `value` seconds late
};

/// The name of `kind`: `starting`, `restart_delayed`, ...
std::string_view to_string(ServiceEventKind kind) noexcept;

/// One event of a service, timestamped by the clock of its loop to within a few milliseconds
/// (Clock::coarse_now).
struct ServiceEvent {
  Clock::time_point time;
  double value = 0;
  /// Static text, or null.
  const char* detail = nullptr;
  std::exception_ptr reason;
  ServiceEventKind kind = ServiceEventKind::starting;
};

/// `2.503 s ago: crashed: KeyError('k')`, with the age of `e` at `now`.
std::string format_event(const ServiceEvent& e, Clock::time_point now);

/// The last `n` of `events` (oldest first), formatted by format_event.
std::vector<std::string> format_events(const std::vector<ServiceEvent>& events,
                                       Clock::time_point now, std::size_t n = SIZE_MAX);

/// How many events each service keeps: its last `n` (64 by default, at most 65,535). A ring
/// already larger keeps its size; 0 stops every ring.
void set_event_ring_size(std::size_t n) noexcept;
std::size_t event_ring_size() noexcept;

}  // namespace mode
