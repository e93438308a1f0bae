// mode/utils/aiter.hpp: the non-template part (arange).
#include <mode/utils/aiter.hpp>

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

AsyncIterator<std::int64_t> arange(std::int64_t start, std::int64_t stop, std::int64_t step) {
  if (step == 0) throw std::invalid_argument("mode::arange: step must not be zero");
  auto state = std::make_shared<detail::ArangeState>(detail::ArangeState{start, stop, step});
  return AsyncIterator<std::int64_t>([state] { return detail::arange_next(state); });
}

AsyncIterator<std::int64_t> arange(std::int64_t stop) { return arange(0, stop, 1); }

}  // namespace mode
