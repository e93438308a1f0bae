// The waits of one service, and the race behind Service::wait, wait_many and wait_first.
#include <mode/detail/race.hpp>
#include <mode/detail/wait_op.hpp>
#include <mode/detail/waits.hpp>
#include <mode/utils/objects.hpp>

#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>
#include <fmt/format.h>

#include <chrono>
#include <utility>

namespace mode::detail {

void Waits::hook(WaitOp& op, std::string_view what, std::source_location where) noexcept {
  op.what = what;
  op.where = where;
  list_.push_back(op.stop_link);
}

void Waits::wake_all() noexcept { list_.fire_all(Wake::stopped); }

std::vector<std::string> Waits::describe() const {
  std::vector<std::string> out;
  list_.for_each([&](const WaitOp& op) {
    std::string line(op.what.empty() ? std::string_view("wait") : op.what);
    if (const auto expiry = op.expiry())
      line += fmt::format(" ({:.1f} s left)",
                          std::chrono::duration<double>(*expiry - op.clock()->now()).count());
    const std::string_view file = op.where.file_name();
    if (!file.empty()) {
      line += fmt::format(" in {} at {}:{}", op.where.function_name(),
                          file.substr(file.find_last_of('/') + 1), op.where.line());
    }
    out.push_back(std::move(line));
  });
  return out;
}

Race::Race(std::size_t items, bool all)
    : done_(items, 0), signals_(items, nullptr), remaining_(all ? items : 1) {}

awaitable<void> Race::run(std::shared_ptr<Race> race, std::size_t index, awaitable<void> body) {
  std::exception_ptr error;
  try {
    co_await std::move(body);
  } catch (...) {
    error = std::current_exception();
  }
  race->signals_[index] = nullptr;
  // A cancellation is the race's own (or the stop's) only if this task was cancelled: one that
  // the item met elsewhere (a timer someone else cancelled) is its outcome, for the waiter.
  bool cancelled_here = false;
  if (error && is_cancellation(error)) {
    const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
    cancelled_here = state.cancelled() != asio::cancellation_type::none;
  }
  if (!error) {
    race->done_[index] = 1;
    if (--race->remaining_ == 0 && race->op_) race->op_->fire(Wake::done);
  } else if (!cancelled_here) {
    if (!race->error_) race->error_ = error;
    if (race->op_) race->op_->fire(Wake::done);
  }
}

RaceOutcome Race::finish(Wake why) {
  op_ = nullptr;
  // Whatever did not finish is cancelled; its task is joined by stop like any other.
  for (asio::cancellation_signal* sig : signals_)
    if (sig != nullptr) sig->emit(asio::cancellation_type::terminal);
  if (error_) std::rethrow_exception(error_);
  if (why == Wake::cancelled) throw boost::system::system_error(asio::error::operation_aborted);
  RaceOutcome out;
  out.done = done_;  // a copy: items that finish later still write theirs
  out.stopped = why == Wake::stopped;
  out.timed_out = why == Wake::timed_out;
  return out;
}

}  // namespace mode::detail
