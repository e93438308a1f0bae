// Tests of mode/utils/text.hpp against BEHAVIOUR.md §13, the decisions table and Python's difflib.
#include <mode/utils/text.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <list>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using mode::abbr;
using mode::abbr_fqdn;
using mode::didyoumean;
using mode::enumeration;
using mode::FuzzyMatch;
using mode::fuzzymatch;
using mode::fuzzymatch_best;
using mode::fuzzymatch_choices;
using mode::fuzzymatch_iter;
using mode::maybecat;
using mode::pluralize;
using mode::shorten_fqdn;
using mode::similarity_ratio;
using mode::title;
using Strings = std::vector<std::string>;

// ---- title ----

TEST(TextTitle, CapitalizesEveryWord) {
  EXPECT_EQ(title("the quick brown fox"), "The Quick Brown Fox");
  EXPECT_EQ(title("laZy-doG"), "Lazy Dog");
  EXPECT_EQ(title("laZy_DOG-of-t3-moo_era"), "Lazy Dog Of T3 Moo Era");
  EXPECT_EQ(title("flight_recorder"), "Flight Recorder");
  EXPECT_EQ(title("foo bar"), "Foo Bar");
  EXPECT_EQ(title("foo-bar"), "Foo Bar");
}

TEST(TextTitle, CollapsesSeparatorsAndKeepsNonLetters) {
  EXPECT_EQ(title(""), "");
  EXPECT_EQ(title("  --__  "), "");
  EXPECT_EQ(title("\tone \n two--three"), "One Two Three");
  EXPECT_EQ(title("3d-model"), "3d Model");
  EXPECT_EQ(title("élan vital"), "élan Vital");  // only ASCII letters change case
}

// ---- similarity ratio: every expected value printed by CPython 3.11's difflib ----

TEST(TextRatio, MatchesDifflib) {
  EXPECT_EQ(similarity_ratio("abcd", "bcde"), 0.75);
  EXPECT_EQ(similarity_ratio("boo", "foo"), 0.6666666666666666);
  EXPECT_EQ(similarity_ratio("boo", "bar"), 0.3333333333333333);
  EXPECT_EQ(similarity_ratio("start", "stop"), 0.4444444444444444);
  EXPECT_EQ(similarity_ratio("worker", "wroker"), 0.8333333333333334);
  EXPECT_EQ(similarity_ratio("abcd", "bcda"), 0.75);
  EXPECT_EQ(similarity_ratio("kitten", "sitting"), 0.6153846153846154);
  EXPECT_EQ(similarity_ratio("qabxcd", "abycdf"), 0.6666666666666666);
  EXPECT_EQ(
      similarity_ratio("private Thread currentThread;", "private volatile Thread currentThread;"),
      0.8656716417910447);
  EXPECT_EQ(similarity_ratio("xxx", "foo"), 0.0);
}

TEST(TextRatio, EmptyStrings) {
  EXPECT_EQ(similarity_ratio("", ""), 1.0);
  EXPECT_EQ(similarity_ratio("abc", ""), 0.0);
  EXPECT_EQ(similarity_ratio("", "abc"), 0.0);
}

TEST(TextRatio, IsNotSymmetric) {
  // The earliest-in-a tie-break picks different blocks depending on the order.
  EXPECT_EQ(similarity_ratio("tide", "diet"), 0.25);
  EXPECT_EQ(similarity_ratio("diet", "tide"), 0.5);
}

TEST(TextRatio, AutojunkAppliesFrom200Characters) {
  // In a b of 251 characters, 'b' (250 times) is popular: it cannot seed a block...
  const std::string long_b = "a" + std::string(250, 'b');
  EXPECT_EQ(similarity_ratio("bbb", long_b), 0.0);  // 0.0236… without autojunk
  // ...but a block seeded by 'a' still extends over it, as in difflib.
  EXPECT_EQ(similarity_ratio("ab", long_b), 0.015810276679841896);
  // 199 characters: no autojunk, the b's match.
  const std::string short_b = "a" + std::string(198, 'b');
  EXPECT_EQ(similarity_ratio("bbb", short_b), 2.0 * 3 / 202);

  std::string ab;
  for (int i = 0; i < 150; ++i) ab += "ab";
  EXPECT_EQ(similarity_ratio(std::string(10, 'x') + "abc", ab + "abc"), 0.0189873417721519);
  EXPECT_EQ(similarity_ratio(ab + "abc", std::string(10, 'x') + "abc"), 0.0189873417721519);
}

