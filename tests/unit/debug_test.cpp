#include <mode/debug.hpp>
#include <mode/testing.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <limits>
#include <string>
#include <thread>

namespace {

using ::testing::HasSubstr;

class Blocker : public mode::Service {
 public:
  Blocker() { task(&Blocker::block, "block"); }
  bool done = false;

 private:
  mode::awaitable<void> block() {
    const bool slept = co_await sleep(0.1);
    if (!slept) co_return;
    std::this_thread::sleep_for(std::chrono::milliseconds(700));  // the loop is blocked
    done = true;
  }
};

mode::awaitable<void> run_detector(std::shared_ptr<mode::BlockingDetector> detector,
                                   std::shared_ptr<Blocker> blocker) {
  co_await detector->start();
  co_await blocker->start();
  for (;;) {
    const bool slept = co_await detector->sleep(0.05);
    if (!slept || blocker->done) break;
  }
  co_await blocker->stop();
  co_await detector->stop();
}

TEST(BlockingDetector, WarnsWithTheStackWhenTheLoopIsBlocked) {
  mode::testing::LogCapture capture(mode::LogLevel::warn);
  boost::asio::io_context ctx;
  auto detector = std::make_shared<mode::BlockingDetector>(0.2);
  auto blocker = std::make_shared<Blocker>();
  mode::testing::run(ctx, run_detector(detector, blocker));
  EXPECT_EQ(detector->detections(), 1u);
  EXPECT_THAT(detector->last_report(), HasSubstr("Blocking detected (timeout=0.2s)\n  #0 "));
  const auto lines = capture.matching("[^BlockingDetector]: Blocking detected (timeout=0.2s)");
  EXPECT_EQ(lines.size(), 1u);
  EXPECT_EQ(detector->state(), "shutdown");
}

TEST(BlockingDetector, QuietWhenTheLoopIsFree) {
  boost::asio::io_context ctx;
  auto detector = std::make_shared<mode::BlockingDetector>(0.1);
  mode::testing::run(ctx, [](std::shared_ptr<mode::BlockingDetector> d) -> mode::awaitable<void> {
    co_await d->start();
    const bool slept = co_await d->sleep(0.4);
    EXPECT_TRUE(slept);
    co_await d->stop();
  }(detector));
  EXPECT_EQ(detector->detections(), 0u);
}

mode::awaitable<void> start_briefly_and_stop(std::shared_ptr<mode::BlockingDetector> d) {
  co_await d->start();
  const bool slept = co_await d->sleep(0.1);
  EXPECT_TRUE(slept);
  co_await d->stop();
}

// A huge timeout (1e300, infinity) must neither overflow the watchdog's period nor hang the
// stop. Before the clamp the watchdog spun holding the mutex the stop waits on, which blocks the
// loop thread itself: run on a thread of its own so that a hang fails the test.
TEST(BlockingDetector, AHugeTimeoutStillStops) {
  for (const double timeout : {1e300, std::numeric_limits<double>::infinity()}) {
    auto done = std::make_shared<std::promise<std::string>>();
    std::future<std::string> state = done->get_future();
    std::thread([timeout, done] {
      boost::asio::io_context ctx;
      auto detector = std::make_shared<mode::BlockingDetector>(timeout);
      try {
        mode::testing::run(ctx, start_briefly_and_stop(detector));
        done->set_value(std::string(detector->state()));
      } catch (const std::exception& e) {
        done->set_value(e.what());
      }
    }).detach();
    ASSERT_EQ(state.wait_for(std::chrono::seconds(30)), std::future_status::ready) << timeout;
    EXPECT_EQ(state.get(), "shutdown") << timeout;
  }
}

TEST(BlockingDetector, RejectsANonPositiveTimeout) {
  EXPECT_THROW(mode::BlockingDetector(0.0), std::invalid_argument);
}

}  // namespace
