// Text utilities: difflib's similarity ratio, fuzzy matching, abbreviations.
#include <mode/utils/text.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <utility>

namespace mode {
namespace {

constexpr std::string_view kWhitespace = " \t\n\v\f\r";

bool is_space(char c) { return kWhitespace.find(c) != std::string_view::npos; }

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Length in bytes of the valid UTF-8 sequence starting at s[i], or 0 if there is none (a stray
// continuation byte, an overlong form, a surrogate, a value above U+10FFFF, a truncated tail).
std::size_t sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    len = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    len = 3;
    if (lead == 0xe0) lo = 0xa0;
    if (lead == 0xed) hi = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    len = 4;
    if (lead == 0xf0) lo = 0x90;
    if (lead == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) return 0;
  }
  return len;
}

// Characters as Python's str holds them; an invalid byte becomes U+DC80 + byte, which is what
// Python's "surrogateescape" error handler gives, so it never equals a real character.
std::u32string decode(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = sequence_length(s, i);
    const auto lead = static_cast<unsigned char>(s[i]);
    if (len == 0) {
      out.push_back(0xdc00 + lead);
      ++i;
      continue;
    }
    char32_t c = len == 1   ? lead
                 : len == 2 ? (lead & 0x1f)
                 : len == 3 ? (lead & 0x0f)
                            : (lead & 0x07);
    for (std::size_t k = 1; k < len; ++k) {
      c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    }
    out.push_back(c);
    i += len;
  }
  return out;
}

// Byte offset of every character start, plus s.size() at the end.
std::vector<std::size_t> char_offsets(std::string_view s) {
  std::vector<std::size_t> offsets;
  offsets.reserve(s.size() + 1);
  for (std::size_t i = 0; i < s.size();) {
    offsets.push_back(i);
    i += std::max<std::size_t>(sequence_length(s, i), 1);
  }
  offsets.push_back(s.size());
  return offsets;
}

std::size_t char_count(std::string_view s) {
  if (is_ascii(s)) return s.size();
  return char_offsets(s).size() - 1;
}

// The first n characters of s (all of s if it has fewer).
std::string_view first_chars(std::string_view s, std::size_t n) {
  if (is_ascii(s)) return s.substr(0, n);
  const auto offsets = char_offsets(s);
  return s.substr(0, offsets[std::min(n, offsets.size() - 1)]);
}

// Buffers reused from one ratio to the next on a thread: a fuzzy search computes one ratio per
// candidate, and allocating them each time cost more than the matching.
struct Scratch {
  std::vector<std::uint32_t> indices;  // b2j's positions, grouped by character, increasing
  std::vector<std::pair<char32_t, std::uint32_t>> pairs;
  std::vector<char32_t> chars;  // the characters of a char32_t b2j, sorted
  std::vector<std::uint32_t> starts;
  std::array<std::uint32_t, 257> byte_starts{};  // a byte b2j: indices[starts[c]..starts[c+1])
  std::vector<std::uint32_t> j2len;
  std::vector<std::uint32_t> new_j2len;
  std::vector<std::uint32_t> touched;
  std::vector<std::uint32_t> new_touched;
  struct Range {
    std::size_t alo, ahi, blo, bhi;
  };
  std::vector<Range> queue;
};

