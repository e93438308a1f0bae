// The bodies of utils/imports.hpp's templates.
#pragma once

#include <algorithm>
#include <cctype>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mode {

template <class T>
FactoryMapping<T>::FactoryMapping(std::initializer_list<std::pair<std::string, T>> factories) {
  for (const auto& [name, value] : factories) add(name, value);
}

template <class T>
void FactoryMapping<T>::add(std::string name, T value) {
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

template <class T>
void FactoryMapping<T>::add_alias(std::string alias, const std::string& name) {
  if (alias.empty()) throw std::invalid_argument("FactoryMapping: empty alias");
  if (find(alias) != entries_.end())
    throw std::invalid_argument("FactoryMapping: alias '" + alias + "' is a registered name");
  if (find(name) == entries_.end()) throw unknown(name);
  aliases_.insert_or_assign(std::move(alias), name);
}

template <class T>
const T& FactoryMapping<T>::by_name(std::string_view name) const {
  const auto alias = aliases_.find(name);
  const std::string_view target = alias != aliases_.end() ? alias->second : name;
  const auto it = find(target);
  if (it == entries_.end()) throw unknown(name);
  return it->second;
}

template <class T>
const T& FactoryMapping<T>::by_url(std::string_view url) const {
  const auto sep = url.find("://");
  if (sep == std::string_view::npos || sep == 0)
    throw std::invalid_argument("FactoryMapping: URL has no scheme: '" + std::string(url) + "'");
  std::string scheme(url.substr(0, sep));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return by_name(scheme);
}

template <class T>
std::vector<std::reference_wrapper<const T>> FactoryMapping<T>::iterate() const {
  std::vector<std::reference_wrapper<const T>> out;
  out.reserve(entries_.size());
  for (const auto& entry : entries_) out.emplace_back(entry.second);
  return out;
}

template <class T>
std::vector<std::string> FactoryMapping<T>::names() const {
  std::vector<std::string> out;
  out.reserve(entries_.size());
  for (const auto& entry : entries_) out.push_back(entry.first);
  return out;
}

template <class T>
std::invalid_argument FactoryMapping<T>::unknown(std::string_view name) const {
  std::vector<std::string> known = names();
  for (const auto& [alias, target] : aliases_) known.push_back(alias);
  std::string message = "FactoryMapping: unknown name '" + std::string(name) + "'";
  const std::string hint = didyoumean(known, name);
  if (!hint.empty()) message += "! " + hint;
  return std::invalid_argument(message);
}

}  // namespace mode
