// Tests of mode/testing.hpp: run / run_until with deadlines, and LogCapture.
#include <mode/testing.hpp>
#include <mode/utils/logging.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using mode::awaitable;
using mode::LogLevel;
using mode::testing::LogCapture;

awaitable<int> answer() { co_return 42; }

awaitable<std::unique_ptr<std::string>> move_only() {
  co_return std::make_unique<std::string>("moved");
}

awaitable<void> nothing() { co_return; }

awaitable<int> fails() {
  throw std::logic_error("bad");
  co_return 0;
}

awaitable<int> after_a_timer() {
  const auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex, 2ms);
  co_await timer.async_wait(mode::use_awaitable);
  co_return 5;
}

awaitable<void> never_finishes() {
  const auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex, 1h);
  co_await timer.async_wait(mode::use_awaitable);
}

// ---- run / run_until ----

TEST(TestingRun, ReturnsTheValue) {
  asio::io_context ctx;
  EXPECT_EQ(mode::testing::run(ctx, answer()), 42);
  EXPECT_EQ(*mode::testing::run(ctx, move_only()), "moved");
  mode::testing::run(ctx, nothing());
  EXPECT_EQ(mode::testing::run(ctx, after_a_timer()), 5);
}

TEST(TestingRun, RethrowsTheException) {
  asio::io_context ctx;
  EXPECT_THROW(mode::testing::run(ctx, fails()), std::logic_error);
  EXPECT_EQ(mode::testing::run(ctx, answer()), 42);  // the loop is still usable
}

TEST(TestingRun, ThrowsWhenTheDeadlinePasses) {
  asio::io_context ctx;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(mode::testing::run(ctx, never_finishes(), 30ms), std::runtime_error);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(TestingRun, WorksOnAStoppedContext) {
  asio::io_context ctx;
  ctx.stop();
  EXPECT_EQ(mode::testing::run(ctx, answer()), 42);
}

TEST(TestingRunUntil, ReturnsOnceThePredicateHolds) {
  asio::io_context ctx;
  int ran = 0;
  for (int i = 0; i < 3; ++i) asio::post(ctx, [&] { ++ran; });
  mode::testing::run_until(ctx, [&] { return ran == 3; });
  EXPECT_EQ(ran, 3);
  mode::testing::run_until(ctx, [] { return true; });  // true at once: returns at once
}

TEST(TestingRunUntil, ThrowsWhenTheDeadlinePasses) {
  asio::io_context ctx;
  try {
    mode::testing::run_until(
        ctx, [] { return false; }, 20ms);
    ADD_FAILURE() << "returned";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("deadline"), std::string::npos) << e.what();
  }
}

// ---- LogCapture ----

TEST(LogCapture, RecordsMessagesOfModeLoggersInOrder) {
  const auto logger = mode::get_logger("testing_test.before");
  LogCapture capture;
  logger->info("one {}", 1);
  capture.record("test event");
  mode::get_logger("testing_test.during")->warn("two");
  spdlog::default_logger()->error("three");
  logger->debug("four");
  EXPECT_EQ(capture.lines(),
            (std::vector<std::string>{"one 1", "test event", "two", "three", "four"}));
  EXPECT_EQ(capture.matching("t"), (std::vector<std::string>{"test event", "two", "three"}));
}

TEST(LogCapture, RecordsEachLinesLevelAndLogger) {
  const auto logger = mode::get_logger("testing_test.levels_recorded");
  LogCapture capture;
  logger->info("started");
  capture.record("test event");
  logger->warn("slow");
  logger->error("failed {}", 1);
  logger->warn("slow again");
  using mode::testing::LogLine;
  EXPECT_EQ(capture.records(),
            (std::vector<LogLine>{{LogLevel::info, "testing_test.levels_recorded", "started"},
                                  {LogLevel::off, "", "test event"},
                                  {LogLevel::warn, "testing_test.levels_recorded", "slow"},
                                  {LogLevel::err, "testing_test.levels_recorded", "failed 1"},
                                  {LogLevel::warn, "testing_test.levels_recorded", "slow again"}}));
  EXPECT_EQ(capture.lines(LogLevel::warn), (std::vector<std::string>{"slow", "slow again"}));
  EXPECT_EQ(capture.lines(LogLevel::err), std::vector<std::string>{"failed 1"});
  EXPECT_TRUE(capture.lines(LogLevel::critical).empty());
  // The text-only view is unchanged.
  EXPECT_EQ(capture.lines(),
            (std::vector<std::string>{"started", "test event", "slow", "failed 1", "slow again"}));
  std::ostringstream printed;
  printed << capture.records()[3] << ' ' << capture.records()[1];
  EXPECT_EQ(printed.str(), "ERROR|testing_test.levels_recorded|failed 1 -||test event");
}