TEST(TextRatio, CountsCharactersNotBytes) {
  EXPECT_EQ(similarity_ratio("café", "cafe"), 0.75);  // bytes would give 0.666…
  EXPECT_EQ(similarity_ratio("naïve", "naive"), 0.8);
  // Invalid UTF-8: each bad byte is one character, distinct from every real one (Python's
  // surrogateescape decoding gives the same values).
  EXPECT_EQ(similarity_ratio("ab\xff"
                             "cd",
                             "ab\xfe"
                             "cd"),
            0.8);
  EXPECT_EQ(similarity_ratio("ab\xff"
                             "cd",
                             "abcd"),
            0.8888888888888888);
  EXPECT_EQ(similarity_ratio("a\xc3\xa9", "a\xc3"), 0.5);  // a truncated "é" is not "é"
}

// ---- fuzzy matching ----

TEST(TextFuzzymatch, IterYieldsRatiosInHaystackOrder) {
  const Strings haystack{"foo", "moo", "bar", "zoo"};
  const auto matches = fuzzymatch_iter(haystack, "boo");
  ASSERT_EQ(matches.size(), 3u);
  EXPECT_EQ(matches[0], (FuzzyMatch{0.6666666666666666, "foo"}));
  EXPECT_EQ(matches[1].value, "moo");
  EXPECT_EQ(matches[2].value, "zoo");
  EXPECT_TRUE(fuzzymatch_iter(haystack, "xxx").empty());
}

TEST(TextFuzzymatch, MinRatioIsInclusive) {
  EXPECT_EQ(fuzzymatch({"foo", "bar"}, "boo", 0.6666666666666666), Strings{"foo"});
  EXPECT_EQ(fuzzymatch({"foo", "bar"}, "boo", 0.67), Strings{});
  EXPECT_EQ(fuzzymatch({"foo", "bar"}, "boo", 0.0), (Strings{"foo", "bar"}));
  EXPECT_EQ(fuzzymatch({"boo", "bar"}, "boo", 1.0), Strings{"boo"});
  EXPECT_EQ(fuzzymatch({"", "x"}, "", 1.0), Strings{""});
}

// Elements made on the fly and returned by value, as a transform view gives them (not used here:
// clang 14 cannot compile libstdc++ 12's views).
struct MadeOnTheFly {
  struct iterator {
    using value_type = std::string;
    using difference_type = std::ptrdiff_t;
    int i = 0;
    std::string operator*() const { return "item" + std::to_string(i); }
    iterator& operator++() {
      ++i;
      return *this;
    }
    void operator++(int) { ++i; }
    bool operator==(const iterator&) const = default;
  };
  iterator begin() const { return {0}; }
  iterator end() const { return {3}; }
};

TEST(TextFuzzymatch, AcceptsAnyStringRange) {
  const std::array<const char*, 3> array{"foo", "bar", "baz"};
  EXPECT_EQ(fuzzymatch(array, "boo"), Strings{"foo"});
  const std::set<std::string_view> set{"zoo", "foo"};
  EXPECT_EQ(fuzzymatch(set, "boo"), (Strings{"foo", "zoo"}));
  const std::list<std::string> list{"restart"};
  EXPECT_EQ(fuzzymatch(list, "restrat"), Strings{"restart"});
  EXPECT_EQ(fuzzymatch(MadeOnTheFly{}, "item1", 1.0), Strings{"item1"});
  EXPECT_EQ(fuzzymatch_best(MadeOnTheFly{}, "item7"), "item2");
}

