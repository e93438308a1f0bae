// Internal: a race of awaitables (Service::wait, wait_many, wait_first): each item runs as a task
// of the service and stores its value where the waiter reads it.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/detail/wait_list.hpp>

#include <boost/asio/cancellation_signal.hpp>

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace mode::detail {

/// What a race keeps of an item's value: `std::monostate` for `void`.
template <class T>
using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

/// Which items of a race finished, and what ended the wait if not them.
struct RaceOutcome {
  std::vector<char> done;
  bool stopped = false;
  bool timed_out = false;
};

/// The awaitables of a race, each storing its value (if any) where the waiter reads it.
template <class T>
struct RaceItems {
  std::vector<awaitable<void>> items;
  std::vector<std::shared_ptr<std::optional<Stored<T>>>> outs;  // empty for void
};

class WaitOp;

/// Shared by a waiter and the tasks that run its items; the tasks may outlive the waiter (it
/// returns at once on stop), so they touch its wait only while it is attached.
class Race {
 public:
  /// A race of `items` items that ends when all of them (`all`) or the first one finished.
  Race(std::size_t items, bool all);

  /// The task of item `index`: reports its outcome to the waiter instead of crashing the service.
  static awaitable<void> run(std::shared_ptr<Race> race, std::size_t index, awaitable<void> body);
  /// Where the task of item `index` keeps its cancellation signal while it runs.
  asio::cancellation_signal** signal(std::size_t index) noexcept { return &signals_[index]; }
  /// The wait that the items' outcome fires with `Wake::done`.
  void attach(WaitOp& op) noexcept { op_ = &op; }
  /// Ends the race once its wait woke with `why`: detaches the wait, cancels the items still
  /// running, and rethrows an item's error or the waiter's cancellation.
  RaceOutcome finish(Wake why);

 private:
  WaitOp* op_ = nullptr;
  std::vector<char> done_;
  std::vector<asio::cancellation_signal*> signals_;  // null once that item's task ended
  std::exception_ptr error_;
  std::size_t remaining_;
};

template <class T>
awaitable<void> store_into(awaitable<T> x, std::shared_ptr<std::optional<T>> out) {
  out->emplace(co_await std::move(x));
}

template <class T>
RaceItems<T> race_items(std::vector<awaitable<T>> xs) {
  RaceItems<T> r;
  for (auto& x : xs) {
    if constexpr (std::is_void_v<T>) {
      r.items.push_back(std::move(x));
    } else {
      r.outs.push_back(std::make_shared<std::optional<T>>());
      r.items.push_back(store_into(std::move(x), r.outs.back()));
    }
  }
  return r;
}

}  // namespace mode::detail
