// Internal: the per-loop timer queue, one Asio timer for every deadline of the loop's waits and
// timers.
#pragma once

#include <mode/clock.hpp>
#include <mode/detail/wait_list.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

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
};

}  // namespace mode::detail
