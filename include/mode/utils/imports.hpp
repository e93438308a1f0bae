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
  FactoryMapping(std::initializer_list<std::pair<std::string, T>> factories);

  /// Registers `value` under `name`; registering a name again replaces its value in place, as
  /// assigning to Mode's mapping does. Throws std::invalid_argument for an empty name or one
  /// that is already an alias.
  void add(std::string name, T value);

  /// Makes `alias` another name for the registered `name`. Throws std::invalid_argument for an
  /// empty alias, an alias that is a registered name, or an unknown `name`.
  void add_alias(std::string alias, const std::string& name);

  /// The value of a registered name or alias; throws std::invalid_argument otherwise.
  const T& by_name(std::string_view name) const;

  /// The value registered under the scheme of `url`: `by_url("kafka://localhost")` is
  /// `by_name("kafka")`. Throws std::invalid_argument for a URL without `scheme://`.
  const T& by_url(std::string_view url) const;

  /// Every registered value, in registration order (aliases add nothing).
  std::vector<std::reference_wrapper<const T>> iterate() const;

  /// The registered names, in registration order.
  std::vector<std::string> names() const;
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

  std::invalid_argument unknown(std::string_view name) const;

  Entries entries_;
  std::map<std::string, std::string, std::less<>> aliases_;
};

}  // namespace mode

#include <mode/impl/imports.hpp>
