// Internal: the one kind of pending wait behind sleep, wait*, Event and timers.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/clock.hpp>
#include <mode/detail/timer_queue.hpp>
#include <mode/detail/wait_handler.hpp>
#include <mode/detail/wait_list.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <optional>
#include <source_location>
#include <string_view>
#include <utility>

namespace mode::detail {

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
