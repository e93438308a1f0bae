// Tests of mode/timers.hpp against BEHAVIOUR.md §4 (Timer), including its worked example.
#include <mode/timers.hpp>

// The header under test stays first and alone: it must compile on its own.
#include <mode/clock.hpp>
#include <mode/testing.hpp>
#include <mode/utils/logging.hpp>

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace {

using mode::testing::RecordingSink;

using namespace std::chrono_literals;
using mode::Clock;
using mode::LogLevel;
using mode::Timer;
using mode::testing::LogCapture;

// A clock that returns the listed readings (in milliseconds, so that every reading is an exact
// number of nanoseconds), one per call, then keeps returning the last one.
class ScriptedClock final : public Clock {
 public:
  ScriptedClock(std::initializer_list<long> millis) {
    for (const long ms : millis) readings_.push_back(time_point{} + std::chrono::milliseconds(ms));
  }
  time_point now() const noexcept override {
    const std::size_t i = std::min(calls_, readings_.size() - 1);
    ++calls_;
    return readings_[i];
  }
  std::size_t calls() const noexcept { return calls_; }

 private:
  std::vector<time_point> readings_;
  mutable std::size_t calls_ = 0;
};

// A clock that a test moves by hand, without firing anything.
class SteppedClock final : public Clock {
 public:
  time_point now() const noexcept override { return now_; }
  void step(std::chrono::milliseconds d) noexcept { now_ += d; }

 private:
  time_point now_ = time_point{} + 1h;
};

// Attaches a RecordingSink to a logger for the lifetime of the guard.
class SinkGuard {
 public:
  explicit SinkGuard(std::shared_ptr<spdlog::logger> logger)
      : logger_(std::move(logger)),
        sink_(
            std::make_shared<RecordingSink>(RecordingSink::Prefix{.logger = true, .level = true})) {
    logger_->sinks().push_back(sink_);
  }
  ~SinkGuard() { std::erase(logger_->sinks(), sink_); }
  SinkGuard(const SinkGuard&) = delete;
  SinkGuard& operator=(const SinkGuard&) = delete;
  std::vector<std::string> lines() { return sink_->lines(); }

 private:
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<RecordingSink> sink_;
};

// Mode's iterator protocol: repeat { t = tick(); sleep(t); last_yield_at = clock(); yield t }.
// The sleep itself is the clock's next reading.
std::vector<double> iterate(Timer& timer, int n) {
  std::vector<double> yields;
  for (int i = 0; i < n; ++i) {
    const double t = timer.tick();
    timer.on_yield();
    yields.push_back(t);
  }
  return yields;
}

// BEHAVIOUR.md §4 worked example: I = 1.0, clock readings 9.0 (epoch), 9.0, 10.0, 10.01, 11.011,
// 11.021, 11.721, 11.731, 13.031, 14.5, 15.5.
ScriptedClock worked_example_clock() {
  return ScriptedClock{9000, 9000, 10000, 10010, 11011, 11021, 11721, 11731, 13031, 14500, 15500};
}

// ---- derived values ----

TEST(Timer, DerivesMinMaxIntervalAndMaxDrift) {
  const SteppedClock clock;
  const Timer one(1.0, 0.1, "one", clock);
  EXPECT_EQ(one.interval(), 1.0);
  EXPECT_DOUBLE_EQ(one.max_drift(), 0.3);
  EXPECT_DOUBLE_EQ(one.min_interval(), 0.9);
  EXPECT_DOUBLE_EQ(one.max_interval(), 1.1);
  EXPECT_EQ(one.name(), "one");

  // max_drift is capped at 1.2 s.
  const Timer ten(10.0, 0.1, "ten", clock);
  EXPECT_DOUBLE_EQ(ten.max_drift(), 1.2);
  EXPECT_DOUBLE_EQ(ten.min_interval(), 9.9);
  EXPECT_DOUBLE_EQ(ten.max_interval(), 10.1);
  const Timer four(4.0, 0.1, "four", clock);
  EXPECT_DOUBLE_EQ(four.max_drift(), 1.2);  // 4 × 0.3 = 1.2: the cap and the product meet
  const Timer three(3.0, 0.1, "three", clock);
  EXPECT_DOUBLE_EQ(three.max_drift(), 0.9);

  const Timer wide(2.0, 0.5, "wide", clock);
  EXPECT_DOUBLE_EQ(wide.min_interval(), 1.5);
  EXPECT_DOUBLE_EQ(wide.max_interval(), 2.5);
  EXPECT_DOUBLE_EQ(wide.max_drift(), 0.6);
}

TEST(Timer, IntervalNotAboveCorrectionAllowsNoCorrection) {
  const SteppedClock clock;
  const Timer small(0.05, 0.1, "small", clock);
  EXPECT_EQ(small.min_interval(), 0.05);
  EXPECT_EQ(small.max_interval(), 0.05);
  EXPECT_DOUBLE_EQ(small.max_drift(), 0.015);
  // I == c is not I > c.
  const Timer equal(0.1, 0.1, "equal", clock);
  EXPECT_EQ(equal.min_interval(), 0.1);
  EXPECT_EQ(equal.max_interval(), 0.1);
}

TEST(Timer, AcceptsAnySecondsForm) {
  const SteppedClock clock;
  EXPECT_EQ(Timer(250ms, 0.1, "", clock).interval(), 0.25);
  EXPECT_EQ(Timer(2, 0.1, "", clock).interval(), 2.0);
  EXPECT_EQ(Timer("1.5", 0.1, "", clock).interval(), 1.5);
}

TEST(Timer, CountersStartAtZero) {
  const SteppedClock clock;
  const Timer t(1.0, 0.1, "t", clock);
  EXPECT_EQ(t.iteration(), 0u);
  EXPECT_EQ(t.drifting(), 0u);
  EXPECT_EQ(t.drifting_early(), 0u);
  EXPECT_EQ(t.drifting_late(), 0u);
  EXPECT_EQ(t.overlaps(), 0u);
}

// ---- the worked example ----

TEST(Timer, WorkedExampleYieldsAndCounters) {
  const ScriptedClock clock = worked_example_clock();
  Timer timer(1.0, 0.1, "beat", clock);
  const std::vector<double> yields = iterate(timer, 5);
  EXPECT_EQ(clock.calls(), 11u);  // epoch + one tick and one yield per iteration

  ASSERT_EQ(yields.size(), 5u);
  EXPECT_EQ(yields[0], 1.0);
  EXPECT_EQ(yields[1], 1.0);
  // Mode computes 0.9990000000000006 from float clock readings; here the readings are exact
  // nanoseconds, so slept is exactly 1.001 and the result is I + (I − 1.001).
  EXPECT_EQ(yields[2], 1.0 + (1.0 - 1.001));
  EXPECT_NEAR(yields[2], 0.999, 1e-12);
  EXPECT_EQ(yields[3], 1.1);  // woke 0.3 early: lengthened, clamped to max_interval
  EXPECT_EQ(yields[4], 0.9);  // woke 0.3 late: shortened, clamped to min_interval

  EXPECT_EQ(timer.drifting(), 2u);
  EXPECT_EQ(timer.drifting_early(), 1u);
  EXPECT_EQ(timer.drifting_late(), 1u);
  EXPECT_EQ(timer.overlaps(), 1u);
  EXPECT_EQ(timer.iteration(), 4u);
}

TEST(Timer, WorkedExampleLogsThroughModeTimersAtModeLevels) {
  const LogCapture capture(LogLevel::debug);
  SinkGuard sink(mode::get_logger("mode.timers"));
  const ScriptedClock clock = worked_example_clock();
  Timer timer(1.0, 0.1, "beat", clock);
  iterate(timer, 5);

  const std::vector<std::string> lines = sink.lines();
  ASSERT_EQ(lines.size(), 5u) << ::testing::PrintToString(lines);
  EXPECT_TRUE(lines[0].starts_with("mode.timers|DEBUG|Timer beat woke up - iteration=0 "))
      << lines[0];
  EXPECT_TRUE(lines[1].starts_with("mode.timers|DEBUG|Timer beat woke up - iteration=1 "))
      << lines[1];
  EXPECT_TRUE(
      lines[2].starts_with("mode.timers|INFO|Timer beat woke up too early, with a drift "
                           "of -0.30"))
      << lines[2];
  EXPECT_TRUE(
      lines[3].starts_with("mode.timers|INFO|Timer beat woke up too late, with a drift "
                           "of +0.30"))
      << lines[3];
  EXPECT_TRUE(lines[4].starts_with("mode.timers|WARNING|Timer beat is overlapping (interval=1"))
      << lines[4];
  EXPECT_EQ(capture.lines().size(), 5u);
}

TEST(Timer, WorkedExampleAtInfoLogsOnlyDriftAndOverlap) {
  const LogCapture capture(LogLevel::info);
  const ScriptedClock clock = worked_example_clock();
  Timer timer(1.0, 0.1, "beat", clock);
  iterate(timer, 5);
  const std::vector<std::string> lines = capture.matching("Timer beat");
  ASSERT_EQ(lines.size(), 3u) << ::testing::PrintToString(lines);
  EXPECT_NE(lines[0].find("too early"), std::string::npos);
  EXPECT_NE(lines[1].find("too late"), std::string::npos);
  EXPECT_NE(lines[2].find("is overlapping"), std::string::npos);
}

// The exact lines, with numbers in Python's shortest round-trip repr (BEHAVIOUR.md §4 step 5:
// `1.0`, not `1`; the overlap line reads "interval=1.0"). The values differ from Mode's only in
// the last digits that Mode's float clock readings add (0.30000000000000004 here,
// 0.3000000000000007 in Mode), because a mode::Clock reads exact nanoseconds.
TEST(Timer, WorkedExampleExactLogLines) {
  const LogCapture capture(LogLevel::debug);
  const ScriptedClock clock = worked_example_clock();
  Timer timer(1.0, 0.1, "beat", clock);
  iterate(timer, 5);
  const std::vector<std::string> expected = {
      "Timer beat woke up - iteration=0 time_spent_sleeping=1.0 drift=0.0 new_interval=1.0 "
      "since_epoch=1.01",
      "Timer beat woke up - iteration=1 time_spent_sleeping=1.001 drift=-0.0009999999999998899 "
      "new_interval=0.9990000000000001 since_epoch=2.021",
      "Timer beat woke up too early, with a drift of -0.30000000000000004 runtime=0.01 "
      "sleeptime=0.7",
      "Timer beat woke up too late, with a drift of +0.30000000000000004 runtime=1.469 "
      "sleeptime=1.3",
      "Timer beat is overlapping (interval=1.0 runtime=1.469)",
  };
  EXPECT_EQ(capture.matching("Timer beat"), expected);
}

// ---- tick() rules ----

TEST(Timer, FirstTickReturnsIntervalWithoutLogging) {
  const LogCapture capture(LogLevel::debug);
  SteppedClock clock;
  Timer timer(1.0, 0.1, "first", clock);
  clock.step(5000ms);
  EXPECT_EQ(timer.tick(), 1.0);
  EXPECT_EQ(timer.iteration(), 0u);
  EXPECT_TRUE(capture.matching("Timer first").empty());
}

TEST(Timer, ClockThatNeverAdvancesKeepsReturningInterval) {
  const SteppedClock clock;
  Timer timer(2.0, 0.1, "frozen", clock);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(timer.tick(), 2.0);
    timer.on_yield();
  }
  EXPECT_EQ(timer.iteration(), 0u);
}

