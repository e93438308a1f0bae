// A service's ring of events, and how events read.
#include <mode/detail/event_ring.hpp>
#include <mode/utils/objects.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <mutex>
#include <new>
#include <string>
#include <unordered_set>

namespace mode {

namespace detail {

std::atomic<std::uint16_t> event_ring_limit{64};

const char* intern_event_text(std::string_view text) {
  static std::mutex mutex;
  static std::unordered_set<std::string> texts;  // nodes never move: their c_str() stays
  const std::lock_guard lock(mutex);
  return texts.emplace(text).first->c_str();
}

std::vector<ServiceEvent> EventRing::snapshot() const {
  std::vector<ServiceEvent> out;
  out.reserve(early_size_ + size_);
  for (std::uint8_t i = 0; i < early_size_; ++i) out.push_back(early(i));
  for (std::uint16_t i = 0; i < size_; ++i) out.push_back(events_[(next_ + i) % size_]);
  return out;
}

bool EventRing::grow(std::uint16_t limit) noexcept {
  const auto capacity = static_cast<std::uint16_t>(
      std::min<unsigned>(limit, std::max<unsigned>(2U * kEarly, capacity_ * 2U)));
  std::unique_ptr<ServiceEvent[]> events(new (std::nothrow) ServiceEvent[capacity]);
  if (!events) return false;
  std::uint16_t n = 0;
  for (std::uint16_t i = 0; i < size_; ++i) events[n++] = std::move(events_[(next_ + i) % size_]);
  // The inline events, but for the last one's room when the size was lowered meanwhile.
  const auto keep = static_cast<std::uint8_t>(std::min<unsigned>(early_size_, capacity - 1U));
  for (auto i = static_cast<std::uint8_t>(early_size_ - keep); i < early_size_; ++i)
    events[n++] = early(i);
  early_size_ = 0;
  events_ = std::move(events);
  capacity_ = capacity;
  size_ = n;
  next_ = 0;
  return true;
}

}  // namespace detail

std::string_view to_string(ServiceEventKind kind) noexcept {
  switch (kind) {
    case ServiceEventKind::starting:
      return "starting";
    case ServiceEventKind::started:
      return "started";
    case ServiceEventKind::stopping:
      return "stopping";
    case ServiceEventKind::stopped:
      return "stopped";
    case ServiceEventKind::crashed:
      return "crashed";
    case ServiceEventKind::restart_delayed:
      return "restart_delayed";
    case ServiceEventKind::gave_up:
      return "gave_up";
    case ServiceEventKind::slow_stop:
      return "slow_stop";
    case ServiceEventKind::late_timer:
      return "late_timer";
  }
  return "unknown";
}

std::string format_event(const ServiceEvent& e, Clock::time_point now) {
  const double age = std::chrono::duration<double>(now - e.time).count();
  std::string out = fmt::format("{:.3f} s ago: {}", age, to_string(e.kind));
  switch (e.kind) {
    case ServiceEventKind::crashed:
      out += fmt::format(": {}", exception_repr(e.reason));
      if (e.detail != nullptr) out += fmt::format(" ({})", e.detail);
      break;
    case ServiceEventKind::restart_delayed:
      out += fmt::format(" {:.3f} s", e.value);
      break;
    case ServiceEventKind::gave_up:
      out += fmt::format(": {}", e.detail);
      break;
    case ServiceEventKind::slow_stop:
      out += fmt::format(" past {:.3f} s in {}", e.value, e.detail);
      break;
    case ServiceEventKind::late_timer:
      out += fmt::format(" {} by {:.3f} s", e.detail, e.value);
      break;
    default:
      break;
  }
  return out;
}

std::vector<std::string> format_events(const std::vector<ServiceEvent>& events,
                                       Clock::time_point now, std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = events.size() > n ? events.size() - n : 0; i < events.size(); ++i)
    out.push_back(format_event(events[i], now));
  return out;
}

void set_event_ring_size(std::size_t n) noexcept {
  detail::event_ring_limit.store(static_cast<std::uint16_t>(std::min<std::size_t>(
                                     n, std::numeric_limits<std::uint16_t>::max())),
                                 std::memory_order_relaxed);
}

std::size_t event_ring_size() noexcept {
  return detail::event_ring_limit.load(std::memory_order_relaxed);
}

}  // namespace mode
