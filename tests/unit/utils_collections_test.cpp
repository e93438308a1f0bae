// Tests of mode/utils/collections.hpp against BEHAVIOUR.md §14, the decisions table and heapq.
#include <mode/utils/collections.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using mode::Heap;
using mode::LRUCache;
using mode::ManagedUserDict;
using mode::ManagedUserSet;

template <class K, class V, class... Rest>
std::vector<K> keys_of(const LRUCache<K, V, Rest...>& cache) {
  std::vector<K> keys;
  for (const auto& [key, value] : cache) keys.push_back(key);
  return keys;
}

using Keys = std::vector<std::string>;

// ---- LRUCache ----

TEST(LruCache, GetMovesToNewestContainsDoesNot) {
  LRUCache<std::string, int> cache(3);
  cache.set("a", 1);
  cache.set("b", 2);
  cache.set("c", 3);
  EXPECT_EQ(cache.get("a"), 1);
  EXPECT_EQ(keys_of(cache), (Keys{"b", "c", "a"}));
  EXPECT_TRUE(cache.contains("b"));
  EXPECT_FALSE(cache.contains("z"));
  EXPECT_EQ(keys_of(cache), (Keys{"b", "c", "a"}));
  cache.set("d", 4);  // evicts b, the least recently read
  EXPECT_EQ(keys_of(cache), (Keys{"c", "a", "d"}));
  EXPECT_EQ(cache.size(), 3u);
}

TEST(LruCache, GetMissingKey) {
  LRUCache<std::string, int> cache(2);
  EXPECT_THROW(cache.get("x"), std::out_of_range);
  EXPECT_EQ(cache.get("x", 7), 7);
  cache.set("x", 1);
  cache.set("y", 2);
  EXPECT_EQ(cache.get("x", 7), 1);
  EXPECT_EQ(keys_of(cache), (Keys{"y", "x"}));
}

TEST(LruCache, OverwriteAtCapacityEvictsNothing) {
  // Decision D17: Mode evicts the oldest entry here (a, then b would be left alone).
  LRUCache<std::string, int> cache(3);
  cache.set("a", 1);
  cache.set("b", 2);
  cache.set("c", 3);
  cache.set("a", 10);
  EXPECT_EQ(cache.items(),
            (std::vector<std::pair<std::string, int>>{{"a", 10}, {"b", 2}, {"c", 3}}));
  cache.set("b", 20);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.items(),
            (std::vector<std::pair<std::string, int>>{{"a", 10}, {"b", 20}, {"c", 3}}));
}

TEST(LruCache, OverwriteBelowLimitKeepsPlace) {
  LRUCache<std::string, int> cache(3);
  cache.set("a", 1);
  cache.set("b", 2);
  cache.set("a", 5);
  EXPECT_EQ(keys_of(cache), (Keys{"a", "b"}));
  EXPECT_EQ(cache.values(), (std::vector<int>{5, 2}));
}

TEST(LruCache, KeepsTheLastLimitKeys) {
  LRUCache<int, int> cache(10);
  for (int i = 0; i < 100; ++i) cache.set(i, i);
  std::vector<int> expected;
  for (int i = 90; i < 100; ++i) expected.push_back(i);
  EXPECT_EQ(cache.keys(), expected);
}

TEST(LruCache, ZeroLimitIsUnbounded) {
  LRUCache<int, int> cache;
  EXPECT_EQ(cache.limit(), 0u);
  EXPECT_FALSE(cache.thread_safety());
  for (int i = 0; i < 1000; ++i) cache.set(i, i);
  EXPECT_EQ(cache.size(), 1000u);
}

TEST(LruCache, LimitOfOne) {
  LRUCache<int, int> cache(1);
  cache.set(1, 1);
  cache.set(2, 2);
  EXPECT_EQ(cache.keys(), std::vector<int>{2});
  cache.set(2, 3);
  EXPECT_EQ(cache.get(2), 3);
}

