// Containers of Mode's mode.utils.collections: LRUCache (a bounded map that forgets the least
// recently read entries), Heap (a min-heap laid out exactly as Python's heapq), and
// ManagedUserDict / ManagedUserSet (containers whose changes a subclass observes through hooks).
//
// Only LRUCache can be shared between threads (with thread_safety); the others are plain values
// for one thread at a time, like the standard containers. Lookups of a missing key, pops from an
// empty container and indexes out of range throw std::out_of_range.
#pragma once

#include <algorithm>
#include <charconv>
#include <concepts>
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <list>
#include <mutex>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace mode {

namespace detail {

// Values LRUCache::incr can add to: numbers (not bool), or decimal strings as Mode stores them.
template <class V>
concept Incrementable =
    (std::is_arithmetic_v<V> && !std::is_same_v<V, bool>) || std::is_same_v<V, std::string>;

template <class V>
using incr_t = std::conditional_t<std::is_arithmetic_v<V>, V, long long>;

template <class R, class T>
concept RangeOf =
    std::ranges::input_range<R> && std::convertible_to<std::ranges::range_reference_t<R>, T>;

template <class R, class K, class V>
concept PairRangeOf = std::ranges::forward_range<R> &&
    requires(std::ranges::range_reference_t<R> p) {
  { p.first } -> std::convertible_to<K>;
  { p.second } -> std::convertible_to<V>;
};

}  // namespace detail

/// A map that keeps at most `limit` entries and, when full, forgets the entry least recently
/// read (Mode's LRUCache).
///
/// Reading (`get`, `incr`) makes an entry the most recent; `contains`, iteration and
/// overwriting an existing key with `set` do not move it (as in Mode). Setting a new key when
/// the cache is full evicts the oldest entry first; overwriting an existing key evicts nothing
/// (Mode evicts the oldest entry even then). A limit of 0 means no limit.
///
/// With `thread_safety`, every member function locks an internal mutex, so one cache can be
/// used from several threads; values are returned by copy for that reason. Iterating with
/// `begin()`/`end()` is not guarded: with other threads about, use the `items()`, `keys()` or
/// `values()` snapshots instead.
template <class K, class V, class Hash = std::hash<K>, class KeyEqual = std::equal_to<K>>
class LRUCache {
 public:
  using key_type = K;
  using mapped_type = V;
  using value_type = std::pair<const K, V>;
  using const_iterator = typename std::list<value_type>::const_iterator;
  /// What `incr` adds and returns: V itself for numbers, `long long` for string values.
  using incr_type = detail::incr_t<V>;

  /// `limit` 0 means unbounded; `thread_safety` guards every call with a mutex.
  explicit LRUCache(std::size_t limit = 0, bool thread_safety = false)
      : limit_(limit), thread_safety_(thread_safety) {}

  /// Copies the entries and settings (the copy gets its own mutex).
  LRUCache(const LRUCache& other);
  /// Takes the entries of `other`, which no other thread may be using.
  LRUCache(LRUCache&& other) noexcept;
  /// Assignments copy or take entries and settings; no other thread may be using this cache
  /// (a copied `other` is locked while it is read).
  LRUCache& operator=(const LRUCache& other);
  LRUCache& operator=(LRUCache&& other) noexcept;
  ~LRUCache() = default;

  std::size_t limit() const noexcept { return limit_; }
  bool thread_safety() const noexcept { return thread_safety_; }

  /// The value of `key`, which becomes the most recent entry; std::out_of_range if absent.
  V get(const K& key);

  /// The value of `key` (made most recent), or `fallback` if absent.
  V get(const K& key, V fallback);

  /// Stores `value` under `key`: a new key becomes the most recent entry, evicting the oldest
  /// one if the cache is full; an existing key keeps its place and nothing is evicted.
  void set(const K& key, V value);

  /// Removes `key`; returns whether it was there (an entry may have been evicted meanwhile, so
  /// a missing key is not an error).
  bool erase(const K& key);

  /// Whether `key` is cached; does not change its recency.
  bool contains(const K& key) const;

  std::size_t size() const;
  bool empty() const { return size() == 0; }

  void clear();

  /// Sets every pair of `pairs` (an existing key keeps its place), then evicts the oldest
  /// entries until the limit holds, as Mode's `update`: pairs early in a long update may be
  /// evicted by later ones.
  template <class R = std::initializer_list<std::pair<K, V>>>
  requires detail::PairRangeOf<R, K, V>
  void update(const R& pairs);

  /// Removes and returns the newest entry (`last`) or the oldest; std::out_of_range if empty.
  std::pair<K, V> popitem(bool last = true);

