// The bodies of utils/collections.hpp's templates.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <functional>
#include <iterator>
#include <list>
#include <mutex>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace mode {

// ---- LRUCache ----

template <class K, class V, class Hash, class KeyEqual>
LRUCache<K, V, Hash, KeyEqual>::LRUCache(const LRUCache& other)
    : limit_(other.limit_), thread_safety_(other.thread_safety_) {
  const auto lock = other.lock();
  for (const auto& [key, value] : other.entries_) append(key, value);
}

template <class K, class V, class Hash, class KeyEqual>
LRUCache<K, V, Hash, KeyEqual>::LRUCache(LRUCache&& other) noexcept
    : limit_(other.limit_),
      thread_safety_(other.thread_safety_),
      entries_(std::move(other.entries_)),
      index_(std::move(other.index_)) {}

template <class K, class V, class Hash, class KeyEqual>
LRUCache<K, V, Hash, KeyEqual>& LRUCache<K, V, Hash, KeyEqual>::operator=(const LRUCache& other) {
  if (this != &other) *this = LRUCache(other);
  return *this;
}

template <class K, class V, class Hash, class KeyEqual>
LRUCache<K, V, Hash, KeyEqual>& LRUCache<K, V, Hash, KeyEqual>::operator=(
    LRUCache&& other) noexcept {
  if (this != &other) {
    limit_ = other.limit_;
    thread_safety_ = other.thread_safety_;
    entries_ = std::move(other.entries_);
    index_ = std::move(other.index_);
  }
  return *this;
}

template <class K, class V, class Hash, class KeyEqual>
V LRUCache<K, V, Hash, KeyEqual>::get(const K& key) {
  const auto lock = this->lock();
  return touch(find_or_throw(key, "get"))->second;
}

template <class K, class V, class Hash, class KeyEqual>
V LRUCache<K, V, Hash, KeyEqual>::get(const K& key, V fallback) {
  const auto lock = this->lock();
  const auto found = index_.find(key);
  if (found == index_.end()) return fallback;
  return touch(found->second)->second;
}

template <class K, class V, class Hash, class KeyEqual>
void LRUCache<K, V, Hash, KeyEqual>::set(const K& key, V value) {
  const auto lock = this->lock();
  if (const auto found = index_.find(key); found != index_.end()) {
    found->second->second = std::move(value);
    return;
  }
  if (limit_ != 0 && entries_.size() >= limit_) evict_oldest();
  append(key, std::move(value));
}

template <class K, class V, class Hash, class KeyEqual>
bool LRUCache<K, V, Hash, KeyEqual>::erase(const K& key) {
  const auto lock = this->lock();
  const auto found = index_.find(key);
  if (found == index_.end()) return false;
  entries_.erase(found->second);
  index_.erase(found);
  return true;
}

template <class K, class V, class Hash, class KeyEqual>
bool LRUCache<K, V, Hash, KeyEqual>::contains(const K& key) const {
  const auto lock = this->lock();
  return index_.contains(key);
}

template <class K, class V, class Hash, class KeyEqual>
std::size_t LRUCache<K, V, Hash, KeyEqual>::size() const {
  const auto lock = this->lock();
  return entries_.size();
}

template <class K, class V, class Hash, class KeyEqual>
void LRUCache<K, V, Hash, KeyEqual>::clear() {
  const auto lock = this->lock();
  entries_.clear();
  index_.clear();
}

template <class K, class V, class Hash, class KeyEqual>
template <class R>
requires detail::PairRangeOf<R, K, V>
void LRUCache<K, V, Hash, KeyEqual>::update(const R& pairs) {
  const auto lock = this->lock();
  for (const auto& pair : pairs) {
    if (const auto found = index_.find(pair.first); found != index_.end()) {
      found->second->second = pair.second;
    } else {
      append(pair.first, pair.second);
    }
  }
  while (limit_ != 0 && entries_.size() > limit_) evict_oldest();
}

