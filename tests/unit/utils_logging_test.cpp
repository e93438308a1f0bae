// Tests of mode/utils/logging.hpp against BEHAVIOUR.md §1 and §9: levels, named loggers and the
// CompositeLogger.
#include <mode/testing.hpp>
#include <mode/utils/logging.hpp>

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using mode::testing::RecordingSink;

using mode::CompositeLogger;
using mode::get_logger;
using mode::level_name;
using mode::level_number;
using mode::LogLevel;

// A CompositeLogger owner with its own unregistered logger and a fixed prefix.
class TestOwner final : public CompositeLogger::Owner {
 public:
  explicit TestOwner(std::string prefix, LogLevel level = LogLevel::debug)
      : sink_(std::make_shared<RecordingSink>(RecordingSink::Prefix{.level = true})),
        logger_(std::make_shared<spdlog::logger>("utils_logging_test.owner", sink_)),
        prefix_(std::move(prefix)) {
    logger_->set_level(level);
  }

  spdlog::logger& logger() const override { return *logger_; }
  void format_log_prefix(fmt::memory_buffer& out) const override {
    ++prefix_calls;
    if (throw_in_prefix) throw std::runtime_error("prefix failed");
    out.append(prefix_);
  }
  std::vector<std::string> lines() const { return sink_->lines(); }

  mutable int prefix_calls = 0;
  bool throw_in_prefix = false;

 private:
  std::shared_ptr<RecordingSink> sink_;
  std::shared_ptr<spdlog::logger> logger_;
  std::string prefix_;
};

// Something whose formatting throws.
struct Unformattable {};

}  // namespace

template <>
struct fmt::formatter<Unformattable> {
  constexpr auto parse(format_parse_context& ctx) { return ctx.begin(); }
  template <class Ctx>
  auto format(const Unformattable&, Ctx&) const -> decltype(std::declval<Ctx&>().out()) {
    throw std::runtime_error("cannot format");
  }
};

namespace {

// ---- level_number / level_name ----

TEST(LevelNumber, NamesInAnyCase) {
  EXPECT_EQ(level_number("debug"), LogLevel::debug);
  EXPECT_EQ(level_number("DEBUG"), LogLevel::debug);
  EXPECT_EQ(level_number("Info"), LogLevel::info);
  EXPECT_EQ(level_number("INFO"), LogLevel::info);
  EXPECT_EQ(level_number("warn"), LogLevel::warn);
  EXPECT_EQ(level_number("WARN"), LogLevel::warn);
  EXPECT_EQ(level_number("warning"), LogLevel::warn);
  EXPECT_EQ(level_number("Warning"), LogLevel::warn);
  EXPECT_EQ(level_number("error"), LogLevel::err);
  EXPECT_EQ(level_number("ERROR"), LogLevel::err);
  EXPECT_EQ(level_number("crit"), LogLevel::critical);
  EXPECT_EQ(level_number("critical"), LogLevel::critical);
  EXPECT_EQ(level_number("CRITICAL"), LogLevel::critical);
  EXPECT_EQ(level_number("fatal"), LogLevel::critical);
}

TEST(LevelNumber, PythonNumbers) {
  EXPECT_EQ(level_number("10"), LogLevel::debug);
  EXPECT_EQ(level_number("20"), LogLevel::info);
  EXPECT_EQ(level_number("30"), LogLevel::warn);
  EXPECT_EQ(level_number("40"), LogLevel::err);
  EXPECT_EQ(level_number("50"), LogLevel::critical);
}

TEST(LevelNumber, BadInputThrowsInvalidArgumentNamingIt) {
  for (const std::string_view bad : {"verbose", "", "15", "0", "info ", " debug", "60", "infos"}) {
    try {
      level_number(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string_view(e.what()).find("'" + std::string(bad) + "'"),
                std::string_view::npos)
          << e.what();
    }
  }
}

TEST(LevelNumber, MessageKeepsTheInputAsGiven) {
  try {
    level_number("VeRbOsE");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string_view(e.what()).find("VeRbOsE"), std::string_view::npos) << e.what();
  }
}

TEST(LevelName, ModeNames) {
  EXPECT_EQ(level_name(LogLevel::debug), "DEBUG");
  EXPECT_EQ(level_name(LogLevel::info), "INFO");
  EXPECT_EQ(level_name(LogLevel::warn), "WARNING");
  EXPECT_EQ(level_name(LogLevel::err), "ERROR");
  EXPECT_EQ(level_name(LogLevel::critical), "CRITICAL");
  static_assert(noexcept(level_name(LogLevel::info)));
}

TEST(LevelName, RoundTripsThroughLevelNumber) {
  for (const LogLevel l :
       {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::err, LogLevel::critical})
    EXPECT_EQ(level_number(level_name(l)), l);
}

// ---- get_logger ----

