// mode::HttpEndpoint: a service that answers read-only HTTP GET requests on a socket of its own
// (the base of the debug Console and of the operations endpoint).
#pragma once

#include <mode/service.hpp>

#include <boost/asio/ip/tcp.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
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

/// A GET request, as HttpEndpoint::answer() sees it.
struct HttpRequest {
  std::string target;  ///< the path, without the query string
  std::string query;   ///< what follows the `?` of the request target, as sent; empty without one
  std::string accept;  ///< the `Accept` header; empty without one

  /// The value of the first `name=value` of `query`, percent-decoded (`%2F` is `/`, `+` a
  /// space; a `%` not followed by two hex digits stays as it is); none when `name` is absent
  /// (`name` alone, without `=`, has the empty value).
  std::optional<std::string> query_value(std::string_view name) const;
};

/// One answer of an HttpEndpoint.
struct HttpAnswer {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  /// On: the answer goes on after `body` (server-sent events, say): it is sent without a
  /// length, and HttpEndpoint::stream() writes the rest on the open connection.
  bool streamed = false;
};

class HttpEndpoint;

/// The open connection of a streamed answer, given to HttpEndpoint::stream(); closed when the
/// stream is destroyed. Use it on its endpoint's loop only.
class HttpStream {
 public:
  HttpStream(HttpStream&&) noexcept = default;
  HttpStream& operator=(HttpStream&&) noexcept = default;
  ~HttpStream();

  /// Sends `data`; false once the client is gone, has not taken it within the endpoint's
  /// `answer_timeout`, or the endpoint stops (then the stream should end).
  awaitable<bool> write(std::string data);
  /// Sends what the connection takes at once, without waiting: a last word on the stop path,
  /// where `write` would return at once.
  void write_now(std::string_view data) noexcept;
  /// False once the client has closed its end; looks without waiting.
  bool open() const noexcept;

 private:
  friend class HttpEndpoint;
  HttpStream(HttpEndpoint& endpoint, std::shared_ptr<asio::ip::tcp::socket> socket) noexcept
      : endpoint_(&endpoint), socket_(std::move(socket)) {}

  HttpEndpoint* endpoint_;
  // Shared with a write that a stop or a timeout left behind, until it ends.
  std::shared_ptr<asio::ip::tcp::socket> socket_;
};

/// Answers HTTP/1.1 GET requests (one per connection, parsed by Boost.Beast) with `answer()`;
/// every other method gets 405, anything that is not HTTP 400, each with a one-line text body.
///
/// Contract: runs on its service's loop; each connection is a task of its own, so a slow or
/// idle client never holds up another: at most `max_connections` at once (more are refused with
/// 503), each answered within `answer_timeout` or dropped. A streamed answer keeps its
/// connection (and its place among `max_connections`) after that, for as long as `stream()`
/// runs; each of its writes is bounded by `answer_timeout`. Stop closes the listening socket and
/// the connections being answered, and wakes the streams, which must then end (a `sleep` or
/// `wait` of theirs returns at once). Throws std::invalid_argument from the constructor for a
/// `bind` that is not an IP address.
class HttpEndpoint : public Service {
 public:
  /// The port listened on (useful with port 0), or 0 when not listening.
  std::uint16_t port() const noexcept { return port_; }

 protected:
  explicit HttpEndpoint(HttpEndpointOptions options);

  /// The answer to a GET request; runs on the loop, within the connection's `answer_timeout`.
  virtual awaitable<HttpAnswer> answer(HttpRequest request) = 0;
  /// The rest of a streamed answer (HttpAnswer::streamed), written to `out` once the head and
  /// the body went out; the connection closes when it returns. The default writes nothing.
  virtual awaitable<void> stream(HttpRequest request, HttpStream out);

  awaitable<void> on_start() override;
  awaitable<void> on_stop() override;

  const HttpEndpointOptions& endpoint_options() const noexcept { return options_; }
  /// The root of the service tree this endpoint belongs to (from its beacon), which it reports on.
  const Service& tree_root() const noexcept;

 private:
  awaitable<void> serve();
  friend class HttpStream;
  awaitable<void> connection(asio::ip::tcp::socket socket);
  /// The request a streamed answer was for; none when the answer is complete.
  awaitable<std::optional<HttpRequest>> respond(std::shared_ptr<asio::ip::tcp::socket> socket);

  HttpEndpointOptions options_;
  std::optional<asio::ip::tcp::acceptor> acceptor_;
  std::uint16_t port_ = 0;
  std::size_t connections_ = 0;  // being answered
};

}  // namespace mode
