// Tests of mode/utils/times.hpp against BEHAVIOUR.md §11 and the decisions table.
#include <mode/utils/times.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace {

using namespace std::chrono_literals;
using mode::humanize_seconds;
using mode::humanize_seconds_ago;
using mode::rate;
using mode::Seconds;
using mode::want_seconds;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Asserts that `f(input)` throws std::invalid_argument whose message quotes the input.
template <class F>
void expect_rejected(F f, std::string_view input, std::string_view quoted) {
  try {
    f(input);
    ADD_FAILURE() << "accepted " << input;
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string_view(e.what()).find(quoted), std::string_view::npos)
        << "message " << e.what() << " does not quote " << quoted;
  }
}

// ---- Seconds ----

static_assert(Seconds().count() == 0.0);
static_assert(Seconds(2).count() == 2.0);
static_assert(Seconds(1.5f).count() == 1.5);
static_assert(Seconds(1500ms).count() == 1.5);
static_assert(Seconds(2min).count() == 120.0);
static_assert(Seconds(1s) == Seconds(1));
static_assert(Seconds(1) < Seconds(2));
static_assert(want_seconds(3) == 3.0);
static_assert(want_seconds(0) == 0.0);  // the literal 0 is not read as a null string
static_assert(rate(2.5) == 2.5);
static_assert(std::is_convertible_v<int, Seconds>);
static_assert(std::is_convertible_v<double, Seconds>);
static_assert(std::is_convertible_v<std::chrono::nanoseconds, Seconds>);
static_assert(std::is_convertible_v<const char*, Seconds>);
static_assert(std::is_convertible_v<std::string, Seconds>);
static_assert(std::is_convertible_v<std::string_view, Seconds>);
static_assert(!std::is_convertible_v<bool, Seconds>);  // decision: a bool duration is a bug
static_assert(std::is_nothrow_constructible_v<Seconds, double>);
static_assert(std::is_nothrow_constructible_v<Seconds, std::chrono::milliseconds>);

double takes_seconds(Seconds s) { return s.count(); }

TEST(Seconds, ConvertsImplicitlyFromNumbersDurationsAndStrings) {
  EXPECT_EQ(takes_seconds(0), 0.0);
  EXPECT_EQ(takes_seconds(5), 5.0);
  EXPECT_EQ(takes_seconds(0.25), 0.25);
  EXPECT_EQ(takes_seconds(250ms), 0.25);
  EXPECT_EQ(takes_seconds(std::chrono::duration<double>(0.125)), 0.125);
  EXPECT_EQ(takes_seconds("1.5"), 1.5);
  EXPECT_EQ(takes_seconds(std::string("10/s")), 10.0);
  EXPECT_EQ(takes_seconds(std::string_view("100/h")), 0.02777777777777778);
  EXPECT_EQ(takes_seconds(-2), -2.0);  // numbers are stored as given
}

TEST(Seconds, BadStringThrowsQuotingInput) {
  expect_rejected([](std::string_view s) { return Seconds(s); }, "abc", "\"abc\"");
  expect_rejected([](std::string_view s) { return Seconds(std::string(s)); }, "1/x", "\"1/x\"");
  try {
    Seconds("abc");
    ADD_FAILURE();
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "invalid seconds \"abc\": not a number");
  }
  EXPECT_THROW(Seconds(static_cast<const char*>(nullptr)), std::invalid_argument);
}

TEST(Seconds, Compares) {
  EXPECT_EQ(Seconds(1500ms), Seconds("1.5"));
  EXPECT_LT(Seconds(1), Seconds(1001ms));
  EXPECT_TRUE(Seconds(2) > 1);
  EXPECT_TRUE(Seconds(kNaN) != Seconds(kNaN));
}

