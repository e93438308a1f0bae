// The identity of a coroutine chain, read from Asio's awaitable machinery.
#include <mode/utils/locals.hpp>

#include "detail/asio_internals.hpp"

#include <stdexcept>

namespace mode {

awaitable<ChainId> this_chain() {
#if MODE_ASIO_CHAIN_LOOKUP
  const void* entry = co_await detail::chain_entry();
  co_return ChainId(entry);
#else
  throw std::logic_error(
      "mode::this_chain: this version of Boost.Asio was not checked for the chain lookup");
  co_return ChainId();
#endif
}

}  // namespace mode