template <class K, class V, class Hash, class KeyEqual>
std::pair<K, V> LRUCache<K, V, Hash, KeyEqual>::popitem(bool last) {
  const auto lock = this->lock();
  if (entries_.empty()) throw std::out_of_range("mode::LRUCache::popitem: the cache is empty");
  const auto it = last ? std::prev(entries_.end()) : entries_.begin();
  std::pair<K, V> item(it->first, std::move(it->second));
  index_.erase(it->first);
  entries_.erase(it);
  return item;
}

template <class K, class V, class Hash, class KeyEqual>
typename LRUCache<K, V, Hash, KeyEqual>::incr_type LRUCache<K, V, Hash, KeyEqual>::incr(
    const K& key, incr_type delta) requires detail::Incrementable<V> {
  const auto lock = this->lock();
  const auto it = find_or_throw(key, "incr");
  incr_type result{};
  if constexpr (std::is_same_v<V, std::string>) {
    result = add(parse_integer(it->second), delta);
    it->second = std::to_string(result);
  } else {
    result = add(it->second, delta);
    it->second = result;
  }
  touch(it);
  return result;
}

template <class K, class V, class Hash, class KeyEqual>
std::vector<std::pair<K, V>> LRUCache<K, V, Hash, KeyEqual>::items() const {
  const auto lock = this->lock();
  return {entries_.begin(), entries_.end()};
}

template <class K, class V, class Hash, class KeyEqual>
std::vector<K> LRUCache<K, V, Hash, KeyEqual>::keys() const {
  const auto lock = this->lock();
  std::vector<K> out;
  out.reserve(entries_.size());
  for (const auto& entry : entries_) out.push_back(entry.first);
  return out;
}

template <class K, class V, class Hash, class KeyEqual>
std::vector<V> LRUCache<K, V, Hash, KeyEqual>::values() const {
  const auto lock = this->lock();
  std::vector<V> out;
  out.reserve(entries_.size());
  for (const auto& entry : entries_) out.push_back(entry.second);
  return out;
}

template <class K, class V, class Hash, class KeyEqual>
std::unique_lock<std::mutex> LRUCache<K, V, Hash, KeyEqual>::lock() const {
  if (!thread_safety_) return {};
  return std::unique_lock<std::mutex>(mutex_);
}

template <class K, class V, class Hash, class KeyEqual>
typename LRUCache<K, V, Hash, KeyEqual>::entry_iterator
LRUCache<K, V, Hash, KeyEqual>::find_or_throw(const K& key, const char* what) {
  const auto found = index_.find(key);
  if (found == index_.end()) {
    throw std::out_of_range(std::string("mode::LRUCache::") + what + ": no such key");
  }
  return found->second;
}

template <class K, class V, class Hash, class KeyEqual>
typename LRUCache<K, V, Hash, KeyEqual>::entry_iterator LRUCache<K, V, Hash, KeyEqual>::touch(
    entry_iterator it) {
  entries_.splice(entries_.end(), entries_, it);
  return it;
}

template <class K, class V, class Hash, class KeyEqual>
void LRUCache<K, V, Hash, KeyEqual>::append(const K& key, V value) {
  entries_.emplace_back(key, std::move(value));
  try {
    index_.emplace(key, std::prev(entries_.end()));
  } catch (...) {
    entries_.pop_back();
    throw;
  }
}

template <class K, class V, class Hash, class KeyEqual>
void LRUCache<K, V, Hash, KeyEqual>::evict_oldest() {
  index_.erase(entries_.front().first);
  entries_.pop_front();
}

template <class K, class V, class Hash, class KeyEqual>
typename LRUCache<K, V, Hash, KeyEqual>::incr_type LRUCache<K, V, Hash, KeyEqual>::add(
    incr_type a, incr_type b) {
  if constexpr (std::is_integral_v<incr_type>) {
    incr_type sum{};
    if (__builtin_add_overflow(a, b, &sum)) {
      throw std::out_of_range("mode::LRUCache::incr: the result overflows");
    }
    return sum;
  } else {
    return a + b;
  }
}

