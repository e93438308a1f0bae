// Internal: a service's task as its own coroutine chain, whose end (and what it threw) is reported
// to a callback. The fast launch of asio_internals.hpp where it applies, co_spawn elsewhere.
#pragma once

#include <mode/awaitable.hpp>

#include "detail/asio_internals.hpp"
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <cstdint>
#include <exception>
#include <memory>
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

/// Stands between the task's slot and co_spawn's until the body begins. Asio 1.81's co_spawn lets
/// a cancellation that came before the body began escape from the loop's run(); held here, it is
/// reported as the fast launch reports it, and the body never runs.
class Relay {
 public:
  void operator()(asio::cancellation_type type) {
    if (started_)
      inner_.emit(type);
    else
      before_ |= type;
  }
  asio::cancellation_slot slot() noexcept { return inner_.slot(); }
  /// The body begins: whether a cancellation (terminal, the only kind co_spawn lets through) came
  /// before.
  bool begin() noexcept {
    started_ = true;
    return (before_ & asio::cancellation_type::terminal) != asio::cancellation_type::none;
  }

 private:
  asio::cancellation_signal inner_;
  asio::cancellation_type before_ = asio::cancellation_type::none;
  bool started_ = false;
};

/// Runs `body` unless cancelled before it began; what it threw, or the cancellation, comes back as
/// the value (Asio's rethrow, then this catch: two unwindings for a crash, where the fast launch
/// has one).
inline awaitable<std::exception_ptr> run_caught(awaitable<void> body, Relay* relay) {
  std::exception_ptr error;
  if (relay != nullptr && relay->begin()) {
    error = std::make_exception_ptr(
        boost::system::system_error(asio::error::operation_aborted, "co_await"));
  } else {
    try {
      co_await std::move(body);
    } catch (...) {
      error = std::current_exception();
    }
  }
  // co_spawn's last turn must not throw: a cancellation that came while the body ended would
  // escape it, out of the loop's run().
  co_await asio::this_coro::throw_if_cancelled(false);
  co_return error;
}

/// The `done` of a task that may report at once. It lives until co_spawn is done with the task, and
/// so does what it owns (the task's cancellation signal, which co_spawn uses to the end).
template <class Done>
struct AtOnce {
  Done done;
  bool reported = false;
};

/// run_caught, and if the body ended inside spawn call `spawn`, reports there and then.
template <class Done>
awaitable<std::exception_ptr> run_reporting(awaitable<void> body, Relay* relay, std::uint64_t spawn,
                                            std::shared_ptr<AtOnce<Done>> report) {
  std::exception_ptr error = co_await run_caught(std::move(body), relay);
  if (spawning == spawn) {
    report->reported = true;
    report->done(std::move(error));
    // Ends the chain inside the call too: co_spawn ends a chain that never suspended on a later
    // turn, and a dispatch on the chain's own loop completes at once yet counts as a suspension.
    co_await asio::dispatch(use_awaitable);
  }
  co_return error;
}

/// co_spawn's completion: `done` gets what the body threw. Its cancellation slot is a member, not
/// bound with bind_cancellation_slot: co_spawn forwards a cancellation at once only to a handler
/// without an associated executor, and the binder has one.
template <class Done>
struct Completion {
  using cancellation_slot_type = asio::cancellation_slot;
  cancellation_slot_type get_cancellation_slot() const noexcept { return slot; }

  asio::cancellation_slot slot;
  Done done;
  void operator()(std::exception_ptr escaped, std::exception_ptr error) {
    done(escaped ? std::move(escaped) : std::move(error));
  }
};

/// The same, unless the body already reported at once.
template <class Done>
struct AtOnceCompletion {
  using cancellation_slot_type = asio::cancellation_slot;
  cancellation_slot_type get_cancellation_slot() const noexcept { return slot; }

  asio::cancellation_slot slot;
  std::shared_ptr<AtOnce<Done>> report;
  void operator()(std::exception_ptr escaped, std::exception_ptr error) {
    if (report->reported) return;
    report->reported = true;
    report->done(escaped ? std::move(escaped) : std::move(error));
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
  portable::Relay* relay = nullptr;
  asio::cancellation_slot inner;
  if (slot.is_connected()) {
    relay = &slot.template emplace<portable::Relay>();
    inner = relay->slot();
  }
  if (report == Report::later) {
    asio::co_spawn(ex, portable::run_caught(std::move(body), relay),
                   portable::Completion<Done>{inner, std::move(done)});
  } else {
    auto at_once = std::make_shared<portable::AtOnce<Done>>(std::move(done));
    asio::co_spawn(ex, portable::run_reporting(std::move(body), relay, scope.id(), at_once),
                   portable::AtOnceCompletion<Done>{inner, at_once});
  }
#endif
}

}  // namespace mode::detail
