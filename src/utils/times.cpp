// Time utilities: parsing of seconds and rate strings, humanize_seconds.
#include <mode/utils/times.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace mode {
namespace {

constexpr std::string_view kWhitespace = " \t\n\v\f\r";

// The input may be anything (a config value, a command-line argument), so it is escaped to keep
// the message on one printable line.
std::string quoted(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

[[noreturn]] void fail(std::string_view kind, std::string_view input, std::string_view reason) {
  std::string message = "invalid ";
  message += kind;
  message += ' ';
  message += quoted(input);
  message += ": ";
  message += reason;
  throw std::invalid_argument(message);
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kWhitespace) - first + 1);
}

// Mode's rate parser, used for both rates and durations; `kind` only names the failure.
double parse_rate(std::string_view input, std::string_view kind) {
  const auto slash = input.find('/');
  std::string_view number = trim(input.substr(0, slash));
  const std::string_view unit =
      slash == std::string_view::npos ? std::string_view{} : input.substr(slash + 1);

  if (number.empty()) fail(kind, input, "no number");
  // from_chars takes neither '+' nor whitespace; take the sign here so "+-5" stays invalid.
  bool negative = false;
  if (number.front() == '+' || number.front() == '-') {
    negative = number.front() == '-';
    number.remove_prefix(1);
  }
  if (number.empty() || number.front() == '+' || number.front() == '-') {
    fail(kind, input, "not a number");
  }
  double value = 0.0;
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (error == std::errc::result_out_of_range) fail(kind, input, "number out of range");
  if (error != std::errc{} || end != number.data() + number.size()) {
    fail(kind, input, "not a number");
  }
  if (std::isnan(value)) fail(kind, input, "not a number (NaN)");
  if (negative && value != 0.0) fail(kind, input, "negative");

  // Successive divisions, not one by 3600 or 86400: Mode's results differ in the last bit.
  if (unit.empty() || unit == "s") return value;
  if (unit == "m") return value / 60;
  if (unit == "h") return value / 60 / 60;
  if (unit == "d") return value / 60 / 60 / 24;
  std::string reason = "unknown unit ";
  reason += quoted(unit);
  reason += " (expected s, m, h or d)";
  fail(kind, input, reason);
}

// Enough for the largest double in fixed notation with two decimals (309 digits + sign + ".00").
using FixedBuffer = std::array<char, 320>;

std::string fixed2(double value) {
  FixedBuffer buffer;
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                    std::chars_format::fixed, 2);
  return std::string(buffer.data(), result.ptr);
}

// Python's round(x, 2): correctly rounded on the binary value, as the two-decimal text is.
double round2(double value) {
  if (!std::isfinite(value)) return value;
  const std::string text = fixed2(value);
  double rounded = value;
  std::from_chars(text.data(), text.data() + text.size(), rounded);
  return rounded;
}

}  // namespace

Seconds::Seconds(std::string_view s) : secs_(parse_rate(s, "seconds")) {}

Seconds::Seconds(const char* s) {
  if (s == nullptr) fail("seconds", "", "null string");
  secs_ = parse_rate(s, "seconds");
}

Seconds::Seconds(const std::string& s) : Seconds(std::string_view(s)) {}

std::chrono::steady_clock::duration Seconds::duration() const noexcept {
  using Duration = std::chrono::steady_clock::duration;
  using Period = Duration::period;
  if (std::isnan(secs_)) return Duration::zero();
  const double ticks =
      std::round(secs_ * (static_cast<double>(Period::den) / static_cast<double>(Period::num)));
  // The max of a 64-bit rep converts to exactly 2^63, so these bounds leave only values that fit.
  constexpr double kLimit = static_cast<double>(Duration::max().count());
  if (ticks >= kLimit) return Duration::max();
  if (ticks <= -kLimit) return Duration::min();
  return Duration(static_cast<Duration::rep>(ticks));
}

double want_seconds(std::string_view s) { return parse_rate(s, "seconds"); }

double want_seconds(const char* s) { return Seconds(s).count(); }

double want_seconds(const std::string& s) { return parse_rate(s, "seconds"); }

double rate(std::string_view s) { return parse_rate(s, "rate"); }

std::string humanize_seconds(double secs, std::string_view prefix, std::string_view sep,
                             std::string_view now, bool microseconds, std::string_view suffix) {
  static constexpr std::pair<double, std::string_view> kUnits[] = {
      {86400.0, "day"}, {3600.0, "hour"}, {60.0, "minute"}, {1.0, "second"}};
  const double s = round2(secs);
  std::string out;
  for (const auto& [size, name] : kUnits) {
    if (s >= size) {
      std::string number = fixed2(s / size);
      if (number.ends_with(".00")) number.resize(number.size() - 3);
      out.append(prefix).append(sep).append(number).append(" ").append(name);
      if (number != "1") out += 's';
      out.append(suffix);
      return out;
    }
  }
  if (microseconds && s > 0) {
    out.append(prefix).append(sep).append(fixed2(s)).append(" seconds").append(suffix);
    return out;
  }
  return std::string(now);
}

std::string humanize_seconds_ago(double secs, std::string_view prefix, std::string_view sep,
                                 std::string_view now, bool microseconds, std::string_view suffix) {
  return humanize_seconds(secs, prefix, sep, now, microseconds, suffix);
}

}  // namespace mode
