// ConsoleOptions: the check of the Console's address.
#include <mode/console_options.hpp>

#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include <stdexcept>

namespace mode {

void ConsoleOptions::check() const {
  boost::system::error_code ec;
  const boost::asio::ip::address address = boost::asio::ip::make_address(bind, ec);
  if (ec) throw std::invalid_argument(fmt::format("console: not an IP address: \"{}\"", bind));
  if (!address.is_loopback() && !allow_remote) {
    throw std::invalid_argument(
        fmt::format("console: {} is not a loopback address; binding it needs allow_remote "
                    "(--console-allow-remote)",
                    bind));
  }
}

}  // namespace mode
