// Scenarios `soak_restart` and `soak_tree`: long runs in one process that look for memory that
// grows with the work done (a leak, or a list that only ever grows), by resident set size.
#include <mode/supervisors.hpp>

#include "scenarios.hpp"
#include <boost/asio/post.hpp>
#include <malloc.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

namespace mode::bench {
namespace {

/// Anonymous resident set sizes after the warm-up and at the end, in kB.
struct SoakResult {
  std::int64_t done = 0;  // restarts or rounds
  std::int64_t warmup = 0;
  std::int64_t rss_start_kb = 0;
  std::int64_t rss_end_kb = 0;
  std::int64_t heap_start = 0;  // bytes allocated and not freed (malloc's count)
  std::int64_t heap_end = 0;
  double seconds = 0;
};

std::int64_t rss_kb() { return static_cast<std::int64_t>(anonymous_rss_bytes() / 1024); }

// Exact where the resident size counts pages: a leak of a few bytes a restart shows here first.
std::int64_t heap_in_use() { return static_cast<std::int64_t>(::mallinfo2().uordblks); }

Fields fields_of(const char* counted, const SoakResult& r) {
  const double growth = 100.0 * static_cast<double>(r.rss_end_kb - r.rss_start_kb) /
                        static_cast<double>(r.rss_start_kb);
  return {
      {counted, static_cast<double>(r.done), 0},
      {"warmup", static_cast<double>(r.warmup), 0},
      {"seconds", r.seconds, 3},
      {"rss_start_kb", static_cast<double>(r.rss_start_kb), 0},
      {"rss_end_kb", static_cast<double>(r.rss_end_kb), 0},
      {"rss_growth_pct", growth, 3},
      {"heap_growth_bytes", static_cast<double>(r.heap_end - r.heap_start), 0},
  };
}

// The crash lines are formatted as a daemon's would be, and then dropped: a million lines
// would only fill a disk.
void log_to_nowhere() {
  auto logger = spdlog::null_logger_st("mode-bench-soak");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

/// A service whose task throws right after each start, until it has started `last` times.
class Crasher final : public Service {
 public:
  Crasher(std::int64_t* starts, std::int64_t last) : starts_(starts), last_(last) {
    task(&Crasher::run);
  }

 protected:
  awaitable<void> on_started() override {
    ++*starts_;
    co_return;
  }

 private:
  awaitable<void> run() {
    // Let start() finish first, as a task that crashes later would.
    const auto ex = co_await asio::this_coro::executor;
    co_await asio::post(ex, use_awaitable);
    if (*starts_ >= last_) co_return;
    throw std::runtime_error("crash");
  }

  std::int64_t* starts_;
  std::int64_t last_;
};

SoakResult soak_restart(std::int64_t n, std::int64_t warmup) {
  log_to_nowhere();
  asio::io_context ctx;
  std::int64_t starts = 0;
  // `starts - 1` restarts: the first start is none.
  auto crasher = std::make_shared<Crasher>(&starts, n + 1);
  SupervisorOptions options;
  // A short window, so that the restarts it remembers (all of the last `over` seconds) reach
  // their steady number within the warm-up; the limit is never reached.
  options.over = 0.01;
  options.max_restarts = static_cast<std::size_t>(n) + 1;
  auto sup =
      std::make_shared<OneForOneSupervisor>(std::vector<Service::ServicePtr>{crasher}, options);
  SoakResult r;
  r.done = n;
  r.warmup = warmup;
  Completion started;
  spawn(ctx, sup->start(), started);
  run_while_not(ctx, [&] { return starts > warmup; });
  r.rss_start_kb = rss_kb();
  r.heap_start = heap_in_use();
  const Clock::time_point t0 = Clock::now();
  run_while_not(
      ctx, [&] { return starts > n; }, std::chrono::hours(2));
  r.seconds = ms_between(t0, Clock::now()) / 1000.0;
  r.rss_end_kb = rss_kb();
  r.heap_end = heap_in_use();
  if (crasher->restart_count() != static_cast<std::uint32_t>(n))
    throw std::runtime_error("the crasher was not restarted n times");
  Completion stopped;
  spawn(ctx, sup->stop(), stopped);
  run_until_complete(ctx, stopped);
  return r;
}

/// A service with one task sleeping in a loop, as the `tree` scenario's children.
class Sleeper final : public Service {
 public:
  Sleeper() { task(&Sleeper::run); }

 private:
  awaitable<void> run() {
    for (;;) {
      const bool slept = co_await sleep(1.0);
      if (!slept) co_return;
    }
  }
};

// One round: a root with `n` sleeping children, made, started, stopped and destroyed.
void tree_round(asio::io_context& ctx, std::size_t n) {
  auto root = std::make_shared<Service>();
  for (std::size_t i = 0; i < n; ++i) root->add_dependency(std::make_shared<Sleeper>());
  Completion started;
  spawn(ctx, root->start(), started);
  run_until_complete(ctx, started);
  Completion stopped;
  spawn(ctx, root->stop(), stopped);
  run_until_complete(ctx, stopped);
}

SoakResult soak_tree(std::size_t n, std::int64_t rounds, std::int64_t warmup) {
  asio::io_context ctx;
  SoakResult r;
  r.done = rounds;
  r.warmup = warmup;
  for (std::int64_t i = 0; i < warmup; ++i) tree_round(ctx, n);
  r.rss_start_kb = rss_kb();
  r.heap_start = heap_in_use();
  const Clock::time_point t0 = Clock::now();
  for (std::int64_t i = warmup; i < rounds; ++i) tree_round(ctx, n);
  r.seconds = ms_between(t0, Clock::now()) / 1000.0;
  r.rss_end_kb = rss_kb();
  r.heap_end = heap_in_use();
  return r;
}

}  // namespace

Fields run_soak_restart(const Params& p) {
  const std::int64_t n = p.n;
  const std::int64_t warmup = std::min<std::int64_t>(100'000, n / 10);
  const auto r = run_forked<SoakResult>([n, warmup] { return soak_restart(n, warmup); });
  return fields_of("restarts", r);
}

Fields run_soak_tree(const Params& p) {
  const auto n = static_cast<std::size_t>(p.n);
  const std::int64_t rounds = p.k;
  const std::int64_t warmup = std::max<std::int64_t>(1, rounds / 10);
  if (rounds <= warmup) throw std::invalid_argument("soak_tree needs --k 2 or more rounds");
  const auto r =
      run_forked<SoakResult>([n, rounds, warmup] { return soak_tree(n, rounds, warmup); });
  Fields fields = fields_of("rounds", r);
  fields.insert(fields.begin(), {"n", static_cast<double>(n), 0});
  return fields;
}

}  // namespace mode::bench