TEST(Timer, CorrectionIsClampedBothWays) {
  SteppedClock clock;
  Timer timer(1.0, 0.1, "clamp", clock);
  EXPECT_EQ(timer.tick(), 1.0);
  clock.step(1050ms);  // slept 1.05: 0.05 late, next sleep shortened by 0.05
  timer.on_yield();
  EXPECT_DOUBLE_EQ(timer.tick(), 0.95);
  clock.step(3000ms);  // slept 3: shortened by at most 0.1
  timer.on_yield();
  EXPECT_DOUBLE_EQ(timer.tick(), 0.9);
  clock.step(500ms);  // slept 0.5: lengthened by at most 0.1
  timer.on_yield();
  EXPECT_DOUBLE_EQ(timer.tick(), 1.1);
  clock.step(1000ms);  // slept exactly I: no drift
  timer.on_yield();
  EXPECT_EQ(timer.tick(), 1.0);
  EXPECT_EQ(timer.iteration(), 4u);
}

TEST(Timer, DriftComparesWithIntervalNotWithRequestedSleep) {
  SteppedClock clock;
  Timer timer(1.0, 0.1, "ref", clock);
  timer.tick();
  clock.step(1200ms);
  timer.on_yield();
  EXPECT_DOUBLE_EQ(timer.tick(), 0.9);  // asked for 0.9 next
  clock.step(900ms);                    // slept what was asked: still 0.1 early against I
  timer.on_yield();
  EXPECT_DOUBLE_EQ(timer.tick(), 1.1);
}

