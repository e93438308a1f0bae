// mode::awaitable: service code is plain Asio coroutine code.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace mode {

namespace asio = boost::asio;

/// The coroutine type of every service method, callback and task (`asio::awaitable<T>`).
template <class T = void>
using awaitable = asio::awaitable<T>;

/// Completion token for Asio operations awaited from service code (Boost 1.81 has no default).
inline constexpr auto use_awaitable = asio::use_awaitable;

}  // namespace mode
