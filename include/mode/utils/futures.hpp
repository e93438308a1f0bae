// Thundering-herd protection for async operations (Mode's mode.utils.futures.stampede).
#pragma once

#include <mode/awaitable.hpp>
#include <mode/detail/wait_op.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace mode {

/// Shares one execution of an async operation among the callers that overlap it (Mode's
/// StampedeWrapper, what `@stampede` gives each instance).
///
/// Calling the wrapper first yields to the loop once, so calls made in the same loop iteration
/// count as concurrent (Mode 3.0.8). If no execution is in flight it runs the operation;
/// otherwise it waits for the one in flight and returns a copy of its result. Calls that start
/// after an execution finished (from the next loop iteration on) run it again. If the
/// operation throws, every caller sharing it gets the exception (Mode leaves the other callers
/// waiting forever); if the caller that runs it is cancelled, the operation's
/// `operation_aborted` is what they all get. A waiting caller that is cancelled with Asio
/// cancellation throws `operation_aborted` and leaves the execution running for the others.
///
/// Belongs to one loop. `T` must be copyable (or void). The wrapper may be destroyed while an
/// execution is in flight; the callers still get its outcome.
template <class T>
class StampedeWrapper {
 public:
  explicit StampedeWrapper(std::function<awaitable<T>()> fn)
      : state_(std::make_shared<State>(std::move(fn))) {
    if (!state_->fn) throw std::invalid_argument("stampede: empty function");
  }
  StampedeWrapper(const StampedeWrapper&) = delete;
  StampedeWrapper& operator=(const StampedeWrapper&) = delete;
  StampedeWrapper(StampedeWrapper&&) noexcept = default;
  StampedeWrapper& operator=(StampedeWrapper&&) noexcept = default;

  /// Runs the operation, or joins the execution in flight; returns (a copy of) its result.
  awaitable<T> operator()() const { return call(state_); }

  /// True while an execution is in flight (or has just finished in this loop iteration).
  bool in_flight() const noexcept { return state_->flight != nullptr; }

 private:
  struct Flight {
    bool done = false;
    std::exception_ptr error;
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> result;
    detail::WaitList waiters;
  };
  struct State {
    explicit State(std::function<awaitable<T>()> f) : fn(std::move(f)) {}
    std::function<awaitable<T>()> fn;
    std::shared_ptr<Flight> flight;
  };

  static T outcome(const Flight& flight) {
    if (flight.error) std::rethrow_exception(flight.error);
    if constexpr (!std::is_void_v<T>) return *flight.result;
  }

  static awaitable<T> call(std::shared_ptr<State> state) {
    const auto ex = co_await asio::this_coro::executor;
    co_await asio::post(ex, use_awaitable);
    if (std::shared_ptr<Flight> flight = state->flight) {
      if (!flight->done) {
        detail::WaitOp op;
        flight->waiters.push_back(op.source_link);
        const detail::Wake why = co_await op.wait();
        if (why == detail::Wake::cancelled)
          throw boost::system::system_error(asio::error::operation_aborted);
      }
      co_return outcome(*flight);
    }
    auto flight = std::make_shared<Flight>();
    state->flight = flight;
    try {
      if constexpr (std::is_void_v<T>) {
        co_await state->fn();
        flight->result.emplace(true);
      } else {
        flight->result.emplace(co_await state->fn());
      }
    } catch (...) {
      flight->error = std::current_exception();
    }
    flight->done = true;
    flight->waiters.fire_all(detail::Wake::done);
    // Callers of this loop iteration that have not looked yet share the outcome too; a posted
    // handler (not a yield of this coroutine, which a cancelled caller could not do) forgets it.
    asio::post(ex, [state, flight] {
      if (state->flight == flight) state->flight.reset();
    });
    co_return outcome(*flight);
  }

  std::shared_ptr<State> state_;
};

/// Wraps `fn` (a callable returning `awaitable<T>`) so that overlapping calls share one
/// execution: `StampedeWrapper<T>`. Typically a member of the object whose method it wraps:
/// `StampedeWrapper<Conn> maybe_connect = stampede([this] { return connect(); });`.
template <class F>
auto stampede(F fn) {
  using A = std::invoke_result_t<F&>;
  using T = typename A::value_type;
  return StampedeWrapper<T>(std::function<awaitable<T>()>(std::move(fn)));
}

}  // namespace mode
