// mode/loop.hpp.
#include <mode/loop.hpp>

#include <boost/asio/detail/config.hpp>

namespace mode {

std::string_view loop_backend() noexcept {
#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
  return "io_uring";
#else
  return "epoll";
#endif
}

}  // namespace mode