TEST(Seconds, DurationSaturates) {
  using D = std::chrono::steady_clock::duration;
  EXPECT_EQ(Seconds(1.5).duration(), 1500ms);
  EXPECT_EQ(Seconds(0.3).duration(), 300ms);
  EXPECT_EQ(Seconds(1e-9).duration(), 1ns);
  EXPECT_EQ(Seconds(0).duration(), D::zero());
  EXPECT_EQ(Seconds(-2).duration(), -2s);  // an already expired deadline
  EXPECT_EQ(Seconds(250ms).duration(), 250ms);
  EXPECT_EQ(Seconds(kInf).duration(), D::max());
  EXPECT_EQ(Seconds(1e300).duration(), D::max());
  EXPECT_EQ(Seconds(-kInf).duration(), D::min());
  EXPECT_EQ(Seconds(-1e300).duration(), D::min());
  EXPECT_EQ(Seconds(kNaN).duration(), D::zero());
  EXPECT_EQ(Seconds("inf").duration(), D::max());
}

// ---- want_seconds (BEHAVIOUR.md §11.2 and the manual's changelog examples) ----

TEST(WantSeconds, NumbersAndDurationsPassThrough) {
  EXPECT_EQ(want_seconds(1), 1.0);
  EXPECT_EQ(want_seconds(2.5), 2.5);
  EXPECT_EQ(want_seconds(1500ms), 1.5);
  EXPECT_EQ(want_seconds(Seconds(7)), 7.0);
}

TEST(WantSeconds, StringsUseTheRateParser) {
  EXPECT_EQ(want_seconds("1.203"), 1.203);
  EXPECT_EQ(want_seconds("10/s"), 10.0);
  EXPECT_EQ(want_seconds("10.3/h"), 0.0028611111111111116);
  EXPECT_EQ(want_seconds("100/h"), 0.02777777777777778);
  EXPECT_EQ(want_seconds("100/d"), 0.0011574074074074076);
  EXPECT_EQ(want_seconds(std::string("1.5")), 1.5);
  EXPECT_EQ(want_seconds(std::string_view("1.5")), 1.5);
}

TEST(WantSeconds, BadStringThrowsQuotingInput) {
  auto f = [](std::string_view s) { return want_seconds(s); };
  expect_rejected(f, "", "\"\"");
  expect_rejected(f, "abc", "\"abc\"");
  expect_rejected(f, "1/x", "\"1/x\"");
  EXPECT_THROW(want_seconds("nan"), std::invalid_argument);
  EXPECT_THROW(want_seconds(std::string("-1")), std::invalid_argument);
  EXPECT_THROW(want_seconds(static_cast<const char*>(nullptr)), std::invalid_argument);
}

// ---- rate (BEHAVIOUR.md §11.3) ----

TEST(Rate, BehaviourExamples) {
  EXPECT_EQ(rate("1.234"), 1.234);
  EXPECT_EQ(rate("10/s"), 10.0);
  EXPECT_EQ(rate("10/m"), 0.16666666666666666);
  EXPECT_EQ(rate("8.3/m"), 0.13833333333333334);
  EXPECT_EQ(rate("100/h"), 0.02777777777777778);
  EXPECT_EQ(rate("1333/d"), 0.01542824074074074);
  EXPECT_EQ(rate("60/m"), 1.0);
  EXPECT_EQ(rate("1e3/h"), 0.2777777777777778);
  EXPECT_EQ(rate(" 5 /s"), 5.0);
  EXPECT_EQ(rate("1/"), 1.0);
  EXPECT_EQ(rate("0/s"), 0.0);
  EXPECT_EQ(rate("100/m"), 1.6666666666666667);
  EXPECT_EQ(rate("10.3/h"), 0.0028611111111111116);
  EXPECT_EQ(rate("100/d"), 0.0011574074074074076);
  // Mode gives -2.0 for "-2/s"; mode-cpp rejects negative strings (see the header).
  expect_rejected([](std::string_view s) { return rate(s); }, "-2/s", "\"-2/s\"");
  // Mode: value error and key error; both are std::invalid_argument here.
  expect_rejected([](std::string_view s) { return rate(s); }, "/s", "\"/s\"");
  expect_rejected([](std::string_view s) { return rate(s); }, "5/S", "\"5/S\"");
}

