// Text utilities (Mode's mode.utils.text): fuzzy matching of user input against known names
// ("Did you mean foo?"), title case, abbreviation of long text and of qualified names.
//
// Strings are UTF-8. Lengths, cuts and the similarity ratio count characters (code points) as
// Python does, so a cut never splits a character and the same inputs give Mode's suggestions; a
// byte that is not valid UTF-8 counts as one character of its own. Nothing here keeps state:
// every function may be called from any thread. Bad arguments (a ratio outside [0, 1], a format
// that does not parse) throw std::invalid_argument.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <vector>

namespace mode {

/// One fuzzy match: how similar the candidate is to the needle (0 to 1) and the candidate.
struct FuzzyMatch {
  double ratio = 0.0;
  std::string value;

  friend bool operator==(const FuzzyMatch&, const FuzzyMatch&) = default;
};

/// A range whose elements read as strings: `std::vector<std::string>`, a `std::set` of
/// `std::string_view`, an array of `const char*`, the keys of a map through `std::views::keys`.
template <class R>
concept StringRange = std::ranges::input_range<R> &&
    std::convertible_to<std::ranges::range_reference_t<R>, std::string_view>;

/// Options of `fuzzymatch_choices`. In `fmt_many` and `fmt_one`, Python `str.format` strings
/// (`{{` for a brace), the `{alt}` field receives the matches joined by `", "`; `fmt_none` is
/// plain text, returned as it is (as in Mode).
struct FuzzyChoicesOptions {
  std::string_view fmt_many = "one of {alt}";
  std::string_view fmt_one = "{alt}";
  std::string_view fmt_none = "";
  double min_ratio = 0.6;
};

/// Options of `didyoumean`; same fields as `FuzzyChoicesOptions`, with a sentence as format.
struct DidYouMeanOptions {
  std::string_view fmt_many = "Did you mean one of {alt}?";
  std::string_view fmt_one = "Did you mean {alt}?";
  std::string_view fmt_none = "";
  double min_ratio = 0.6;
};

/// Title case: `-` and `_` become spaces, words are split on whitespace and each is written
/// with its first letter upper case and the rest lower case, joined by one space.
/// `"laZy_DOG-of-t3"` → `Lazy Dog Of T3`. Only ASCII letters change case.
std::string title(std::string_view s);

/// The similarity of two strings, exactly Python's `difflib.SequenceMatcher(None, a, b).ratio()`:
/// `2·M / (len(a) + len(b))`, where M counts the characters of the matching blocks found by
/// Ratcliff/Obershelp, including difflib's "autojunk" rule for a `b` of 200 or more characters
/// (a character making up more than 1% of it cannot start a block). 1.0 when both are empty.
/// Not symmetric in general. A string of 4 GiB or more throws std::invalid_argument.
/// `similarity_ratio("abcd", "bcde")` = 0.75, `similarity_ratio("boo", "foo")` = 0.666….
double similarity_ratio(std::string_view a, std::string_view b);

namespace detail {

// The needle of a fuzzy search, decoded once for all the candidates.
class FuzzyNeedle {
 public:
  // Throws std::invalid_argument unless 0 ≤ min_ratio ≤ 1.
  FuzzyNeedle(std::string_view needle, double min_ratio);

  // The ratio of `candidate` if it is at least min_ratio.
  std::optional<double> match(std::string_view candidate) const;