  /// Adds `delta` to the value of `key`, makes it the most recent entry and returns the new
  /// value. A string value must hold a decimal integer (surrounding whitespace and a sign
  /// allowed) and gets the result back in decimal, as memcached and Mode do.
  ///
  /// Throws std::out_of_range if the key is absent or an integer result overflows, and
  /// std::invalid_argument if a string value is not an integer; the entry is then unchanged
  /// (Mode loses it).
  incr_type incr(const K& key, incr_type delta = 1) requires detail::Incrementable<V>;

  /// Snapshots, oldest entry first; they do not change recency.
  std::vector<std::pair<K, V>> items() const;
  std::vector<K> keys() const;
  std::vector<V> values() const;

  /// Iteration oldest to newest without changing recency; not guarded by the mutex.
  const_iterator begin() const noexcept { return entries_.begin(); }
  const_iterator end() const noexcept { return entries_.end(); }

 private:
  using entry_iterator = typename std::list<value_type>::iterator;

  std::unique_lock<std::mutex> lock() const;
  entry_iterator find_or_throw(const K& key, const char* what);
  entry_iterator touch(entry_iterator it);
  void append(const K& key, V value);
  void evict_oldest();
  static incr_type add(incr_type a, incr_type b);
  static long long parse_integer(std::string_view text);

  std::size_t limit_;
  bool thread_safety_;
  mutable std::mutex mutex_;
  std::list<value_type> entries_;  // oldest first
  std::unordered_map<K, entry_iterator, Hash, KeyEqual> index_;
};

/// A binary min-heap with Python heapq's exact layout and algorithms (Mode's Heap): the same
/// pushes and pops leave the same elements at the same indexes as in Mode.
///
/// `Compare` orders the elements as `<` does for heapq: the element for which `comp(x, y)`
/// holds against every other one is on top. Every mutation keeps the heap invariant (Mode lets
/// `insert` and index assignment break it), so the raw layout is read-only.
template <class T, class Compare = std::less<T>>
class Heap {
 public:
  using value_type = T;
  using const_iterator = typename std::vector<T>::const_iterator;

  Heap() = default;
  explicit Heap(Compare comp) : comp_(std::move(comp)) {}
  /// Heapifies `data` as heapq.heapify does.
  explicit Heap(std::vector<T> data, Compare comp = Compare());
  Heap(std::initializer_list<T> data, Compare comp = Compare())
      : Heap(std::vector<T>(data), std::move(comp)) {}

  /// Adds `item`.
  void push(T item);

  /// Removes and returns the smallest element; std::out_of_range if the heap is empty.
  T pop();

  /// Push then pop in one step: returns `item` itself when it is not greater than the top
  /// (then the heap is unchanged), else the top, with `item` taking its place.
  T pushpop(T item);

  /// Pop then push in one step: returns the old top, which may be greater than `item`;
  /// std::out_of_range if the heap is empty.
  T replace(T item);

  /// Inserts `item` before position `index` of the layout, then restores the invariant
  /// (heapify, O(n)). Kept for Mode's API; `push` is the O(log n) way to add.
  /// std::out_of_range if `index > size()`.
  void insert(std::size_t index, T item);

  /// The smallest element; std::out_of_range if the heap is empty.
  const T& top() const;

  /// The `n` greatest elements, greatest first; equal elements keep their layout order
  /// (heapq.nlargest is `sorted(data, reverse=True)[:n]`).
  std::vector<T> nlargest(std::size_t n) const {
    return select(n, [this](const T& a, const T& b) { return comp_(b, a); });
  }
  /// The `n` elements with the greatest `key(element)` (compared with `<`), greatest first.
  template <class Key>
  requires std::invocable<Key&, const T&> std::vector<T> nlargest(std::size_t n, Key key)
  const { return select_by_key(n, key, true); }

  /// The `n` smallest elements, smallest first; equal elements keep their layout order.
  std::vector<T> nsmallest(std::size_t n) const {
    return select(n, [this](const T& a, const T& b) { return comp_(a, b); });
  }
  /// The `n` elements with the smallest `key(element)` (compared with `<`), smallest first.
  template <class Key>
  requires std::invocable<Key&, const T&> std::vector<T> nsmallest(std::size_t n, Key key)
  const { return select_by_key(n, key, false); }

  /// The element at position `index` of the layout (unchecked).
  const T& operator[](std::size_t index) const noexcept { return data_[index]; }
  /// The element at position `index` of the layout; std::out_of_range past the end.
  const T& at(std::size_t index) const;

