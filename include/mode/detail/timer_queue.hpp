// Internal: the per-loop timer queue, one Asio timer for every deadline of the loop's waits and
// timers.
#pragma once

#include <mode/clock.hpp>
#include <mode/detail/wait_list.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace mode::detail {

/// An entry of the timer queue: something with a deadline.
class TimerEntry {
 public:
  Clock::time_point deadline{};

 protected:
  ~TimerEntry() = default;

 private:
  friend class TimerQueue;
  virtual void on_deadline() noexcept = 0;
  std::uint32_t heap_index_ = npos;  // 4 bytes: a WaitOp keeps its small fields beside it
  static constexpr std::uint32_t npos = static_cast<std::uint32_t>(-1);
};

/// How late the timers of one loop fired (Service timers and itertimer ticks), in fixed
/// buckets: two relaxed atomic adds per observation, read by the OperationsEndpoint at scrape
/// time (`mode_timer_lateness_seconds`). Counts may be added from any thread.
class TimerLateness {
 public:
  /// Upper bounds of the buckets, in seconds (a last, unbounded one follows).
  static constexpr std::array<double, 14> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                 0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  /// What has been observed: per bucket (not cumulative; the last one is +Inf), and the sum.
  struct Counts {
    std::array<std::uint64_t, bounds.size() + 1> buckets{};
    std::uint64_t sum_ns = 0;
    Counts& operator+=(const Counts& o) noexcept;
  };

  /// Records one wake-up `late` after its deadline (a negative value counts as 0: the timer
  /// queue may fire within its slack before a deadline), if counting is enabled.
  void observe(Clock::duration late) noexcept {
    if (enabled_.load(std::memory_order_relaxed)) record(late);
  }
  /// Starts the counting in every loop of the process (for good): done by the first
  /// OperationsEndpoint, so that a program without metrics pays one load per wake-up.
  static void enable() noexcept { enabled_.store(true, std::memory_order_relaxed); }
  Counts counts() const noexcept;
  /// The sum over every loop of the process, those gone included (a counter never goes down).
  static Counts process_counts();

 private:
  void record(Clock::duration late) noexcept;

  static inline std::atomic<bool> enabled_{false};
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

/// The per-loop timer queue: a min-heap of deadlines driving a single Asio timer, firing all
/// deadlines within the slack of the earliest one in one wake-up (each Asio timer wake-up costs
/// a timerfd and epoll round trip, so thousands of sleepers must not each have their own).
class TimerQueue final : public asio::execution_context::service {
 public:
  static inline asio::execution_context::id id;

  explicit TimerQueue(asio::execution_context& ctx);
  ~TimerQueue() override;

  /// The queue of the loop `ex` runs on.
  static TimerQueue& of(const asio::any_io_executor& ex);

  Clock::time_point now() const noexcept { return clock_->now(); }
  const Clock& clock() const noexcept { return *clock_; }
  void schedule(TimerEntry& e, Clock::time_point deadline, const asio::any_io_executor& ex);
  void cancel(TimerEntry& e) noexcept;
  bool scheduled(const TimerEntry& e) const noexcept { return e.heap_index_ != TimerEntry::npos; }

  /// A copy of `ex` shared by every service on it: services hold it, not a copy each.
  std::shared_ptr<const asio::any_io_executor> shared_executor(const asio::any_io_executor& ex);

  void set_clock(Clock& clock);
  /// The lateness of this loop's timers (observed by Service timers and itertimers).
  TimerLateness& lateness() noexcept { return lateness_; }
  /// Remembers a suspended wait, so that shutting the loop down can destroy its coroutine.
  void track(WaitLink& suspended) noexcept { suspended_.push_back(suspended); }
  /// Whether waits of coroutines on `ex` can resume in this queue's batches: only on the plain
  /// executor of an io_context (a strand's coroutine must resume through its strand).
  bool batches(const asio::any_io_executor& ex) noexcept;
  /// Whether the calling thread runs the io_context of the batches.
  bool in_loop_thread() const noexcept;
  /// Queues the resumption of a fired wait; one handler resumes every queued wait in turn.
  void resume_soon(WaitLink& fired) noexcept;
  void set_slack(Clock::duration slack) noexcept { slack_ = slack; }
  /// Fires every entry due by now (+ slack).
  void fire_due() noexcept;
  /// Runs `ctx` until it stops, firing due deadlines between handlers instead of through an
  /// Asio timer. A loop without Asio I/O objects then sleeps on a condition variable, which a
  /// post from another thread wakes about twice as fast as it wakes epoll (ServiceThread).
  static void run_driving(asio::io_context& ctx);
  std::optional<Clock::time_point> next_deadline() const noexcept;

 private:
  void shutdown() override;
  void arm(const asio::any_io_executor& ex);
  void post_resume() noexcept;
  void resume_ready();
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  void swap_at(std::size_t a, std::size_t b) noexcept;

  Clock* clock_;
  Clock::duration slack_ = std::chrono::microseconds(500);
  // The deadline sits beside its entry so that sifting compares without chasing pointers.
  struct Slot {
    Clock::time_point deadline;
    TimerEntry* entry;
  };
  std::vector<Slot> heap_;
  WaitList suspended_;
  std::shared_ptr<const asio::any_io_executor> executor_;  // see shared_executor
  // Fired waits whose coroutines resume in one handler, in order: a chain of wake-ups (a stop
  // going down a tree, timers due together) costs one pass of the loop, not one per wake-up.
  WaitList ready_;
  bool resume_posted_ = false;
  asio::io_context* io_ = nullptr;
  std::optional<asio::steady_timer> timer_;
  std::optional<Clock::time_point> armed_at_;
  bool driven_ = false;  // run_driving fires the deadlines: no Asio timer
  TimerLateness lateness_;
};

}  // namespace mode::detail