TEST(LogCapture, RecordingSinkKeepsLevelsBehindItsPrefixes) {
  auto sink = std::make_shared<mode::testing::RecordingSink>(
      mode::testing::RecordingSink::Prefix{.logger = true, .level = true});
  spdlog::logger logger("testing_test.sink", sink);
  logger.warn("w");
  sink->add("own");
  EXPECT_EQ(sink->lines(), (std::vector<std::string>{"testing_test.sink|WARNING|w", "own"}));
  ASSERT_EQ(sink->records().size(), 2u);
  EXPECT_EQ(sink->records()[0].level, LogLevel::warn);
  EXPECT_EQ(sink->records()[1].level, LogLevel::off);
}

TEST(LogCapture, RespectsItsLevel) {
  const auto logger = mode::get_logger("testing_test.levels");
  const LogCapture capture(LogLevel::warn);
  logger->info("dropped");
  logger->warn("kept");
  EXPECT_EQ(capture.lines(), std::vector<std::string>{"kept"});
}

TEST(LogCapture, ClearForgetsTheLines) {
  LogCapture capture;
  mode::get_logger("testing_test.clear")->info("x");
  capture.record("y");
  capture.clear();
  EXPECT_TRUE(capture.lines().empty());
  mode::get_logger("testing_test.clear")->info("z");
  EXPECT_EQ(capture.lines(), std::vector<std::string>{"z"});
}

TEST(LogCapture, RestoresLevelsAndSinks) {
  const auto logger = mode::get_logger("testing_test.restore");
  const auto def = spdlog::default_logger();
  const LogLevel saved_default = def->level();
  logger->set_level(LogLevel::err);
  const std::size_t sinks = logger->sinks().size();
  const std::size_t default_sinks = def->sinks().size();
  std::shared_ptr<spdlog::logger> created;
  {
    const LogCapture capture(LogLevel::debug);
    EXPECT_EQ(logger->level(), LogLevel::debug);
    EXPECT_EQ(def->level(), LogLevel::debug);
    EXPECT_EQ(logger->sinks().size(), sinks + 1);
    static int runs = 0;  // a new name each run, also under --gtest_repeat
    created = mode::get_logger("testing_test.created_during_capture" + std::to_string(++runs));
    created->info("seen");
    EXPECT_EQ(capture.lines(), std::vector<std::string>{"seen"});
  }
  EXPECT_EQ(logger->level(), LogLevel::err);
  EXPECT_EQ(def->level(), saved_default);
  EXPECT_EQ(logger->sinks().size(), sinks);
  EXPECT_EQ(def->sinks().size(), default_sinks);
  EXPECT_EQ(created->level(), saved_default);
  EXPECT_EQ(created->sinks().size(), default_sinks);
  logger->set_level(saved_default);
}

TEST(LogCapture, AfterTheCaptureNothingIsRecorded) {
  const auto logger = mode::get_logger("testing_test.after");
  std::vector<std::string> lines;
  {
    const LogCapture capture;
    logger->info("during");
    lines = capture.lines();
  }
  logger->info("after");
  EXPECT_EQ(lines, std::vector<std::string>{"during"});
}

TEST(LogCapture, NestedCapturesBothRecord) {
  const auto logger = mode::get_logger("testing_test.nested");
  const LogCapture outer(LogLevel::info);
  {
    const LogCapture inner(LogLevel::debug);
    logger->debug("d");
    EXPECT_EQ(inner.lines(), std::vector<std::string>{"d"});
  }
  EXPECT_EQ(logger->level(), LogLevel::info);
  logger->debug("dropped");
  logger->info("i");
  EXPECT_EQ(outer.lines(), (std::vector<std::string>{"d", "i"}));
}

}  // namespace
