// Tests of mode/utils/flight_recorder.hpp against BEHAVIOUR.md §9.6 (decision D10) and the
// manual's replay example. Time only moves on a ManualClock: nothing sleeps.
#include <mode/utils/flight_recorder.hpp>

// The header under test stays first and alone: it must compile on its own.
#include <mode/clock.hpp>
#include <mode/service.hpp>
#include <mode/testing.hpp>
#include <mode/utils/locks.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <ctime>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace {

using mode::testing::RecordingSink;

namespace asio = boost::asio;
using namespace std::chrono_literals;

using mode::awaitable;
using mode::Event;
using mode::ExtraContext;
using mode::flight_recorder;
using mode::FlightRecorder;
using mode::ManualClock;
using mode::OnTimeout;

struct FlightRecorderTest : ::testing::Test {
  FlightRecorderTest() {
    logger->set_level(mode::LogLevel::debug);
    mode::use_clock(ctx, clock);
  }
  std::vector<std::string> lines() { return sink->lines(); }

  asio::io_context ctx;
  ManualClock clock;
  std::shared_ptr<RecordingSink> sink =
      std::make_shared<RecordingSink>(RecordingSink::Prefix{.level = true});
  std::shared_ptr<spdlog::logger> logger =
      std::make_shared<spdlog::logger>("flight_recorder_test", sink);
  int finished = 0;

  void spawn(awaitable<void> a) {
    asio::co_spawn(ctx, std::move(a), [this](std::exception_ptr e) {
      EXPECT_FALSE(e);
      ++finished;
    });
    mode::testing::poll(ctx);
  }
};

// Seconds since the epoch of an asctime date (local time).
std::time_t parse_asctime(const std::string& date) {
  std::tm tm{};
  const char* end = strptime(date.c_str(), "%a %b %e %H:%M:%S %Y", &tm);
  EXPECT_TRUE(end != nullptr && *end == '\0') << date;
  tm.tm_isdst = -1;
  return std::mktime(&tm);
}

const std::regex kDated(
    R"(^(\w+)\|\[(Flight Recorder-\d+)\] \((started at )?(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4})\) (.*)$)");

struct Dated {
  std::string level, ident, date, text;
};

Dated dated(const std::string& line) {
  std::smatch m;
  EXPECT_TRUE(std::regex_match(line, m, kDated)) << line;
  if (m.empty()) return {};
  return {m[1], m[2], m[4], m[5]};
}

// The manual's example: a body that outlives its timeout, two steps four seconds apart.
awaitable<void> slow_body(std::shared_ptr<spdlog::logger> logger, Event* step, Event* finish) {
  FlightRecorder on_timeout = co_await flight_recorder(logger, 10.0);
  EXPECT_EQ(on_timeout.ident(), "Flight Recorder-" + std::to_string(on_timeout.id()));
  on_timeout.info("+redis_client.get({})", "'user'");
  on_timeout.warn("slow {}", 1);
  co_await step->wait();
  on_timeout.info("-redis_client.get({})", "'user'");
  co_await finish->wait();
  on_timeout.info("after the replay");
}

TEST_F(FlightRecorderTest, ReplaysWithStartAndLineTimesWhenTheScopeOutlivesItsTimeout) {
  Event step;
  Event finish;
  spawn(slow_body(logger, &step, &finish));
  clock.advance(4s, ctx);
  step.set();
  mode::testing::poll(ctx);
  clock.advance(5.5, ctx);
  EXPECT_TRUE(lines().empty()) << "nothing is written before the timeout";
  clock.advance(0.5, ctx);  // 10 s after the start: whole seconds keep the dates exact

  const std::vector<std::string> out = lines();
  ASSERT_EQ(out.size(), 9u);
  EXPECT_EQ(out[0], "WARNING|Warning: Task timed out!");
  EXPECT_EQ(out[1], "WARNING|Please make sure it's hanging before restart.");  // Mode's words
  const Dated start = dated(out[2]);
  EXPECT_EQ(start.level, "INFO");
  EXPECT_TRUE(out[2].find("(started at ") != std::string::npos);
  EXPECT_EQ(start.text, "Replaying logs...");
  const Dated first = dated(out[3]);
  EXPECT_EQ(first.level, "INFO");
  EXPECT_EQ(first.text, "+redis_client.get('user')");
  EXPECT_EQ(first.ident, start.ident);
  const Dated warned = dated(out[4]);
  EXPECT_EQ(warned.level, "WARNING");  // each line at its own level
  EXPECT_EQ(warned.text, "slow 1");
  const Dated second = dated(out[5]);
  EXPECT_EQ(second.text, "-redis_client.get('user')");
  EXPECT_EQ(out[6], "INFO|[" + start.ident + "] -End of log-");
  // Mode's task traceback: a recorder made without a service has none to show.
  EXPECT_EQ(out[7], "INFO|[" + start.ident + "] Task traceback");
  EXPECT_EQ(out[8], "INFO|[" + start.ident +
                        "] -missing-: no service given (flight_recorder(service, ...) shows where "
                        "it is suspended)");
  // Line times follow the loop's clock from the start date.
  EXPECT_EQ(parse_asctime(first.date), parse_asctime(start.date));
  EXPECT_EQ(parse_asctime(second.date) - parse_asctime(start.date), 4);

  // Lines after the replay are written at once (decision D10), in the same form.
  clock.advance(1s, ctx);
  finish.set();
  mode::testing::poll(ctx);
  const std::vector<std::string> after = lines();
  ASSERT_EQ(after.size(), 10u);
  const Dated late = dated(after[9]);
  EXPECT_EQ(late.text, "after the replay");
  EXPECT_EQ(parse_asctime(late.date) - parse_asctime(start.date), 11);
  EXPECT_EQ(finished, 1);
}

