// mode::AsyncIterator and Mode's async iteration helpers (`mode.utils.aiter`): aiter, anext,
// aenumerate, arange, aslice, alist, chunks.
#pragma once

#include <mode/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace mode {

/// Thrown by `anext` without a default at the end of the sequence.
class StopAsyncIteration : public std::runtime_error {
 public:
  StopAsyncIteration() : std::runtime_error("StopAsyncIteration") {}
};

/// A pull-based async sequence: `co_await it.next()` gives the next item, or no value at the
/// end (and at every call after it). A handle: copies share the position. `next()` must not be
/// called again before the previous call completed. The helpers below consume lazily: each
/// pulls from its source only when it is itself pulled, and no more than it needs.
template <class T>
class AsyncIterator {
 public:
  using value_type = T;
  /// Makes the next item's coroutine. It must not be a capturing lambda coroutine (the
  /// captures would die with the call): call a coroutine function taking its state by value.
  using NextFn = std::function<awaitable<std::optional<T>>()>;

  /// Throws std::invalid_argument for an empty function.
  explicit AsyncIterator(NextFn next) : next_(std::make_shared<NextFn>(std::move(next))) {
    if (!*next_) throw std::invalid_argument("mode::AsyncIterator: empty next function");
  }

  awaitable<std::optional<T>> next() const { return (*next_)(); }

 private:
  std::shared_ptr<NextFn> next_;
};

namespace detail {

template <class T>
struct VectorIterState {
  std::vector<T> items;
  std::size_t pos = 0;
};

template <class T>
awaitable<std::optional<T>> vector_next(std::shared_ptr<VectorIterState<T>> s) {
  if (s->pos >= s->items.size()) co_return std::optional<T>();
  co_return std::optional<T>(std::move(s->items[s->pos++]));
}

struct ArangeState {
  std::int64_t next;
  std::int64_t stop;
  std::int64_t step;
  bool done = false;
};
awaitable<std::optional<std::int64_t>> arange_next(std::shared_ptr<ArangeState> s);

template <class T>
struct EnumerateState {
  AsyncIterator<T> it;
  std::int64_t index;
};

template <class T>
awaitable<std::optional<std::pair<std::int64_t, T>>> enumerate_next(
    std::shared_ptr<EnumerateState<T>> s) {
  std::optional<T> item = co_await s->it.next();
  if (!item) co_return std::optional<std::pair<std::int64_t, T>>();
  const std::int64_t index = s->index++;
  co_return std::optional<std::pair<std::int64_t, T>>(std::in_place, index, std::move(*item));
}

template <class T>
struct SliceState {
  AsyncIterator<T> it;
  std::int64_t pos = 0;  // items pulled from `it`
  std::int64_t wanted;   // position of the next item to yield
  std::optional<std::int64_t> stop;
  std::int64_t step;
  bool done = false;
};

template <class T>
awaitable<std::optional<T>> slice_next(std::shared_ptr<SliceState<T>> s) {
  if (s->done || (s->stop && s->wanted >= *s->stop)) {
    s->done = true;
    co_return std::optional<T>();
  }
  while (s->pos < s->wanted) {
    std::optional<T> skipped = co_await s->it.next();
    ++s->pos;
    if (!skipped) {
      s->done = true;
      co_return std::optional<T>();
    }
  }
  std::optional<T> item = co_await s->it.next();
  ++s->pos;
  if (!item) {
    s->done = true;
    co_return std::optional<T>();
  }
  // Past INT64_MAX nothing more can be wanted.
  if (__builtin_add_overflow(s->wanted, s->step, &s->wanted)) s->done = true;
  co_return item;
}

template <class T>
struct ChunkState {
  AsyncIterator<T> it;
  std::size_t n;
  bool done = false;
};

template <class T>
awaitable<std::optional<std::vector<T>>> chunk_next(std::shared_ptr<ChunkState<T>> s) {
  std::vector<T> chunk;
  while (!s->done && chunk.size() < s->n) {
    std::optional<T> item = co_await s->it.next();
    if (!item) {
      s->done = true;
    } else {
      chunk.push_back(std::move(*item));
    }
  }
  if (chunk.empty()) co_return std::optional<std::vector<T>>();
  co_return std::optional<std::vector<T>>(std::move(chunk));
}

template <class T>
awaitable<std::vector<T>> alist_body(AsyncIterator<T> it) {
  std::vector<T> out;
  for (;;) {
    std::optional<T> item = co_await it.next();
    if (!item) break;
    out.push_back(std::move(*item));
  }
  co_return out;
}

template <class T>
awaitable<T> anext_body(AsyncIterator<T> it, std::optional<T> fallback) {
  std::optional<T> item = co_await it.next();
  if (item) co_return std::move(*item);
  if (fallback) co_return std::move(*fallback);
  throw StopAsyncIteration();
}

}  // namespace detail

