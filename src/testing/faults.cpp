// FaultInjector and FaultyService.
#include <mode/detail/wait_op.hpp>
#include <mode/testing/faults.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

namespace mode::testing {

using detail::WaitOp;
using detail::Wake;

std::string_view to_string(FaultPoint point) noexcept {
  switch (point) {
    case FaultPoint::on_start:
      return "on_start";
    case FaultPoint::on_started:
      return "on_started";
    case FaultPoint::on_stop:
      return "on_stop";
    case FaultPoint::on_shutdown:
      return "on_shutdown";
    case FaultPoint::task:
      return "task";
    case FaultPoint::timer:
      return "timer";
  }
  return "unknown";
}

std::string_view to_string(Fault fault) noexcept {
  switch (fault) {
    case Fault::none:
      return "none";
    case Fault::throw_std:
      return "throw_std";
    case Fault::throw_other:
      return "throw_other";
    case Fault::hang:
      return "hang";
    case Fault::busy:
      return "busy";
    case Fault::slow:
      return "slow";
    case Fault::crash:
      return "crash";
  }
  return "unknown";
}

void FaultInjector::inject(std::string service, FaultPoint point, Fault fault, std::size_t times) {
  chosen_.push_back(Chosen{std::move(service), point, fault, times});
}

void FaultInjector::disable() noexcept {
  disabled_ = true;
  chosen_.clear();
}

void FaultInjector::release_hangs() noexcept {
  // fire() unhooks and posts the resumption: the list may be changed only by the hangs' own
  // coroutines, later.
  for (WaitOp* op : std::vector<WaitOp*>(hangs_)) op->fire(Wake::done);
}

Fault FaultInjector::decide(const Service& service, FaultPoint point) {
  if (disabled_) return Fault::none;
  const std::string label = service.label();
  for (auto it = chosen_.begin(); it != chosen_.end(); ++it) {
    if (it->point != point || it->service != label) continue;
    const Fault f = it->fault;
    if (--it->times == 0) chosen_.erase(it);
    return f;
  }
  if (rate <= 0 || kinds.empty()) return Fault::none;
  std::uniform_real_distribution<double> chance(0.0, 1.0);
  if (chance(rng_) >= rate) return Fault::none;
  std::uniform_int_distribution<std::size_t> pick(0, kinds.size() - 1);
  return kinds[pick(rng_)];
}

awaitable<void> FaultInjector::at(Service& service, FaultPoint point) {
  const Fault fault = decide(service, point);
  if (fault == Fault::none) co_return;
  Injection& in = injections_.emplace_back();
  in.id = injections_.size();
  in.service = service.label();
  in.point = point;
  in.fault = fault;
  in.at = service.loop_clock().now();
  in.text = fmt::format("fault #{} at {}.{}", in.id, in.service, to_string(point));
  switch (fault) {
    case Fault::none:
      break;
    case Fault::throw_std:
      in.error = std::make_exception_ptr(std::runtime_error(in.text));
      std::rethrow_exception(in.error);
    case Fault::throw_other:
      in.error = std::make_exception_ptr(in.text);
      std::rethrow_exception(in.error);
    case Fault::hang:
      co_await hang();
      break;
    case Fault::busy: {
      // No suspension at all: the loop is blocked for the whole of it.
      volatile std::size_t sink = 0;
      for (std::size_t i = 0; i < busy_iterations; ++i) sink = sink + i;
      break;
    }
    case Fault::slow:
      co_await take(service, service.shutdown_timeout.count() * 0.9);
      break;
    case Fault::crash:
      in.error = std::make_exception_ptr(std::runtime_error(in.text + " (crash)"));
      service.crash(in.error);
      break;
  }
}

awaitable<void> FaultInjector::hang() {
  for (;;) {
    WaitOp op;
    op.what = "injected hang";
    hangs_.push_back(&op);
    const Wake why = co_await op.wait();
    std::erase(hangs_, &op);
    if (why != Wake::cancelled) co_return;  // released
    // Cancelled: ignored, as badly written code does; the next wait must not throw at once.
    co_await asio::this_coro::reset_cancellation_state();
  }
}

awaitable<void> FaultInjector::take(Service& service, Seconds d) {
  // On the loop's clock, not the service's sleep: a stopping service's sleep returns at once,
  // and slow user code does not.
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  WaitOp op;
  op.what = "injected slowness";
  op.expire_at(service.loop_clock().now() + d.duration(), ex);
  const Wake why = co_await op.wait();
  if (why == Wake::cancelled) throw boost::system::system_error(asio::error::operation_aborted);
}

FaultyService::FaultyService(FaultInjector& injector, std::string name, Options options)
    : injector_(injector), name_(std::move(name)), options_(options) {
  if (options_.task > 0) task(&FaultyService::work, "work");
  if (options_.timer > 0) timer(options_.timer, &FaultyService::tick, "tick");
}

void FaultyService::on_init() { callbacks_.emplace_back("on_init"); }

awaitable<void> FaultyService::on_first_start() {
  callbacks_.emplace_back("on_first_start");
  co_return;
}

awaitable<void> FaultyService::on_start() {
  callbacks_.emplace_back("on_start");
  if (options_.start_delay > 0) {
    const bool slept = co_await sleep(options_.start_delay);
    (void)slept;
  }
  co_await injector_.at(*this, FaultPoint::on_start);
}

awaitable<void> FaultyService::on_started() {
  callbacks_.emplace_back("on_started");
  co_await injector_.at(*this, FaultPoint::on_started);
}

awaitable<void> FaultyService::on_stop() {
  callbacks_.emplace_back("on_stop");
  co_await injector_.at(*this, FaultPoint::on_stop);
}

awaitable<void> FaultyService::on_shutdown() {
  callbacks_.emplace_back("on_shutdown");
  co_await injector_.at(*this, FaultPoint::on_shutdown);
}

awaitable<void> FaultyService::on_restart() {
  callbacks_.emplace_back("on_restart");
  co_return;
}

awaitable<void> FaultyService::work() {
  for (;;) {
    const bool slept = co_await sleep(options_.task);
    if (!slept) co_return;
    co_await injector_.at(*this, FaultPoint::task);
  }
}

awaitable<void> FaultyService::tick() { co_await injector_.at(*this, FaultPoint::timer); }

}  // namespace mode::testing
