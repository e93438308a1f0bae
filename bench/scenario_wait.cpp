// Scenario `wait_set_event`: `co_await wait(event)` on an Event that is already set, in a loop
// inside a running service, against a bare coroutine call that returns at once.
#include <mode/service.hpp>

#include "scenarios.hpp"

#include <cstdint>
#include <memory>
#include <stdexcept>

namespace mode::bench {
namespace {

struct LoopResult {
  std::int64_t done = 0;
  double seconds = 0;
  bool finished = false;
};

class EventWaiter final : public Service {
 public:
  EventWaiter(std::int64_t n, LoopResult* out) : n_(n), out_(out) { task(&EventWaiter::run); }

 private:
  awaitable<void> run() {
    Event event;
    event.set();
    std::int64_t done = 0;
    const Clock::time_point t0 = Clock::now();
    for (std::int64_t i = 0; i < n_; ++i) {
      const WaitResult<void> r = co_await wait(event);
      if (r) ++done;
    }
    out_->seconds = ms_between(t0, Clock::now()) / 1000.0;
    out_->done = done;
    out_->finished = true;
  }

  std::int64_t n_;
  LoopResult* out_;
};

// What a wait on a set event costs at least: one coroutine call that returns at once.
awaitable<WaitResult<void>> bare_wait(const Event* event) {
  WaitResult<void> r;
  r.done = event->is_set();
  co_return r;
}

awaitable<void> bare_loop(std::int64_t n, LoopResult* out) {
  Event event;
  event.set();
  std::int64_t done = 0;
  const Clock::time_point t0 = Clock::now();
  for (std::int64_t i = 0; i < n; ++i) {
    const WaitResult<void> r = co_await bare_wait(&event);
    if (r) ++done;
  }
  out->seconds = ms_between(t0, Clock::now()) / 1000.0;
  out->done = done;
  out->finished = true;
}

void check(const LoopResult& r, std::int64_t n) {
  if (!r.finished || r.done != n)
    throw std::runtime_error("a wait on a set event did not return done");
}

LoopResult measure_service(std::int64_t n) {
  asio::io_context ctx;
  LoopResult r;
  auto waiter = std::make_shared<EventWaiter>(n, &r);
  Completion started;
  spawn(ctx, waiter->start(), started);
  run_until_complete(ctx, started);
  run_while_not(ctx, [&r] { return r.finished; });
  Completion stopped;
  spawn(ctx, waiter->stop(), stopped);
  run_until_complete(ctx, stopped);
  check(r, n);
  return r;
}

LoopResult measure_bare(std::int64_t n) {
  asio::io_context ctx;
  LoopResult r;
  Completion c;
  spawn(ctx, bare_loop(n, &r), c);
  run_until_complete(ctx, c);
  check(r, n);
  return r;
}

}  // namespace

Fields run_wait_set_event(const Params& p) {
  const std::int64_t n = p.n;
  const auto base = run_forked<LoopResult>([n] { return measure_bare(n); });
  const auto ours = run_forked<LoopResult>([n] { return measure_service(n); });
  const double ops = static_cast<double>(n) / ours.seconds;
  const double base_ops = static_cast<double>(n) / base.seconds;
  return {
      {"n", static_cast<double>(n), 0},
      {"ops_per_s", ops, 0},
      {"baseline_ops_per_s", base_ops, 0},
      {"ratio", base_ops / ops, 3},
  };
}

}  // namespace mode::bench
