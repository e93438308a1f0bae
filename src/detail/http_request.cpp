// The request half of HttpEndpoint: bounds, and the request a parser read.
#include "detail/http_request.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>

namespace mode::detail {

namespace http = boost::beast::http;

void limit(RequestParser& parser) noexcept {
  parser.header_limit(kMaxRequest);
  parser.body_limit(kMaxRequest);
}

ReadRequest read_request(const RequestParser& parser, boost::beast::error_code read_error) {
  ReadRequest r;
  if (read_error) {
    r.refusal = 400;
  } else if (parser.get().method() != http::verb::get) {
    r.refusal = 405;
  } else {
    const std::string_view target = parser.get().target();
    const std::size_t mark = target.find('?');
    r.target = target.substr(0, mark);
    if (mark != std::string_view::npos) r.query = target.substr(mark + 1);
    r.accept = std::string_view(parser.get()[http::field::accept]);
  }
  return r;
}

namespace {

// A client's bytes, as a stream that gives them and then its end.
class BytesStream {
 public:
  explicit BytesStream(std::string_view bytes) noexcept : rest_(bytes) {}

  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, boost::beast::error_code& ec) {
    if (rest_.empty()) {
      ec = boost::asio::error::eof;
      return 0;
    }
    const std::size_t n = boost::asio::buffer_copy(buffers, boost::asio::buffer(rest_));
    rest_.remove_prefix(n);
    ec = {};
    return n;
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers) {
    boost::beast::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  std::string_view rest_;
};

}  // namespace

std::optional<ReadRequest> read_request(std::string_view bytes) {
  BytesStream stream(bytes);
  boost::beast::flat_buffer buffer(kMaxRequest);
  RequestParser parser;
  limit(parser);
  boost::beast::error_code ec;
  http::read(stream, buffer, parser, ec);
  if (ec == http::error::end_of_stream) return std::nullopt;
  return read_request(parser, ec);
}

}  // namespace mode::detail
