// mode::HttpEndpoint: a service that answers read-only HTTP GET requests on a socket of its own
// (the base of the debug Console and of the operations endpoint).
#pragma once

#include <mode/service.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mode {

/// Where an HttpEndpoint listens, and its bounds.
struct HttpEndpointOptions {
  std::string bind = "127.0.0.1";  ///< an IPv4 or IPv6 address
  std::uint16_t port = 0;          ///< 0: any free port (see HttpEndpoint::port())
  /// Connections answered at once; one more is refused at once (`503`, then closed).
  std::size_t max_connections = 8;
  /// Bound of one connection, from its accept to its answer: a client that sends nothing in
  /// that time is dropped.
  Seconds answer_timeout = 5.0;
  /// On: a port that cannot be bound fails the start. Off: it is logged and the endpoint stays
  /// off (a debugging aid never stops the program it watches).
  bool must_listen = false;
};

/// One answer of an HttpEndpoint.
struct HttpAnswer {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// Answers HTTP/1.1 GET requests (one per connection, parsed by Boost.Beast) with `answer()`;
/// every other method gets 405, anything that is not HTTP 400, each with a one-line text body.
///
/// Contract: runs on its service's loop; each connection is a task of its own, so a slow or
/// idle client never holds up another: at most `max_connections` at once (more are refused with
/// 503), each answered within `answer_timeout` or dropped. Stop closes the listening socket and
/// the connections being answered. Throws std::invalid_argument from the constructor for a
/// `bind` that is not an IP address.
class HttpEndpoint : public Service {
 public:
  /// The port listened on (useful with port 0), or 0 when not listening.
  std::uint16_t port() const noexcept { return port_; }

 protected:
  explicit HttpEndpoint(HttpEndpointOptions options);

  /// The answer to `GET target` (the path, without the query string); runs on the loop.
  virtual HttpAnswer answer(std::string_view target) = 0;

  awaitable<void> on_start() override;
  awaitable<void> on_stop() override;

  const HttpEndpointOptions& endpoint_options() const noexcept { return options_; }
  /// The root of the service tree this endpoint belongs to (from its beacon), which it reports on.
  const Service& tree_root() const noexcept;

 private:
  awaitable<void> serve();
  awaitable<void> connection(asio::ip::tcp::socket socket);
  awaitable<void> respond(asio::ip::tcp::socket socket);

  HttpEndpointOptions options_;
  std::optional<asio::ip::tcp::acceptor> acceptor_;
  std::uint16_t port_ = 0;
  std::size_t connections_ = 0;  // being answered
};

}  // namespace mode
