// Tests of the JSON log format (make_json_formatter, LoggingOptions::format, log.extra).
#include <mode/utils/logging_setup.hpp>

// The header under test stays first and alone: it must compile on its own.
#include <mode/service.hpp>
#include <mode/utils/logging.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace json = boost::json;

// The lines a logger with the JSON format wrote, each parsed.
class JsonLines {
 public:
  JsonLines()
      : sink_(std::make_shared<spdlog::sinks::ostream_sink_st>(out_)),
        logger_(std::make_shared<spdlog::logger>("json_log_test", sink_)) {
    sink_->set_formatter(mode::make_json_formatter());
    logger_->set_level(mode::LogLevel::debug);
  }
  const std::shared_ptr<spdlog::logger>& logger() const { return logger_; }
  std::string text() const { return out_.str(); }
  std::vector<json::object> lines() const {
    std::vector<json::object> out;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line).as_object());
    return out;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::sinks::ostream_sink_st> sink_;
  std::shared_ptr<spdlog::logger> logger_;
};

class Logged : public mode::Service {
 public:
  explicit Logged(const JsonLines& lines) { set_logger(lines.logger()); }
};
class Parent : public Logged {
  using Logged::Logged;
};
class Child : public Logged {
  using Logged::Logged;
};

TEST(JsonLog, AServiceRecordKeepsItsPartsApart) {
  JsonLines out;
  auto parent = std::make_shared<Parent>(out);
  auto child = parent->add_dependency(std::make_shared<Child>(out));
  child->log.info("served {} in {} ms", "/index", 3);
  const std::vector<json::object> lines = out.lines();
  ASSERT_EQ(lines.size(), 1u) << out.text();
  const json::object& line = lines[0];
  EXPECT_TRUE(std::regex_match(std::string(line.at("time").as_string()),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")))
      << line.at("time");
  EXPECT_EQ(line.at("level").as_string(), "INFO");
  EXPECT_EQ(line.at("pid").as_int64(), ::getpid());
  EXPECT_EQ(line.at("logger").as_string(), "json_log_test");
  EXPECT_EQ(line.at("service").as_string(), "Parent/Child");
  // The text format's `[^-Child]: ` prefix is the service member here.
  EXPECT_EQ(line.at("message").as_string(), "served /index in 3 ms");
  // Members in this order: a reader of the raw line finds the time first.
  std::vector<std::string> keys;
  for (const auto& member : line) keys.emplace_back(member.key());
  EXPECT_EQ(keys,
            (std::vector<std::string>{"time", "level", "pid", "logger", "service", "message"}));
}

TEST(JsonLog, ExtraFieldsAreMembersWithTheirTypes) {
  JsonLines out;
  auto svc = std::make_shared<Parent>(out);
  const std::string user = "ann";
  svc->log.extra({{"user", user}, {"bytes", 42}, {"ratio", 0.5}, {"cached", true}, {"path", "/"}})
      .warning("slow request");
  const json::object line = out.lines().at(0);
  EXPECT_EQ(line.at("level").as_string(), "WARNING");
  EXPECT_EQ(line.at("message").as_string(), "slow request");
  EXPECT_EQ(line.at("user").as_string(), "ann");
  EXPECT_EQ(line.at("bytes").as_int64(), 42);
  EXPECT_EQ(line.at("ratio").as_double(), 0.5);
  EXPECT_EQ(line.at("cached").as_bool(), true);
  EXPECT_EQ(line.at("path").as_string(), "/");
}

// Found by the logging fuzz target: bytes that are not UTF-8 made a line no JSON parser reads.
TEST(JsonLog, BytesThatAreNotUtf8StayValidJson) {
  JsonLines out;
  auto svc = std::make_shared<Parent>(out);
  const std::string bad = "caf\xE9 \xFF\xFE";
  svc->log.extra({{"user", bad}, {"k\xC0y", 1}}).warning("got {}", bad);
  out.logger()->warn(std::string_view("raw \x80 and caf\xC3\xA9"));
  const std::vector<json::object> lines = out.lines();  // throws on a line that does not parse
  ASSERT_EQ(lines.size(), 2u) << out.text();
  EXPECT_EQ(lines[0].at("message").as_string(), "got caf\uFFFD \uFFFD\uFFFD");
  EXPECT_EQ(lines[0].at("user").as_string(), "caf\uFFFD \uFFFD\uFFFD");
  EXPECT_EQ(lines[0].at("k\uFFFDy").as_int64(), 1);
  // Valid UTF-8 is kept as it is.
  EXPECT_EQ(lines[1].at("message").as_string(), "raw \uFFFD and caf\u00E9");
}

TEST(JsonLog, AFieldNeverHidesTheRecordsOwnMembers) {
  JsonLines out;
  auto svc = std::make_shared<Parent>(out);
  svc->log.extra({{"message", "forged"}, {"level", "DEBUG"}, {"service", "x"}}).error("real");
  const json::object line = out.lines().at(0);
  EXPECT_EQ(line.at("message").as_string(), "real");
  EXPECT_EQ(line.at("level").as_string(), "ERROR");
  EXPECT_EQ(line.at("service").as_string(), "Parent");
}

TEST(JsonLog, TextThatNeedsEscapingStaysOneValidLine) {
  JsonLines out;
  auto svc = std::make_shared<Parent>(out);
  const std::string nasty = "quote \" backslash \\ newline \n tab \t bell \a end";
  svc->log.info("{}", nasty);
  const std::string text = out.text();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_EQ(out.lines().at(0).at("message").as_string(), nasty);
}

TEST(JsonLog, ExceptionKeepsTheErrorInTheMessage) {
  JsonLines out;
  auto svc = std::make_shared<Parent>(out);
  try {
    throw std::runtime_error("disk full");
  } catch (...) {
    svc->log.exception("Cannot save");
  }
  const json::object line = out.lines().at(0);
  EXPECT_EQ(line.at("level").as_string(), "ERROR");
  EXPECT_EQ(line.at("message").as_string(), "Cannot save: std::runtime_error('disk full')");
}

TEST(JsonLog, ALineNotFromAServiceHasNoServiceMember) {
  JsonLines out;
  out.logger()->critical("plain {}", 1);
  const json::object line = out.lines().at(0);
  EXPECT_EQ(line.at("level").as_string(), "CRITICAL");
  EXPECT_EQ(line.at("message").as_string(), "plain 1");
  EXPECT_FALSE(line.contains("service"));
}

TEST(JsonLog, SetupLoggingWritesJsonToEverySink) {
  std::ostringstream extra;
  mode::LoggingOptions options;
  options.level = mode::LogLevel::info;
  options.format = mode::LogFormat::json;
  options.logfile = ::testing::TempDir() + "json_log_test.log";
  options.config.sinks.push_back(std::make_shared<spdlog::sinks::ostream_sink_mt>(extra));
  options.config.pattern = "%v";  // a text pattern: not for JSON
  mode::setup_logging(options);
  mode::get_logger("json_log_test.setup")->info("to every sink");
  mode::setup_logging(mode::LoggingOptions{});  // back to the text format on stderr
  const json::value line = json::parse(extra.str());
  EXPECT_EQ(line.at("message").as_string(), "to every sink");
  EXPECT_EQ(line.at("logger").as_string(), "json_log_test.setup");
}

}  // namespace
