// Scenarios `tree`, `stop_latency` and `worker_shutdown`: a root with N children whose one task
// sleeps in a loop, against N bare coroutines each looping on its own steady_timer.
#include <mode/operations.hpp>
#include <mode/service.hpp>
#include <mode/worker.hpp>

#include "scenarios.hpp"
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <unistd.h>

#include <csignal>
#include <cstddef>
#include <exception>
#include <memory>
#include <stdexcept>
#include <vector>

namespace mode::bench {
namespace {

/// Counts the tasks that began running.
struct Progress {
  std::size_t started = 0;
};

class Child final : public Service {
 public:
  Child(Progress* progress, double sleep_s) : progress_(progress), sleep_s_(sleep_s) {
    task(&Child::run);
  }

 private:
  awaitable<void> run() {
    ++progress_->started;
    for (;;) {
      const bool slept = co_await sleep(sleep_s_);
      if (!slept) co_return;
    }
  }

  Progress* progress_;
  double sleep_s_;
};

awaitable<void> bare_sleeper(Progress* progress, Clock::duration period) {
  const auto ex = co_await asio::this_coro::executor;
  asio::steady_timer timer(ex);
  ++progress->started;
  for (;;) {
    timer.expires_after(period);
    const auto [ec] = co_await timer.async_wait(asio::as_tuple(use_awaitable));
    if (ec) co_return;
  }
}

struct TreeResult {
  double create_ms = 0;
  double start_ms = 0;
  double stop_ms = 0;
  double destroy_ms = 0;
  double bytes_per_service = 0;
  double scrape_ms = 0;  // --metrics: one scrape of the running tree
};

double bytes_per(std::size_t before, std::size_t after, std::size_t n) {
  return after > before ? static_cast<double>(after - before) / static_cast<double>(n) : 0.0;
}

TreeResult measure_services(std::size_t n, double sleep_s, bool metrics = false,
                            bool socket = false) {
  asio::io_context ctx;
  const auto idle = idle_socket(ctx, socket);
  Progress progress;
  TreeResult r;
  const std::size_t rss_before = rss_bytes();
  const Clock::time_point t0 = Clock::now();
  auto root = std::make_shared<Service>();
  for (std::size_t i = 0; i < n; ++i)
    root->add_dependency(std::make_shared<Child>(&progress, sleep_s));
  std::shared_ptr<OperationsEndpoint> ops;
  if (metrics) {
    ops = std::make_shared<OperationsEndpoint>();
    root->add_dependency(ops);
  }
  const Clock::time_point t1 = Clock::now();
  Completion started;
  spawn(ctx, root->start(), started);
  run_while_not(ctx, [&] { return started.done && (started.error || progress.started == n); });
  if (started.error) std::rethrow_exception(started.error);
  const Clock::time_point t2 = Clock::now();
  const std::size_t rss_after = rss_bytes();
  Clock::time_point stop_from = Clock::now();
  if (ops) {
    if (ops->metrics().empty()) throw std::runtime_error("empty scrape");
    const Clock::time_point scraped = Clock::now();
    r.scrape_ms = ms_between(stop_from, scraped);
    stop_from = scraped;
  }
  Completion stopped;
  spawn(ctx, root->stop(), stopped);
  run_until_complete(ctx, stopped);
  const Clock::time_point t3 = Clock::now();
  root.reset();
  const Clock::time_point t4 = Clock::now();
  r.create_ms = ms_between(t0, t1);
  r.start_ms = ms_between(t1, t2);
  r.stop_ms = ms_between(stop_from, t3);
  r.destroy_ms = ms_between(t3, t4);
  r.bytes_per_service = bytes_per(rss_before, rss_after, n);
  return r;
}

TreeResult measure_bare(std::size_t n, double sleep_s) {
  asio::io_context ctx;
  Progress progress;
  std::size_t joined = 0;
  std::exception_ptr error;
  TreeResult r;
  const std::size_t rss_before = rss_bytes();
  // The signals are part of the cost: a bare coroutine needs one to be cancelled and joined.
  std::vector<asio::cancellation_signal> signals(n);
  const Clock::time_point t0 = Clock::now();
  const auto period =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(sleep_s));
  for (std::size_t i = 0; i < n; ++i) {
    asio::co_spawn(
        ctx, bare_sleeper(&progress, period),
        asio::bind_cancellation_slot(signals[i].slot(), [&joined, &error](std::exception_ptr e) {
          ++joined;
          if (e && !error) error = e;
        }));
  }
  run_while_not(ctx, [&] { return progress.started == n; });
  const Clock::time_point t1 = Clock::now();
  const std::size_t rss_after = rss_bytes();
  for (asio::cancellation_signal& s : signals) s.emit(asio::cancellation_type::terminal);
  run_while_not(ctx, [&] { return joined == n; });
  const Clock::time_point t2 = Clock::now();
  if (error) std::rethrow_exception(error);
  r.start_ms = ms_between(t0, t1);
  r.stop_ms = ms_between(t1, t2);
  r.bytes_per_service = bytes_per(rss_before, rss_after, n);
  return r;
}

// A Worker process whose services all run, until SIGTERM stops it.
class ReadyWorker final : public Worker {
 public:
  ReadyWorker(std::vector<ServicePtr> services, int ready_fd)
      : Worker(std::move(services), options()), ready_fd_(ready_fd) {}

