// mode/utils/aiter.hpp: the non-template part (arange).
#include <mode/utils/aiter.hpp>

#include <fmt/format.h>

namespace mode {

namespace detail {

awaitable<std::optional<std::int64_t>> arange_next(std::shared_ptr<ArangeState> s) {
  if (s->done || (s->step > 0 ? s->next >= s->stop : s->next <= s->stop)) {
    s->done = true;
    co_return std::optional<std::int64_t>();
  }
  const std::int64_t value = s->next;
  // Stepping past the int64 range ends the sequence instead of wrapping around.
  if (__builtin_add_overflow(s->next, s->step, &s->next)) s->done = true;
  co_return std::optional<std::int64_t>(value);
}

}  // namespace detail

namespace {

// Differences of two int64 values do not fit in 64 bits.
__extension__ typedef __int128 Wide;

std::shared_ptr<detail::ArangeState> arange_state(std::int64_t start, std::int64_t stop,
                                                  std::int64_t step) {
  if (step == 0) throw std::invalid_argument("mode::arange: step must not be zero");
  return std::make_shared<detail::ArangeState>(detail::ArangeState{start, stop, step});
}

}  // namespace

Arange::Arange(std::int64_t start, std::int64_t stop, std::int64_t step)
    : AsyncIterator<std::int64_t>(
          [state = arange_state(start, stop, step)] { return detail::arange_next(state); }),
      start_(start),
      stop_(stop),
      step_(step) {}

std::int64_t Arange::size() const noexcept {
  const Wide span = step_ > 0 ? Wide{stop_} - start_ : Wide{start_} - stop_;
  const Wide step = step_ > 0 ? Wide{step_} : -Wide{step_};
  return span <= 0 ? 0 : static_cast<std::int64_t>((span + step - 1) / step);
}

std::int64_t Arange::count(std::int64_t value) const noexcept {
  const Wide offset = Wide{value} - start_;
  if (offset % step_ != 0) return 0;
  const Wide position = offset / step_;
  return position >= 0 && position < size() ? 1 : 0;
}

std::int64_t Arange::index(std::int64_t value) const {
  if (count(value) == 0)
    throw std::invalid_argument(
        fmt::format("mode::arange: {} is not in range({}, {}, {})", value, start_, stop_, step_));
  return static_cast<std::int64_t>((Wide{value} - start_) / step_);
}

Arange arange(std::int64_t start, std::int64_t stop, std::int64_t step) {
  return Arange(start, stop, step);
}

Arange arange(std::int64_t stop) { return Arange(0, stop, 1); }

}  // namespace mode
