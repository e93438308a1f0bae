// HttpEndpoint: the listening socket, the accept loop and one Beast request per connection.
#include <mode/http_endpoint.hpp>

#include "detail/http_request.hpp"
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace mode {

namespace {

namespace http = boost::beast::http;
using asio::ip::tcp;

constexpr double kAcceptRetry = 0.1;

http::response<http::string_body> response_of(HttpAnswer a) {
  http::response<http::string_body> res;
  res.version(11);
  res.result(a.status);
  // First after the status line: some clients sniff it there.
  res.set(http::field::content_type, a.content_type);
  if (a.status == 405) res.set(http::field::allow, "GET");
  res.keep_alive(false);
  res.body() = std::move(a.body);
  // A streamed answer has no length: its body ends when the connection closes.
  if (a.streamed)
    res.set(http::field::cache_control, "no-cache");
  else
    res.prepare_payload();
  return res;
}

// Writes all of `data`; owns what it uses, since a stop or a timeout may leave it behind.
awaitable<bool> write_all(std::shared_ptr<tcp::socket> socket, std::string data) {
  const auto [ec, n] =
      co_await asio::async_write(*socket, asio::buffer(data), asio::as_tuple(use_awaitable));
  (void)n;
  co_return !ec;
}

HttpAnswer plain(unsigned status, std::string body) { return {status, {}, std::move(body)}; }

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A form-encoded query's text as it was before encoding.
std::string percent_decoded(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const int high = i + 2 < text.size() && text[i] == '%' ? hex_digit(text[i + 1]) : -1;
    const int low = high >= 0 ? hex_digit(text[i + 2]) : -1;
    if (low >= 0) {
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(text[i] == '+' ? ' ' : text[i]);
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> HttpRequest::query_value(std::string_view name) const {
  std::string_view rest = query;
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (percent_decoded(pair.substr(0, eq)) != name) continue;
    return eq == std::string_view::npos ? std::string() : percent_decoded(pair.substr(eq + 1));
  }
  return std::nullopt;
}

HttpEndpoint::HttpEndpoint(HttpEndpointOptions options) : options_(std::move(options)) {
  boost::system::error_code ec;
  asio::ip::make_address(options_.bind, ec);
  if (ec) {
    throw std::invalid_argument(fmt::format("not an IP address: \"{}\"", options_.bind));
  }
  task(&HttpEndpoint::serve, "serve");
}

const Service& HttpEndpoint::tree_root() const noexcept {
  const auto root = beacon().root();
  if (root) return *root->data();
  return *this;
}

awaitable<void> HttpEndpoint::on_start() {
  const tcp::endpoint endpoint(asio::ip::make_address(options_.bind), options_.port);
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  tcp::acceptor acceptor(ex);
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    const std::string why =
        fmt::format("cannot listen on {}:{}: {}", options_.bind, options_.port, ec.message());
    if (options_.must_listen) throw std::runtime_error(why);
    log.error("{} off: {}", label(), why);
    co_return;
  }
  port_ = acceptor.local_endpoint().port();
  acceptor_.emplace(std::move(acceptor));
}

awaitable<void> HttpEndpoint::on_stop() {
  if (acceptor_) acceptor_->close();
  acceptor_.reset();
  port_ = 0;
  co_return;
}

awaitable<void> HttpEndpoint::serve() {
  while (acceptor_) {
    auto [ec, socket] = co_await acceptor_->async_accept(asio::as_tuple(use_awaitable));
    if (ec == asio::error::operation_aborted || should_stop()) co_return;
    if (ec) {
      // A lasting error (out of file descriptors) must not spin the loop: retry a little later.
      log.warning("{}: accept failed: {}", label(), ec.message());
      const bool slept = co_await sleep(kAcceptRetry);
      if (!slept) co_return;
      continue;
    }
    if (connections_ >= options_.max_connections) {
      // Refused at once, without waiting on the client: one try at a non-blocking write.
      std::ostringstream busy;
      busy << response_of(
          plain(503, fmt::format("{} is busy: too many connections, try again\n", label())));
      const std::string whole = std::move(busy).str();
      boost::system::error_code ignored;
      socket.non_blocking(true, ignored);
      socket.write_some(asio::buffer(whole), ignored);
      socket.close(ignored);
      continue;
    }
    ++connections_;
    add_future(connection(std::move(socket)), "connection");
  }
}

awaitable<void> HttpEndpoint::connection(tcp::socket socket) {
  struct Count {
    std::size_t* n;
    ~Count() { --*n; }
  } count{&connections_};
  auto shared = std::make_shared<tcp::socket>(std::move(socket));
  // Stopped or timed out: the socket closes with the cancelled answer.
  WaitResult<std::optional<HttpRequest>> r =
      co_await wait(respond(shared), options_.answer_timeout);
  if (!r.result || !*r.result) co_return;
  HttpStream out(*this, std::move(shared));
  co_await stream(std::move(**r.result), std::move(out));
}

awaitable<std::optional<HttpRequest>> HttpEndpoint::respond(std::shared_ptr<tcp::socket> socket) {
  boost::beast::flat_buffer buffer(detail::kMaxRequest);
  detail::RequestParser parser;
  detail::limit(parser);
  const auto [read_ec, n] =
      co_await http::async_read(*socket, buffer, parser, asio::as_tuple(use_awaitable));
  (void)n;
  // Gone before sending anything, or cut off by the stop: nobody to answer.
  if (read_ec == http::error::end_of_stream || read_ec == asio::error::operation_aborted)
    co_return std::nullopt;

  detail::ReadRequest read = detail::read_request(parser, read_ec);
  HttpAnswer a;
  HttpRequest request{std::move(read.target), std::move(read.query), std::move(read.accept)};
  if (read.refusal == 400) {
    a = plain(400, "bad request\n");
  } else if (read.refusal == 405) {
    a = plain(405, fmt::format("{} is read-only: GET only\n", label()));
  } else {
    a = co_await answer(request);
  }
  const bool streamed = a.streamed;
  http::response<http::string_body> res = response_of(std::move(a));
  const auto [write_ec, written] =
      co_await http::async_write(*socket, res, asio::as_tuple(use_awaitable));
  (void)written;
  if (write_ec) co_return std::nullopt;
  if (streamed) co_return request;
  boost::system::error_code ignored;
  socket->shutdown(tcp::socket::shutdown_send, ignored);
  co_return std::nullopt;
}

awaitable<void> HttpEndpoint::stream(HttpRequest request, HttpStream out) {
  (void)request;
  (void)out;
  co_return;
}

HttpStream::~HttpStream() {
  if (!socket_) return;  // moved from
  boost::system::error_code ignored;
  socket_->shutdown(tcp::socket::shutdown_send, ignored);
  socket_->close(ignored);
}

awaitable<bool> HttpStream::write(std::string data) {
  const Seconds timeout = endpoint_->options_.answer_timeout;
  const WaitResult<bool> r = co_await endpoint_->wait(write_all(socket_, std::move(data)), timeout);
  co_return r.result.value_or(false);
}

void HttpStream::write_now(std::string_view data) noexcept {
  boost::system::error_code ec;
  socket_->non_blocking(true, ec);
  std::size_t sent = 0;
  while (!ec && sent < data.size())
    sent += socket_->write_some(asio::buffer(data.substr(sent)), ec);
}

bool HttpStream::open() const noexcept {
  // A client of a stream sends nothing after its request: a readable socket means it closed.
  char byte = 0;
  boost::system::error_code ec;
  socket_->non_blocking(true, ec);
  if (ec) return false;
  const std::size_t n = socket_->receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
  if (ec == asio::error::would_block) return true;
  return !ec && n > 0;
}

}  // namespace mode