// difflib's SequenceMatcher(None, a, b) reduced to what ratio() needs: the number of characters
// in the matching blocks. Every step (tie-breaking, the autojunk rule, the extension of a block
// over "popular" characters) follows difflib, since each changes which suggestions come out.
template <class Char>
class Matcher {
 public:
  Matcher(std::basic_string_view<Char> a, std::basic_string_view<Char> b, Scratch& scratch)
      : a_(a), b_(b), s_(scratch) {
    // difflib's autojunk: in a b of 200+ characters, a character seen more than 1% + 1 times is
    // "popular" and left out of b2j (it can still join a block through the extension below).
    const std::size_t ntest = b.size() / 100 + 1;
    const bool autojunk = b.size() >= 200;
    s_.indices.resize(b.size());
    if constexpr (sizeof(Char) == 1) {
      // Counting sort by byte: stable, so each group's positions stay increasing.
      auto& starts = s_.byte_starts;
      starts.fill(0);
      for (const Char c : b) ++starts[byte(c) + 1];
      for (std::size_t c = 0; c < 256; ++c) {
        if (autojunk && starts[c + 1] > ntest) popular_[c] = true;
        starts[c + 1] += starts[c];
      }
      std::array<std::uint32_t, 256> next{};
      std::copy(starts.begin(), starts.end() - 1, next.begin());
      for (std::size_t j = 0; j < b.size(); ++j) {
        s_.indices[next[byte(b[j])]++] = static_cast<std::uint32_t>(j);
      }
    } else {
      s_.pairs.clear();
      for (std::size_t j = 0; j < b.size(); ++j) {
        s_.pairs.emplace_back(b[j], static_cast<std::uint32_t>(j));
      }
      std::sort(s_.pairs.begin(), s_.pairs.end());
      s_.chars.clear();
      s_.starts.clear();
      std::size_t kept = 0;
      for (std::size_t k = 0; k < s_.pairs.size();) {
        std::size_t end = k;
        while (end < s_.pairs.size() && s_.pairs[end].first == s_.pairs[k].first) ++end;
        if (!autojunk || end - k <= ntest) {
          s_.chars.push_back(s_.pairs[k].first);
          s_.starts.push_back(static_cast<std::uint32_t>(kept));
          for (std::size_t m = k; m < end; ++m) s_.indices[kept++] = s_.pairs[m].second;
        }
        k = end;
      }
      s_.starts.push_back(static_cast<std::uint32_t>(kept));
    }
    s_.j2len.assign(b.size() + 1, 0);
    s_.new_j2len.assign(b.size() + 1, 0);
    s_.touched.clear();
    s_.new_touched.clear();
  }

  std::size_t matching_characters() {
    std::size_t total = 0;
    s_.queue.assign(1, {0, a_.size(), 0, b_.size()});
    while (!s_.queue.empty()) {
      const Scratch::Range r = s_.queue.back();
      s_.queue.pop_back();
      const auto [i, j, k] = find_longest_match(r.alo, r.ahi, r.blo, r.bhi);
      if (k == 0) continue;
      total += k;
      if (r.alo < i && r.blo < j) s_.queue.push_back({r.alo, i, r.blo, j});
      if (i + k < r.ahi && j + k < r.bhi) s_.queue.push_back({i + k, r.ahi, j + k, r.bhi});
    }
    return total;
  }

 private:
  struct Match {
    std::size_t i, j, k;
  };

  static std::size_t byte(Char c) { return static_cast<unsigned char>(c); }

  // b2j[c]: the positions of c in b, increasing (none for a popular c).
  std::pair<const std::uint32_t*, const std::uint32_t*> positions(Char c) const {
    const std::uint32_t* base = s_.indices.data();
    if constexpr (sizeof(Char) == 1) {
      if (popular_[byte(c)]) return {base, base};
      return {base + s_.byte_starts[byte(c)], base + s_.byte_starts[byte(c) + 1]};
    } else {
      const auto found = std::lower_bound(s_.chars.begin(), s_.chars.end(), c);
      if (found == s_.chars.end() || *found != c) return {base, base};
      const auto at = static_cast<std::size_t>(found - s_.chars.begin());
      return {base + s_.starts[at], base + s_.starts[at + 1]};
    }
  }

