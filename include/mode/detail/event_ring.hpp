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

/// The last events of one service. Starts empty (an idle service pays 16 bytes), grows by
/// doubling up to the ring size, then overwrites its oldest event.
class EventRing {
 public:
  /// Records an event at `clock.coarse_now()`, unless recording is off.
  void record(const Clock& clock, ServiceEventKind kind, double value, const char* detail,
              const std::exception_ptr& reason) noexcept {
    ServiceEvent* e = slot();
    if (e == nullptr) return;
    e->time = clock.coarse_now();
    e->value = value;
    e->detail = detail;
    e->reason = reason;
    e->kind = kind;
  }

  /// The newest event, or null.
  const ServiceEvent* newest() const noexcept;
  /// The events, oldest first.
  std::vector<ServiceEvent> snapshot() const;
  /// Calls `f(const ServiceEvent&)` for each event, newest first, while it returns true.
  template <class F>
  void for_each_newest_first(F f) const {
    for (std::uint16_t i = 0; i < size_; ++i) {
      const std::uint16_t at = static_cast<std::uint16_t>((next_ + size_ - 1 - i) % size_);
      if (!f(events_[at])) return;
    }
  }

 private:
  // Where to write the next event (every field), or null when recording is off.
  ServiceEvent* slot() noexcept {
    const std::uint16_t limit = event_ring_limit.load(std::memory_order_relaxed);
    if (limit == 0) return nullptr;
    if (size_ < capacity_) return &events_[size_++];
    if (capacity_ < limit && grow(limit)) return &events_[size_++];
    if (capacity_ == 0) return nullptr;  // could not allocate
    ServiceEvent* e = &events_[next_];
    next_ = static_cast<std::uint16_t>(next_ + 1 == capacity_ ? 0 : next_ + 1);
    return e;
  }
  bool grow(std::uint16_t limit) noexcept;

  std::unique_ptr<ServiceEvent[]> events_;
  std::uint16_t capacity_ = 0;
  std::uint16_t size_ = 0;
  std::uint16_t next_ = 0;  // the oldest event once the ring is full
};

}  // namespace mode::detail
