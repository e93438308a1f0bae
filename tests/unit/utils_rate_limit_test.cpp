// Tests of mode/utils/rate_limit.hpp (TokenBucket, rate_limit) against BEHAVIOUR.md §11.4 and
// decisions D1–D3, on a manual clock.
#include <mode/utils/rate_limit.hpp>

// The header under test stays first and alone: it must compile on its own.
#include <mode/clock.hpp>
#include <mode/testing.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/system_error.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <stdexcept>

namespace {

namespace asio = boost::asio;

using mode::ManualClock;
using mode::TokenBucket;
using mode::TokenBucketOptions;
using mode::testing::poll;

using mode::testing::is_cancellation;

TokenBucketOptions on(const ManualClock& clock) {
  TokenBucketOptions o;
  o.clock = &clock;
  return o;
}

std::shared_ptr<mode::testing::Outcome<void>> spawn_acquire(
    asio::io_context& ctx, TokenBucket& b, double n = 1,
    asio::cancellation_signal* signal = nullptr) {
  return mode::testing::spawn(ctx, b.acquire(n), signal);
}

TEST(TokenBucket, CapacityDefaultsToRateAndStartsFull) {
  ManualClock clock;
  TokenBucket b(10, 1.0, on(clock));
  EXPECT_DOUBLE_EQ(b.rate(), 10);
  EXPECT_DOUBLE_EQ(b.capacity(), 10);
  EXPECT_DOUBLE_EQ(b.fill_rate(), 10);
  EXPECT_DOUBLE_EQ(b.tokens(), 10);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(b.pour()) << i;
  EXPECT_FALSE(b.pour());
  EXPECT_NEAR(b.expected_time(), 0.1, 1e-12);
  EXPECT_NEAR(b.expected_time(3), 0.3, 1e-12);
}

TEST(TokenBucket, OverSetsTheFillRate) {
  ManualClock clock;
  TokenBucket b(5, 10, on(clock));  // 5 tokens per 10 s
  EXPECT_DOUBLE_EQ(b.capacity(), 5);
  EXPECT_DOUBLE_EQ(b.fill_rate(), 0.5);
  EXPECT_TRUE(b.pour(5));
  EXPECT_FALSE(b.pour());
  EXPECT_NEAR(b.expected_time(), 2.0, 1e-12);
}

TEST(TokenBucket, RefillsByElapsedTimeAtEveryCall) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  TokenBucket b(10, 1.0, on(clock));
  clock.advance(5, ctx);  // a full bucket gains nothing while idle
  EXPECT_TRUE(b.pour(10));
  EXPECT_FALSE(b.pour());
  clock.advance(0.05, ctx);
  EXPECT_NEAR(b.tokens(), 0.5, 1e-9);
  EXPECT_NEAR(b.expected_time(), 0.05, 1e-9);
  clock.advance(0.05, ctx);
  EXPECT_TRUE(b.pour());  // no stale credit: exactly one token came in 0.1 s (Mode: D2)
  EXPECT_FALSE(b.pour());
  clock.advance(100, ctx);
  EXPECT_DOUBLE_EQ(b.tokens(), 10);  // capped at capacity
}

TEST(TokenBucket, PourMoreThanCapacityIsFalseForever) {
  ManualClock clock;
  TokenBucket b(100, 1.0, on(clock));
  EXPECT_FALSE(b.pour(101));
  EXPECT_TRUE(b.pour(0));
  EXPECT_TRUE(b.pour(100));
}

TEST(TokenBucket, ExplicitCapacityAndFillRate) {
  ManualClock clock;
  TokenBucketOptions o = on(clock);
  o.capacity = 2;
  o.fill_rate = 4;
  TokenBucket b(100, 1.0, o);
  EXPECT_DOUBLE_EQ(b.capacity(), 2);
  EXPECT_DOUBLE_EQ(b.fill_rate(), 4);
  EXPECT_TRUE(b.pour(2));
  EXPECT_NEAR(b.expected_time(), 0.25, 1e-12);
}

TEST(TokenBucket, RateStrings) {
  ManualClock clock;
  TokenBucket per_minute("120/m", 1.0, on(clock));
  EXPECT_DOUBLE_EQ(per_minute.fill_rate(), 2.0);
  EXPECT_DOUBLE_EQ(per_minute.capacity(), 2.0);
  TokenBucket half("0.5/s", 1.0, on(clock));
  EXPECT_DOUBLE_EQ(half.fill_rate(), 0.5);
  TokenBucket hourly("2/h", "1", on(clock));
  EXPECT_DOUBLE_EQ(hourly.rate(), 2.0 / 60 / 60);
}