 private:
  std::string needle_;
  std::u32string decoded_;
  bool ascii_;
  double min_ratio_;
};

std::string format_choices(const std::vector<std::string>& alternatives, std::string_view fmt_many,
                           std::string_view fmt_one, std::string_view fmt_none);

void append_enumeration_item(std::string& out, std::string_view tmpl, std::int64_t index,
                             std::string_view item);

std::int64_t next_enumeration_index(std::int64_t index);

}  // namespace detail

/// Every candidate of `haystack` (in its order) whose similarity to `needle` is at least
/// `min_ratio`, with its ratio (`similarity_ratio(needle, candidate)`). Mode yields these
/// lazily; here they come as a vector. Throws std::invalid_argument unless 0 ≤ min_ratio ≤ 1.
template <StringRange R = std::initializer_list<std::string_view>>
std::vector<FuzzyMatch> fuzzymatch_iter(R&& haystack, std::string_view needle,
                                        double min_ratio = 0.6) {
  const detail::FuzzyNeedle fuzzy(needle, min_ratio);
  std::vector<FuzzyMatch> matches;
  for (auto&& candidate : haystack) {
    const std::string_view value = candidate;
    if (const auto ratio = fuzzy.match(value)) matches.push_back({*ratio, std::string(value)});
  }
  return matches;
}

/// The values of `fuzzymatch_iter`: the close candidates, in haystack order.
template <StringRange R = std::initializer_list<std::string_view>>
std::vector<std::string> fuzzymatch(R&& haystack, std::string_view needle, double min_ratio = 0.6) {
  std::vector<std::string> values;
  for (auto& match : fuzzymatch_iter(std::forward<R>(haystack), needle, min_ratio)) {
    values.push_back(std::move(match.value));
  }
  return values;
}

/// The closest candidate with a ratio of at least `min_ratio`, or nullopt. Among equal ratios
/// the greatest string wins, as in Mode (which sorts the (ratio, value) pairs):
/// `fuzzymatch_best({"foo", "fop", "mop"}, "moo")` → `mop`.
template <StringRange R = std::initializer_list<std::string_view>>
std::optional<std::string> fuzzymatch_best(R&& haystack, std::string_view needle,
                                           double min_ratio = 0.6) {
  std::optional<FuzzyMatch> best;
  for (auto& match : fuzzymatch_iter(std::forward<R>(haystack), needle, min_ratio)) {
    if (!best || match.ratio > best->ratio ||
        (match.ratio == best->ratio && match.value > best->value)) {
      best = std::move(match);
    }
  }
  if (!best) return std::nullopt;
  return std::move(best->value);
}

/// The close candidates (in haystack order) as text: `fmt_none` when there is none, `fmt_one`
/// for one, `fmt_many` for several, with `{alt}` replaced by the matches joined by `", "`.
/// `fmt_many` or `fmt_one` not parsing (checked on every call, whatever the matches) throws
/// std::invalid_argument, as does a `min_ratio` outside [0, 1].
template <StringRange R = std::initializer_list<std::string_view>>
std::string fuzzymatch_choices(R&& haystack, std::string_view needle,
                               const FuzzyChoicesOptions& options = {}) {
  return detail::format_choices(fuzzymatch(std::forward<R>(haystack), needle, options.min_ratio),
                                options.fmt_many, options.fmt_one, options.fmt_none);
}

/// A hint to append to an "unknown name" error: `didyoumean({"foo", "bar", "baz"}, "boo")` →
/// `Did you mean foo?`; `({"foo", "moo", "bar"}, "boo")` → `Did you mean one of foo, moo?`;
/// nothing close → `""`. Same rules and errors as `fuzzymatch_choices`, other default formats:
/// `throw std::invalid_argument("Unknown mode: " + m + "! " + didyoumean(modes, m));`.
template <StringRange R = std::initializer_list<std::string_view>>
std::string didyoumean(R&& haystack, std::string_view needle,
                       const DidYouMeanOptions& options = {}) {
  return detail::format_choices(fuzzymatch(std::forward<R>(haystack), needle, options.min_ratio),
                                options.fmt_many, options.fmt_one, options.fmt_none);
}

/// Numbered list: `enumeration({"x", "y", "z"})` → `"1) x\n2) y\n3) z"`. `tmpl` is a Python
/// `str.format` string with the fields `{index}` and `{item}` (format specs such as
/// `{index:>3}` work); a template that does not parse throws std::invalid_argument.
template <StringRange R = std::initializer_list<std::string_view>>
std::string enumeration(R&& items, std::int64_t start = 1, std::string_view sep = "\n",
                        std::string_view tmpl = "{index}) {item}") {
  std::string out;
  std::int64_t index = start;
  bool first = true;
  for (auto&& item : items) {
    if (!first) {
      out += sep;
      index = detail::next_enumeration_index(index);
    }
    first = false;
    detail::append_enumeration_item(out, tmpl, index, std::string_view(item));
  }
  return out;
}

/// Shortens `s` to at most `max` characters, the last of them `suffix`; `s` is returned
/// unchanged when it is not longer than `max`, or when `max` is 0 (no limit, as in Mode).
///
/// Without `words` the cut is hard: `abbr("hello world", 8)` → `hello...`. With `words` it is
/// at a word boundary, as the flag says (Mode inverts the flag): whitespace before the cut point
/// ends the text, and a single word longer than the room left is cut hard.
/// `abbr("The quick brown hippopotamus jumped", 27, "...", true)` → `The quick brown...`.
/// Unlike Mode, the result never exceeds `max` and a string of exactly `max` characters is
/// kept. When `suffix` is longer than `max`, the first `max` characters are returned without it.
std::string abbr(std::string_view s, std::size_t max, std::string_view suffix = "...",
                 bool words = false);

/// Removes the `origin` package from a qualified name: `abbr_fqdn("examples.simple",
/// "examples.simple.Withdrawal", "[...]")` → `[...]Withdrawal`. A name outside origin is
/// returned unchanged. Unlike Mode, origin must end at a dot of the name (Mode turns
/// `("examples", "examplesfoo.Bar")` into `oo.Bar`), so an empty origin changes nothing.
std::string abbr_fqdn(std::string_view origin, std::string_view name, std::string_view prefix = "");

/// Shortens a qualified name longer than `max` characters by cutting its module part and
/// marking the cut with `[.]`, keeping the last component whole:
/// `shorten_fqdn("mode.utils.collections.LRUCache", 20)` → `mode.util[.]LRUCache`. A name
/// without a dot, or not longer than `max`, is unchanged; when the last component alone leaves
/// no room, the module part is dropped (`[.]LRUCache`) and the result exceeds `max`.
std::string shorten_fqdn(std::string_view s, std::size_t max = 32);

/// `text` + `suffix` unless `n` is exactly 1: `pluralize(0, "file")` → `files`.
std::string pluralize(std::int64_t n, std::string_view text, std::string_view suffix = "s");

/// `s` with each byte that is not part of valid UTF-8 replaced by U+FFFD (the replacement
/// character), as Python's `decode(errors="replace")` does byte by byte: text from outside (a
/// log message, a name) made safe for a format that must be UTF-8, such as JSON.
std::string valid_utf8(std::string_view s);

/// `prefix + s + suffix` when `s` is set, nullopt otherwise (Mode's `maybecat`).
std::optional<std::string> maybecat(std::optional<std::string_view> s, std::string_view suffix = "",
                                    std::string_view prefix = "");

}  // namespace mode