TEST(Rate, NumbersPassThrough) {
  EXPECT_EQ(rate(3), 3.0);
  EXPECT_EQ(rate(0.5), 0.5);
  EXPECT_EQ(rate(-1.0), -1.0);
}

TEST(Rate, AcceptsWhatPythonFloatAccepts) {
  EXPECT_EQ(rate("+5"), 5.0);
  EXPECT_EQ(rate("\t7\n"), 7.0);
  EXPECT_EQ(rate(".5"), 0.5);
  EXPECT_EQ(rate("5."), 5.0);
  EXPECT_EQ(rate("1E3"), 1000.0);
  EXPECT_EQ(rate("2.5e-1/s"), 0.25);
  EXPECT_EQ(rate("inf"), kInf);
  EXPECT_EQ(rate("Infinity/m"), kInf);
  EXPECT_EQ(rate("+inf/h"), kInf);
}

TEST(Rate, NegativeZeroIsZero) {
  const double zero = rate("-0/s");
  EXPECT_EQ(zero, 0.0);
  EXPECT_FALSE(std::signbit(zero));
  EXPECT_FALSE(std::signbit(rate("-0.0")));
}

TEST(Rate, MalformedThrowsQuotingInput) {
  auto f = [](std::string_view s) { return rate(s); };
  for (const std::string_view bad :
       {"",      " ",     "abc",    "1/x", "/s",  "1//s",  "/",     "5/ s", "5/s ",
        "5/min", "5/sec", "1/S",    "1/M", "nan", "NaN/s", "-nan",  "-1",   "-0.5/m",
        "-inf",  "1e400", "1e-400", "+-5", "-+5", "--5",   "++5",   "1 2",  "0x10",
        "1_000", "1e",    "e5",     ".",   "5s",  "1,5",   "nan(1)"}) {
    std::string quoted = "\"";
    quoted += bad;
    quoted += '"';
    expect_rejected(f, bad, quoted);
  }
}

