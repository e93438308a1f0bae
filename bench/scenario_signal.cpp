// Scenario `signal`: one send fanned out to 10 receivers, async (`Signal`) and sync
// (`SyncSignal`), against awaiting 10 trivial coroutines and calling 10 std::functions.
#include <mode/signals.hpp>

#include "scenarios.hpp"

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <vector>

namespace mode::bench {
namespace {

constexpr int kFanOut = 10;
// A sync call costs about a twentieth of an async one: more sends keep its timing well above
// the clock's resolution.
constexpr std::int64_t kSyncSendsPerAsyncSend = 20;

struct Sender {
  std::int64_t sum = 0;
};

// Receivers and the baselines' callees share these bodies, kept out of line so that neither side
// can fold the calls away.
[[gnu::noinline]] void add_sync(Sender& s, std::int64_t x) { s.sum += x; }

awaitable<void> add_async(Sender& s, std::int64_t x) {
  s.sum += x;
  co_return;
}

struct CallResult {
  std::int64_t calls = 0;
  std::int64_t sum = 0;
  double seconds = 0;
};

void check(const CallResult& r) {
  if (r.sum != r.calls) throw std::runtime_error("a receiver call went missing");
}

awaitable<void> async_signal_loop(std::int64_t sends, CallResult* out) {
  Signal<Sender, std::int64_t> sig;
  std::vector<Connection> connections;
  for (int i = 0; i < kFanOut; ++i) connections.push_back(sig.connect(&add_async));
  Sender sender;
  const Clock::time_point t0 = Clock::now();
  for (std::int64_t i = 0; i < sends; ++i) co_await sig.send(sender, 1);
  out->seconds = ms_between(t0, Clock::now()) / 1000.0;
  out->calls = sends * kFanOut;
  out->sum = sender.sum;
}

awaitable<void> async_bare_loop(std::int64_t sends, CallResult* out) {
  Sender sender;
  const Clock::time_point t0 = Clock::now();
  for (std::int64_t i = 0; i < sends; ++i)
    for (int r = 0; r < kFanOut; ++r) co_await add_async(sender, 1);
  out->seconds = ms_between(t0, Clock::now()) / 1000.0;
  out->calls = sends * kFanOut;
  out->sum = sender.sum;
}

CallResult measure_async(std::int64_t sends, bool bare) {
  asio::io_context ctx;
  CallResult r;
  Completion c;
  spawn(ctx, bare ? async_bare_loop(sends, &r) : async_signal_loop(sends, &r), c);
  run_until_complete(ctx, c);
  check(r);
  return r;
}

CallResult measure_sync_signal(std::int64_t sends) {
  SyncSignal<Sender, std::int64_t> sig;
  std::vector<Connection> connections;
  for (int i = 0; i < kFanOut; ++i) connections.push_back(sig.connect(&add_sync));
  Sender sender;
  const Clock::time_point t0 = Clock::now();
  for (std::int64_t i = 0; i < sends; ++i) sig.send(sender, 1);
  CallResult r{sends * kFanOut, sender.sum, ms_between(t0, Clock::now()) / 1000.0};
  check(r);
  return r;
}

CallResult measure_sync_bare(std::int64_t sends) {
  std::vector<std::function<void(Sender&, const std::int64_t&)>> receivers(kFanOut, &add_sync);
  Sender sender;
  const Clock::time_point t0 = Clock::now();
  for (std::int64_t i = 0; i < sends; ++i) {
    const std::int64_t x = 1;
    for (auto& receiver : receivers) receiver(sender, x);
  }
  CallResult r{sends * kFanOut, sender.sum, ms_between(t0, Clock::now()) / 1000.0};
  check(r);
  return r;
}

double per_second(const CallResult& r) { return static_cast<double>(r.calls) / r.seconds; }

}  // namespace

Fields run_signal(const Params& p) {
  const std::int64_t n = p.n;
  const std::int64_t sync_n = n * kSyncSendsPerAsyncSend;
  const auto base_async = run_forked<CallResult>([n] { return measure_async(n, true); });
  const auto ours_async = run_forked<CallResult>([n] { return measure_async(n, false); });
  const auto base_sync = run_forked<CallResult>([sync_n] { return measure_sync_bare(sync_n); });
  const auto ours_sync = run_forked<CallResult>([sync_n] { return measure_sync_signal(sync_n); });
  const double async_calls = per_second(ours_async);
  const double sync_calls = per_second(ours_sync);
  const double base_async_calls = per_second(base_async);
  const double base_sync_calls = per_second(base_sync);
  return {
      {"n", static_cast<double>(n), 0},
      {"receivers", kFanOut, 0},
      {"async_calls_per_s", async_calls, 0},
      {"sync_calls_per_s", sync_calls, 0},
      {"baseline_async_calls_per_s", base_async_calls, 0},
      {"baseline_sync_calls_per_s", base_sync_calls, 0},
      {"async_ratio", base_async_calls / async_calls, 3},
      {"sync_ratio", base_sync_calls / sync_calls, 3},
  };
}

}  // namespace mode::bench