TEST(GetLogger, SameLoggerForAName) {
  const auto a = get_logger("utils_logging_test.same");
  const auto b = get_logger("utils_logging_test.same");
  const auto c = get_logger("utils_logging_test.other");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a->name(), "utils_logging_test.same");
  EXPECT_EQ(spdlog::get("utils_logging_test.same"), a);
}

TEST(GetLogger, NewLoggerTakesTheDefaultLoggersSinksAndLevel) {
  const auto def = spdlog::default_logger();
  const LogLevel saved = def->level();
  def->set_level(LogLevel::warn);
  static int runs = 0;  // a new name each run, also under --gtest_repeat
  const auto logger = get_logger("utils_logging_test.fresh" + std::to_string(++runs));
  def->set_level(saved);
  EXPECT_EQ(logger->level(), LogLevel::warn);
  EXPECT_EQ(logger->sinks(), def->sinks());
}

// ---- CompositeLogger ----

TEST(CompositeLogger, PrefixesAndFormatsEachMessage) {
  const TestOwner owner("[^Test]: ");
  const CompositeLogger log(owner);
  log.info("hello {} {}", 1, "x");
  log.debug("debug {}", 2.5);
  log.warn("w");
  log.warning("w{}", "2");
  log.error("e");
  log.crit("c");
  log.critical("c{}", 2);
  log.log(LogLevel::info, "via log {}", 'z');
  log.info("braces {{}} stay");
  EXPECT_EQ(owner.lines(), (std::vector<std::string>{
                               "INFO|[^Test]: hello 1 x",
                               "DEBUG|[^Test]: debug 2.5",
                               "WARNING|[^Test]: w",
                               "WARNING|[^Test]: w2",
                               "ERROR|[^Test]: e",
                               "CRITICAL|[^Test]: c",
                               "CRITICAL|[^Test]: c2",
                               "INFO|[^Test]: via log z",
                               "INFO|[^Test]: braces {} stay",
                           }));
}

TEST(CompositeLogger, DisabledLevelsAreNeitherFormattedNorWritten) {
  const TestOwner owner("[^Quiet]: ", LogLevel::warn);
  const CompositeLogger log(owner);
  log.debug("d {}", Unformattable{});
  log.info("i");
  EXPECT_EQ(owner.prefix_calls, 0);
  EXPECT_TRUE(owner.lines().empty());
  log.warn("w");
  EXPECT_EQ(owner.prefix_calls, 1);
  EXPECT_EQ(owner.lines(), std::vector<std::string>{"WARNING|[^Quiet]: w"});
}

TEST(CompositeLogger, EnabledTellsWhichLevelsAreWritten) {
  const TestOwner owner("[^Quiet]: ", LogLevel::warn);
  const CompositeLogger log(owner);
  EXPECT_FALSE(log.enabled(LogLevel::info));
  EXPECT_TRUE(log.enabled(LogLevel::warn));
  EXPECT_TRUE(log.enabled(LogLevel::critical));
}

TEST(CompositeLogger, ExceptionAppendsTheCurrentException) {
  const TestOwner owner("[^Test]: ");
  const CompositeLogger log(owner);
  try {
    throw std::runtime_error("boom");
  } catch (...) {
    log.exception("failed {}", 3);
  }
  EXPECT_EQ(owner.lines(),
            std::vector<std::string>{"ERROR|[^Test]: failed 3: std::runtime_error('boom')"});
}

TEST(CompositeLogger, ExceptionOutsideACatchLogsTheMessageOnly) {
  const TestOwner owner("[^Test]: ");
  const CompositeLogger log(owner);
  log.exception("no exception");
  EXPECT_EQ(owner.lines(), std::vector<std::string>{"ERROR|[^Test]: no exception"});
}

TEST(CompositeLogger, ExceptionRespectsTheLevel) {
  const TestOwner owner("[^Test]: ", LogLevel::critical);
  const CompositeLogger log(owner);
  try {
    throw std::runtime_error("boom");
  } catch (...) {
    log.exception("failed");
  }
  EXPECT_TRUE(owner.lines().empty());
  EXPECT_EQ(owner.prefix_calls, 0);
}

TEST(CompositeLogger, LoggingNeverThrows) {
  TestOwner owner("[^Test]: ");
  const CompositeLogger log(owner);
  EXPECT_NO_THROW(log.info("bad {}", Unformattable{}));
  owner.throw_in_prefix = true;
  EXPECT_NO_THROW(log.info("prefix throws"));
  EXPECT_NO_THROW(log.exception("prefix throws"));
  EXPECT_TRUE(owner.lines().empty());
}

TEST(CompositeLogger, DevIsSilentWithoutDevlog) {
  const char* devlog = std::getenv("DEVLOG");
  if (devlog != nullptr && *devlog != '\0') GTEST_SKIP() << "DEVLOG is set in this environment";
  const TestOwner owner("[^Test]: ", LogLevel::trace);
  const CompositeLogger log(owner);
  log.dev("only with DEVLOG {}", 1);
  EXPECT_TRUE(owner.lines().empty());
  EXPECT_EQ(owner.prefix_calls, 0);
}

}  // namespace
