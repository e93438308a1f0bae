// Scenarios `restart` and `restart_storm`: supervisors restarting crashed services, against bare
// coroutines re-spawned from their completion handler when they throw.
#include <mode/operations.hpp>
#include <mode/supervisors.hpp>

#include "scenarios.hpp"
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <vector>

namespace mode::bench {
namespace {

struct RestartResult {
  std::int64_t restarts = 0;
  double seconds = 0;
  double p50_us = 0;
  double p99_us = 0;
  double scrape_ms = 0;  // --metrics: one scrape after the run
};

/// Crash times and restart latencies, shared by a crasher and the code timing it.
struct Timing {
  Clock::time_point crashed_at{};
  std::vector<double> latencies_us;
  std::int64_t target = 0;
};

/// A service whose task throws right after start.
class Crasher final : public Service {
 public:
  explicit Crasher(Timing* timing) : timing_(timing) { task(&Crasher::run); }

 protected:
  awaitable<void> on_started() override {
    if (timing_->crashed_at != Clock::time_point{}) {
      timing_->latencies_us.push_back(ms_between(timing_->crashed_at, Clock::now()) * 1000.0);
    }
    co_return;
  }

 private:
  awaitable<void> run() {
    // Let start() finish first, as a task that crashes later would.
    const auto ex = co_await asio::this_coro::executor;
    co_await asio::post(ex, use_awaitable);
    if (static_cast<std::int64_t>(timing_->latencies_us.size()) >= timing_->target) co_return;
    timing_->crashed_at = Clock::now();
    throw std::runtime_error("crash");
  }
  Timing* timing_;
};

RestartResult summarize(Timing& t, double seconds) {
  RestartResult r;
  r.restarts = static_cast<std::int64_t>(t.latencies_us.size());
  r.seconds = seconds;
  r.p50_us = quantile(t.latencies_us, 0.50);
  r.p99_us = quantile(t.latencies_us, 0.99);
  return r;
}

// Crash logs go to a file at the level mode-bench runs at, as a daemon's would.
void log_to_file() {
  auto logger = spdlog::basic_logger_st("mode-bench-file", "/tmp/mode-bench-restart.log", true);
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

RestartResult measure_supervised(std::int64_t n, bool metrics, bool socket) {
  log_to_file();
  asio::io_context ctx;
  const auto idle = idle_socket(ctx, socket);
  Timing timing;
  timing.target = n;
  SupervisorOptions options;
  options.max_restarts = static_cast<std::size_t>(n) * 2;
  auto crasher = std::make_shared<Crasher>(&timing);
  auto sup =
      std::make_shared<OneForOneSupervisor>(std::vector<Service::ServicePtr>{crasher}, options);
  // With metrics, a plain root holds the supervisor and the endpoint.
  Service::ServicePtr root = sup;
  std::shared_ptr<OperationsEndpoint> ops;
  if (metrics) {
    ops = std::make_shared<OperationsEndpoint>();
    root = std::make_shared<Service>();
    root->add_dependency(sup);
    root->add_dependency(ops);
  }
  const Clock::time_point t0 = Clock::now();
  Completion started;
  spawn(ctx, root->start(), started);
  run_while_not(ctx, [&] { return static_cast<std::int64_t>(timing.latencies_us.size()) >= n; });
  const double seconds = ms_between(t0, Clock::now()) / 1000.0;
  double scrape_ms = 0;
  if (ops) {
    const Clock::time_point s0 = Clock::now();
    if (ops->metrics().empty()) throw std::runtime_error("empty scrape");
    scrape_ms = ms_between(s0, Clock::now());
  }
  Completion stopped;
  spawn(ctx, root->stop(), stopped);
  run_until_complete(ctx, stopped);
  std::remove("/tmp/mode-bench-restart.log");
  RestartResult r = summarize(timing, seconds);
  r.scrape_ms = scrape_ms;
  return r;
}

// Baseline: a coroutine that throws, re-spawned by its completion handler.
awaitable<void> bare_crasher(Timing* timing) {
  const auto ex = co_await asio::this_coro::executor;
  co_await asio::post(ex, use_awaitable);
  if (timing->crashed_at != Clock::time_point{})
    timing->latencies_us.push_back(ms_between(timing->crashed_at, Clock::now()) * 1000.0);
  if (static_cast<std::int64_t>(timing->latencies_us.size()) >= timing->target) co_return;
  timing->crashed_at = Clock::now();
  throw std::runtime_error("crash");
}

void respawn(asio::io_context& ctx, Timing* timing) {
  asio::co_spawn(ctx, bare_crasher(timing), [&ctx, timing](std::exception_ptr e) {
    if (e) respawn(ctx, timing);
  });
}

RestartResult measure_bare(std::int64_t n) {
  asio::io_context ctx;
  Timing timing;
  timing.target = n;
  const Clock::time_point t0 = Clock::now();
  respawn(ctx, &timing);
  ctx.run();
  return summarize(timing, ms_between(t0, Clock::now()) / 1000.0);
}

/// A service that counts its starts.
class Member final : public Service {
 public:
  explicit Member(std::int64_t* starts) : starts_(starts) {}
  void fail() { crash(std::make_exception_ptr(std::runtime_error("storm"))); }

 protected:
  awaitable<void> on_started() override {
    ++*starts_;
    co_return;
  }

 private:
  std::int64_t* starts_;
};

template <class Supervisor>
double measure_storm(std::int64_t n) {
  log_to_file();
  asio::io_context ctx;
  std::int64_t starts = 0;
  std::vector<std::shared_ptr<Member>> members;
  std::vector<Service::ServicePtr> services;
  for (std::int64_t i = 0; i < n; ++i) {
    members.push_back(std::make_shared<Member>(&starts));
    services.push_back(members.back());
  }
  SupervisorOptions options;
  options.max_restarts = static_cast<std::size_t>(n) * 4;
  auto sup = std::make_shared<Supervisor>(services, options);
  Completion started;
  spawn(ctx, sup->start(), started);
  run_until_complete(ctx, started);
  const Clock::time_point t0 = Clock::now();
  for (const auto& m : members) m->fail();
  run_while_not(ctx, [&] { return starts >= 2 * n; });
  const double ms = ms_between(t0, Clock::now());
  Completion stopped;
  spawn(ctx, sup->stop(), stopped);
  run_until_complete(ctx, stopped);
  std::remove("/tmp/mode-bench-restart.log");
  return ms;
}

}  // namespace

Fields run_restart(const Params& p) {
  const std::int64_t n = p.n;
  const auto base = run_forked<RestartResult>([n] { return measure_bare(n); });
  const bool metrics = p.metrics;
  const bool socket = p.idle_socket;
  const auto ours = run_forked<RestartResult>(
      [n, metrics, socket] { return measure_supervised(n, metrics, socket); });
  const double per_s = static_cast<double>(ours.restarts) / ours.seconds;
  const double base_per_s = static_cast<double>(base.restarts) / base.seconds;
  Fields fields{
      {"n", static_cast<double>(n), 0},
      {"restarts_per_s", per_s, 0},
      {"p50_us", ours.p50_us, 2},
      {"p99_us", ours.p99_us, 2},
      {"baseline_restarts_per_s", base_per_s, 0},
      {"baseline_p50_us", base.p50_us, 2},
      {"baseline_p99_us", base.p99_us, 2},
      {"ratio", base_per_s / per_s, 3},
  };
  if (metrics) fields.push_back({"scrape_ms", ours.scrape_ms, 3});
  return fields;
}

Fields run_restart_storm(const Params& p) {
  const std::int64_t n = p.n;
  const double all = run_forked<double>([n] { return measure_storm<OneForAllSupervisor>(n); });
  const double rest = run_forked<double>([n] { return measure_storm<RestForOneSupervisor>(n); });
  const double one = run_forked<double>([n] { return measure_storm<OneForOneSupervisor>(n); });
  return {
      {"n", static_cast<double>(n), 0},
      {"one_for_all_ms", all, 3},
      {"rest_for_one_ms", rest, 3},
      {"one_for_one_ms", one, 3},
  };
}

}  // namespace mode::bench