TEST(Timer, DriftJustBelowMaxDriftIsNotCounted) {
  const LogCapture capture(LogLevel::info);
  SteppedClock clock;
  Timer timer(1.0, 0.1, "edge", clock);
  timer.tick();
  clock.step(1299ms);
  timer.on_yield();
  timer.tick();
  clock.step(701ms);
  timer.on_yield();
  timer.tick();
  EXPECT_EQ(timer.drifting(), 0u);
  EXPECT_TRUE(capture.matching("Timer edge").empty());
}

TEST(Timer, SubSecondIntervalNeverLogsDriftAtInfo) {
  const LogCapture capture(LogLevel::debug);
  SteppedClock clock;
  Timer timer(0.5, 0.1, "fast", clock);
  timer.tick();
  for (const auto slept : {2000ms, 10ms, 3000ms, 1ms}) {
    clock.step(slept);
    timer.on_yield();
    timer.tick();
  }
  EXPECT_EQ(timer.drifting(), 0u);
  EXPECT_EQ(timer.drifting_early(), 0u);
  EXPECT_EQ(timer.drifting_late(), 0u);
  EXPECT_TRUE(capture.matching("woke up too").empty());
  EXPECT_EQ(capture.matching("Timer fast woke up - iteration=").size(), 4u);
}