TEST(TextFuzzymatch, BestPrefersHighestRatioThenGreatestValue) {
  EXPECT_EQ(fuzzymatch_best({"foo", "fop", "mop"}, "moo"), "mop");
  EXPECT_EQ(fuzzymatch_best({"mop", "foo"}, "moo"), "mop");
  EXPECT_EQ(fuzzymatch_best({"xab", "mup", "sop"}, "yyy"), std::nullopt);
  EXPECT_EQ(fuzzymatch_best({"stop", "restart", "start", "status", "started"}, "statr"), "start");
  EXPECT_EQ(fuzzymatch_best(Strings{}, "x"), std::nullopt);
}

TEST(TextFuzzymatch, Choices) {
  EXPECT_EQ(fuzzymatch_choices({"foo", "bar"}, "boo"), "foo");
  EXPECT_EQ(fuzzymatch_choices({"foo", "moo"}, "boo"), "one of foo, moo");
  EXPECT_EQ(fuzzymatch_choices({"bar"}, "boo"), "");
  EXPECT_EQ(fuzzymatch_choices({"bar"}, "boo", {.fmt_none = "no idea {alt}"}), "no idea {alt}");
  EXPECT_EQ(fuzzymatch_choices({"foo", "moo"}, "boo", {.fmt_many = "{{{alt}}}"}), "{foo, moo}");
  EXPECT_EQ(fuzzymatch_choices({"foo", "bar"}, "boo", {.fmt_one = "[{alt:>5}]"}), "[  foo]");
  EXPECT_EQ(fuzzymatch_choices({"foo", "moo"}, "boo", {.min_ratio = 0.7}), "");
}

TEST(TextDidyoumean, ModesExamples) {
  EXPECT_EQ(didyoumean({"foo", "bar", "baz"}, "boo"), "Did you mean foo?");
  EXPECT_EQ(didyoumean({"foo", "moo", "bar"}, "boo"), "Did you mean one of foo, moo?");
  EXPECT_EQ(didyoumean({"foo", "moo", "zoo"}, "boo"), "Did you mean one of foo, moo, zoo?");
  EXPECT_EQ(didyoumean({"foo", "bar", "baz"}, "xxx"), "");
  EXPECT_EQ(didyoumean({"foo", "moo", "bar"}, "xxx"), "");
}

TEST(TextDidyoumean, CustomFormatsAndRatio) {
  const Strings modes{"worker", "web", "client"};
  EXPECT_EQ(didyoumean(modes, "wroker", {.fmt_one = "Try {alt}."}), "Try worker.");
  EXPECT_EQ(didyoumean(modes, "wroker", {.min_ratio = 0.9}), "");
  EXPECT_EQ(didyoumean(modes, "zzz", {.fmt_none = "Choose one of worker, web, client."}),
            "Choose one of worker, web, client.");
}

TEST(TextDidyoumean, RejectsBadRatio) {
  for (const double bad : {-0.1, 1.5, std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::infinity()}) {
    EXPECT_THROW(didyoumean({"foo"}, "boo", {.min_ratio = bad}), std::invalid_argument) << bad;
    EXPECT_THROW(fuzzymatch_iter({"foo"}, "boo", bad), std::invalid_argument) << bad;
  }
  // Checked even with nothing to match against.
  EXPECT_THROW(fuzzymatch_best(Strings{}, "boo", 2.0), std::invalid_argument);
}

TEST(TextDidyoumean, RejectsBadFormats) {
  // A format is checked on every call, even when another one is used.
  EXPECT_THROW(didyoumean({"foo"}, "boo", {.fmt_many = "{alt"}), std::invalid_argument);
  EXPECT_THROW(didyoumean({"xxx"}, "boo", {.fmt_one = "{other}"}), std::invalid_argument);
  EXPECT_THROW(fuzzymatch_choices({"foo"}, "boo", {.fmt_one = "}"}), std::invalid_argument);
  try {
    didyoumean({"foo"}, "boo", {.fmt_one = "Did you mean {alt!r}?"});
    ADD_FAILURE() << "accepted a bad format";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string_view(e.what()).find("{alt!r}"), std::string_view::npos) << e.what();
  }
}

// ---- enumeration ----

