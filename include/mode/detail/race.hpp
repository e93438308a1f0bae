// Internal: the values of a race of awaitables (Service::wait, wait_many, wait_first): each item
// runs as a task of the service and stores its value where the waiter reads it.
#pragma once

#include <mode/awaitable.hpp>

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
