// Internal: the one kind of pending wait behind sleep, wait*, Event and timers, and the per-loop
// coalescing timer queue that wakes them.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/clock.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <source_location>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace mode::detail {

/// Why a pending wait ended. The first source to fire wins; the others are unhooked.
enum class Wake : std::uint8_t { pending, done, stopped, timed_out, cancelled };

class WaitOp;

/// The two pointers of a place in an intrusive list (a list's head has only these).
struct WaitHook {
  WaitHook* prev = nullptr;
  WaitHook* next = nullptr;

  bool linked() const noexcept { return next != nullptr; }
  void unlink() noexcept;
};

/// A hook of a WaitOp in one intrusive list (a service's stop list, an event's waiters).
struct WaitLink : WaitHook {
  WaitOp* op = nullptr;
};

/// Intrusive list of pending waits; no allocation to add or remove one.
class WaitList {
 public:
  WaitList() noexcept { head_.prev = head_.next = &head_; }
  WaitList(const WaitList&) = delete;
  WaitList& operator=(const WaitList&) = delete;
  ~WaitList() { fire_all(Wake::cancelled); }

  bool empty() const noexcept { return head_.next == &head_; }
  /// Calls `f(const WaitOp&)` for each wait, oldest first; `f` must not change the list.
  template <class F>
  void for_each(F f) const {
    for (const WaitHook* l = head_.next; l != &head_; l = l->next) f(*link(l)->op);
  }
  WaitOp* front() const noexcept { return empty() ? nullptr : link(head_.next)->op; }
  std::size_t size() const noexcept;
  void push_back(WaitLink& link) noexcept;
  /// Fires every wait in the list (in the order they were added) with `why`.
  void fire_all(Wake why) noexcept;

 private:
  // Every hook but the head is a WaitLink.
  static const WaitLink* link(const WaitHook* h) noexcept {
    return static_cast<const WaitLink*>(h);
  }

  WaitHook head_;
};

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

/// The completion handler of a suspended wait, whatever its type, held without allocation when it
/// is as small as Asio's handler for an awaited operation (two pointers; larger ones go on the
/// heap). Type-erased through Asio's public API alone: the associated executor and cancellation
/// slot, invocation, and `post`.
class WaitHandler {
 public:
  WaitHandler() noexcept = default;
  template <class H>
  requires(!std::is_same_v<H, WaitHandler>) explicit WaitHandler(H handler) : ops_(&ops_for<H>) {
    if constexpr (fits<H>)
      ::new (static_cast<void*>(storage_)) H(std::move(handler));
    else
      ::new (static_cast<void*>(storage_)) H*(new H(std::move(handler)));
  }
  WaitHandler(WaitHandler&& other) noexcept : ops_(std::exchange(other.ops_, nullptr)) {
    if (ops_) ops_->relocate(storage_, other.storage_);
  }
  WaitHandler& operator=(WaitHandler&& other) noexcept {
    if (this != &other) {
      reset();
      ops_ = std::exchange(other.ops_, nullptr);
      if (ops_) ops_->relocate(storage_, other.storage_);
    }
    return *this;
  }
  ~WaitHandler() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  void reset() noexcept {
    if (ops_) std::exchange(ops_, nullptr)->destroy(storage_);
  }
  /// The handler's associated executor: where its coroutine resumes.
  asio::any_io_executor get_executor() const noexcept { return ops_->executor(storage_); }
  /// The handler's associated cancellation slot.
  asio::cancellation_slot get_cancellation_slot() const noexcept { return ops_->slot(storage_); }
  /// Completes with `why` here and now: the coroutine resumes inside this call. Leaves this empty.
  void operator()(Wake why) {
    WaitHandler self(std::move(*this));
    self.ops_->invoke(self.storage_, why);
  }
  /// Completes with `why` through the handler's executor. Leaves this empty.
  void post(Wake why) {
    WaitHandler self(std::move(*this));
    self.ops_->post(self.storage_, why);
  }

 private:
  struct Ops {
    void (*relocate)(void* to, void* from) noexcept;  // move-constructs at `to`, destroys `from`
    void (*destroy)(void* at) noexcept;
    void (*invoke)(void* at, Wake why);
    void (*post)(void* at, Wake why);
    asio::any_io_executor (*executor)(const void* at) noexcept;
    asio::cancellation_slot (*slot)(const void* at) noexcept;
  };