TEST(Timer, SubSecondIntervalStillWarnsAboutOverlap) {
  const LogCapture capture(LogLevel::info);
  SteppedClock clock;
  Timer timer(0.5, 0.1, "busy", clock);
  timer.tick();
  clock.step(500ms);
  timer.on_yield();
  clock.step(750ms);  // the consumer ran longer than the interval
  timer.tick();
  EXPECT_EQ(timer.overlaps(), 1u);
  const std::vector<std::string> lines = capture.matching("Timer busy");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "Timer busy is overlapping (interval=0.5 runtime=0.75)");
}

TEST(Timer, RunningExactlyOneIntervalIsNotAnOverlap) {
  SteppedClock clock;
  Timer timer(1.0, 0.1, "exact", clock);
  timer.tick();
  clock.step(1000ms);
  timer.on_yield();
  clock.step(1000ms);
  timer.tick();
  EXPECT_EQ(timer.overlaps(), 0u);
}

TEST(Timer, DefaultNameAndLogger) {
  const LogCapture capture(LogLevel::info);
  SteppedClock clock;
  Timer timer(0.2, 0.1, {}, clock);
  EXPECT_EQ(timer.name(), "");
  EXPECT_NE(spdlog::get("mode.timers"), nullptr);
  timer.tick();
  clock.step(200ms);
  timer.on_yield();
  clock.step(300ms);
  timer.tick();
  EXPECT_EQ(capture.lines(),
            std::vector<std::string>{"Timer  is overlapping (interval=0.2 runtime=0.3)"});
}

TEST(Timer, LogsThroughTheLoggerPassedIn) {
  const LogCapture capture(LogLevel::debug);
  SinkGuard timers_sink(mode::get_logger("mode.timers"));
  auto own = std::make_shared<spdlog::logger>("timers_test.own");  // not registered
  own->set_level(LogLevel::debug);
  SinkGuard own_sink(own);
  SteppedClock clock;
  Timer timer(1.0, 0.1, "mine", clock, own);
  timer.tick();
  clock.step(2000ms);
  timer.on_yield();
  timer.tick();
  const std::vector<std::string> lines = own_sink.lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].starts_with("timers_test.own|INFO|Timer mine woke up too late")) << lines[0];
  EXPECT_TRUE(timers_sink.lines().empty());
}

TEST(Timer, StaticLogHelpersWriteModeLines) {
  auto log = std::make_shared<spdlog::logger>("timers_test.static");
  log->set_level(LogLevel::debug);
  SinkGuard sink(log);
  Timer::log_drift(*log, "x", 0.5, 0.25, 0.5);
  Timer::log_drift(*log, "x", -1.5, 0.25, 2.5);
  Timer::log_overlap(*log, "x", 2.5, 3.25);
  EXPECT_EQ(sink.lines(),
            (std::vector<std::string>{
                "timers_test.static|INFO|Timer x woke up too early, with a drift of -0.5 "
                "runtime=0.25 sleeptime=0.5",
                "timers_test.static|INFO|Timer x woke up too late, with a drift of +1.5 "
                "runtime=0.25 sleeptime=2.5",
                "timers_test.static|WARNING|Timer x is overlapping (interval=2.5 runtime=3.25)",
            }));
}

}  // namespace