template <class K, class V, class Hash, class KeyEqual>
long long LRUCache<K, V, Hash, KeyEqual>::parse_integer(std::string_view text) {
  constexpr std::string_view kWhitespace = " \t\n\v\f\r";
  std::string_view digits = text;
  digits.remove_prefix(std::min(digits.find_first_not_of(kWhitespace), digits.size()));
  digits.remove_suffix(digits.size() - (digits.find_last_not_of(kWhitespace) + 1));
  // from_chars takes a '-' but not a '+'; Python's int() takes either, once.
  if (digits.starts_with('+') && !digits.substr(1).starts_with('-')) digits.remove_prefix(1);
  long long value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error == std::errc::result_out_of_range) {
    throw std::out_of_range("mode::LRUCache::incr: the value \"" + std::string(text) +
                            "\" overflows");
  }
  if (error != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
    throw std::invalid_argument("mode::LRUCache::incr: the value \"" + std::string(text) +
                                "\" is not an integer");
  }
  return value;
}

// ---- Heap ----

template <class T, class Compare>
Heap<T, Compare>::Heap(std::vector<T> data, Compare comp)
    : data_(std::move(data)), comp_(std::move(comp)) {
  heapify();
}

template <class T, class Compare>
void Heap<T, Compare>::push(T item) {
  data_.push_back(std::move(item));
  sift_down(0, data_.size() - 1);
}

template <class T, class Compare>
T Heap<T, Compare>::pop() {
  if (data_.empty()) throw std::out_of_range("mode::Heap::pop: the heap is empty");
  T last = std::move(data_.back());
  data_.pop_back();
  if (data_.empty()) return last;
  T top = std::move(data_.front());
  data_.front() = std::move(last);
  sift_up(0);
  return top;
}

template <class T, class Compare>
T Heap<T, Compare>::pushpop(T item) {
  if (!data_.empty() && comp_(data_.front(), item)) {
    std::swap(item, data_.front());
    sift_up(0);
  }
  return item;
}

template <class T, class Compare>
T Heap<T, Compare>::replace(T item) {
  if (data_.empty()) throw std::out_of_range("mode::Heap::replace: the heap is empty");
  std::swap(item, data_.front());
  sift_up(0);
  return item;
}

template <class T, class Compare>
void Heap<T, Compare>::insert(std::size_t index, T item) {
  if (index > data_.size()) {
    throw std::out_of_range("mode::Heap::insert: index " + std::to_string(index) +
                            " is past the end (size " + std::to_string(data_.size()) + ")");
  }
  data_.insert(data_.begin() + static_cast<std::ptrdiff_t>(index), std::move(item));
  heapify();
}

template <class T, class Compare>
const T& Heap<T, Compare>::top() const {
  if (data_.empty()) throw std::out_of_range("mode::Heap::top: the heap is empty");
  return data_.front();
}

template <class T, class Compare>
const T& Heap<T, Compare>::at(std::size_t index) const {
  if (index >= data_.size()) {
    throw std::out_of_range("mode::Heap::at: index " + std::to_string(index) +
                            " is past the end (size " + std::to_string(data_.size()) + ")");
  }
  return data_[index];
}

template <class T, class Compare>
void Heap<T, Compare>::heapify() {
  for (std::size_t i = data_.size() / 2; i-- > 0;) sift_up(i);
}

template <class T, class Compare>
void Heap<T, Compare>::sift_down(std::size_t start, std::size_t pos) {
  T item = std::move(data_[pos]);
  while (pos > start) {
    const std::size_t parent = (pos - 1) / 2;
    if (!comp_(item, data_[parent])) break;
    data_[pos] = std::move(data_[parent]);
    pos = parent;
  }
  data_[pos] = std::move(item);
}

template <class T, class Compare>
void Heap<T, Compare>::sift_up(std::size_t pos) {
  const std::size_t end = data_.size();
  const std::size_t start = pos;
  T item = std::move(data_[pos]);
  std::size_t child = 2 * pos + 1;
  while (child < end) {
    const std::size_t right = child + 1;
    if (right < end && !comp_(data_[child], data_[right])) child = right;
    data_[pos] = std::move(data_[child]);
    pos = child;
    child = 2 * pos + 1;
  }
  data_[pos] = std::move(item);
  sift_down(start, pos);
}