  /// The layout, as heapq keeps it in a list.
  const std::vector<T>& data() const noexcept { return data_; }
  std::size_t size() const noexcept { return data_.size(); }
  bool empty() const noexcept { return data_.empty(); }
  void clear() noexcept { data_.clear(); }
  const_iterator begin() const noexcept { return data_.begin(); }
  const_iterator end() const noexcept { return data_.end(); }

 private:
  void heapify();

  // heapq's _siftdown: moves the item at `pos` up towards `start` while it beats its parent.
  void sift_down(std::size_t start, std::size_t pos);

  // heapq's _siftup: moves the smaller child up until a leaf is reached, then sifts the item
  // down from there (fewer comparisons than stopping early, and the layout heapq produces).
  void sift_up(std::size_t pos);

  // The first n of a stable sort by `before`, in O(size · log n).
  template <class Before>
  std::vector<T> select(std::size_t n, Before before) const;

  template <class Key>
  std::vector<T> select_by_key(std::size_t n, Key& key, bool largest) const;

  std::vector<T> data_;
  [[no_unique_address]] Compare comp_;
};

/// A map whose subclass hears of every read and change (Mode's ManagedUserDict): override the
/// hooks to mirror the map elsewhere (a changelog, a remote store).
///
/// Each hook runs before its operation, and an exception from a hook stops the operation, so
/// the map only changes once the hook accepted it. `on_key_get` runs for every `get`, even one
/// that then fails; `on_key_del` runs for every `erase`, even of a missing key (as in Mode). The
/// `raw_update` and constructor forms bypass the hooks; iteration and `contains` do not call
/// them. `Map` may be any std::map-like type (std::map for sorted iteration).
template <class K, class V, class Map = std::unordered_map<K, V>>
class ManagedUserDict {
 public:
  using key_type = K;
  using mapped_type = V;
  using map_type = Map;
  using const_iterator = typename Map::const_iterator;

  ManagedUserDict() = default;
  /// Starts with `data`, without calling hooks.
  explicit ManagedUserDict(Map data) : data_(std::move(data)) {}
  ManagedUserDict(const ManagedUserDict&) = default;
  ManagedUserDict(ManagedUserDict&&) noexcept = default;
  ManagedUserDict& operator=(const ManagedUserDict&) = default;
  ManagedUserDict& operator=(ManagedUserDict&&) noexcept = default;
  virtual ~ManagedUserDict() = default;

  /// The value of `key` after `on_key_get(key)`; std::out_of_range if absent.
  const V& get(const K& key);
  /// The value of `key`, or `fallback` if absent; calls `on_key_get(key)` either way.
  V get(const K& key, V fallback);

  /// `on_key_set(key, value)`, then stores the value.
  void set(const K& key, V value);

  /// `on_key_del(key)`, then removes the key; std::out_of_range if it was absent.
  void erase(const K& key);

  /// `on_key_set` for every pair, in order, then stores them all (a later pair for the same
  /// key wins).
  template <class R = std::initializer_list<std::pair<K, V>>>
  requires detail::PairRangeOf<R, K, V>
  void update(const R& pairs);

  /// Stores the pairs without calling hooks.
  template <class R = std::initializer_list<std::pair<K, V>>>
  requires detail::PairRangeOf<R, K, V>
  void raw_update(const R& pairs);

  /// `on_clear()`, then removes everything.
  void clear();

  bool contains(const K& key) const { return data_.contains(key); }
  std::size_t size() const noexcept { return data_.size(); }
  bool empty() const noexcept { return data_.empty(); }
  const Map& data() const noexcept { return data_; }
  const_iterator begin() const noexcept { return data_.begin(); }
  const_iterator end() const noexcept { return data_.end(); }

 protected:
  /// Before every `get` of `key`.
  virtual void on_key_get(const K& key) { static_cast<void>(key); }
  /// Before `value` is stored under `key` (by `set` or `update`).
  virtual void on_key_set(const K& key, const V& value) {
    static_cast<void>(key);
    static_cast<void>(value);
  }
  /// Before `key` is erased.
  virtual void on_key_del(const K& key) { static_cast<void>(key); }
  /// Before the map is cleared.
  virtual void on_clear() {}

 private:
  Map data_;
};

/// A set whose subclass hears of every change (Mode's ManagedUserSet), with Python's set
/// algebra.
///
/// Single changes call `on_add` (only for a new element) or `on_discard` (only for a present
/// one, also from `remove` and `pop`); bulk operations (`update`, `intersection_update`,
/// `difference_update`, `symmetric_difference_update` and `|=`, `&=`, `-=`, `^=`) call
/// `on_change(added, removed)` once, with exactly what will change, even when nothing will.
/// Each hook runs before its change, and an exception from a hook stops it. `raw_update`
/// bypasses the hooks. `other` may be any range of elements (duplicates are fine). The
/// operations returning a new set return a plain `Set`. Mode's `remove` skips `on_discard`;
/// here it calls it.
template <class T, class Set = std::unordered_set<T>>
class ManagedUserSet {
 public:
  using value_type = T;
  using set_type = Set;
  using const_iterator = typename Set::const_iterator;

