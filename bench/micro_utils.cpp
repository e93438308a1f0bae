// Micro benchmarks of the utilities: LRUCache get/set, Heap push/pop, didyoumean over 1000
// candidates, want_seconds parsing (figures in docs/BENCHMARKS.md).
#include <mode/utils/collections.hpp>
#include <mode/utils/text.hpp>
#include <mode/utils/times.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace {

// Keys 0..n-1 in a fixed pseudo-random order, so every run measures the same work.
std::vector<std::int64_t> shuffled_keys(std::int64_t n) {
  std::vector<std::int64_t> keys(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) keys[static_cast<std::size_t>(i)] = i;
  std::mt19937_64 rng(42);
  std::shuffle(keys.begin(), keys.end(), rng);
  return keys;
}

// A get that hits, on a full cache: the entry moves to the newest end.
void BM_LruCacheGet(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  mode::LRUCache<std::int64_t, std::int64_t> cache(static_cast<std::size_t>(n),
                                                   state.range(1) != 0);
  for (std::int64_t i = 0; i < n; ++i) cache.set(i, i);
  const auto keys = shuffled_keys(n);
  std::size_t next = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cache.get(keys[next]));
    if (++next == keys.size()) next = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LruCacheGet)->ArgNames({"size", "locked"})->Args({1024, 0})->Args({1024, 1});

// A set of a new key on a full cache: one eviction and one insertion.
void BM_LruCachePut(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  mode::LRUCache<std::int64_t, std::int64_t> cache(static_cast<std::size_t>(n),
                                                   state.range(1) != 0);
  std::int64_t key = 0;
  for (; key < n; ++key) cache.set(key, key);
  for (auto _ : state) {
    cache.set(key, key);
    ++key;
  }
  benchmark::DoNotOptimize(cache.size());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_LruCachePut)->ArgNames({"size", "locked"})->Args({1024, 0})->Args({1024, 1});

// One push and one pop on a heap that keeps `size` elements.
void BM_HeapPushPop(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const auto values = shuffled_keys(n * 2);
  mode::Heap<std::int64_t> heap(std::vector<std::int64_t>(values.begin(), values.begin() + n));
  std::size_t next = static_cast<std::size_t>(n);
  for (auto _ : state) {
    heap.push(values[next]);
    benchmark::DoNotOptimize(heap.pop());
    if (++next == values.size()) next = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HeapPushPop)->ArgName("size")->Arg(1024)->Arg(1 << 16);

// A typo checked against 1000 plausible names of 8 to 20 characters.
void BM_Didyoumean(benchmark::State& state) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> letter('a', 'z');
  std::uniform_int_distribution<int> length(8, 20);
  std::vector<std::string> names(1000);
  for (auto& name : names) {
    const int len = length(rng);
    for (int i = 0; i < len; ++i) name += static_cast<char>(letter(rng));
  }
  names[500] = "consumer_group_coordinator";
  const std::string needle = "consumer_gruop_coordinater";
  std::size_t matches = 0;
  for (auto _ : state) {
    const std::string hint = mode::didyoumean(names, needle);
    matches += hint.size();
    benchmark::DoNotOptimize(hint);
  }
  if (matches == 0) state.SkipWithError("the typo was not matched");
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(names.size()));
}
BENCHMARK(BM_Didyoumean);

// want_seconds on the forms a config holds: a plain number and each rate unit.
void BM_WantSeconds(benchmark::State& state) {
  const std::vector<std::string> inputs = {"1.5", "10/s", "10.3/h", "100/d", "100/m", " 5 /s"};
  double sum = 0;
  for (auto _ : state)
    for (const std::string& input : inputs) sum += mode::want_seconds(input);
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(inputs.size()));
}
BENCHMARK(BM_WantSeconds);

}  // namespace