awaitable<void> quick_body(std::shared_ptr<spdlog::logger> logger, Event* finish, bool* timed_out) {
  FlightRecorder on_timeout = co_await flight_recorder(logger, 10.0);
  on_timeout.info("step {}", 1);
  on_timeout.error("step {}", 2);
  co_await finish->wait();
  EXPECT_EQ(on_timeout.buffered(), 2u);
  *timed_out = on_timeout.timed_out();
}

TEST_F(FlightRecorderTest, WritesNothingWhenTheScopeEndsInTime) {
  Event finish;
  bool timed_out = true;
  spawn(quick_body(logger, &finish, &timed_out));
  clock.advance(9.9, ctx);
  finish.set();
  mode::testing::poll(ctx);
  ASSERT_EQ(finished, 1);
  EXPECT_FALSE(timed_out);
  clock.advance(60s, ctx);  // the cancelled timeout never fires
  EXPECT_TRUE(lines().empty());
}

// on_timeout writes to the innermost recorder of the chain; the outer one is current again once
// the inner one is gone.
awaitable<void> nested_body(std::shared_ptr<spdlog::logger> logger, Event* finish) {
  const OnTimeout on_timeout = co_await mode::on_timeout();
  EXPECT_FALSE(on_timeout.active());
  on_timeout.info("dropped: no recorder");
  FlightRecorder outer = co_await flight_recorder(logger, 10.0);
  on_timeout.info("to outer 1");
  {
    FlightRecorder inner = co_await flight_recorder(logger, 100.0);
    EXPECT_NE(inner.id(), outer.id());
    on_timeout.info("to inner");
    EXPECT_EQ(inner.buffered(), 1u);
  }
  on_timeout.info("to outer {}", 2);
  EXPECT_EQ(outer.buffered(), 2u);
  co_await finish->wait();
}

TEST_F(FlightRecorderTest, OnTimeoutLogsToTheInnermostRecorder) {
  Event finish;
  spawn(nested_body(logger, &finish));
  clock.advance(11s, ctx);
  std::vector<std::string> texts;
  for (const std::string& line : lines())
    if (std::regex_match(line, kDated)) texts.push_back(dated(line).text);
  EXPECT_EQ(texts, (std::vector<std::string>{"Replaying logs...", "to outer 1", "to outer 2"}));
  finish.set();
  mode::testing::poll(ctx);
  EXPECT_EQ(finished, 1);
}

awaitable<void> extra_body(std::shared_ptr<spdlog::logger> logger, Event* finish) {
  // Bound first: g++ 12 rejects a braced map built inside the co_await expression.
  ExtraContext outer_extra{{"request", "42"}};
  FlightRecorder outer = co_await flight_recorder(logger, 100.0, std::move(outer_extra));
  outer.extra_context()["user"] = "ann";
  ExtraContext inner_extra{{"user", "bob"}};
  FlightRecorder inner = co_await flight_recorder(logger, 10.0, std::move(inner_extra));
  EXPECT_EQ(inner.extra_context(),
            (ExtraContext{{"request", "42"}, {"user", "bob"}}));  // its own key wins
  const OnTimeout on_timeout = co_await mode::on_timeout();
  on_timeout.info("step");
  co_await finish->wait();
}

