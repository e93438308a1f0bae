// Micro benchmark of a service's event ring: recording one event, as each state change does
// (figures in docs/BENCHMARKS.md).
#include <mode/clock.hpp>
#include <mode/detail/event_ring.hpp>

#include <benchmark/benchmark.h>

namespace {

// A full ring: each record overwrites the oldest event, at the steady clock's coarse reading.
void BM_EventRecord(benchmark::State& state) {
  mode::detail::EventRing ring;
  const mode::Clock& clock = mode::SteadyClock::instance();
  for (auto _ : state) {
    ring.record(clock, mode::ServiceEventKind::started, 0, nullptr, nullptr);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EventRecord);

}  // namespace