template <class T, class Compare>
template <class Before>
std::vector<T> Heap<T, Compare>::select(std::size_t n, Before before) const {
  std::vector<std::size_t> order(data_.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  const std::size_t count = std::min(n, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count), order.end(),
                    [&](std::size_t i, std::size_t j) {
                      if (before(data_[i], data_[j])) return true;
                      if (before(data_[j], data_[i])) return false;
                      return i < j;
                    });
  std::vector<T> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(data_[order[i]]);
  return out;
}

template <class T, class Compare>
template <class Key>
std::vector<T> Heap<T, Compare>::select_by_key(std::size_t n, Key& key, bool largest) const {
  // Each key is computed once, as heapq does.
  std::vector<std::decay_t<std::invoke_result_t<Key&, const T&>>> keys;
  keys.reserve(data_.size());
  for (const auto& item : data_) keys.push_back(std::invoke(key, item));
  std::vector<std::size_t> order(data_.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  const std::size_t count = std::min(n, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count), order.end(),
                    [&](std::size_t i, std::size_t j) {
                      const bool i_first = largest ? keys[j] < keys[i] : keys[i] < keys[j];
                      const bool j_first = largest ? keys[i] < keys[j] : keys[j] < keys[i];
                      if (i_first) return true;
                      if (j_first) return false;
                      return i < j;
                    });
  std::vector<T> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(data_[order[i]]);
  return out;
}

// ---- ManagedUserDict ----

template <class K, class V, class Map>
const V& ManagedUserDict<K, V, Map>::get(const K& key) {
  on_key_get(key);
  const auto found = data_.find(key);
  if (found == data_.end()) throw std::out_of_range("mode::ManagedUserDict::get: no such key");
  return found->second;
}

template <class K, class V, class Map>
V ManagedUserDict<K, V, Map>::get(const K& key, V fallback) {
  on_key_get(key);
  const auto found = data_.find(key);
  return found == data_.end() ? fallback : found->second;
}

template <class K, class V, class Map>
void ManagedUserDict<K, V, Map>::set(const K& key, V value) {
  on_key_set(key, value);
  data_.insert_or_assign(key, std::move(value));
}

template <class K, class V, class Map>
void ManagedUserDict<K, V, Map>::erase(const K& key) {
  on_key_del(key);
  if (data_.erase(key) == 0) {
    throw std::out_of_range("mode::ManagedUserDict::erase: no such key");
  }
}

template <class K, class V, class Map>
template <class R>
requires detail::PairRangeOf<R, K, V>
void ManagedUserDict<K, V, Map>::update(const R& pairs) {
  for (const auto& pair : pairs) on_key_set(pair.first, pair.second);
  raw_update(pairs);
}

template <class K, class V, class Map>
template <class R>
requires detail::PairRangeOf<R, K, V>
void ManagedUserDict<K, V, Map>::raw_update(const R& pairs) {
  for (const auto& pair : pairs) data_.insert_or_assign(pair.first, pair.second);
}

template <class K, class V, class Map>
void ManagedUserDict<K, V, Map>::clear() {
  on_clear();
  data_.clear();
}

// ---- ManagedUserSet ----

template <class T, class Set>
void ManagedUserSet<T, Set>::add(const T& item) {
  if (data_.contains(item)) return;
  on_add(item);
  data_.insert(item);
}

template <class T, class Set>
void ManagedUserSet<T, Set>::discard(const T& item) {
  const auto found = data_.find(item);
  if (found == data_.end()) return;
  on_discard(item);
  data_.erase(found);
}

template <class T, class Set>
void ManagedUserSet<T, Set>::remove(const T& item) {
  const auto found = data_.find(item);
  if (found == data_.end()) throw std::out_of_range("mode::ManagedUserSet::remove: no such item");
  on_discard(item);
  data_.erase(found);
}

template <class T, class Set>
T ManagedUserSet<T, Set>::pop() {
  if (data_.empty()) throw std::out_of_range("mode::ManagedUserSet::pop: the set is empty");
  const auto first = data_.begin();
  on_discard(*first);
  T item = *first;
  data_.erase(first);
  return item;
}

template <class T, class Set>
void ManagedUserSet<T, Set>::clear() {
  on_clear();
  data_.clear();
}

