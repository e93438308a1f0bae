// Internal: a service's task as its own coroutine chain, whose end (and what it threw) is reported
// to a callback. The fast launch of asio_internals.hpp where it applies, co_spawn elsewhere.
#pragma once

#include <mode/awaitable.hpp>

#include "detail/asio_internals.hpp"
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

namespace mode::detail {

/// When `done` runs for a body that ends without ever suspending.
enum class Report : bool {
  later,   // on a later turn of the loop, as with co_spawn: not inside the spawning call
  at_once  // inside the spawning call: for a `done` that only sets flags
};

#if !MODE_ASIO_INTERNALS

namespace portable {

// Which spawn_task call, if any, the calling thread is inside: a body that ends inside it has
// never suspended. Numbers, not addresses: a later call's frame may sit where an earlier one's did.
inline thread_local std::uint64_t spawns = 0;
inline thread_local std::uint64_t spawning = 0;

/// Marks a spawn_task call for as long as it runs.
class SpawnScope {
 public:
  SpawnScope() noexcept : id_(++spawns), outer_(spawning) { spawning = id_; }
  SpawnScope(const SpawnScope&) = delete;
  SpawnScope& operator=(const SpawnScope&) = delete;
  ~SpawnScope() { spawning = outer_; }
  std::uint64_t id() const noexcept { return id_; }

 private:
  std::uint64_t id_;
  std::uint64_t outer_;
};

/// Runs `body`; what it throws comes back as the value (Asio's rethrow, then this catch: two
/// unwindings for a crash, where the fast launch has one).
inline awaitable<std::exception_ptr> run_caught(awaitable<void> body) {
  std::exception_ptr error;
  try {
    co_await std::move(body);
  } catch (...) {
    error = std::current_exception();
  }
  // co_spawn's last turn must not throw: a cancellation that came while the body ended would
  // escape it, out of the loop's run().
  co_await asio::this_coro::throw_if_cancelled(false);
  co_return error;
}

/// The same, and if the body ended inside spawn call `spawn`, `done` is called there and then.
template <class Done>
awaitable<std::exception_ptr> run_reporting(awaitable<void> body, std::uint64_t spawn,
                                            std::shared_ptr<std::optional<Done>> done) {
  std::exception_ptr error;
  try {
    co_await std::move(body);
  } catch (...) {
    error = std::current_exception();
  }
  // co_spawn's last turn must not throw: a cancellation that came while the body ended would
  // escape it, out of the loop's run().
  co_await asio::this_coro::throw_if_cancelled(false);
  if (spawning == spawn && *done) {
    Done d = std::move(**done);
    done->reset();
    d(std::move(error));
  }
  co_return error;
}

/// co_spawn's completion: `done` gets what the body threw, or the cancellation that came before
/// the body began.
template <class Done>
struct Completion {
  Done done;
  void operator()(std::exception_ptr cancelled, std::exception_ptr error) {
    done(cancelled ? std::move(cancelled) : std::move(error));
  }
};

/// The same, unless the body already reported at once.
template <class Done>
struct SharedCompletion {
  std::shared_ptr<std::optional<Done>> done;
  void operator()(std::exception_ptr cancelled, std::exception_ptr error) {
    if (!*done) return;
    Done d = std::move(**done);
    done->reset();
    d(cancelled ? std::move(cancelled) : std::move(error));
  }
};

}  // namespace portable

#endif  // !MODE_ASIO_INTERNALS

/// Runs `body` on `ex` as a new coroutine chain that `slot` cancels, and `done(error)` when it
/// ends, with what it threw (or null). `done` must not throw. The body starts at once if the
/// caller runs on `ex`. The task keeps its loop running while it lives; destroying the loop
/// destroys a suspended task without calling `done`.
template <class Done>
void spawn_task(const asio::any_io_executor& ex, awaitable<void> body, asio::cancellation_slot slot,
                Done done, Report report = Report::later) {
#if MODE_ASIO_INTERNALS
  fast::spawn_task(ex, std::move(body), slot, std::move(done), report == Report::later);
#else
  const portable::SpawnScope scope;
  if (report == Report::later) {
    asio::co_spawn(ex, portable::run_caught(std::move(body)),
                   asio::bind_cancellation_slot(slot, portable::Completion<Done>{std::move(done)}));
  } else {
    auto shared = std::make_shared<std::optional<Done>>(std::move(done));
    asio::co_spawn(ex, portable::run_reporting(std::move(body), scope.id(), shared),
                   asio::bind_cancellation_slot(slot, portable::SharedCompletion<Done>{shared}));
  }
#endif
}

}  // namespace mode::detail
