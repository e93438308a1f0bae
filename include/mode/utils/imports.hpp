// mode::FactoryMapping: a plugin registry from names (and URL schemes) to factories, Mode's
// `mode.utils.imports.FactoryMapping` with registered values in place of import paths.
#pragma once

#include <mode/utils/text.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mode {

/// A registry from names to values of `T`, usually factories (`std::function<...>`):
///
///     FactoryMapping<std::function<std::unique_ptr<Driver>()>> drivers{
///         {"kafka", make_kafka}, {"redis", make_redis}};
///     auto driver = drivers.by_url("kafka://localhost:9092")();
///
/// An alias is another name for a registered name. Looking up a name that is neither throws
/// std::invalid_argument naming it, with a `didyoumean` hint over the names and aliases.
/// Names are case-sensitive, URL schemes are not (they are lowered, as in RFC 3986).
/// Not thread-safe: register everything before sharing it.
template <class T>
class FactoryMapping {
 public:
  FactoryMapping() = default;
  /// Registers each pair in order (see `add`).
  FactoryMapping(std::initializer_list<std::pair<std::string, T>> factories) {
    for (const auto& [name, value] : factories) add(name, value);
  }

  /// Registers `value` under `name`; registering a name again replaces its value in place, as
  /// assigning to Mode's mapping does. Throws std::invalid_argument for an empty name or one
  /// that is already an alias.
  void add(std::string name, T value) {
    if (name.empty()) throw std::invalid_argument("FactoryMapping: empty name");
    if (aliases_.contains(name))
      throw std::invalid_argument("FactoryMapping: '" + name + "' is already an alias");
    const auto it = find(name);
    if (it != entries_.end()) {
      it->second = std::move(value);
      return;
    }
    entries_.emplace_back(std::move(name), std::move(value));
  }

  /// Makes `alias` another name for the registered `name`. Throws std::invalid_argument for an
  /// empty alias, an alias that is a registered name, or an unknown `name`.
  void add_alias(std::string alias, const std::string& name) {
    if (alias.empty()) throw std::invalid_argument("FactoryMapping: empty alias");
    if (find(alias) != entries_.end())
      throw std::invalid_argument("FactoryMapping: alias '" + alias + "' is a registered name");
    if (find(name) == entries_.end()) throw unknown(name);
    aliases_.insert_or_assign(std::move(alias), name);
  }

  /// The value of a registered name or alias; throws std::invalid_argument otherwise.
  const T& by_name(std::string_view name) const {
    const auto alias = aliases_.find(name);
    const std::string_view target = alias != aliases_.end() ? alias->second : name;
    const auto it = find(target);
    if (it == entries_.end()) throw unknown(name);
    return it->second;
  }

  /// The value registered under the scheme of `url`: `by_url("kafka://localhost")` is
  /// `by_name("kafka")`. Throws std::invalid_argument for a URL without `scheme://`.
  const T& by_url(std::string_view url) const {
    const auto sep = url.find("://");
    if (sep == std::string_view::npos || sep == 0)
      throw std::invalid_argument("FactoryMapping: URL has no scheme: '" + std::string(url) + "'");
    std::string scheme(url.substr(0, sep));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return by_name(scheme);
  }

  /// Every registered value, in registration order (aliases add nothing).
  std::vector<std::reference_wrapper<const T>> iterate() const {
    std::vector<std::reference_wrapper<const T>> out;
    out.reserve(entries_.size());
    for (const auto& entry : entries_) out.emplace_back(entry.second);
    return out;
  }

  /// The registered names, in registration order.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& entry : entries_) out.push_back(entry.first);
    return out;
  }
  /// Alias → name.
  const std::map<std::string, std::string, std::less<>>& aliases() const noexcept {
    return aliases_;
  }
  /// True if `name` is a registered name or an alias.
  bool contains(std::string_view name) const {
    return aliases_.contains(name) || find(name) != entries_.end();
  }
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  using Entries = std::vector<std::pair<std::string, T>>;

  typename Entries::iterator find(std::string_view name) {
    return std::find_if(entries_.begin(), entries_.end(),
                        [&](const auto& entry) { return entry.first == name; });
  }
  typename Entries::const_iterator find(std::string_view name) const {
    return std::find_if(entries_.begin(), entries_.end(),
                        [&](const auto& entry) { return entry.first == name; });
  }

  std::invalid_argument unknown(std::string_view name) const {
    std::vector<std::string> known = names();
    for (const auto& [alias, target] : aliases_) known.push_back(alias);
    std::string message = "FactoryMapping: unknown name '" + std::string(name) + "'";
    const std::string hint = didyoumean(known, name);
    if (!hint.empty()) message += "! " + hint;
    return std::invalid_argument(message);
  }

  Entries entries_;
  std::map<std::string, std::string, std::less<>> aliases_;
};

}  // namespace mode
