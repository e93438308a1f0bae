// Internal: how a call sent to a QueueServiceThread returns its outcome to the caller.
#pragma once

#include <mode/awaitable.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace mode::detail {

template <class T>
struct AwaitableValue {
  using type = void;
  static constexpr bool value = false;
};
template <class T, class E>
struct AwaitableValue<asio::awaitable<T, E>> {
  using type = T;
  static constexpr bool value = true;
};

/// What `call_thread(f, args...)` returns: `T` if `f` returns `awaitable<T>`, else f's result.
template <class F, class... Args>
using CallRaw = std::decay_t<std::invoke_result_t<F, Args...>>;
template <class F, class... Args>
inline constexpr bool call_is_async = AwaitableValue<CallRaw<F, Args...>>::value;
template <class F, class... Args>
using CallResult =
    std::conditional_t<call_is_async<F, Args...>,
                       typename AwaitableValue<CallRaw<F, Args...>>::type, CallRaw<F, Args...>>;

/// Where the thread leaves a call's outcome: in the caller's coroutine frame, which stays
/// suspended until the completion posted after writing it resumes it.
template <class R>
struct CallSlot {
  std::optional<std::conditional_t<std::is_void_v<R>, bool, R>> value;
  std::exception_ptr error;
  std::atomic<bool> cancelled{false};
};

/// The caller's cancellation: the thread skips the call if it has not begun it.
struct CancelCall {
  std::atomic<bool>* flag;
  void operator()(asio::cancellation_type type) const noexcept {
    if ((type & asio::cancellation_type::all) != asio::cancellation_type::none)
      flag->store(true, std::memory_order_release);
  }
};

/// Posts `handler` back to its own executor, clearing its cancellation slot there (on the
/// caller's thread, the only one that may touch it).
template <class H>
void complete_on_caller(H&& handler) {
  auto ex = asio::get_associated_executor(handler);
  asio::post(ex, [h = std::forward<H>(handler)]() mutable {
    asio::get_associated_cancellation_slot(h).clear();
    std::move(h)();
  });
}

}  // namespace mode::detail
