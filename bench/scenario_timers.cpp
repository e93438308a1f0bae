// Scenario `timers`: K services with a 10 ms `timer` each for 3 s, against K bare coroutines
// each on its own steady_timer with absolute deadlines.
#include <mode/operations.hpp>
#include <mode/service.hpp>

#include "scenarios.hpp"
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

namespace mode::bench {
namespace {

constexpr auto kPeriod = std::chrono::milliseconds(10);
constexpr auto kRun = std::chrono::seconds(3);
// Ticks due near the end of the run may arrive this much after it and still count.
constexpr auto kGrace = std::chrono::milliseconds(50);
constexpr std::uint64_t kTicksPerTimer = kRun / kPeriod;

/// Every tick of every timer: how late it was against its fixed schedule (epoch + k * 10 ms).
struct TickLog {
  std::vector<double> late_ms;

  void record(Clock::time_point epoch, std::uint64_t k) {
    if (k > kTicksPerTimer) return;
    late_ms.push_back(ms_between(epoch + k * kPeriod, Clock::now()));
  }
};

class Ticker final : public Service {
 public:
  explicit Ticker(TickLog* ticks) : ticks_(ticks) {
    // Tasks start in registration order, so `mark` notes the time the timer's schedule starts.
    task(&Ticker::mark);
    timer(kPeriod, &Ticker::tick);
  }

 private:
  awaitable<void> mark() {
    epoch_ = Clock::now();
    co_return;
  }
  void tick() { ticks_->record(epoch_, ++count_); }

  TickLog* ticks_;
  Clock::time_point epoch_;
  std::uint64_t count_ = 0;
};

awaitable<void> bare_ticker(TickLog* ticks) {
  const auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  const Clock::time_point epoch = Clock::now();
  Clock::time_point next = epoch;
  for (std::uint64_t k = 1;; ++k) {
    next += kPeriod;
    timer.expires_at(next);
    const auto [ec] = co_await timer.async_wait(asio::as_tuple(use_awaitable));
    if (ec) co_return;
    ticks->record(epoch, k);
  }
}

struct TimersResult {
  double ticks = 0;
  double late_p50_ms = 0;
  double late_p99_ms = 0;
  double late_max_ms = 0;
  double scrape_ms = 0;  // --metrics: one scrape after the run
  double cpu_pct = 0;
};

// Runs `ctx` until `end` (by real time, without reading the clock per handler).
void run_until(asio::io_context& ctx, Clock::time_point end) {
  asio::steady_timer stop_at(ctx, end);
  stop_at.async_wait([&ctx](boost::system::error_code) { ctx.stop(); });
  ctx.run();
  ctx.restart();
}

TimersResult summarize(TickLog& log, double cpu_s, Clock::time_point from, Clock::time_point to) {
  TimersResult r;
  r.ticks = static_cast<double>(log.late_ms.size());
  r.late_p50_ms = quantile(log.late_ms, 0.50);
  r.late_p99_ms = quantile(log.late_ms, 0.99);
  r.late_max_ms = quantile(log.late_ms, 1.0);
  r.cpu_pct = 100.0 * cpu_s / (ms_between(from, to) / 1000.0);
  return r;
}

TimersResult measure_services(std::size_t k, bool metrics, bool socket) {
  asio::io_context ctx;
  const auto idle = idle_socket(ctx, socket);
  TickLog log;
  log.late_ms.reserve(k * kTicksPerTimer);
  auto root = std::make_shared<Service>();
  for (std::size_t i = 0; i < k; ++i) root->add_dependency(std::make_shared<Ticker>(&log));
  std::shared_ptr<OperationsEndpoint> ops;
  if (metrics) {
    ops = std::make_shared<OperationsEndpoint>();
    root->add_dependency(ops);
  }
  const double cpu0 = cpu_seconds();
  const Clock::time_point t0 = Clock::now();
  Completion started;
  spawn(ctx, root->start(), started);
  run_until_complete(ctx, started);
  run_until(ctx, Clock::now() + kRun + kGrace);
  const Clock::time_point t1 = Clock::now();
  const double cpu1 = cpu_seconds();
  double scrape_ms = 0;
  if (ops) {
    const Clock::time_point s0 = Clock::now();
    if (ops->metrics().empty()) throw std::runtime_error("empty scrape");
    scrape_ms = ms_between(s0, Clock::now());
  }
  Completion stopped;
  spawn(ctx, root->stop(), stopped);
  run_until_complete(ctx, stopped);
  TimersResult r = summarize(log, cpu1 - cpu0, t0, t1);
  r.scrape_ms = scrape_ms;
  return r;
}

TimersResult measure_bare(std::size_t k) {
  asio::io_context ctx;
  TickLog log;
  log.late_ms.reserve(k * kTicksPerTimer);
  std::vector<asio::cancellation_signal> signals(k);
  std::size_t joined = 0;
  const double cpu0 = cpu_seconds();
  const Clock::time_point t0 = Clock::now();
  for (std::size_t i = 0; i < k; ++i) {
    asio::co_spawn(ctx, bare_ticker(&log),
                   asio::bind_cancellation_slot(signals[i].slot(),
                                                [&joined](std::exception_ptr) { ++joined; }));
  }
  run_until(ctx, Clock::now() + kRun + kGrace);
  const Clock::time_point t1 = Clock::now();
  const double cpu1 = cpu_seconds();
  for (asio::cancellation_signal& s : signals) s.emit(asio::cancellation_type::terminal);
  run_while_not(ctx, [&] { return joined == k; });
  return summarize(log, cpu1 - cpu0, t0, t1);
}

}  // namespace

Fields run_timers(const Params& p) {
  const auto k = static_cast<std::size_t>(p.k);
  const auto base = run_forked<TimersResult>([k] { return measure_bare(k); });
  const bool metrics = p.metrics;
  const bool socket = p.idle_socket;
  const auto ours = run_forked<TimersResult>(
      [k, metrics, socket] { return measure_services(k, metrics, socket); });
  Fields fields{
      {"k", static_cast<double>(k), 0},
      {"ticks", ours.ticks, 0},
      {"expected_ticks", static_cast<double>(k * kTicksPerTimer), 0},
      {"late_p50_ms", ours.late_p50_ms, 3},
      {"late_p99_ms", ours.late_p99_ms, 3},
      {"late_max_ms", ours.late_max_ms, 3},
      {"cpu_pct", ours.cpu_pct, 1},
      {"baseline_ticks", base.ticks, 0},
      {"baseline_late_p50_ms", base.late_p50_ms, 3},
      {"baseline_late_p99_ms", base.late_p99_ms, 3},
      {"baseline_late_max_ms", base.late_max_ms, 3},
      {"baseline_cpu_pct", base.cpu_pct, 1},
      {"ratio", ours.cpu_pct / base.cpu_pct, 3},
  };
  if (metrics) fields.push_back({"scrape_ms", ours.scrape_ms, 3});
  return fields;
}

}  // namespace mode::bench
