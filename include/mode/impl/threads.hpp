// The bodies of threads.hpp's templates.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>

#include <exception>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

namespace mode {

template <class F, class... Args>
awaitable<detail::CallResult<F, Args...>> QueueServiceThread::call_thread(F f, Args... args) {
  using R = detail::CallResult<F, Args...>;
  detail::CallSlot<R> slot;
  // The initiation runs on the caller's thread once this coroutine is suspended; the thread
  // writes `slot`, then posts the handler back (two posts per call, as a bare round trip).
  co_await asio::async_initiate<decltype(use_awaitable), void()>(
      [this, &slot, &f, &args...](auto handler) {
        try {
          accept("call_thread");
        } catch (...) {
          slot.error = std::current_exception();
          detail::complete_on_caller(std::move(handler));
          return;
        }
        auto cancel_slot = asio::get_associated_cancellation_slot(handler);
        if (cancel_slot.is_connected())
          cancel_slot.template emplace<detail::CancelCall>(detail::CancelCall{&slot.cancelled});
        asio::post(thread_context().get_executor(), [this, s = &slot, h = std::move(handler),
                                                     fn = std::move(f),
                                                     ... a = std::move(args)]() mutable {
          if (s->cancelled.load(std::memory_order_acquire)) {
            s->error = std::make_exception_ptr(
                boost::system::system_error(asio::error::operation_aborted));
          } else if constexpr (detail::call_is_async<F, Args...>) {
            if (!should_stop()) {
              add_future(
                  run_async_call<R>(s, std::move(h), async_begun(), std::move(fn), std::move(a)...),
                  "call_thread");
              return;  // run_async_call completes it
            }
            s->error = std::make_exception_ptr(
                ThreadNotRunning(label() + ": call_thread: the service stopped before the call"));
          } else {
            try {
              if constexpr (std::is_void_v<R>) {
                std::invoke(std::move(fn), std::move(a)...);
                s->value.emplace(true);
              } else {
                s->value.emplace(std::invoke(std::move(fn), std::move(a)...));
              }
            } catch (...) {
              s->error = std::current_exception();
            }
          }
          detail::complete_on_caller(std::move(h));  // `s` may be gone after this
          call_done();
        });
      },
      use_awaitable);
  if (slot.error) std::rethrow_exception(slot.error);
  if constexpr (!std::is_void_v<R>) co_return std::move(*slot.value);
}

template <class R, class H, class F, class... A>
awaitable<void> QueueServiceThread::run_async_call(detail::CallSlot<R>* slot, H handler,
                                                   std::uint64_t id, F f, A... args) {
  try {
    if constexpr (std::is_void_v<R>) {
      co_await std::invoke(f, std::move(args)...);
      slot->value.emplace(true);
    } else {
      R r = co_await std::invoke(f, std::move(args)...);  // not inside emplace(): g++ 12
      slot->value.emplace(std::move(r));
    }
  } catch (...) {
    slot->error = std::current_exception();
  }
  detail::complete_on_caller(std::move(handler));
  async_done(id);
  call_done();
}

template <class F, class... Args>
void QueueServiceThread::cast_thread(F f, Args... args) {
  const bool taken = accept("cast_thread", true);
  if (!taken) {
    hold(std::make_unique<HeldCastOf<F, Args...>>(std::move(f), std::move(args)...));
    return;
  }
  asio::post(thread_context().get_executor(),
             [this, fn = std::move(f), ... a = std::move(args)]() mutable {
               run_cast<F, Args...>(std::move(fn), std::move(a)...);
             });
}

template <class F, class... A>
void QueueServiceThread::run_cast(F&& f, A&&... args) {
  if constexpr (detail::call_is_async<F, A...>) {
    if (!should_stop()) {
      add_future(run_async_cast(async_begun(), std::move(f), std::move(args)...), "cast_thread");
      return;
    }
  } else {
    try {
      std::invoke(std::move(f), std::move(args)...);
    } catch (...) {
      log_cast_error();
    }
  }
  call_done();
}

template <class F, class... A>
awaitable<void> QueueServiceThread::run_async_cast(std::uint64_t id, F f, A... args) {
  try {
    co_await std::invoke(f, std::move(args)...);
  } catch (...) {
    log_cast_error();
  }
  async_done(id);
  call_done();
}

template <class F, class... Args>
struct QueueServiceThread::HeldCastOf final : QueueServiceThread::HeldCast {
  explicit HeldCastOf(F f, Args... a) : fn(std::move(f)), args(std::move(a)...) {}

  void run_on_thread(QueueServiceThread& q) override {
    std::apply([&](Args&... a) { q.run_cast<F, Args...>(std::move(fn), std::move(a)...); }, args);
  }

  awaitable<void> run_here() override {
    // `fn` lives in this object until the awaited call ended: a lambda coroutine's captures too.
    if constexpr (detail::call_is_async<F, Args...>) {
      co_await std::apply(
          [this](Args&... a) { return std::invoke(std::move(fn), std::move(a)...); }, args);
    } else {
      std::apply([this](Args&... a) { (void)std::invoke(std::move(fn), std::move(a)...); }, args);
      co_return;
    }
  }

  F fn;
  std::tuple<Args...> args;
};

}  // namespace mode