TEST(TextEnumeration, NumbersItems) {
  EXPECT_EQ(enumeration({"x", "y", "z"}), "1) x\n2) y\n3) z");
  EXPECT_EQ(enumeration({"x", "y", "..."}), "1) x\n2) y\n3) ...");
  EXPECT_EQ(enumeration(Strings{}), "");
  EXPECT_EQ(enumeration({"a", "b"}, 0, ", ", "{index}:{item}"), "0:a, 1:b");
  EXPECT_EQ(enumeration({"a"}, -5), "-5) a");
  EXPECT_EQ(enumeration({"a", "b"}, 9, " ", "{index:>2}. {item}"), " 9. a 10. b");
}

TEST(TextEnumeration, RejectsBadTemplateAndOverflow) {
  EXPECT_THROW(enumeration({"a"}, 1, "\n", "{index"), std::invalid_argument);
  EXPECT_THROW(enumeration({"a"}, 1, "\n", "{count}"), std::invalid_argument);
  constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(enumeration({"a"}, kMax), std::to_string(kMax) + ") a");
  EXPECT_THROW(enumeration({"a", "b"}, kMax), std::out_of_range);
}

// ---- abbr ----

constexpr std::string_view kSentence = "The quick brown hippopotamus jumped over the funny dog";

TEST(TextAbbr, HardCutByDefault) {
  EXPECT_EQ(abbr(kSentence, 27), "The quick brown hippopot...");
  EXPECT_EQ(abbr(kSentence, 27).size(), 27u);
  EXPECT_EQ(abbr("hello world", 5, ""), "hello");
  EXPECT_EQ(abbr("hello world", 8), "hello...");
  EXPECT_EQ(abbr("helloworld", 5), "he...");
  EXPECT_EQ(abbr("hello world", 3), "...");
}

TEST(TextAbbr, WordsCutsAtAWordBoundary) {
  // Decision D18: `words` means what it says (Mode inverts the flag).
  EXPECT_EQ(abbr(kSentence, 27, "...", true), "The quick brown...");
  EXPECT_EQ(abbr("hello world", 10, "...", true), "hello...");
  // The cut falls right before a space: the last word is whole and kept.
  EXPECT_EQ(abbr("hello world foo", 14, "...", true), "hello world...");
  EXPECT_EQ(abbr("hello  world foo", 10, "", true), "hello");
  // A single word longer than the room is cut hard.
  EXPECT_EQ(abbr("helloworld", 5, "...", true), "he...");
  EXPECT_EQ(abbr("a bcdefghij", 6, "...", true), "a...");
}

TEST(TextAbbr, ShortTextIsUnchanged) {
  for (const bool words : {false, true}) {
    EXPECT_EQ(abbr("hello world", 11, "...", words), "hello world");  // Mode cuts at == max
    EXPECT_EQ(abbr("hello", 100, "...", words), "hello");
    EXPECT_EQ(abbr("", 3, "...", words), "");
    EXPECT_EQ(abbr(kSentence, 0, "...", words), kSentence);  // 0: no limit
  }
}

TEST(TextAbbr, SuffixLongerThanMax) {
  EXPECT_EQ(abbr("hello world", 2), "he");
  EXPECT_EQ(abbr("hello world", 2, "...", true), "he");
}

TEST(TextAbbr, NeverSplitsACharacter) {
  EXPECT_EQ(abbr("ééééé", 4), "é...");
  EXPECT_EQ(abbr("ééééé", 5), "ééééé");
  EXPECT_EQ(abbr("日本語のテキスト", 3, ""), "日本語");
  EXPECT_EQ(abbr("très bien merci", 9, "…", true), "très…");
}

// ---- qualified names ----

TEST(TextAbbrFqdn, RemovesOrigin) {
  EXPECT_EQ(abbr_fqdn("examples.simple", "examples.simple.Withdrawal", "[...]"), "[...]Withdrawal");
  EXPECT_EQ(abbr_fqdn("examples.simple", "examples.simple.Withdrawal"), "Withdrawal");
  EXPECT_EQ(abbr_fqdn("examples.simple", "examples.other.Foo", "[...]"), "examples.other.Foo");
}

