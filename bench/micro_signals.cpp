// Micro benchmarks of mode/signals.hpp: send fanned out to 10 receivers (sync and async) against
// bare baselines in the same run, and send with no receivers. Items = receiver calls.
#include <mode/signals.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <exception>
#include <functional>
#include <vector>

namespace {

namespace asio = boost::asio;
using mode::awaitable;

constexpr int kFanOut = 10;

struct Sender {
  std::int64_t sum = 0;
};

void add_sync(Sender& s, std::int64_t x) { s.sum += x; }

awaitable<void> add_async(Sender& s, std::int64_t x) {
  s.sum += x;
  co_return;
}

// Runs `body` on a fresh loop to completion (the benchmark's timing loop is inside it).
void run_on_loop(awaitable<void> body) {
  asio::io_context ctx;
  std::exception_ptr error;
  asio::co_spawn(ctx, std::move(body), [&](std::exception_ptr e) { error = e; });
  ctx.run();
  if (error) std::rethrow_exception(error);
}

// SyncSignal.

void BM_SyncSignalSend10(benchmark::State& state) {
  mode::SyncSignal<Sender, std::int64_t> sig;
  std::vector<mode::Connection> connections;
  for (int i = 0; i < kFanOut; ++i) connections.push_back(sig.connect(&add_sync));
  Sender sender;
  for (auto _ : state) sig.send(sender, 1);
  benchmark::DoNotOptimize(sender.sum);
  state.SetItemsProcessed(state.iterations() * kFanOut);
}
BENCHMARK(BM_SyncSignalSend10);

// The bare baseline: calling 10 std::functions.
void BM_SyncBaselineStdFunction10(benchmark::State& state) {
  std::vector<std::function<void(Sender&, const std::int64_t&)>> receivers(kFanOut, &add_sync);
  Sender sender;
  for (auto _ : state) {
    const std::int64_t x = 1;
    for (auto& r : receivers) r(sender, x);
  }
  benchmark::DoNotOptimize(sender.sum);
  state.SetItemsProcessed(state.iterations() * kFanOut);
}
BENCHMARK(BM_SyncBaselineStdFunction10);

void BM_SyncSignalSendNoReceivers(benchmark::State& state) {
  mode::SyncSignal<Sender, std::int64_t> sig;
  Sender sender;
  for (auto _ : state) {
    sig.send(sender, 1);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_SyncSignalSendNoReceivers);

// Signal (async).

awaitable<void> signal_send_loop(benchmark::State* state,
                                 const mode::Signal<Sender, std::int64_t>* sig, Sender* sender) {
  for (auto _ : *state) co_await sig->send(*sender, 1);
}

void BM_SignalSend10(benchmark::State& state) {
  mode::Signal<Sender, std::int64_t> sig;
  std::vector<mode::Connection> connections;
  for (int i = 0; i < kFanOut; ++i) connections.push_back(sig.connect(&add_async));
  Sender sender;
  run_on_loop(signal_send_loop(&state, &sig, &sender));
  benchmark::DoNotOptimize(sender.sum);
  state.SetItemsProcessed(state.iterations() * kFanOut);
}
BENCHMARK(BM_SignalSend10);

// The bare baseline: awaiting 10 trivial coroutines.
awaitable<void> baseline_await_loop(benchmark::State* state, Sender* sender) {
  for (auto _ : *state) {
    for (int i = 0; i < kFanOut; ++i) co_await add_async(*sender, 1);
  }
}

void BM_AsyncBaselineAwait10(benchmark::State& state) {
  Sender sender;
  run_on_loop(baseline_await_loop(&state, &sender));
  benchmark::DoNotOptimize(sender.sum);
  state.SetItemsProcessed(state.iterations() * kFanOut);
}
BENCHMARK(BM_AsyncBaselineAwait10);

void BM_SignalSendNoReceivers(benchmark::State& state) {
  mode::Signal<Sender, std::int64_t> sig;
  Sender sender;
  run_on_loop(signal_send_loop(&state, &sig, &sender));
}
BENCHMARK(BM_SignalSendNoReceivers);

// A hot path that checks `empty()` first skips even the coroutine frame.
awaitable<void> signal_checked_send_loop(benchmark::State* state,
                                         const mode::Signal<Sender, std::int64_t>* sig,
                                         Sender* sender) {
  for (auto _ : *state) {
    if (!sig->empty()) co_await sig->send(*sender, 1);
    benchmark::ClobberMemory();
  }
}

void BM_SignalSendNoReceiversCheckedEmpty(benchmark::State& state) {
  mode::Signal<Sender, std::int64_t> sig;
  Sender sender;
  run_on_loop(signal_checked_send_loop(&state, &sig, &sender));
}
BENCHMARK(BM_SignalSendNoReceiversCheckedEmpty);

// What one trivial co_await costs: the floor of an async send.
awaitable<void> one_await_loop(benchmark::State* state, Sender* sender) {
  for (auto _ : *state) co_await add_async(*sender, 1);
}

void BM_AsyncBaselineAwait1(benchmark::State& state) {
  Sender sender;
  run_on_loop(one_await_loop(&state, &sender));
  benchmark::DoNotOptimize(sender.sum);
}
BENCHMARK(BM_AsyncBaselineAwait1);

}  // namespace