TEST(Rate, MessagesNameTheProblem) {
  auto message = [](std::string_view s) -> std::string {
    try {
      rate(s);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "accepted";
  };
  EXPECT_EQ(message("1/x"), R"(invalid rate "1/x": unknown unit "x" (expected s, m, h or d))");
  EXPECT_EQ(message("1//s"), R"(invalid rate "1//s": unknown unit "/s" (expected s, m, h or d))");
  EXPECT_EQ(message("/s"), R"(invalid rate "/s": no number)");
  EXPECT_EQ(message(""), R"(invalid rate "": no number)");
  EXPECT_EQ(message("abc"), R"(invalid rate "abc": not a number)");
  EXPECT_EQ(message("nan"), R"(invalid rate "nan": not a number (NaN))");
  EXPECT_EQ(message("-1/s"), R"(invalid rate "-1/s": negative)");
  EXPECT_EQ(message("1e400"), R"(invalid rate "1e400": number out of range)");
  // Control characters and quotes are escaped, so the message stays one printable line.
  EXPECT_EQ(message(std::string_view("a\"b\n\x01", 5)),
            R"(invalid rate "a\"b\n\x01": not a number)");
}

// ---- humanize_seconds (BEHAVIOUR.md §11.5 with the D19 fix) ----
// Mode prints "<n>.00 <unit>" and picks the plural from int(value); mode-cpp drops ".00" and
// picks the plural from the printed number. Mode's literal output is in each comment.

TEST(HumanizeSeconds, BehaviourExamples) {
  EXPECT_EQ(humanize_seconds(345600), "4 days");  // 4.00 days
  EXPECT_EQ(humanize_seconds(86400), "1 day");    // 1.00 day
  EXPECT_EQ(humanize_seconds(14400), "4 hours");  // 4.00 hours
  EXPECT_EQ(humanize_seconds(3600), "1 hour");    // 1.00 hour
  EXPECT_EQ(humanize_seconds(240), "4 minutes");  // 4.00 minutes
  EXPECT_EQ(humanize_seconds(60), "1 minute");    // 1.00 minute
  EXPECT_EQ(humanize_seconds(4), "4 seconds");    // 4.00 seconds
  EXPECT_EQ(humanize_seconds(1), "1 second");     // 1.00 second
  EXPECT_EQ(humanize_seconds(4.3567631221), "4.36 seconds");
  EXPECT_EQ(humanize_seconds(0.36), "now");
  EXPECT_EQ(humanize_seconds(0.36, "", "", "now", true), "0.36 seconds");
  EXPECT_EQ(humanize_seconds(0), "now");
  EXPECT_EQ(humanize_seconds(0.004), "now");
  EXPECT_EQ(humanize_seconds(0.005, "", "", "now", true), "0.01 seconds");
  EXPECT_EQ(humanize_seconds(0.999), "1 second");   // 1.00 second
  EXPECT_EQ(humanize_seconds(59.999), "1 minute");  // 1.00 minute
  EXPECT_EQ(humanize_seconds(1e6), "11.57 days");
  EXPECT_EQ(humanize_seconds(-5), "now");
  EXPECT_EQ(humanize_seconds(4, "about "), "about 4 seconds");  // about 4.00 seconds
  EXPECT_EQ(humanize_seconds(90, "in ", "~", "now", false, "!"), "in ~1.50 minutes!");  // minute!
  // The manual's docstring examples.
  EXPECT_EQ(humanize_seconds(7200), "2 hours");
}

TEST(HumanizeSeconds, PluralFollowsThePrintedNumber) {
  EXPECT_EQ(humanize_seconds(1.5), "1.50 seconds");  // Mode: 1.50 second
  EXPECT_EQ(humanize_seconds(119), "1.98 minutes");  // Mode: 1.98 minute
  EXPECT_EQ(humanize_seconds(86399), "24 hours");    // Mode: 24.00 hours
  EXPECT_EQ(humanize_seconds(1.004), "1 second");
  EXPECT_EQ(humanize_seconds(1.01), "1.01 seconds");
  EXPECT_EQ(humanize_seconds(2.675), "2.67 seconds");  // 2.675 is just below in binary
  EXPECT_EQ(humanize_seconds(0.5, "", "", "now", true), "0.50 seconds");
}

TEST(HumanizeSeconds, NowIsReturnedBare) {
  EXPECT_EQ(humanize_seconds(0.1, "in ", "~", "right away", false, "!"), "right away");
  EXPECT_EQ(humanize_seconds(0.004, "in ", "", "now", true), "now");
  EXPECT_EQ(humanize_seconds(-0.5, "", "", "now", true), "now");
}

TEST(HumanizeSeconds, NonFiniteValues) {
  EXPECT_EQ(humanize_seconds(kNaN), "now");
  EXPECT_EQ(humanize_seconds(-kInf), "now");
  EXPECT_EQ(humanize_seconds(kInf), "inf days");  // Mode raises OverflowError
}

TEST(HumanizeSecondsAgo, BehaviourExamples) {
  EXPECT_EQ(humanize_seconds_ago(3), "3 seconds ago");  // 3.00 seconds ago
  EXPECT_EQ(humanize_seconds_ago(0.2), "just now");
  EXPECT_EQ(humanize_seconds_ago(0.2, "", "", "just now", true), "0.20 seconds ago");
  EXPECT_EQ(humanize_seconds_ago(3.333), "3.33 seconds ago");
  EXPECT_EQ(humanize_seconds_ago(60), "1 minute ago");
  EXPECT_EQ(humanize_seconds_ago(0.9), "just now");
  EXPECT_EQ(humanize_seconds_ago(7200, "", "", "just now", false, " earlier"), "2 hours earlier");
}

}  // namespace