TEST(TokenBucket, BadInputIsRejected) {
  ManualClock clock;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_THROW(TokenBucket(0, 1.0), std::invalid_argument);
  EXPECT_THROW(TokenBucket(-1, 1.0), std::invalid_argument);
  EXPECT_THROW(TokenBucket(nan, 1.0), std::invalid_argument);
  EXPECT_THROW(TokenBucket(inf, 1.0), std::invalid_argument);
  EXPECT_THROW(TokenBucket(1, 0), std::invalid_argument);
  EXPECT_THROW(TokenBucket(1, -2), std::invalid_argument);
  EXPECT_THROW(TokenBucket("abc/s"), std::invalid_argument);
  EXPECT_THROW(TokenBucket("1/x"), std::invalid_argument);
  TokenBucketOptions bad_capacity;
  bad_capacity.capacity = 0;
  EXPECT_THROW(TokenBucket(1, 1, bad_capacity), std::invalid_argument);
  TokenBucketOptions bad_fill;
  bad_fill.fill_rate = -1;
  EXPECT_THROW(TokenBucket(1, 1, bad_fill), std::invalid_argument);
  TokenBucket b(1, 1.0, on(clock));
  EXPECT_THROW(b.pour(-1), std::invalid_argument);
  EXPECT_THROW(b.pour(nan), std::invalid_argument);
  EXPECT_THROW(b.expected_time(-1), std::invalid_argument);
}

TEST(TokenBucket, AcquireTakesATokenAtOnceWhenAvailable) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  TokenBucket b(2, 1.0, on(clock));
  mode::testing::run(ctx, b.acquire());
  mode::testing::run(ctx, b.acquire());
  EXPECT_NEAR(b.tokens(), 0, 1e-12);
}

TEST(TokenBucket, AcquireSleepsOnTheLoopClockAndConsumesTheToken) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  TokenBucket b(10, 1.0, on(clock));
  ASSERT_TRUE(b.pour(10));
  auto out = spawn_acquire(ctx, b);
  poll(ctx);
  EXPECT_FALSE(out->finished);
  clock.advance(0.05, ctx);
  EXPECT_FALSE(out->finished);
  clock.advance(0.05, ctx);
  ASSERT_TRUE(out->finished);
  EXPECT_EQ(out->error, nullptr);
  EXPECT_NEAR(b.tokens(), 0, 1e-6);  // the awaited token was consumed (Mode: D3)
  EXPECT_FALSE(b.pour());
}

TEST(TokenBucket, TwoWaitersBothGetTheirTokensEventually) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  TokenBucket b(1, 1.0, on(clock));
  ASSERT_TRUE(b.pour());
  auto a = spawn_acquire(ctx, b);
  auto c = spawn_acquire(ctx, b);
  poll(ctx);
  clock.advance(1, ctx);
  EXPECT_NE(a->finished, c->finished);  // one token: one waiter
  clock.advance(1, ctx);
  EXPECT_TRUE(a->finished && c->finished);
  EXPECT_EQ(a->error, nullptr);
  EXPECT_EQ(c->error, nullptr);
}

TEST(TokenBucket, AcquireThrowsRaisesInsteadOfWaiting) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  auto b =
      mode::rate_limit(1, 1.0, std::make_exception_ptr(std::overflow_error("limited")), &clock);
  EXPECT_NE(b.raises(), nullptr);
  mode::testing::run(ctx, b.acquire());
  EXPECT_THROW(mode::testing::run(ctx, b.acquire()), std::overflow_error);
  clock.advance(1, ctx);
  mode::testing::run(ctx, b.acquire());
}

TEST(TokenBucket, AcquireIsCancellable) {
  asio::io_context ctx;
  asio::cancellation_signal signal;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  TokenBucket b(1, 1.0, on(clock));
  ASSERT_TRUE(b.pour());
  auto out = spawn_acquire(ctx, b, 1, &signal);
  poll(ctx);
  signal.emit(asio::cancellation_type::terminal);
  mode::testing::run_until(ctx, [&] { return out->finished; });
  EXPECT_TRUE(is_cancellation(out->error));
  clock.advance(1, ctx);
  EXPECT_NEAR(b.tokens(), 1, 1e-9);  // the cancelled waiter took nothing
}

TEST(TokenBucket, AcquireMoreThanCapacityIsRejected) {
  asio::io_context ctx;
  ManualClock clock;
  mode::use_clock(ctx, clock);
  TokenBucket b(2, 1.0, on(clock));
  EXPECT_THROW(mode::testing::run(ctx, b.acquire(3)), std::invalid_argument);
  EXPECT_THROW(mode::testing::run(ctx, b.acquire(-1)), std::invalid_argument);
}

TEST(RateLimit, BuildsATokenBucket) {
  auto b = mode::rate_limit("100/m", 1.0);
  EXPECT_DOUBLE_EQ(b.fill_rate(), 100.0 / 60);
  EXPECT_EQ(b.raises(), nullptr);
  mode::Bucket& base = b;
  EXPECT_TRUE(base.pour());
}

}  // namespace