  // The longest block a[i:i+k] == b[j:j+k] inside the ranges; among the longest, the one
  // starting first in a, then first in b.
  Match find_longest_match(std::size_t alo, std::size_t ahi, std::size_t blo, std::size_t bhi) {
    std::size_t besti = alo;
    std::size_t bestj = blo;
    std::size_t bestsize = 0;
    // j2len[j + 1] is the length of the block ending at a[i - 1], b[j] (dynamic programming
    // over rows of a); the touched lists reset only what a row wrote.
    for (std::size_t i = alo; i < ahi; ++i) {
      const auto [first, last] = positions(a_[i]);
      for (auto it = std::lower_bound(first, last, blo); it != last && *it < bhi; ++it) {
        const std::size_t j = *it;
        const std::uint32_t k = s_.j2len[j] + 1;
        s_.new_j2len[j + 1] = k;
        s_.new_touched.push_back(static_cast<std::uint32_t>(j + 1));
        if (k > bestsize) {
          besti = i + 1 - k;
          bestj = j + 1 - k;
          bestsize = k;
        }
      }
      for (const std::uint32_t t : s_.touched) s_.j2len[t] = 0;
      s_.touched.clear();
      std::swap(s_.j2len, s_.new_j2len);
      std::swap(s_.touched, s_.new_touched);
    }
    for (const std::uint32_t t : s_.touched) s_.j2len[t] = 0;
    s_.touched.clear();
    // With no junk function, difflib extends the block over equal neighbours, popular or not.
    while (besti > alo && bestj > blo && a_[besti - 1] == b_[bestj - 1]) {
      --besti;
      --bestj;
      ++bestsize;
    }
    while (besti + bestsize < ahi && bestj + bestsize < bhi &&
           a_[besti + bestsize] == b_[bestj + bestsize]) {
      ++bestsize;
    }
    return {besti, bestj, bestsize};
  }

  std::basic_string_view<Char> a_;
  std::basic_string_view<Char> b_;
  Scratch& s_;
  std::array<bool, 256> popular_{};  // bytes only
};

template <class Char>
double ratio_of(std::basic_string_view<Char> a, std::basic_string_view<Char> b) {
  const std::size_t length = a.size() + b.size();
  if (length == 0) return 1.0;
  if (b.size() > std::numeric_limits<std::uint32_t>::max() - 1) {
    throw std::invalid_argument("mode::similarity_ratio: a string of 4 GiB or more");
  }
  thread_local Scratch scratch;
  const std::size_t matches = Matcher<Char>(a, b, scratch).matching_characters();
  // Same expression as difflib, so the double is bit-identical.
  return 2.0 * static_cast<double>(matches) / static_cast<double>(length);
}

std::string format_field(std::string_view what, std::string_view tmpl,
                         const fmt::format_args& args) {
  try {
    return fmt::vformat(fmt::string_view(tmpl.data(), tmpl.size()), args);
  } catch (const fmt::format_error& e) {
    throw std::invalid_argument(
        fmt::format("mode::{}: bad format string \"{}\": {}", what, tmpl, e.what()));
  }
}

}  // namespace