 private:
  static WorkerOptions options() {
    WorkerOptions o;
    o.quiet = true;
    o.redirect_stdouts = false;
    return o;
  }
  awaitable<void> on_started() override {
    const char ready = 'r';
    if (::write(ready_fd_, &ready, 1) != 1) throw std::runtime_error("cannot report ready");
    co_await Worker::on_started();
  }
  int ready_fd_;
};

int worker_program(std::size_t n, int ready_fd) {
  Progress progress;
  std::vector<Service::ServicePtr> services;
  for (std::size_t i = 0; i < n; ++i) services.push_back(std::make_shared<Child>(&progress, 30.0));
  ReadyWorker worker(std::move(services), ready_fd);
  return worker.execute();
}

// The same program in bare Asio: N sleeping coroutines, cancelled and joined on SIGTERM.
int bare_program(std::size_t n, int ready_fd) {
  asio::io_context ctx;
  asio::signal_set signals(ctx, SIGTERM);
  Progress progress;
  std::size_t joined = 0;
  std::vector<asio::cancellation_signal> cancels(n);
  for (std::size_t i = 0; i < n; ++i) {
    asio::co_spawn(ctx, bare_sleeper(&progress, std::chrono::seconds(30)),
                   asio::bind_cancellation_slot(cancels[i].slot(),
                                                [&joined](std::exception_ptr) { ++joined; }));
  }
  signals.async_wait([&](boost::system::error_code, int) {
    for (asio::cancellation_signal& c : cancels) c.emit(asio::cancellation_type::terminal);
  });
  run_while_not(ctx, [&] { return progress.started == n; });
  const char ready = 'r';
  if (::write(ready_fd, &ready, 1) != 1) return 1;
  run_while_not(ctx, [&] { return joined == n; });
  return 0;
}

std::size_t count_of(std::int64_t v) { return static_cast<std::size_t>(v); }

}  // namespace

Fields run_tree(const Params& p) {
  const std::size_t n = count_of(p.n);
  const bool metrics = p.metrics;
  const bool socket = p.idle_socket;
  const auto base = run_forked<TreeResult>([n] { return measure_bare(n, 1.0); });
  const auto ours = run_forked<TreeResult>(
      [n, metrics, socket] { return measure_services(n, 1.0, metrics, socket); });
  Fields fields{
      {"n", static_cast<double>(n), 0},
      {"create_ms", ours.create_ms, 3},
      {"start_ms", ours.start_ms, 3},
      {"stop_ms", ours.stop_ms, 3},
      {"destroy_ms", ours.destroy_ms, 3},
      {"bytes_per_service", ours.bytes_per_service, 0},
      {"baseline_start_ms", base.start_ms, 3},
      {"baseline_stop_ms", base.stop_ms, 3},
      {"baseline_bytes_per_service", base.bytes_per_service, 0},
      {"ratio", (ours.start_ms + ours.stop_ms) / (base.start_ms + base.stop_ms), 3},
  };
  if (metrics) fields.push_back({"scrape_ms", ours.scrape_ms, 3});
  return fields;
}

Fields run_stop_latency(const Params& p) {
  const std::size_t n = count_of(p.n);
  const auto base = run_forked<TreeResult>([n] { return measure_bare(n, 30.0); });
  const auto ours = run_forked<TreeResult>([n] { return measure_services(n, 30.0); });
  return {
      {"n", static_cast<double>(n), 0},
      {"stop_ms", ours.stop_ms, 3},
      {"baseline_stop_ms", base.stop_ms, 3},
      {"ratio", ours.stop_ms / base.stop_ms, 3},
  };
}

Fields run_worker_shutdown(const Params& p) {
  const std::size_t n = count_of(p.n);
  const double base = exit_ms_after_sigterm([n](int fd) { return bare_program(n, fd); });
  const double ours = exit_ms_after_sigterm([n](int fd) { return worker_program(n, fd); });
  return {
      {"n", static_cast<double>(n), 0},
      {"exit_ms", ours, 3},
      {"baseline_exit_ms", base, 3},
      {"ratio", ours / base, 3},
  };
}

}  // namespace mode::bench