template <class T, class Set>
template <detail::RangeOf<T> R>
void ManagedUserSet<T, Set>::raw_update(const R& other) {
  for (auto&& item : other) data_.insert(item);
}

template <class T, class Set>
template <detail::RangeOf<T> R>
void ManagedUserSet<T, Set>::update(const R& other) {
  Set added = minus(as_set(other), data_);
  on_change(added, Set());
  for (auto& item : added) data_.insert(item);
}

template <class T, class Set>
template <detail::RangeOf<T> R>
void ManagedUserSet<T, Set>::intersection_update(const R& other) {
  const Set removed = minus(data_, as_set(other));
  on_change(Set(), removed);
  for (const auto& item : removed) data_.erase(item);
}

template <class T, class Set>
template <detail::RangeOf<T> R>
void ManagedUserSet<T, Set>::difference_update(const R& other) {
  const Set removed = intersect(data_, as_set(other));
  on_change(Set(), removed);
  for (const auto& item : removed) data_.erase(item);
}

template <class T, class Set>
template <detail::RangeOf<T> R>
void ManagedUserSet<T, Set>::symmetric_difference_update(const R& other) {
  const Set o = as_set(other);
  const Set added = minus(o, data_);
  const Set removed = intersect(data_, o);
  on_change(added, removed);
  for (const auto& item : removed) data_.erase(item);
  for (const auto& item : added) data_.insert(item);
}

template <class T, class Set>
template <detail::RangeOf<T> R>
ManagedUserSet<T, Set>& ManagedUserSet<T, Set>::operator|=(const R& other) {
  update(other);
  return *this;
}

template <class T, class Set>
template <detail::RangeOf<T> R>
ManagedUserSet<T, Set>& ManagedUserSet<T, Set>::operator&=(const R& other) {
  intersection_update(other);
  return *this;
}

template <class T, class Set>
template <detail::RangeOf<T> R>
ManagedUserSet<T, Set>& ManagedUserSet<T, Set>::operator-=(const R& other) {
  difference_update(other);
  return *this;
}

template <class T, class Set>
template <detail::RangeOf<T> R>
ManagedUserSet<T, Set>& ManagedUserSet<T, Set>::operator^=(const R& other) {
  symmetric_difference_update(other);
  return *this;
}

template <class T, class Set>
template <detail::RangeOf<T> R>
Set ManagedUserSet<T, Set>::union_(const R& other) const {
  Set out = data_;
  for (auto&& item : other) out.insert(item);
  return out;
}

template <class T, class Set>
template <detail::RangeOf<T> R>
Set ManagedUserSet<T, Set>::symmetric_difference(const R& other) const {
  const Set o = as_set(other);
  Set out = minus(data_, o);
  for (const auto& item : o) {
    if (!data_.contains(item)) out.insert(item);
  }
  return out;
}

template <class T, class Set>
template <detail::RangeOf<T> R>
bool ManagedUserSet<T, Set>::isdisjoint(const R& other) const {
  for (auto&& item : other) {
    if (data_.contains(item)) return false;
  }
  return true;
}

template <class T, class Set>
template <detail::RangeOf<T> R>
bool ManagedUserSet<T, Set>::issubset(const R& other) const {
  const Set o = as_set(other);
  return std::ranges::all_of(data_, [&](const T& item) { return o.contains(item); });
}

template <class T, class Set>
template <detail::RangeOf<T> R>
bool ManagedUserSet<T, Set>::issuperset(const R& other) const {
  for (auto&& item : other) {
    if (!data_.contains(item)) return false;
  }
  return true;
}

template <class T, class Set>
template <class R>
Set ManagedUserSet<T, Set>::as_set(const R& range) {
  Set out;
  for (auto&& item : range) out.insert(item);
  return out;
}

template <class T, class Set>
Set ManagedUserSet<T, Set>::minus(const Set& a, const Set& b) {
  Set out;
  for (const auto& item : a) {
    if (!b.contains(item)) out.insert(item);
  }
  return out;
}

template <class T, class Set>
Set ManagedUserSet<T, Set>::intersect(const Set& a, const Set& b) {
  Set out;
  for (const auto& item : a) {
    if (b.contains(item)) out.insert(item);
  }
  return out;
}

}  // namespace mode