  ManagedUserSet() = default;
  /// Starts with `data`, without calling hooks.
  explicit ManagedUserSet(Set data) : data_(std::move(data)) {}
  ManagedUserSet(std::initializer_list<T> data) : data_(data.begin(), data.end()) {}
  ManagedUserSet(const ManagedUserSet&) = default;
  ManagedUserSet(ManagedUserSet&&) noexcept = default;
  ManagedUserSet& operator=(const ManagedUserSet&) = default;
  ManagedUserSet& operator=(ManagedUserSet&&) noexcept = default;
  virtual ~ManagedUserSet() = default;

  /// `on_add(item)` and insertion, if `item` is new.
  void add(const T& item);

  /// `on_discard(item)` and removal, if `item` is present.
  void discard(const T& item);

  /// Like `discard`, but std::out_of_range if `item` is absent.
  void remove(const T& item);

  /// Removes and returns the first element in iteration order, after `on_discard`;
  /// std::out_of_range if the set is empty.
  T pop();

  /// `on_clear()`, then removes everything.
  void clear();

  /// Adds the elements of `other` without calling hooks.
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  void raw_update(const R& other);

  // ---- in-place set algebra ----

  /// Adds every element of `other` (union); `on_change(other − self, {})`.
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  void update(const R& other);
  /// Keeps only the elements also in `other`; `on_change({}, self − other)`.
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  void intersection_update(const R& other);
  /// Removes the elements of `other`; `on_change({}, self ∩ other)`.
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  void difference_update(const R& other);
  /// Keeps the elements in exactly one of the two; `on_change(other − self, self ∩ other)`.
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  void symmetric_difference_update(const R& other);

  template <detail::RangeOf<T> R = std::initializer_list<T>>
  ManagedUserSet& operator|=(const R& other);
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  ManagedUserSet& operator&=(const R& other);
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  ManagedUserSet& operator-=(const R& other);
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  ManagedUserSet& operator^=(const R& other);

  // ---- set algebra returning a plain Set (no hooks) ----

  /// The elements of either (Python's `union`; `union` is a C++ keyword).
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  Set union_(const R& other) const;
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  Set intersection(const R& other) const {
    return intersect(data_, as_set(other));
  }
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  Set difference(const R& other) const {
    return minus(data_, as_set(other));
  }
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  Set symmetric_difference(const R& other) const;
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  Set operator|(const R& other) const {
    return union_(other);
  }
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  Set operator&(const R& other) const {
    return intersection(other);
  }
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  Set operator-(const R& other) const {
    return difference(other);
  }
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  Set operator^(const R& other) const {
    return symmetric_difference(other);
  }

  /// No element in common.
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  bool isdisjoint(const R& other) const;
  /// Every element is also in `other`.
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  bool issubset(const R& other) const;
  /// Every element of `other` is also here.
  template <detail::RangeOf<T> R = std::initializer_list<T>>
  bool issuperset(const R& other) const;

  bool contains(const T& item) const { return data_.contains(item); }
  std::size_t size() const noexcept { return data_.size(); }
  bool empty() const noexcept { return data_.empty(); }
  const Set& data() const noexcept { return data_; }
  const_iterator begin() const noexcept { return data_.begin(); }
  const_iterator end() const noexcept { return data_.end(); }

  /// Same elements (hooks and dynamic type aside).
  friend bool operator==(const ManagedUserSet& a, const ManagedUserSet& b) {
    return a.data_ == b.data_;
  }

 protected:
  /// Before a new element is added.
  virtual void on_add(const T& item) { static_cast<void>(item); }
  /// Before a present element is removed.
  virtual void on_discard(const T& item) { static_cast<void>(item); }
  /// Before the set is cleared.
  virtual void on_clear() {}
  /// Before a bulk operation, with the elements it will add and remove.
  virtual void on_change(const Set& added, const Set& removed) {
    static_cast<void>(added);
    static_cast<void>(removed);
  }

 private:
  template <class R>
  static Set as_set(const R& range);
  static Set minus(const Set& a, const Set& b);
  static Set intersect(const Set& a, const Set& b);

  Set data_;
};

}  // namespace mode

#include <mode/impl/collections.hpp>