TEST(LruCache, Erase) {
  LRUCache<std::string, int> cache(3);
  cache.set("a", 1);
  cache.set("b", 2);
  EXPECT_TRUE(cache.erase("a"));
  EXPECT_FALSE(cache.erase("a"));
  EXPECT_EQ(keys_of(cache), Keys{"b"});
  cache.clear();
  EXPECT_TRUE(cache.empty());
  cache.set("c", 3);
  EXPECT_EQ(keys_of(cache), Keys{"c"});
}

TEST(LruCache, Popitem) {
  LRUCache<std::string, int> cache;
  cache.update({{"a", 1}, {"b", 2}, {"c", 3}});
  EXPECT_EQ(cache.popitem(), (std::pair<std::string, int>{"c", 3}));
  EXPECT_EQ(cache.popitem(false), (std::pair<std::string, int>{"a", 1}));
  EXPECT_EQ(cache.popitem(), (std::pair<std::string, int>{"b", 2}));
  EXPECT_THROW(cache.popitem(), std::out_of_range);
  EXPECT_THROW(cache.popitem(false), std::out_of_range);
}

TEST(LruCache, UpdateThenEvictsOldest) {
  LRUCache<std::string, int> cache(3);
  cache.set("a", 1);
  cache.set("b", 2);
  // a keeps its place, then the two oldest of a, b, c, d go.
  cache.update({{"c", 3}, {"a", 10}, {"d", 4}, {"e", 5}});
  EXPECT_EQ(cache.items(),
            (std::vector<std::pair<std::string, int>>{{"c", 3}, {"d", 4}, {"e", 5}}));
  const std::map<std::string, int> more{{"x", 1}};
  cache.update(more);
  EXPECT_EQ(keys_of(cache), (Keys{"d", "e", "x"}));
}

TEST(LruCache, IncrOnStringsLikeMemcached) {
  LRUCache<std::string, std::string> cache;
  cache.set("n", "0");
  cache.set("other", "x");
  EXPECT_EQ(cache.incr("n"), 1);
  EXPECT_EQ(cache.incr("n"), 2);
  EXPECT_EQ(cache.get("n"), "2");
  EXPECT_EQ(cache.incr("n", -5), -3);
  EXPECT_EQ(cache.get("n"), "-3");
  cache.set("w", " +41\n");
  EXPECT_EQ(cache.incr("w"), 42);
  EXPECT_EQ(cache.keys(), (Keys{"other", "n", "w"}));
}

TEST(LruCache, IncrMovesToNewest) {
  LRUCache<std::string, long> cache(2);
  cache.set("a", 1);
  cache.set("b", 1);
  EXPECT_EQ(cache.incr("a", 10), 11);
  cache.set("c", 1);  // evicts b: a was read by incr
  EXPECT_EQ(keys_of(cache), (Keys{"a", "c"}));
  LRUCache<int, double> floats;
  floats.set(1, 0.5);
  EXPECT_EQ(floats.incr(1, 0.25), 0.75);
}

TEST(LruCache, IncrBadInput) {
  LRUCache<std::string, std::string> cache;
  EXPECT_THROW(cache.incr("missing"), std::out_of_range);
  for (const char* bad : {"x", "", " ", "1.5", "12abc", "0x10", "--1", "+-1"}) {
    cache.set("v", bad);
    EXPECT_THROW(cache.incr("v"), std::invalid_argument) << '"' << bad << '"';
    EXPECT_EQ(cache.get("v"), bad);  // unchanged (Mode loses the entry)
  }
  cache.set("big", "99999999999999999999999");
  EXPECT_THROW(cache.incr("big"), std::out_of_range);
  cache.set("max", std::to_string(std::numeric_limits<long long>::max()));
  EXPECT_THROW(cache.incr("max"), std::out_of_range);
  EXPECT_EQ(cache.get("max"), std::to_string(std::numeric_limits<long long>::max()));

  LRUCache<int, std::int8_t> small;
  small.set(1, 127);
  EXPECT_THROW(small.incr(1), std::out_of_range);
  EXPECT_EQ(small.get(1), 127);
}

