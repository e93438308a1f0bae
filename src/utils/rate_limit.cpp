// TokenBucket arithmetic and the waiting of Bucket::acquire.
#include <mode/detail/wait_op.hpp>
#include <mode/utils/rate_limit.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>

namespace mode {

namespace {

double positive(double v, const char* what) {
  if (!std::isfinite(v) || v <= 0)
    throw std::invalid_argument(std::string("TokenBucket: ") + what +
                                " must be a positive finite number, got " + std::to_string(v));
  return v;
}

void check_count(double n) {
  if (std::isnan(n) || n < 0)
    throw std::invalid_argument("TokenBucket: token count must be >= 0, got " + std::to_string(n));
}

// Refilling by elapsed time rounds; a wait of exactly `expected_time` must then succeed.
constexpr double kSlack = 1e-9;

}  // namespace

awaitable<void> Bucket::acquire(double n) {
  check_count(n);
  if (n > capacity() * (1 + kSlack))
    throw std::invalid_argument("Bucket::acquire: " + std::to_string(n) +
                                " tokens exceed the capacity " + std::to_string(capacity()));
  for (;;) {
    const bool poured = pour(n);
    if (poured) co_return;
    if (raises_) std::rethrow_exception(raises_);
    const auto ex = co_await asio::this_coro::executor;
    auto& timers = detail::TimerQueue::of(ex);
    // Rounded up, so the bucket has refilled by the time the wait ends.
    const auto wait =
        std::chrono::ceil<Clock::duration>(std::chrono::duration<double>(expected_time(n)));
    detail::WaitOp op;
    op.expire_at(timers.now() + wait, ex);
    const detail::Wake why = co_await op.wait();
    if (why == detail::Wake::cancelled)
      throw boost::system::system_error(asio::error::operation_aborted);
  }
}

TokenBucket::TokenBucket(Seconds rate, Seconds over, TokenBucketOptions options)
    : Bucket(std::move(options.raises)),
      rate_(positive(rate.count(), "rate")),
      capacity_(positive(options.capacity.value_or(rate_), "capacity")),
      fill_rate_(positive(options.fill_rate.value_or(rate_ / positive(over.count(), "over")),
                          "fill_rate")),
      tokens_(capacity_),
      clock_(options.clock ? options.clock : &SteadyClock::instance()),
      last_(clock_->now()) {}

void TokenBucket::refill() noexcept {
  const Clock::time_point now = clock_->now();
  if (now <= last_) return;
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(capacity_, tokens_ + fill_rate_ * elapsed);
  last_ = now;
}

double TokenBucket::tokens() {
  refill();
  return tokens_;
}

bool TokenBucket::pour(double n) {
  check_count(n);
  refill();
  if (tokens_ < n * (1 - kSlack)) return false;
  tokens_ = std::max(0.0, tokens_ - n);
  return true;
}

double TokenBucket::expected_time(double n) {
  check_count(n);
  refill();
  return std::max(n - tokens_, 0.0) / fill_rate_;
}

}  // namespace mode