std::string title(std::string_view s) {
  std::string out;
  bool in_word = false;
  bool word_start = false;
  for (const char raw : s) {
    const char c = (raw == '-' || raw == '_') ? ' ' : raw;
    if (is_space(c)) {
      in_word = false;
      continue;
    }
    if (!in_word) {
      if (!out.empty()) out += ' ';
      in_word = true;
      word_start = true;
    }
    const bool upper = c >= 'A' && c <= 'Z';
    const bool lower = c >= 'a' && c <= 'z';
    if (word_start && lower) {
      out += static_cast<char>(c - 'a' + 'A');
    } else if (!word_start && upper) {
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
    word_start = false;
  }
  return out;
}

double similarity_ratio(std::string_view a, std::string_view b) {
  if (is_ascii(a) && is_ascii(b)) return ratio_of(a, b);
  const std::u32string da = decode(a);
  const std::u32string db = decode(b);
  return ratio_of(std::u32string_view(da), std::u32string_view(db));
}

namespace detail {

FuzzyNeedle::FuzzyNeedle(std::string_view needle, double min_ratio)
    : needle_(needle), ascii_(is_ascii(needle)), min_ratio_(min_ratio) {
  if (!(min_ratio >= 0.0 && min_ratio <= 1.0)) {
    throw std::invalid_argument(
        fmt::format("mode fuzzy matching: min_ratio must be between 0 and 1, got {}", min_ratio));
  }
  decoded_ = decode(needle);
}

std::optional<double> FuzzyNeedle::match(std::string_view candidate) const {
  const bool ascii = ascii_ && is_ascii(candidate);
  const std::u32string decoded = ascii ? std::u32string() : decode(candidate);
  // difflib's real_quick_ratio bounds the ratio from above: a candidate whose length alone
  // rules it out is not matched. Same denominator as the ratio, so the test is exact.
  const std::size_t la = decoded_.size();
  const std::size_t lb = ascii ? candidate.size() : decoded.size();
  if (la + lb != 0 &&
      2.0 * static_cast<double>(std::min(la, lb)) / static_cast<double>(la + lb) < min_ratio_) {
    return std::nullopt;
  }
  const double ratio = ascii
                           ? ratio_of(std::string_view(needle_), candidate)
                           : ratio_of(std::u32string_view(decoded_), std::u32string_view(decoded));
  if (ratio >= min_ratio_) return ratio;
  return std::nullopt;
}

std::string format_choices(const std::vector<std::string>& alternatives, std::string_view fmt_many,
                           std::string_view fmt_one, std::string_view fmt_none) {
  // Both formats are checked on every call, so a typo in the rarely used one shows up in the
  // first test, not in production. fmt_none is text, not a format, as in Mode.
  const std::string alt = fmt::format("{}", fmt::join(alternatives, ", "));
  const auto alt_arg = fmt::arg("alt", alt);
  const auto args = fmt::make_format_args(alt_arg);
  std::string many = format_field("fuzzymatch_choices", fmt_many, args);
  std::string one = format_field("fuzzymatch_choices", fmt_one, args);
  if (alternatives.empty()) return std::string(fmt_none);
  return alternatives.size() == 1 ? one : many;
}

void append_enumeration_item(std::string& out, std::string_view tmpl, std::int64_t index,
                             std::string_view item) {
  const auto index_arg = fmt::arg("index", index);
  const auto item_arg = fmt::arg("item", item);
  out += format_field("enumeration", tmpl, fmt::make_format_args(index_arg, item_arg));
}

std::int64_t next_enumeration_index(std::int64_t index) {
  if (index == std::numeric_limits<std::int64_t>::max()) {
    throw std::out_of_range("mode::enumeration: index overflows a 64-bit integer");
  }
  return index + 1;
}

}  // namespace detail

std::string abbr(std::string_view s, std::size_t max, std::string_view suffix, bool words) {
  if (max == 0) return std::string(s);
  const auto offsets = char_offsets(s);
  const std::size_t length = offsets.size() - 1;
  if (length <= max) return std::string(s);
  const std::size_t suffix_length = char_count(suffix);
  if (suffix_length > max) return std::string(s.substr(0, offsets[max]));
  const std::size_t room = max - suffix_length;
  std::string_view kept = s.substr(0, offsets[room]);
  if (words && !is_space(s[offsets[room]])) {
    // The cut falls inside a word: drop that word, unless it is the only one.
    const std::size_t space = kept.find_last_of(kWhitespace);
    if (space != std::string_view::npos) kept = kept.substr(0, space);
  }
  if (words) {
    const std::size_t end = kept.find_last_not_of(kWhitespace);
    kept = kept.substr(0, end == std::string_view::npos ? 0 : end + 1);
  }
  std::string out(kept);
  out += suffix;
  return out;
}

std::string abbr_fqdn(std::string_view origin, std::string_view name, std::string_view prefix) {
  if (origin.empty() || name.size() <= origin.size() || !name.starts_with(origin) ||
      name[origin.size()] != '.') {
    return std::string(name);
  }
  std::string out(prefix);
  out += name.substr(origin.size() + 1);
  return out;
}

std::string shorten_fqdn(std::string_view s, std::size_t max) {
  const std::size_t dot = s.rfind('.');
  if (dot == std::string_view::npos || char_count(s) <= max) return std::string(s);
  const std::string_view module = s.substr(0, dot);
  const std::string_view cls = s.substr(dot + 1);
  const std::size_t used = char_count(cls) + 3;
  const std::size_t room = max > used ? max - used : 0;
  std::string out(first_chars(module, room));
  out += "[.]";
  out += cls;
  return out;
}

std::string pluralize(std::int64_t n, std::string_view text, std::string_view suffix) {
  std::string out(text);
  if (n != 1) out += suffix;
  return out;
}

std::string valid_utf8(std::string_view s) {
  if (is_ascii(s)) return std::string(s);
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = sequence_length(s, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::optional<std::string> maybecat(std::optional<std::string_view> s, std::string_view suffix,
                                    std::string_view prefix) {
  if (!s) return std::nullopt;
  std::string out(prefix);
  out += *s;
  out += suffix;
  return out;
}

}  // namespace mode