TEST(TextAbbrFqdn, OriginMustEndAtADot) {
  // Mode gives "[..]oo.Bar" here.
  EXPECT_EQ(abbr_fqdn("examples", "examplesfoo.Bar", "[..]"), "examplesfoo.Bar");
  EXPECT_EQ(abbr_fqdn("examples", "examples", "[..]"), "examples");
  EXPECT_EQ(abbr_fqdn("", "examples.Bar", "[..]"), "examples.Bar");
  EXPECT_EQ(abbr_fqdn("a", "a.b.c"), "b.c");
}

TEST(TextShortenFqdn, CutsTheModulePart) {
  EXPECT_EQ(shorten_fqdn("faust.utils.transformators.frobster"),
            "faust.utils.transform[.]frobster");
  EXPECT_EQ(shorten_fqdn("faust.utils.transformators.frobster").size(), 32u);
  EXPECT_EQ(shorten_fqdn("mode.utils.collections.LRUCache", 20), "mode.util[.]LRUCache");
  EXPECT_EQ(shorten_fqdn("mode.utils.collections.LRUCache", 31), "mode.utils.collections.LRUCache");
  EXPECT_EQ(shorten_fqdn("averyveryveryverylongnamewithoutanydotatallinsideit"),
            "averyveryveryverylongnamewithoutanydotatallinsideit");
  EXPECT_EQ(shorten_fqdn("short.Name"), "short.Name");
}

TEST(TextShortenFqdn, LongLastComponent) {
  EXPECT_EQ(shorten_fqdn("mode.utils.collections.LRUCache", 11), "[.]LRUCache");
  EXPECT_EQ(shorten_fqdn("mode.utils.collections.LRUCache", 5), "[.]LRUCache");
  EXPECT_EQ(shorten_fqdn("mode.utils.collections.LRUCache", 0), "[.]LRUCache");
  EXPECT_EQ(shorten_fqdn("módulo.ñandú.Clase", 12), "módu[.]Clase");
}

// ---- small helpers ----

TEST(TextPluralize, OnlyOneIsSingular) {
  EXPECT_EQ(pluralize(1, "file"), "file");
  for (const std::int64_t n : {0, 2, -1, -2, 100}) EXPECT_EQ(pluralize(n, "file"), "files") << n;
  EXPECT_EQ(pluralize(2, "box", "es"), "boxes");
  EXPECT_EQ(pluralize(1, "box", "es"), "box");
}

TEST(TextValidUtf8, ReplacesEachInvalidByte) {
  EXPECT_EQ(mode::valid_utf8("plain"), "plain");
  EXPECT_EQ(mode::valid_utf8("caf\u00E9 \u20AC \U0001F600"), "caf\u00E9 \u20AC \U0001F600");
  EXPECT_EQ(mode::valid_utf8("a\xFF"
                             "b"),
            "a\uFFFD"
            "b");
  // A truncated sequence, an overlong form, a surrogate: one replacement per byte.
  EXPECT_EQ(mode::valid_utf8("\xE2\x82"), "\uFFFD\uFFFD");
  EXPECT_EQ(mode::valid_utf8("\xC0\xAF"), "\uFFFD\uFFFD");
  EXPECT_EQ(mode::valid_utf8("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");
  EXPECT_EQ(mode::valid_utf8(std::string_view("\0x", 2)), std::string_view("\0x", 2));
}

TEST(TextMaybecat, ConcatenatesOnlyAValue) {
  EXPECT_EQ(maybecat(std::nullopt, "x", "y"), std::nullopt);
  EXPECT_EQ(maybecat("foo"), "foo");
  EXPECT_EQ(maybecat("foo", ".txt"), "foo.txt");
  EXPECT_EQ(maybecat("foo", ".txt", "/tmp/"), "/tmp/foo.txt");
  EXPECT_EQ(maybecat("", "s", "p"), "ps");
  const std::optional<std::string_view> none;
  EXPECT_FALSE(maybecat(none, "s").has_value());
}

}  // namespace
