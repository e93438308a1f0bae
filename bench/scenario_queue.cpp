// Scenarios `queue_flow` and `queue_throwable`: one producer and one consumer coroutine pass N
// items through a queue of capacity 1000, against a bare asio::experimental::channel of the same
// capacity driven by async_send / async_receive.
#include <mode/utils/queues.hpp>

#include "scenarios.hpp"
#include <boost/asio/experimental/channel.hpp>

#include <cstdint>
#include <stdexcept>

namespace mode::bench {
namespace {

constexpr std::size_t kMaxSize = 1000;

struct QueueResult {
  std::int64_t received = 0;
  std::int64_t sum = 0;
  double seconds = 0;
};

template <class Q>
awaitable<void> produce(Q* q, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) co_await q->put(i);
}

template <class Q>
awaitable<void> consume(Q* q, std::int64_t n, QueueResult* out) {
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t v = co_await q->get();
    out->sum += v;
    ++out->received;
  }
}

using Channel = asio::experimental::channel<void(boost::system::error_code, std::int64_t)>;

awaitable<void> produce_bare(Channel* ch, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i)
    co_await ch->async_send(boost::system::error_code{}, i, use_awaitable);
}

awaitable<void> consume_bare(Channel* ch, std::int64_t n, QueueResult* out) {
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t v = co_await ch->async_receive(use_awaitable);
    out->sum += v;
    ++out->received;
  }
}

// Times `producer` and `consumer` on `ctx` from their spawn until the consumer has every item.
QueueResult measure(asio::io_context& ctx, std::int64_t n, awaitable<void> producer,
                    awaitable<void> consumer, QueueResult& r) {
  Completion p;
  Completion c;
  const Clock::time_point t0 = Clock::now();
  spawn(ctx, std::move(producer), p);
  spawn(ctx, std::move(consumer), c);
  run_until_complete(ctx, c);
  r.seconds = ms_between(t0, Clock::now()) / 1000.0;
  run_until_complete(ctx, p);
  if (r.received != n || r.sum != n * (n - 1) / 2)
    throw std::runtime_error("the consumer did not get every item in order");
  return r;
}

QueueResult measure_bare(std::int64_t n) {
  asio::io_context ctx;
  Channel ch(ctx, kMaxSize);
  QueueResult r;
  return measure(ctx, n, produce_bare(&ch, n), consume_bare(&ch, n, &r), r);
}

template <class Q>
QueueResult measure_queue(std::int64_t n) {
  asio::io_context ctx;
  FlowControlEvent flow(false);  // flow resumed: put only waits for room
  Q q(kMaxSize, flow);
  QueueResult r;
  return measure(ctx, n, produce(&q, n), consume(&q, n, &r), r);
}

double per_second(const QueueResult& r) { return static_cast<double>(r.received) / r.seconds; }

template <class Q>
Fields run_queue(const Params& p) {
  const std::int64_t n = p.n;
  const auto base = run_forked<QueueResult>([n] { return measure_bare(n); });
  const auto ours = run_forked<QueueResult>([n] { return measure_queue<Q>(n); });
  return {
      {"n", static_cast<double>(n), 0},
      {"maxsize", static_cast<double>(kMaxSize), 0},
      {"items_per_s", per_second(ours), 0},
      {"baseline_items_per_s", per_second(base), 0},
      {"ratio", per_second(base) / per_second(ours), 3},
  };
}

}  // namespace

Fields run_queue_flow(const Params& p) { return run_queue<FlowControlQueue<std::int64_t>>(p); }

Fields run_queue_throwable(const Params& p) { return run_queue<ThrowableQueue<std::int64_t>>(p); }

}  // namespace mode::bench
