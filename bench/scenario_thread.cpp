// Scenario `thread_call`: sequential `call_thread` round trips from the main loop to a running
// QueueServiceThread, against a bare round trip (post to another thread's io_context, post the
// result back) in the same run: once between idle loops (the baseline of `ratio`), once between
// loops that each have a timer pending, as every loop running mode services has.
#include <mode/threads.hpp>

#include "scenarios.hpp"
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

namespace mode::bench {
namespace {

struct Latency {
  double p50_us = 0;
  double p99_us = 0;
  bool ok = false;
};

class Doubler final : public QueueServiceThread {};

int twice(int v) { return v * 2; }

/// Times `n` sequential calls of `call(i)`, each returning `2 * i`, after `n / 10` warm-up calls.
template <class Call>
awaitable<void> timed_loop(std::int64_t n, Call call, Latency* out) {
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(n));
  bool ok = true;
  for (std::int64_t i = -(n / 10); i < n; ++i) {
    const int v = static_cast<int>(i & 0xffff);
    const Clock::time_point t0 = Clock::now();
    const int r = co_await call(v);
    const Clock::time_point t1 = Clock::now();
    if (r != 2 * v) ok = false;
    if (i >= 0) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  out->p50_us = quantile(us, 0.50);
  out->p99_us = quantile(us, 0.99);
  out->ok = ok;
}

Latency measure_service(std::int64_t n) {
  asio::io_context ctx;
  auto svc = std::make_shared<Doubler>();
  Completion started;
  spawn(ctx, svc->start(), started);
  run_until_complete(ctx, started);
  Latency r;
  Completion loop;
  spawn(ctx,
        timed_loop(
            n, [svc](int v) { return svc->call_thread(&twice, v); }, &r),
        loop);
  run_until_complete(ctx, loop);
  Completion stopped;
  spawn(ctx, svc->stop(), stopped);
  run_until_complete(ctx, stopped);
  return r;
}

/// The bare round trip: post the work to the other thread's loop, which posts the result to
/// the caller's executor.
struct BareCall {
  asio::io_context* other;
  awaitable<int> operator()(int v) const {
    return asio::async_initiate<decltype(use_awaitable), void(int)>(
        [other = other, v](auto handler) {
          asio::post(other->get_executor(), [h = std::move(handler), v]() mutable {
            const int r = twice(v);
            auto ex = asio::get_associated_executor(h);
            asio::post(ex, [h = std::move(h), r]() mutable { std::move(h)(r); });
          });
        },
        use_awaitable);
  }
};

/// With `timers`, each loop has a steady_timer pending: an idle Asio loop waits on a condition
/// variable, one with a timer (or a socket) waits in epoll and is woken through an eventfd,
/// which costs more per hop. Mode's loops always have their timer queue's timer.
Latency measure_bare(std::int64_t n, bool timers) {
  asio::io_context ctx;
  asio::io_context other(1);  // as ServiceThread's loop
  auto guard = asio::make_work_guard(other);
  std::optional<asio::steady_timer> main_timer;
  std::optional<asio::steady_timer> other_timer;
  if (timers) {
    main_timer.emplace(ctx, std::chrono::hours(1));
    main_timer->async_wait([](boost::system::error_code) {});
    other_timer.emplace(other, std::chrono::hours(1));
    other_timer->async_wait([](boost::system::error_code) {});
  }
  std::thread thread([&other] { other.run(); });
  Latency r;
  Completion loop;
  spawn(ctx, timed_loop(n, BareCall{&other}, &r), loop);
  run_until_complete(ctx, loop);
  main_timer.reset();
  guard.reset();
  other.stop();
  thread.join();
  return r;
}

void check(const Latency& r) {
  if (!r.ok) throw std::runtime_error("a round trip returned a wrong result");
}

}  // namespace

Fields run_thread_call(const Params& p) {
  const std::int64_t n = p.n;
  const auto base = run_forked<Latency>([n] { return measure_bare(n, false); });
  check(base);
  const auto timed = run_forked<Latency>([n] { return measure_bare(n, true); });
  check(timed);
  const auto ours = run_forked<Latency>([n] { return measure_service(n); });
  check(ours);
  Fields f;
  f.push_back({"n", static_cast<double>(n), 0});
  f.push_back({"p50_us", ours.p50_us, 2});
  f.push_back({"p99_us", ours.p99_us, 2});
  f.push_back({"baseline_p50_us", base.p50_us, 2});
  f.push_back({"baseline_p99_us", base.p99_us, 2});
  f.push_back({"baseline_timer_p50_us", timed.p50_us, 2});
  f.push_back({"baseline_timer_p99_us", timed.p99_us, 2});
  f.push_back({"ratio_timer", ours.p50_us / timed.p50_us, 3});
  // `ratio` last: the smoke test in bench/CMakeLists.txt reads it there.
  f.push_back({"ratio", ours.p50_us / base.p50_us, 3});
  return f;
}

}  // namespace mode::bench
