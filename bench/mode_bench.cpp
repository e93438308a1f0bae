// mode-bench: runs one benchmark scenario and prints one JSON line per run (DESIGN.md §7;
// figures and how to rerun them in docs/BENCHMARKS.md).
#include <mode/event_ring.hpp>

#include "harness.hpp"
#include "scenarios.hpp"
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <exception>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace {

using mode::bench::Fields;
using mode::bench::Params;

struct Scenario {
  std::string_view name;
  std::string_view about;
  std::int64_t default_n;  // 0: takes no --n
  std::int64_t default_k;  // 0: takes no --k
  bool metrics;            // takes --metrics
  Fields (*run)(const Params&);
};

constexpr Scenario kScenarios[] = {
    {"tree", "start and stop of a root with N children, one sleeping task each (--n)", 10000, 0,
     true, mode::bench::run_tree},
    {"timers", "K services with a 10 ms timer each for 3 s: ticks, lateness, CPU (--k)", 0, 1000,
     true, mode::bench::run_timers},
    {"stop_latency", "stop of a root whose N children sleep in sleep(30.0) (--n)", 1000, 0, false,
     mode::bench::run_stop_latency},
    {"worker_shutdown", "a Worker process with N services: SIGTERM to process exit (--n)", 10000, 0,
     false, mode::bench::run_worker_shutdown},
    {"wait_set_event", "N waits on an already set Event inside a running service (--n)", 5000000, 0,
     false, mode::bench::run_wait_set_event},
    {"thread_call", "N sequential call_thread round trips from the main loop: p50/p99 (--n)",
     100000, 0, false, mode::bench::run_thread_call},
    {"restart", "N restarts of a supervised service that crashes after each start (--n)", 200000, 0,
     true, mode::bench::run_restart},
    {"restart_storm", "N supervised services crashing at once: time until all run (--n)", 1000, 0,
     false, mode::bench::run_restart_storm},
    {"signal", "N sends to 10 async receivers, 20 N to 10 sync ones: calls/s (--n)", 2000000, 0,
     false, mode::bench::run_signal},
    {"queue_flow", "N items, 1 producer, 1 consumer, FlowControlQueue(1000) (--n)", 10000000, 0,
     false, mode::bench::run_queue_flow},
    {"queue_throwable", "N items, 1 producer, 1 consumer, ThrowableQueue(1000) (--n)", 10000000, 0,
     false, mode::bench::run_queue_throwable},
    {"soak_restart", "N restarts in one process: RSS growth after a warm-up of 100k (--n)", 1000000,
     0, false, mode::bench::run_soak_restart},
    {"soak_tree", "a tree of N services made, started and stopped K times: RSS growth (--n, --k)",
     10000, 100, false, mode::bench::run_soak_tree},
};

constexpr std::int64_t kMaxN = 1'000'000'000;
constexpr std::int64_t kMaxK = 100'000;

const Scenario* find_scenario(std::string_view name) {
  for (const Scenario& s : kScenarios)
    if (s.name == name) return &s;
  return nullptr;
}

int usage_error(const std::string& message) {
  std::cerr << "mode-bench: " << message << "\nRun mode-bench --help for usage.\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Runs a mode-cpp benchmark scenario against its bare-Asio baseline and prints one JSON "
      "object per run.",
      "mode-bench"};
  std::vector<std::string> names;
  for (const Scenario& s : kScenarios) names.emplace_back(s.name);
  bool list = false;
  std::string name;
  std::int64_t n = 0;
  std::int64_t k = 0;
  int repeat = 1;
  bool median = false;
  bool metrics = false;
  bool idle_socket = false;
  CLI::Option* list_opt = app.add_flag("--list", list, "Name the scenarios and exit");
  CLI::Option* name_opt =
      app.add_option("scenario", name, "Scenario to run (see --list)")->check(CLI::IsMember(names));
  CLI::Option* n_opt = app.add_option("--n", n, "Number of services or operations")
                           ->check(CLI::Range(std::int64_t{1}, kMaxN));
  CLI::Option* k_opt = app.add_option("--k", k, "Number of timers (timers), of rounds (soak_tree)")
                           ->check(CLI::Range(std::int64_t{1}, kMaxK));
  app.add_option("--repeat", repeat, "Runs, one JSON line each (default 1)")
      ->check(CLI::Range(1, 1000));
  std::size_t event_ring = mode::event_ring_size();
  app.add_option("--event-ring", event_ring,
                 "Events each service keeps (default 64; 0: none, to measure what the ring costs)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{65535}));
  app.add_flag("--median", median,
               "After the runs, one more line: each field's median over them, with \"runs\"");
  CLI::Option* metrics_opt = app.add_flag(
      "--metrics", metrics,
      "tree, timers, restart: with an OperationsEndpoint in the tree, scraped once after the run");
  CLI::Option* socket_opt =
      app.add_flag("--idle-socket", idle_socket,
                   "tree, timers, restart: with an idle listening socket on the loop (the "
                   "endpoint's, without the metrics)");
  list_opt->excludes(name_opt);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    return usage_error(e.what());
  }

  if (list) {
    for (const Scenario& s : kScenarios) std::cout << s.name << "  " << s.about << '\n';
    return 0;
  }
  if (name.empty()) return usage_error("give a scenario name, or --list to see them");
  const Scenario& scenario = *find_scenario(name);
  if (n_opt->count() > 0 && scenario.default_n == 0)
    return usage_error(name + " takes no --n (see --list)");
  if (k_opt->count() > 0 && scenario.default_k == 0)
    return usage_error(name + " takes no --k (see --list)");
  if ((metrics_opt->count() > 0 || socket_opt->count() > 0) && !scenario.metrics)
    return usage_error(name + " takes no --metrics nor --idle-socket (see --list)");
  mode::set_event_ring_size(event_ring);
  Params params;
  params.metrics = metrics;
  params.idle_socket = idle_socket;
  params.n = n_opt->count() > 0 ? n : scenario.default_n;
  params.k = k_opt->count() > 0 ? k : scenario.default_k;

  // Services log to stderr, and only what goes wrong: stdout carries the JSON lines.
  spdlog::set_default_logger(spdlog::stderr_color_st("mode-bench"));
  spdlog::set_level(spdlog::level::warn);
  try {
    std::vector<Fields> runs;
    for (int i = 0; i < repeat; ++i) {
      runs.push_back(scenario.run(params));
      mode::bench::print_json(scenario.name, runs.back());
    }
    if (median) mode::bench::print_json(scenario.name, mode::bench::medians(runs));
  } catch (const std::exception& e) {
    std::cerr << "mode-bench: " << scenario.name << " failed: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