TEST_F(FlightRecorderTest, ExtraContextPropagatesToChildRecordersAndTheReplay) {
  Event finish;
  spawn(extra_body(logger, &finish));
  clock.advance(10s, ctx);
  const std::vector<std::string> out = lines();
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(dated(out[3]).text, "step request=42, user=bob");
  finish.set();
  mode::testing::poll(ctx);
  EXPECT_EQ(finished, 1);
}

// Chains have their own current recorder: one chain's on_timeout never reaches another's.
awaitable<void> recording_chain(std::shared_ptr<spdlog::logger> logger, Event* go, Event* finish) {
  FlightRecorder rec = co_await flight_recorder(logger, 10.0);
  co_await go->wait();
  const OnTimeout on_timeout = co_await mode::on_timeout();
  on_timeout.info("mine");
  EXPECT_EQ(rec.buffered(), 1u);
  co_await finish->wait();
}

awaitable<void> bare_chain(Event* go, bool* was_active) {
  co_await go->wait();
  const OnTimeout on_timeout = co_await mode::on_timeout();
  *was_active = on_timeout.active();
  on_timeout.info("not recorded anywhere");
}

TEST_F(FlightRecorderTest, ChainsDoNotShareTheCurrentRecorder) {
  Event go;
  Event finish;
  bool was_active = true;
  spawn(recording_chain(logger, &go, &finish));
  spawn(bare_chain(&go, &was_active));
  go.set();
  mode::testing::poll(ctx);
  EXPECT_FALSE(was_active);
  finish.set();
  mode::testing::poll(ctx);
  EXPECT_EQ(finished, 2);
  EXPECT_TRUE(lines().empty());
}

TEST_F(FlightRecorderTest, WritesThroughACompositeLogger) {
  struct Owner final : mode::CompositeLogger::Owner {
    spdlog::logger& logger() const override { return *log_to; }
    void format_log_prefix(fmt::memory_buffer& out) const override {
      out.append(std::string_view("[^Svc]: "));
    }
    spdlog::logger* log_to = nullptr;
  } owner;
  owner.log_to = logger.get();
  const mode::CompositeLogger log(owner);
  Event finish;
  spawn([](const mode::CompositeLogger* log, Event* finish) -> awaitable<void> {
    FlightRecorder rec = co_await flight_recorder(*log, 1.0);
    rec.info("kept");
    co_await finish->wait();
  }(&log, &finish));
  clock.advance(2s, ctx);
  const std::vector<std::string> out = lines();
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out[0], "WARNING|[^Svc]: Warning: Task timed out!");
  EXPECT_EQ(out[3].rfind("INFO|[^Svc]: [Flight Recorder-", 0), 0u) << out[3];
  EXPECT_TRUE(out[3].ends_with(") kept")) << out[3];
  finish.set();
  mode::testing::poll(ctx);
  EXPECT_EQ(finished, 1);
}

// A service that records a slow step and then hangs in one of its own waits.
class Refresher : public mode::Service {
 public:
  Refresher() { task(&Refresher::refresh, "refresh"); }
  int line = 0;

 private:
  awaitable<void> refresh() {
    FlightRecorder on_timeout = co_await flight_recorder(*this, 1.0);
    on_timeout.info("+redis_client.get({})", "'user'");
    line = __LINE__ + 1;
    const bool slept = co_await sleep(10.0);
    (void)slept;
  }
};

// With the service, the replay ends with where it is suspended: Mode's task traceback.
TEST_F(FlightRecorderTest, TheTaskTracebackIsWhereTheServiceIsSuspended) {
  mode::testing::LogCapture capture(mode::LogLevel::debug);
  auto service = std::make_shared<Refresher>();
  mode::testing::run(ctx, service->start());
  capture.clear();  // the lifecycle lines
  clock.advance(2s, ctx);
  const std::vector<std::string> out = capture.matching("[^Refresher]: ");
  ASSERT_EQ(out.size(), 7u) << ::testing::PrintToString(out);
  EXPECT_EQ(out[0], "[^Refresher]: Warning: Task timed out!");
  EXPECT_EQ(out[1], "[^Refresher]: Please make sure it's hanging before restart.");
  EXPECT_TRUE(out[3].ends_with(") +redis_client.get('user')")) << out[3];
  EXPECT_TRUE(out[4].ends_with("] -End of log-")) << out[4];
  EXPECT_TRUE(out[5].ends_with("] Task traceback")) << out[5];
  EXPECT_TRUE(std::regex_search(
      out[6], std::regex(R"(\] sleep \(\d+\.\d s left\) in .*Refresher::refresh\(\) at )"
                         R"(utils_flight_recorder_test\.cpp:)" +
                         std::to_string(service->line) + "$")))
      << out[6];
  mode::testing::run(ctx, service->stop());
}

}  // namespace
