// libFuzzer target for the logging configuration (mode/utils/logging.hpp, logging_setup.hpp): a
// level string either names a level or throws std::invalid_argument quoting it; any pattern
// makes a formatter that formats any message; the JSON format writes one valid JSON object per
// line whatever bytes the message and the logger's name hold.
#include <mode/utils/logging.hpp>
#include <mode/utils/logging_setup.hpp>
#include <mode/utils/text.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fuzzer/FuzzedDataProvider.h>
#include <spdlog/details/log_msg.h>
#include <spdlog/formatter.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void check_level(const std::string& name) {
  mode::LogLevel level{};
  try {
    level = mode::level_number(name);
  } catch (const std::invalid_argument& e) {
    // what() is a C string: it ends at the input's first NUL.
    const std::string quoted = "'" + name.substr(0, name.find('\0'));
    check(std::string_view(e.what()).find(quoted) != std::string_view::npos);
    return;
  }
  check(level >= mode::LogLevel::trace && level <= mode::LogLevel::off);
  // Each level but `off` reads back from the name it is shown with.
  if (level != mode::LogLevel::off) check(mode::level_number(mode::level_name(level)) == level);
}

std::string format(spdlog::formatter& f, const spdlog::details::log_msg& msg) {
  spdlog::memory_buf_t out;
  f.format(msg, out);
  return std::string(out.data(), out.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const auto level = static_cast<mode::LogLevel>(in.ConsumeIntegralInRange<int>(0, 6));
  check_level(in.ConsumeRandomLengthString(32));
  const std::string pattern = in.ConsumeRandomLengthString(64);
  const std::string logger = in.ConsumeRandomLengthString(32);
  const std::string message = in.ConsumeRemainingBytesAsString();
  check_level(message);
  const spdlog::details::log_msg msg(logger, level, message);

  // spdlog reads a pattern leniently: whatever the text, a formatter comes out and formats.
  (void)format(*mode::make_mode_formatter(pattern), msg);
  (void)format(*mode::make_mode_formatter(mode::mode_log_pattern(true)), msg);

  const std::string line = format(*mode::make_json_formatter(), msg);
  check(!line.empty() && line.back() == '\n' && line.find('\n') == line.size() - 1);
  std::error_code ec;
  const boost::json::value v = boost::json::parse(line, ec);
  check(!ec && v.is_object());
  const boost::json::object& o = v.get_object();
  check(o.at("level").as_string() == mode::level_name(level));
  // Valid UTF-8 is written as it is; other bytes become U+FFFD.
  check(o.at("message").as_string() == mode::valid_utf8(message));
  check(o.at("logger").as_string() == mode::valid_utf8(logger));
  return 0;
}
