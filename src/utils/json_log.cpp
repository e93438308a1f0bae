// The JSON log format: one object per record, encoded with Boost.JSON.
#include <mode/utils/logging_setup.hpp>
#include <mode/utils/text.hpp>

#include "log_record.hpp"
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/chrono.h>
#include <spdlog/formatter.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <variant>

namespace mode {

namespace {

// RFC 3339, UTC, microseconds: 2026-12-03T13:31:23.123456Z.
std::string utc_time(spdlog::log_clock::time_point t) {
  const auto us = std::chrono::time_point_cast<std::chrono::microseconds>(t);
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(us);
  const std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06}Z", tm, (us - secs).count());
}

template <class T>
T json_value(T v) {
  return v;
}
std::string json_value(std::string_view v) { return valid_utf8(v); }

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    boost::json::object line;
    line["time"] = utc_time(msg.time);
    line["level"] = level_name(msg.level);
    line["pid"] = pid_;
    // JSON is UTF-8: a message, name or field holding other bytes would make the line one that
    // no log shipper parses; each such byte shows as U+FFFD instead.
    line["logger"] = valid_utf8(std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    std::string_view text(msg.payload.data(), msg.payload.size());
    const detail::LogRecord* record = detail::current_log_record();
    if (record != nullptr && record->payload == text.data()) {
      if (std::string path = record->owner->log_path(); !path.empty())
        line["service"] = valid_utf8(path);
      text.remove_prefix(std::min(record->prefix, text.size()));
      line["message"] = valid_utf8(text);
      for (const LogField& field : record->fields) {
        const std::string key = valid_utf8(field.key);
        if (line.contains(key)) continue;  // a field never hides the record's own members
        std::visit([&](const auto& value) { line[key] = json_value(value); }, field.value);
      }
    } else {
      line["message"] = valid_utf8(text);
    }
    const std::string out = boost::json::serialize(line);
    dest.append(out.data(), out.data() + out.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }

 private:
  std::int64_t pid_ = ::getpid();
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_json_formatter() {
  return std::make_unique<JsonFormatter>();
}

}  // namespace mode
