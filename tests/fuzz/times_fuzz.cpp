// libFuzzer target for mode/utils/times.hpp: arbitrary strings either parse to a non-negative,
// non-NaN number of seconds (infinity allowed) or throw std::invalid_argument quoting the input;
// a rate string is its number divided by its unit.
#include <mode/utils/times.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// The parsed value, or nullopt if the input was rejected the documented way. Any other
// exception escapes, and libFuzzer reports it.
template <class F>
std::optional<double> parse(F f) {
  try {
    const double value = f();
    check(!std::isnan(value) && value >= 0 && !std::signbit(value));
    return value;
  } catch (const std::invalid_argument& e) {
    check(std::string_view(e.what()).find('"') != std::string_view::npos);
    return std::nullopt;
  }
}

void check_humanize(double secs) {
  check(!mode::humanize_seconds(secs).empty());
  check(!mode::humanize_seconds(secs, "in ", "~", "now", true, "!").empty());
  check(!mode::humanize_seconds_ago(secs).empty());
  (void)mode::Seconds(secs).duration();
}

// A rate string `<number>/<unit>` is its number divided by the unit's seconds, by successive
// divisions as Mode computes it; the number alone is a rate per second.
void check_rate(std::string_view input, double value) {
  const std::size_t slash = input.find('/');
  if (slash == std::string_view::npos) return;
  const auto number = parse([&] { return mode::rate(input.substr(0, slash)); });
  check(number.has_value());
  const std::string_view unit = input.substr(slash + 1);
  double expected = *number;
  if (unit == "m" || unit == "h" || unit == "d") expected /= 60;
  if (unit == "h" || unit == "d") expected /= 60;
  if (unit == "d") expected /= 24;
  check(unit.empty() || unit == "s" || unit == "m" || unit == "h" || unit == "d");
  check(value == expected);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const auto seconds = parse([&] { return mode::want_seconds(input); });
  const auto rate = parse([&] { return mode::rate(input); });
  const auto constructed = parse([&] { return mode::Seconds(input).count(); });
  const auto from_string = parse([&] { return mode::want_seconds(std::string(input)); });

  // One parser behind every entry point: they agree on acceptance and on the value.
  check(seconds == rate && seconds == constructed && seconds == from_string);
  if (seconds) {
    check(mode::Seconds(*seconds).duration().count() >= 0);
    check_humanize(*seconds);
    check_rate(input, *seconds);
  }

  // The raw bytes as a double reach humanize_seconds with every value, NaN and infinities too.
  if (size >= sizeof(double)) {
    double raw = 0;
    std::memcpy(&raw, data, sizeof raw);
    check_humanize(raw);
  }
  return 0;
}
