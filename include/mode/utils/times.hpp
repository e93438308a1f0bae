// Time utilities (Mode's mode.utils.times): the Seconds type that every mode API taking a
// duration accepts, rate strings ("100/m"), and humanize_seconds.
#pragma once

#include <chrono>
#include <compare>
#include <string>
#include <string_view>
#include <type_traits>

namespace mode {

/// A number of seconds, accepted wherever mode takes a duration, so callers can pass `1.5`,
/// `250ms` or a configuration string alike.
///
/// Converts implicitly from any arithmetic value except `bool` (a bool duration is always a
/// bug), any `std::chrono::duration`, and strings as `want_seconds` parses them (`"1.5"`,
/// `"10/s"`, `"100/h"`). A string that does not parse throws `std::invalid_argument` quoting the
/// input. Numbers and durations are stored as given, even negative, infinite or NaN.
class Seconds {
 public:
  constexpr Seconds() noexcept = default;

  template <class N>
  requires(std::is_arithmetic_v<N> && !std::is_same_v<N, bool>) constexpr Seconds(N n) noexcept
      : secs_(static_cast<double>(n)) {}

  template <class R, class P>
  constexpr Seconds(std::chrono::duration<R, P> d) noexcept
      : secs_(std::chrono::duration<double>(d).count()) {}

  /// Parses as `want_seconds` does; throws `std::invalid_argument` on a malformed string.
  Seconds(std::string_view s);
  /// Same as the string_view form; also rejects a null pointer.
  Seconds(const char* s);
  Seconds(const std::string& s);

  constexpr double count() const noexcept { return secs_; }

  /// Saturating conversion for timers: negative values stay negative (an expired deadline),
  /// values beyond the clock's range (and ±infinity) clamp to its max/min, NaN becomes zero so a
  /// bad value cannot turn into an endless wait. Rounds to the nearest tick.
  std::chrono::steady_clock::duration duration() const noexcept;

  friend constexpr auto operator<=>(Seconds, Seconds) = default;
  friend constexpr bool operator==(Seconds, Seconds) = default;

 private:
  double secs_ = 0.0;
};

/// Seconds as a double (Mode's `want_seconds`).
constexpr double want_seconds(Seconds s) noexcept { return s.count(); }

/// Exact-match overload so `want_seconds(0)` does not read the literal 0 as a null string.
template <class N>
requires(std::is_arithmetic_v<N> &&
         !std::is_same_v<N, bool>) constexpr double want_seconds(N n) noexcept {
  return static_cast<double>(n);
}

/// Parses a number of seconds or a rate string, exactly like `rate(std::string_view)` (Mode
/// uses the rate parser for durations too, so `"10/s"` gives 10 and `"100/h"` 0.0277…).
double want_seconds(std::string_view s);
double want_seconds(const char* s);
double want_seconds(const std::string& s);

/// Converts a rate string to events per second: `"<number>[/<unit>]"` with unit `s`, `m`, `h`
/// or `d` (case-sensitive, none = per second), e.g. `"100/m"` → 100/60.
///
/// Like Mode: whitespace around the number is ignored, scientific notation and `inf` /
/// `infinity` are accepted, and the result is computed by successive divisions by 60, 60, 24
/// so it matches Mode to the last bit. Unlike Mode, which has no check, negative values
/// (a negative duration or rate in a configuration is a typo), NaN (it makes every comparison
/// false) and numbers a double cannot hold (`1e400`) are rejected; `-0` gives 0. Underscores
/// between digits (`1_000`, which Python allows) are not accepted. Every failure throws
/// `std::invalid_argument` whose what() quotes the input.
double rate(std::string_view s);

/// Numbers pass through unchanged, as in Mode.
constexpr double rate(double r) noexcept { return r; }

/// Shows seconds in human form: 60 → `1 minute`, 7200 → `2 hours`, 90 → `1.50 minutes`.
///
/// Uses the largest unit (day, hour, minute, second) not above the value rounded to two
/// decimals, and prints two decimals, dropping `.00`. Unlike Mode, the plural is chosen from
/// the printed number (Mode prints `1.50 second` and `1.00 minute`). Below one second it returns
/// `now`, unless `microseconds` is set, which gives e.g. `0.36 seconds`; negative and NaN values
/// also give `now`, infinity gives `inf days`. `prefix`, `sep` and `suffix` surround a
/// number but are not added to `now`: `humanize_seconds(90, "in ", "~", "now", false, "!")` →
/// `in ~1.50 minutes!`. `suffix` comes last so the common calls stay short.
std::string humanize_seconds(double secs, std::string_view prefix = "", std::string_view sep = "",
                             std::string_view now = "now", bool microseconds = false,
                             std::string_view suffix = "");

/// `humanize_seconds` for the past: 3 → `3 seconds ago`, under one second → `just now`.
std::string humanize_seconds_ago(double secs, std::string_view prefix = "",
                                 std::string_view sep = "", std::string_view now = "just now",
                                 bool microseconds = false, std::string_view suffix = " ago");

}  // namespace mode
