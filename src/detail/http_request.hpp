// The request half of HttpEndpoint without a socket: the bounds a request is read within, and
// what a request read comes to (private to the library; tested and fuzzed on its own).
#pragma once

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mode::detail {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

/// A GET needs no more: a larger request is refused (400) rather than buffered.
constexpr std::uint32_t kMaxRequest = 8192;

/// A parser bounded by kMaxRequest, for a buffer of kMaxRequest bytes.
void limit(RequestParser& parser) noexcept;

/// What a request read comes to.
struct ReadRequest {
  /// 0: a GET, to answer; else the status it is refused with (400: not HTTP, or too large; 405:
  /// a method other than GET).
  unsigned refusal = 0;
  std::string target;  ///< the path, without the query string
  std::string query;   ///< what follows the target's `?`, as sent; empty without one
  std::string accept;  ///< the `Accept` header; empty without one
};

/// The request `parser` read, `read_error` being how its read ended.
ReadRequest read_request(const RequestParser& parser, boost::beast::error_code read_error);

/// Reads a request from `bytes`, all a client sent before closing, the way HttpEndpoint reads
/// one from its socket (Beast's read algorithm, the same bounds). Returns none where the endpoint
/// answers nothing (the client sent nothing).
std::optional<ReadRequest> read_request(std::string_view bytes);

}  // namespace mode::detail