TEST(LruCache, CopyAndMove) {
  LRUCache<int, int> cache(2, true);
  cache.set(1, 1);
  cache.set(2, 2);
  LRUCache<int, int> copy(cache);
  copy.set(3, 3);
  EXPECT_EQ(cache.keys(), (std::vector<int>{1, 2}));
  EXPECT_EQ(copy.keys(), (std::vector<int>{2, 3}));
  EXPECT_TRUE(copy.thread_safety());
  LRUCache<int, int> moved(std::move(copy));
  EXPECT_EQ(moved.get(2), 2);
  EXPECT_EQ(moved.keys(), (std::vector<int>{3, 2}));
  LRUCache<int, int> assigned;
  assigned = cache;
  EXPECT_EQ(assigned.limit(), 2u);
  assigned.set(9, 9);
  EXPECT_EQ(assigned.keys(), (std::vector<int>{2, 9}));
  assigned = std::move(moved);
  EXPECT_EQ(assigned.keys(), (std::vector<int>{3, 2}));
}

TEST(LruCacheThreads, ConcurrentUseKeepsTheInvariants) {
  LRUCache<int, long> cache(64, true);
  cache.set(-1, 0);
  constexpr int kThreads = 4;
  constexpr int kRounds = 5000;
  std::atomic<int> misses{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&cache, &misses, t] {
      for (int i = 0; i < kRounds; ++i) {
        cache.incr(-1);  // -1 is read all the time, so it is never the oldest for long
        const int key = (t * kRounds + i) % 200;
        cache.set(key, key);
        if (cache.get(key, -2) == -2) ++misses;
        cache.contains(key);
        if (i % 100 == 0) {
          EXPECT_LE(cache.items().size(), 64u);
          cache.erase(key);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_LE(cache.size(), 64u);
  EXPECT_EQ(cache.get(-1), kThreads * kRounds);
  EXPECT_LE(misses.load(), kThreads * kRounds);
  // The index and the recency list still agree.
  const auto keys = cache.keys();
  EXPECT_EQ(std::set<int>(keys.begin(), keys.end()).size(), keys.size());
  for (const int key : keys) EXPECT_TRUE(cache.contains(key));
}

// ---- Heap (layouts printed by CPython 3.11's heapq) ----

TEST(HeapOps, HeapifiesLikeHeapq) {
  const Heap<int> heap{5, 1, 8, 3, 9, 2, 7};
  EXPECT_EQ(heap.data(), (std::vector<int>{1, 3, 2, 5, 9, 8, 7}));
  EXPECT_EQ(heap.top(), 1);
  EXPECT_EQ(heap.size(), 7u);
}

TEST(HeapOps, PushPopReplaceLikeHeapq) {
  Heap<int> heap;
  for (const int x : {5, 1, 8, 3, 9, 2, 7, 4, 6, 0}) heap.push(x);
  EXPECT_EQ(heap.data(), (std::vector<int>{0, 1, 2, 4, 3, 8, 7, 5, 6, 9}));
  EXPECT_EQ(heap.pop(), 0);
  EXPECT_EQ(heap.data(), (std::vector<int>{1, 3, 2, 4, 9, 8, 7, 5, 6}));
  EXPECT_EQ(heap.replace(10), 1);
  EXPECT_EQ(heap.data(), (std::vector<int>{2, 3, 7, 4, 9, 8, 10, 5, 6}));
  EXPECT_EQ(heap.pushpop(0), 0);  // not greater than the top: returned, heap unchanged
  EXPECT_EQ(heap.data(), (std::vector<int>{2, 3, 7, 4, 9, 8, 10, 5, 6}));
  EXPECT_EQ(heap.nlargest(3), (std::vector<int>{10, 9, 8}));
  EXPECT_EQ(heap.nsmallest(3), (std::vector<int>{2, 3, 4}));
}

TEST(HeapOps, ModesExample) {
  Heap<int> heap{999, 3, 9, 100};
  EXPECT_EQ(heap.pushpop(888), 3);
  EXPECT_EQ(heap.data(), (std::vector<int>{9, 100, 888, 999}));
  EXPECT_EQ(heap.pop(), 9);
  EXPECT_EQ(heap.data(), (std::vector<int>{100, 999, 888}));
}

TEST(HeapOps, PopsInOrder) {
  Heap<int> heap(std::vector<int>{7, 3, 3, 9, -1, 0, 12, 5});
  std::vector<int> popped;
  while (!heap.empty()) popped.push_back(heap.pop());
  EXPECT_EQ(popped, (std::vector<int>{-1, 0, 3, 3, 5, 7, 9, 12}));
}

TEST(HeapOps, EmptyHeapThrows) {
  Heap<int> heap;
  EXPECT_THROW(heap.pop(), std::out_of_range);
  EXPECT_THROW(heap.replace(1), std::out_of_range);
  EXPECT_THROW(heap.top(), std::out_of_range);
  EXPECT_THROW(heap.at(0), std::out_of_range);
  EXPECT_EQ(heap.pushpop(4), 4);  // like heapq: nothing to pop against
  EXPECT_TRUE(heap.empty());
  EXPECT_TRUE(heap.nlargest(3).empty());
  heap.push(1);
  EXPECT_EQ(heap.pop(), 1);
  EXPECT_THROW(heap.pop(), std::out_of_range);
}

TEST(HeapOps, InsertKeepsTheInvariant) {
  Heap<int> heap{1, 2, 3};
  heap.insert(0, 10);
  EXPECT_EQ(heap.data(), (std::vector<int>{1, 3, 2, 10}));  // heapq.heapify of [10, 1, 2, 3]
  heap.insert(4, 0);
  EXPECT_EQ(heap.top(), 0);
  EXPECT_THROW(heap.insert(6, 5), std::out_of_range);
  EXPECT_EQ(heap.size(), 5u);
  std::vector<int> popped;
  while (!heap.empty()) popped.push_back(heap.pop());
  EXPECT_EQ(popped, (std::vector<int>{0, 1, 2, 3, 10}));
}

TEST(HeapOps, Indexing) {
  const Heap<int> heap{4, 1, 3};
  EXPECT_EQ(heap[0], 1);
  EXPECT_EQ(heap.at(2), 3);
  EXPECT_THROW(heap.at(3), std::out_of_range);
  EXPECT_EQ(std::vector<int>(heap.begin(), heap.end()), heap.data());
}

TEST(HeapOps, MaxHeapWithCompare) {
  Heap<int, std::greater<int>> heap{5, 1, 8, 3};
  EXPECT_EQ(heap.top(), 8);
  EXPECT_EQ(heap.pop(), 8);
  EXPECT_EQ(heap.pushpop(2), 5);
  // "largest" follows Compare: the last in its order.
  EXPECT_EQ(heap.nlargest(2), (std::vector<int>{1, 2}));
  EXPECT_EQ(heap.nsmallest(2), (std::vector<int>{3, 2}));
}

struct ByFirst {
  bool operator()(const std::pair<int, char>& a, const std::pair<int, char>& b) const {
    return a.first < b.first;
  }
};

TEST(HeapOps, EqualElementsKeepLayoutOrder) {
  using P = std::pair<int, char>;
  Heap<P, ByFirst> heap{{2, 'x'}, {1, 'a'}, {2, 'y'}, {1, 'b'}, {3, 'z'}};
  EXPECT_EQ(heap.data(), (std::vector<P>{{1, 'b'}, {1, 'a'}, {2, 'y'}, {2, 'x'}, {3, 'z'}}));
  EXPECT_EQ(heap.nlargest(3), (std::vector<P>{{3, 'z'}, {2, 'y'}, {2, 'x'}}));
  EXPECT_EQ(heap.nsmallest(3), (std::vector<P>{{1, 'b'}, {1, 'a'}, {2, 'y'}}));
  heap.push({1, 'c'});
  EXPECT_EQ(heap.data(),
            (std::vector<P>{{1, 'b'}, {1, 'a'}, {1, 'c'}, {2, 'x'}, {3, 'z'}, {2, 'y'}}));
  EXPECT_EQ(heap.pop(), (P{1, 'b'}));
  EXPECT_EQ(heap.data(), (std::vector<P>{{1, 'c'}, {1, 'a'}, {2, 'y'}, {2, 'x'}, {3, 'z'}}));
}

TEST(HeapOps, NlargestWithKey) {
  const Heap<std::string> heap{"bb", "a", "ccc", "dd", "e"};
  EXPECT_EQ(heap.data(), (std::vector<std::string>{"a", "bb", "ccc", "dd", "e"}));
  const auto length = [](const std::string& s) { return s.size(); };
  EXPECT_EQ(heap.nlargest(3, length), (std::vector<std::string>{"ccc", "bb", "dd"}));
  EXPECT_EQ(heap.nsmallest(3, length), (std::vector<std::string>{"a", "e", "bb"}));
  EXPECT_EQ(heap.nsmallest(10, length), (std::vector<std::string>{"a", "e", "bb", "dd", "ccc"}));
  EXPECT_TRUE(heap.nsmallest(0, length).empty());
  int calls = 0;
  heap.nlargest(2, [&calls](const std::string& s) {
    ++calls;
    return s;
  });
  EXPECT_EQ(calls, 5);  // one key per element
}

TEST(HeapOps, MoveOnlyElements) {
  Heap<std::unique_ptr<int>,
       std::function<bool(const std::unique_ptr<int>&, const std::unique_ptr<int>&)>>
      heap([](const auto& a, const auto& b) { return *a < *b; });
  heap.push(std::make_unique<int>(3));
  heap.push(std::make_unique<int>(1));
  heap.push(std::make_unique<int>(2));
  EXPECT_EQ(*heap.pop(), 1);
  EXPECT_EQ(*heap.replace(std::make_unique<int>(0)), 2);
  EXPECT_EQ(*heap.pushpop(std::make_unique<int>(5)), 0);
  EXPECT_EQ(*heap.top(), 3);
}

// ---- ManagedUserDict ----

class RecordingDict : public ManagedUserDict<std::string, int, std::map<std::string, int>> {
 public:
  std::vector<std::string> calls;
  bool refuse_set = false;

 protected:
  void on_key_get(const std::string& key) override { calls.push_back("get " + key); }
  void on_key_set(const std::string& key, const int& value) override {
    if (refuse_set) throw std::runtime_error("refused");
    calls.push_back("set " + key + "=" + std::to_string(value));
  }
  void on_key_del(const std::string& key) override { calls.push_back("del " + key); }
  void on_clear() override { calls.push_back("clear"); }
};

using Calls = std::vector<std::string>;

TEST(ManagedUserDict, HooksRunBeforeEachOperation) {
  RecordingDict d;
  d.set("a", 1);
  EXPECT_EQ(d.get("a"), 1);
  EXPECT_EQ(d.get("zz", 5), 5);
  EXPECT_THROW(d.get("zz"), std::out_of_range);
  d.erase("a");
  EXPECT_THROW(d.erase("a"), std::out_of_range);
  d.set("b", 2);
  d.clear();
  EXPECT_EQ(d.calls,
            (Calls{"set a=1", "get a", "get zz", "get zz", "del a", "del a", "set b=2", "clear"}));
  EXPECT_TRUE(d.empty());
}

TEST(ManagedUserDict, UpdateCallsSetForEachPairThenStores) {
  RecordingDict d;
  d.update({{"a", 1}, {"b", 2}, {"a", 3}});
  EXPECT_EQ(d.calls, (Calls{"set a=1", "set b=2", "set a=3"}));
  EXPECT_EQ(d.data(), (std::map<std::string, int>{{"a", 3}, {"b", 2}}));
  d.calls.clear();
  d.raw_update({{"c", 4}});
  const std::map<std::string, int> more{{"d", 5}};
  d.raw_update(more);
  EXPECT_TRUE(d.calls.empty());
  EXPECT_EQ(d.size(), 4u);
  EXPECT_TRUE(d.contains("c"));
  EXPECT_FALSE(d.contains("z"));
  EXPECT_TRUE(d.calls.empty());  // contains and iteration are silent
  int sum = 0;
  for (const auto& [key, value] : d) sum += value;
  EXPECT_EQ(sum, 14);
  EXPECT_TRUE(d.calls.empty());
}

TEST(ManagedUserDict, RefusingHookLeavesTheMapUnchanged) {
  RecordingDict d;
  d.set("a", 1);
  d.refuse_set = true;
  EXPECT_THROW(d.set("a", 2), std::runtime_error);
  EXPECT_THROW(d.update({{"b", 2}}), std::runtime_error);
  EXPECT_EQ(d.data(), (std::map<std::string, int>{{"a", 1}}));
}

TEST(ManagedUserDict, PlainUseWithoutSubclass) {
  ManagedUserDict<int, std::string> d(std::unordered_map<int, std::string>{{1, "one"}});
  d.set(2, "two");
  EXPECT_EQ(d.get(1), "one");
  EXPECT_EQ(d.size(), 2u);
}

// ---- ManagedUserSet ----

class RecordingSet : public ManagedUserSet<int, std::set<int>> {
 public:
  using ManagedUserSet::ManagedUserSet;
  Calls calls;
  std::vector<std::pair<std::set<int>, std::set<int>>> changes;

 protected:
  void on_add(const int& item) override { calls.push_back("add " + std::to_string(item)); }
  void on_discard(const int& item) override { calls.push_back("discard " + std::to_string(item)); }
  void on_clear() override { calls.push_back("clear"); }
  void on_change(const std::set<int>& added, const std::set<int>& removed) override {
    calls.push_back("change");
    changes.emplace_back(added, removed);
  }
};

using IntSet = std::set<int>;

TEST(ManagedUserSet, SingleChangesCallHooksOnlyWhenSomethingChanges) {
  RecordingSet s;
  s.add(1);
  s.add(1);
  s.add(2);
  s.discard(3);
  s.discard(1);
  EXPECT_THROW(s.remove(7), std::out_of_range);
  s.remove(2);
  EXPECT_EQ(s.calls, (Calls{"add 1", "add 2", "discard 1", "discard 2"}));
  EXPECT_TRUE(s.empty());
}

TEST(ManagedUserSet, PopAndClear) {
  RecordingSet s{3, 1, 2};
  EXPECT_EQ(s.pop(), 1);  // the first in iteration order (std::set: the smallest)
  s.clear();
  EXPECT_THROW(s.pop(), std::out_of_range);
  EXPECT_EQ(s.calls, (Calls{"discard 1", "clear"}));
}

TEST(ManagedUserSet, IntersectionUpdate) {
  RecordingSet s{1, 2, 3, 5};
  s &= IntSet{2, 3, 4};
  EXPECT_EQ(s.data(), (IntSet{2, 3}));
  ASSERT_EQ(s.changes.size(), 1u);
  EXPECT_EQ(s.changes[0], (std::pair<IntSet, IntSet>{{}, {1, 5}}));
  s.intersection_update(std::vector<int>{3, 3, 9});
  EXPECT_EQ(s.data(), IntSet{3});
  EXPECT_EQ(s.changes[1], (std::pair<IntSet, IntSet>{{}, {2}}));
}

TEST(ManagedUserSet, Update) {
  RecordingSet s{1, 2};
  s |= IntSet{2, 3};
  s.update({4, 4, 1});
  EXPECT_EQ(s.data(), (IntSet{1, 2, 3, 4}));
  ASSERT_EQ(s.changes.size(), 2u);
  EXPECT_EQ(s.changes[0], (std::pair<IntSet, IntSet>{{3}, {}}));
  EXPECT_EQ(s.changes[1], (std::pair<IntSet, IntSet>{{4}, {}}));
  EXPECT_EQ(s.calls, (Calls{"change", "change"}));  // no on_add for bulk operations
}

TEST(ManagedUserSet, DifferenceUpdate) {
  RecordingSet s{1, 2, 3};
  s -= IntSet{2, 9};
  s.difference_update({3});
  EXPECT_EQ(s.data(), IntSet{1});
  EXPECT_EQ(s.changes[0], (std::pair<IntSet, IntSet>{{}, {2}}));
  EXPECT_EQ(s.changes[1], (std::pair<IntSet, IntSet>{{}, {3}}));
}

TEST(ManagedUserSet, SymmetricDifferenceUpdate) {
  RecordingSet s{1, 2, 3};
  s ^= IntSet{3, 4};
  EXPECT_EQ(s.data(), (IntSet{1, 2, 4}));
  EXPECT_EQ(s.changes[0], (std::pair<IntSet, IntSet>{{4}, {3}}));
  s.symmetric_difference_update(std::vector<int>{1, 1, 5});
  EXPECT_EQ(s.data(), (IntSet{2, 4, 5}));
  EXPECT_EQ(s.changes[1], (std::pair<IntSet, IntSet>{{5}, {1}}));
}

TEST(ManagedUserSet, BulkOperationReportsEvenNoChange) {
  RecordingSet s{1};
  s.update({1});
  s.difference_update({7});
  EXPECT_EQ(s.changes.size(), 2u);
  EXPECT_EQ(s.changes[0], (std::pair<IntSet, IntSet>{{}, {}}));
}

TEST(ManagedUserSet, RawUpdateIsSilent) {
  RecordingSet s;
  s.raw_update({1, 2});
  s.raw_update(std::vector<int>{3});
  EXPECT_EQ(s.data(), (IntSet{1, 2, 3}));
  EXPECT_TRUE(s.calls.empty());
}

TEST(ManagedUserSet, AlgebraReturnsPlainSetsWithoutHooks) {
  const RecordingSet s{1, 2, 3};
  const IntSet other{3, 4};
  EXPECT_EQ(s.union_(other), (IntSet{1, 2, 3, 4}));
  EXPECT_EQ(s.intersection(other), (IntSet{3}));
  EXPECT_EQ(s.difference(other), (IntSet{1, 2}));
  EXPECT_EQ(s.symmetric_difference(other), (IntSet{1, 2, 4}));
  EXPECT_EQ(s | other, (IntSet{1, 2, 3, 4}));
  EXPECT_EQ(s & other, (IntSet{3}));
  EXPECT_EQ(s - other, (IntSet{1, 2}));
  EXPECT_EQ((s ^ std::vector<int>{3, 4, 4}), (IntSet{1, 2, 4}));
  EXPECT_EQ(s | RecordingSet{9}, (IntSet{1, 2, 3, 9}));
  EXPECT_FALSE(s.isdisjoint(other));
  EXPECT_TRUE(s.isdisjoint({7, 8}));
  EXPECT_TRUE(s.issubset({1, 2, 3, 4}));
  EXPECT_FALSE(s.issubset(other));
  EXPECT_TRUE(s.issuperset({1, 3}));
  EXPECT_FALSE(s.issuperset(other));
  EXPECT_TRUE(s.contains(2));
  EXPECT_EQ(s.size(), 3u);
  EXPECT_TRUE(s.calls.empty());
  EXPECT_TRUE(s == RecordingSet({3, 2, 1}));
}

class RefusingSet : public ManagedUserSet<int> {
 protected:
  void on_add(const int&) override { throw std::runtime_error("no"); }
  void on_change(const std::unordered_set<int>&, const std::unordered_set<int>&) override {
    throw std::runtime_error("no");
  }
};

TEST(ManagedUserSet, RefusingHookLeavesTheSetUnchanged) {
  RefusingSet s;
  s.raw_update({1});
  EXPECT_THROW(s.add(2), std::runtime_error);
  EXPECT_THROW(s |= IntSet{3}, std::runtime_error);
  EXPECT_THROW(s &= IntSet{}, std::runtime_error);
  EXPECT_EQ(s.data(), (std::unordered_set<int>{1}));
}

}  // namespace
