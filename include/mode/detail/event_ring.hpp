// Internal: the bounded ring of a service's last events, grown on demand up to its size.
#pragma once

#include <mode/event_ring.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace mode::detail {

/// What set_event_ring_size set.
extern std::atomic<std::uint16_t> event_ring_limit;

/// `text` as static text for ServiceEvent::detail (kept until the program exits: for a few
/// distinct names, such as those of timers).
const char* intern_event_text(std::string_view text);

/// The last events of one service. A service's first plain state changes (no value, detail or
/// reason: starting, started, stopping, stopped) are kept inline, so a service that never
/// crashes allocates nothing; the first other event moves them into a ring that grows by
/// doubling up to the ring size, then overwrites its oldest event.
class EventRing {
 public:
  /// Records an event at `clock.coarse_now()`, unless recording is off.
  void record(const Clock& clock, ServiceEventKind kind, double value, const char* detail,
              const std::exception_ptr& reason) noexcept {
    const std::uint16_t limit = event_ring_limit.load(std::memory_order_relaxed);
    if (limit == 0) return;
    if (!events_ && value == 0 && detail == nullptr && !reason && early_size_ < kEarly &&
        early_size_ < limit) {
      early_times_[early_size_] = clock.coarse_now();
      early_kinds_[early_size_++] = kind;
      return;
    }
    ServiceEvent* e = slot(limit);
    if (e == nullptr) return;
    e->time = clock.coarse_now();
    e->value = value;
    e->detail = detail;
    e->reason = reason;
    e->kind = kind;
  }

  bool empty() const noexcept { return size_ == 0 && early_size_ == 0; }
  /// How many events the allocated ring holds: 0 while the events are inline.
  std::uint16_t capacity() const noexcept { return capacity_; }
  /// The events, oldest first.
  std::vector<ServiceEvent> snapshot() const;
  /// Calls `f(const ServiceEvent&)` for each event, newest first, while it returns true.
  template <class F>
  void for_each_newest_first(F f) const {
    for (std::uint16_t i = early_size_; i-- > 0;)
      if (!f(early(i))) return;
    for (std::uint16_t i = 0; i < size_; ++i) {
      const std::uint16_t at = static_cast<std::uint16_t>((next_ + size_ - 1 - i) % size_);
      if (!f(events_[at])) return;
    }
  }

 private:
  static constexpr std::uint8_t kEarly = 4;

  // Where to write the next event (every field), or null when it cannot be kept.
  ServiceEvent* slot(std::uint16_t limit) noexcept {
    if (size_ < capacity_) return &events_[size_++];
    if (capacity_ < limit && grow(limit)) return &events_[size_++];
    if (capacity_ == 0) return nullptr;  // could not allocate
    ServiceEvent* e = &events_[next_];
    next_ = static_cast<std::uint16_t>(next_ + 1 == capacity_ ? 0 : next_ + 1);
    return e;
  }
  bool grow(std::uint16_t limit) noexcept;
  ServiceEvent early(std::uint8_t i) const noexcept {
    ServiceEvent e;
    e.time = early_times_[i];
    e.kind = early_kinds_[i];
    return e;
  }

  std::unique_ptr<ServiceEvent[]> events_;
  std::uint16_t capacity_ = 0;
  std::uint16_t size_ = 0;
  std::uint16_t next_ = 0;  // the oldest event once the ring is full
  std::uint8_t early_size_ = 0;
  ServiceEventKind early_kinds_[kEarly] = {};
  Clock::time_point early_times_[kEarly];
};

}  // namespace mode::detail