/// An async sequence of the items of `items` (Mode's `aiter` of a sync iterable).
template <class T>
AsyncIterator<T> aiter(std::vector<T> items) {
  auto state = std::make_shared<detail::VectorIterState<T>>();
  state->items = std::move(items);
  return AsyncIterator<T>([state] { return detail::vector_next(state); });
}

/// The next item of `it`; at the end throws StopAsyncIteration.
template <class T>
awaitable<T> anext(AsyncIterator<T> it) {
  return detail::anext_body(std::move(it), std::optional<T>());
}
/// The next item of `it`, or `fallback` at the end (whatever its value: `anext(it, 0)` gives 0).
template <class T>
awaitable<T> anext(AsyncIterator<T> it, std::type_identity_t<T> fallback) {
  return detail::anext_body(std::move(it), std::optional<T>(std::move(fallback)));
}

/// Python's `range(start, stop, step)` as an async sequence: `arange(3)` → 0, 1, 2;
/// `arange(10, 0, -3)` → 10, 7, 4, 1. Like Mode's `arange`, it also answers for the whole
/// range, whatever has been pulled: `count`, `index`, `size`.
class Arange : public AsyncIterator<std::int64_t> {
 public:
  /// Throws std::invalid_argument for a step of 0.
  Arange(std::int64_t start, std::int64_t stop, std::int64_t step = 1);

  /// 1 if `value` is in the range, else 0.
  std::int64_t count(std::int64_t value) const noexcept;
  /// The position of `value` in the range; throws std::invalid_argument if it is not in it.
  std::int64_t index(std::int64_t value) const;
  /// The number of values in the range.
  std::int64_t size() const noexcept;

 private:
  std::int64_t start_;
  std::int64_t stop_;
  std::int64_t step_;
};

/// `Arange(start, stop, step)`.
Arange arange(std::int64_t start, std::int64_t stop, std::int64_t step = 1);
/// `Arange(0, stop)`.
Arange arange(std::int64_t stop);

/// (index, item) pairs, indices counting from `start`.
template <class T>
AsyncIterator<std::pair<std::int64_t, T>> aenumerate(AsyncIterator<T> it, std::int64_t start = 0) {
  auto state =
      std::make_shared<detail::EnumerateState<T>>(detail::EnumerateState<T>{std::move(it), start});
  return AsyncIterator<std::pair<std::int64_t, T>>(
      [state] { return detail::enumerate_next(state); });
}

/// The items at positions `start`, `start + step`, … below `stop` (no stop: to the end), as
/// Python's `itertools.islice`; stops pulling from `it` right after the last wanted item.
/// `aslice(arange(10), 2, 8, 3)` → 2, 5. Throws std::invalid_argument for a negative start or
/// stop, or a step below 1.
template <class T>
AsyncIterator<T> aslice(AsyncIterator<T> it, std::int64_t start, std::optional<std::int64_t> stop,
                        std::int64_t step = 1) {
  if (start < 0) throw std::invalid_argument("mode::aslice: negative start");
  if (stop && *stop < 0) throw std::invalid_argument("mode::aslice: negative stop");
  if (step < 1) throw std::invalid_argument("mode::aslice: step must be at least 1");
  auto state = std::make_shared<detail::SliceState<T>>(
      detail::SliceState<T>{std::move(it), 0, start, stop, step});
  return AsyncIterator<T>([state] { return detail::slice_next(state); });
}
/// The first `stop` items: `aslice(arange(100), 10)` → 0..9. Unlike Mode, `stop = 0` yields
/// nothing (Mode reads 0 as "no limit"; here "no limit" is `aslice(it, 0, std::nullopt)`).
template <class T>
AsyncIterator<T> aslice(AsyncIterator<T> it, std::int64_t stop) {
  return aslice(std::move(it), 0, std::optional<std::int64_t>(stop));
}

/// Every item, once `it` ends.
template <class T>
awaitable<std::vector<T>> alist(AsyncIterator<T> it) {
  return detail::alist_body(std::move(it));
}

/// Lists of `n` consecutive items, the last one shorter if needed, pulled lazily:
/// `chunks(arange(11), 3)` → [0,1,2], [3,4,5], [6,7,8], [9,10]. Unlike Mode, `n = 1` yields
/// one-element lists (Mode yields everything in one list). Throws std::invalid_argument for
/// `n < 1`.
template <class T>
AsyncIterator<std::vector<T>> chunks(AsyncIterator<T> it, std::int64_t n) {
  if (n < 1) throw std::invalid_argument("mode::chunks: n must be at least 1");
  auto state = std::make_shared<detail::ChunkState<T>>(
      detail::ChunkState<T>{std::move(it), static_cast<std::size_t>(n)});
  return AsyncIterator<std::vector<T>>([state] { return detail::chunk_next(state); });
}

}  // namespace mode
