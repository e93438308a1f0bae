// The bodies of service.hpp's templates.
#pragma once

#include <mode/detail/race.hpp>

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

namespace mode {

template <class T>
awaitable<WaitResult<T>> Service::wait(awaitable<T> x, std::optional<Seconds> timeout,
                                       std::source_location where) {
  std::vector<awaitable<T>> one;
  one.push_back(std::move(x));
  auto many = co_await wait_many(std::move(one), timeout, where);
  WaitResult<T> r;
  r.stopped = many.stopped;
  r.timed_out = many.timed_out;
  if constexpr (std::is_void_v<T>) {
    r.done = many.result.has_value();
  } else {
    if (many.result) r.result = std::move(many.result->front());
  }
  co_return r;
}

template <class T>
awaitable<WaitResult<std::vector<detail::Stored<T>>>> Service::wait_many(
    std::vector<awaitable<T>> xs, std::optional<Seconds> timeout, std::source_location where) {
  detail::RaceItems<T> race_of = detail::race_items(std::move(xs));
  const detail::RaceOutcome o = co_await race(std::move(race_of.items), true, timeout, where);
  WaitResult<std::vector<detail::Stored<T>>> r;
  r.stopped = o.stopped;
  r.timed_out = o.timed_out;
  if (r.stopped || r.timed_out) co_return r;
  r.result.emplace();
  for (std::size_t i = 0; i < o.done.size(); ++i) {
    if constexpr (std::is_void_v<T>)
      r.result->emplace_back();
    else
      r.result->push_back(std::move(race_of.outs[i]->value()));
  }
  co_return r;
}

template <class T>
awaitable<WaitFirstResult<T>> Service::wait_first(std::vector<awaitable<T>> xs,
                                                  std::optional<Seconds> timeout,
                                                  std::source_location where) {
  detail::RaceItems<T> race_of = detail::race_items(std::move(xs));
  const detail::RaceOutcome o = co_await race(std::move(race_of.items), false, timeout, where);
  WaitFirstResult<T> r;
  r.stopped = o.stopped;
  r.timed_out = o.timed_out;
  for (std::size_t i = 0; i < o.done.size(); ++i) {
    if (!o.done[i]) continue;
    r.done.push_back(i);
    if constexpr (std::is_void_v<T>)
      r.results.emplace_back();
    else
      r.results.push_back(std::move(race_of.outs[i]->value()));
  }
  co_return r;
}

template <class T>
awaitable<T> with_started(Service::ServicePtr service, awaitable<T> body) {
  co_await service->start();
  std::exception_ptr failure;
  std::optional<detail::Stored<T>> result;
  try {
    if constexpr (std::is_void_v<T>)
      co_await std::move(body);
    else
      result.emplace(co_await std::move(body));
  } catch (...) {
    failure = std::current_exception();
  }
  try {
    co_await service->stop();
  } catch (...) {
    if (!failure) failure = std::current_exception();
  }
  service->service_reset();
  if (failure) std::rethrow_exception(failure);
  if constexpr (!std::is_void_v<T>) co_return std::move(*result);
}

}  // namespace mode
