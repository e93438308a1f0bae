#include <mode/debug.hpp>
#include <mode/testing.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
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

TEST(BlockingDetector, RejectsANonPositiveTimeout) {
  EXPECT_THROW(mode::BlockingDetector(0.0), std::invalid_argument);
}

}  // namespace