  static constexpr std::size_t capacity = 2 * sizeof(void*);
  template <class H>
  static constexpr bool fits =
      sizeof(H) <= capacity &&
      alignof(H) <= alignof(void*) && std::is_nothrow_move_constructible_v<H>;

  template <class H>
  static H& get(void* at) noexcept {
    if constexpr (fits<H>)
      return *std::launder(static_cast<H*>(at));
    else
      return **std::launder(static_cast<H**>(at));
  }
  template <class H>
  static const H& get(const void* at) noexcept {
    return get<H>(const_cast<void*>(at));
  }

  template <class H>
  static constexpr Ops ops_for{
      [](void* to, void* from) noexcept {
        if constexpr (fits<H>) {
          H& h = get<H>(from);
          ::new (to) H(std::move(h));
          h.~H();
        } else {
          ::new (to) H*(*std::launder(static_cast<H**>(from)));
        }
      },
      [](void* at) noexcept {
        if constexpr (fits<H>)
          get<H>(at).~H();
        else
          delete &get<H>(at);
      },
      [](void* at, Wake why) { std::move(get<H>(at))(why); },
      [](void* at, Wake why) { asio::post(asio::append(std::move(get<H>(at)), why)); },
      [](const void* at) noexcept -> asio::any_io_executor {
        return asio::get_associated_executor(get<H>(at));
      },
      [](const void* at) noexcept -> asio::cancellation_slot {
        return asio::get_associated_cancellation_slot(get<H>(at));
      },
  };

  const Ops* ops_ = nullptr;
  alignas(void*) unsigned char storage_[capacity];
};

/// One pending wait: completes once, with the reason of whichever source fired first (its event,
/// its service's stop, its deadline, or Asio cancellation of the awaiting coroutine).
class WaitOp final : public TimerEntry {
  // First, so that they fill the tail padding of TimerEntry.
  Wake result_ = Wake::pending;
  bool batched_ = false;  // resumed through its loop's queue, not posted on its own

 public:
  WaitOp() noexcept = default;
  WaitOp(const WaitOp&) = delete;
  WaitOp& operator=(const WaitOp&) = delete;
  ~WaitOp();

  /// What is waiting and where, for reports of where coroutines are suspended.
  std::string_view what;
  std::source_location where;

  WaitLink stop_link{{}, this};
  WaitLink source_link{{}, this};
  WaitLink suspended_link{{}, this};

  /// Arms the deadline on the loop of `ex`.
  void expire_at(Clock::time_point when, const asio::any_io_executor& ex);
  /// Completes the wait with `why` unless it already completed.
  void fire(Wake why) noexcept;
  Wake result() const noexcept { return result_; }
  /// The armed deadline, if any.
  std::optional<Clock::time_point> expiry() const noexcept {
    if (timers_ == nullptr || !timers_->scheduled(*this)) return std::nullopt;
    return deadline;
  }
  /// The clock of the armed deadline (null if none was ever armed).
  const Clock* clock() const noexcept { return timers_ ? &timers_->clock() : nullptr; }

  /// The handler of a mode coroutine suspended in `co_await op.wait()`.
  using Handler = WaitHandler;

  /// The operation of wait(), for `co_await` inside a mode::awaitable.
  struct Wait {
    WaitOp* op;
    template <asio::completion_token_for<void(Wake)> Token>
    auto operator()(Token&& token) const {
      return asio::async_initiate<Token, void(Wake)>(
          [op = op](auto handler) { op->suspend(Handler(std::move(handler))); }, token);
    }
  };
  /// Suspends until the wait completes; returns why. Asio cancellation fires `cancelled`.
  Wait wait() noexcept { return Wait{this}; }
  /// Completes the wait at once and suspends until the loop's next pass: a coroutine gives
  /// the loop a turn (and meets its own cancellation, if any) without a timer.
  Wait pass_turn() noexcept {
    fire(Wake::done);
    return wait();
  }

 private:
  friend class TimerQueue;
  void on_deadline() noexcept override { fire(Wake::timed_out); }
  void unhook() noexcept;
  void suspend(Handler handler);
  void resume() noexcept;

  TimerQueue* timers_ = nullptr;
  Handler handler_;
};

}  // namespace mode::detail
