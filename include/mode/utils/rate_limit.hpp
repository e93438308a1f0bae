// Rate limiting with the token bucket algorithm (Mode's Bucket, TokenBucket and rate_limit, which
// Mode keeps in mode.utils.times).
#pragma once

#include <mode/awaitable.hpp>
#include <mode/clock.hpp>
#include <mode/utils/times.hpp>

#include <exception>
#include <optional>
#include <utility>

namespace mode {

/// A rate limiter: `pour(n)` takes `n` tokens if it can, `acquire(n)` waits until it can.
///
/// Belongs to one loop. `acquire` sleeps on the loop's clock (so a ManualClock drives it in
/// tests) and is cancellable with Asio cancellation (`operation_aborted`). Waiters are not
/// queued: each one retries when its expected time has passed, so under contention a waiter
/// may sleep more than once.
class Bucket {
 public:
  Bucket(const Bucket&) = delete;
  Bucket& operator=(const Bucket&) = delete;
  virtual ~Bucket() = default;

  /// Takes `n` tokens and returns true if that many are available; else takes none.
  virtual bool pour(double n = 1) = 0;
  /// Seconds until `n` tokens are available (0 if they are now).
  virtual double expected_time(double n = 1) = 0;
  /// The tokens available now.
  virtual double tokens() = 0;
  /// Tokens added per second.
  virtual double fill_rate() const noexcept = 0;
  /// The most tokens the bucket holds.
  virtual double capacity() const noexcept = 0;
  /// The exception `acquire` throws instead of waiting; null: it waits.
  const std::exception_ptr& raises() const noexcept { return raises_; }

  /// Takes `n` tokens, waiting until they are available, or throws `raises()` if set and they
  /// are not available now (Mode's `async with bucket`; unlike Mode, a token is consumed after
  /// the wait too). Throws `std::invalid_argument` if `n` exceeds the capacity (it would wait
  /// forever).
  awaitable<void> acquire(double n = 1);

 protected:
  explicit Bucket(std::exception_ptr raises) noexcept : raises_(std::move(raises)) {}

 private:
  std::exception_ptr raises_;
};

/// Options of a TokenBucket beyond its rate.
struct TokenBucketOptions {
  /// The most tokens held; default: `rate`. The bucket starts full.
  std::optional<double> capacity;
  /// Tokens added per second; default: `rate / over`.
  std::optional<double> fill_rate;
  /// Thrown by `acquire` instead of waiting; null: `acquire` waits.
  std::exception_ptr raises;
  /// The clock that refills the bucket; default: the steady clock. Use the loop's clock (the
  /// ManualClock given to `use_clock`) so that `acquire` sleeps on the same time.
  const Clock* clock = nullptr;
};

/// The token bucket: `rate` tokens per `over` seconds, holding at most `capacity` tokens.
///
/// Unlike Mode, the capacity defaults to `rate` (Mode: `over`, ignoring the
/// `capacity` and `fill_rate` arguments), the bucket refills by the time elapsed since the
/// previous call at every call (Mode credits stale idle time), and `acquire` consumes the token
/// it waited for. `rate` and `over` accept numbers and rate strings as `want_seconds` does
/// (`TokenBucket("100/m")` is 100/60 tokens per second). A rate, `over`, capacity or fill rate
/// that is not a positive finite number throws `std::invalid_argument`, as does a negative or
/// NaN `n`.
class TokenBucket final : public Bucket {
 public:
  explicit TokenBucket(Seconds rate, Seconds over = 1.0, TokenBucketOptions options = {});

  bool pour(double n = 1) override;
  double expected_time(double n = 1) override;
  double tokens() override;
  double fill_rate() const noexcept override { return fill_rate_; }
  double capacity() const noexcept override { return capacity_; }
  /// The rate given to the constructor (tokens per `over`).
  double rate() const noexcept { return rate_; }

 private:
  void refill() noexcept;

  double rate_;
  double capacity_;
  double fill_rate_;
  double tokens_;
  const Clock* clock_;
  Clock::time_point last_;
};

/// A TokenBucket allowing `rate` events per `over` seconds (Mode's `rate_limit`).
inline TokenBucket rate_limit(Seconds rate, Seconds over = 1.0, std::exception_ptr raises = nullptr,
                              const Clock* clock = nullptr) {
  TokenBucketOptions options;
  options.raises = std::move(raises);
  options.clock = clock;
  return TokenBucket(rate, over, std::move(options));
}

}  // namespace mode
