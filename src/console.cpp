// Console: the read-only HTTP introspection endpoint.
#include <mode/console.hpp>
#include <mode/loop.hpp>
#include <mode/utils/objects.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace mode {

namespace {

using asio::ip::tcp;

constexpr std::size_t kMaxRequest = 8192;
constexpr double kAcceptRetry = 0.1;

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        else
          out += c;
    }
  }
  out += '"';
}

template <class Strings>
void append_json_strings(std::string& out, const Strings& strings) {
  out += '[';
  bool first = true;
  for (const auto& s : strings) {
    if (!first) out += ", ";
    first = false;
    append_json_string(out, s);
  }
  out += ']';
}

void append_json_tree(std::string& out, const Service& s) {
  out += "{\"label\": ";
  append_json_string(out, s.shortlabel());
  out += ", \"state\": ";
  append_json_string(out, s.state());
  out += fmt::format(", \"restart_count\": {}, \"crash_reason\": ", s.restart_count());
  if (s.crashed())
    append_json_string(out, exception_repr(s.crash_reason()));
  else
    out += "null";
  // A ServiceThread's flags, tasks and children belong to its thread: not read from this one.
  if (s.owns_thread()) {
    out += ", \"flags\": null, \"tasks\": null, \"suspended\": null, \"children\": null}";
    return;
  }
  out += ", \"flags\": ";
  append_json_strings(out, s.diag.flags());
  out += ", \"tasks\": ";
  append_json_strings(out, s.task_names());
  out += ", \"suspended\": ";
  append_json_strings(out, s.suspensions());
  out += ", \"children\": [";
  bool first = true;
  for (const Service::ServicePtr& child : s.dependencies()) {
    if (!first) out += ", ";
    first = false;
    append_json_tree(out, *child);
  }
  out += "]}";
}

void collect_crashed(const Service& s, std::vector<std::string>& out) {
  if (s.crashed()) out.push_back(s.shortlabel());
  for (const Service::ServicePtr& child : s.dependencies()) collect_crashed(*child, out);
}

struct Response {
  int status;
  std::string_view reason;
  std::string_view content_type;
  std::string body;
};

Response text(int status, std::string_view reason, std::string body) {
  return {status, reason, "text/plain; charset=utf-8", std::move(body)};
}

std::string head_of(const Response& res) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
      res.status, res.reason, res.content_type, res.body.size());
}

}  // namespace

void ConsoleOptions::check() const {
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(bind, ec);
  if (ec) throw std::invalid_argument(fmt::format("console: not an IP address: \"{}\"", bind));
  if (!address.is_loopback() && !allow_remote) {
    throw std::invalid_argument(
        fmt::format("console: {} is not a loopback address; binding it needs allow_remote "
                    "(--console-allow-remote)",
                    bind));
  }
}

Console::Console(ConsoleOptions options) : options_(std::move(options)) {
  options_.check();
  task(&Console::serve, "serve");
}

const Service& Console::top() const noexcept {
  const auto root = beacon().root();
  if (root) return *root->data();
  return *this;
}

std::string Console::tree_json() const {
  std::string out = fmt::format("{{\"pid\": {}, \"loop\": ", ::getpid());
  append_json_string(out, loop_backend());
  out += ", \"tree\": ";
  append_json_tree(out, top());
  out += "}\n";
  return out;
}

std::string Console::graph_dot() const {
  std::ostringstream out;
  top().beacon().as_graph().to_dot(out);
  return out.str();
}

awaitable<void> Console::on_start() {
  const tcp::endpoint endpoint(asio::ip::make_address(options_.bind), options_.port);
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  tcp::acceptor acceptor(ex);
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    log.error("Console off: cannot listen on {}:{}: {}", options_.bind, options_.port,
              ec.message());
    co_return;
  }
  port_ = acceptor.local_endpoint().port();
  acceptor_.emplace(std::move(acceptor));
  log.info("Serving the service tree on http://{}:{}/ (also /graph, /health)", options_.bind,
           port_);
}

awaitable<void> Console::on_stop() {
  if (acceptor_) acceptor_->close();
  acceptor_.reset();
  port_ = 0;
  co_return;
}

awaitable<void> Console::serve() {
  while (acceptor_) {
    auto [ec, socket] = co_await acceptor_->async_accept(asio::as_tuple(use_awaitable));
    if (ec == asio::error::operation_aborted || should_stop()) co_return;
    if (ec) {
      // A lasting error (out of file descriptors) must not spin the loop: retry a little later.
      log.warning("Console: accept failed: {}", ec.message());
      const bool slept = co_await sleep(kAcceptRetry);
      if (!slept) co_return;
      continue;
    }
    if (connections_ >= options_.max_connections) {
      // Refused at once, without waiting on the client: one try at a non-blocking write.
      const Response busy = text(503, "Service Unavailable",
                                 "the console is busy: too many connections, try again\n");
      const std::string whole = head_of(busy) + busy.body;
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

awaitable<void> Console::connection(tcp::socket socket) {
  struct Count {
    std::size_t* n;
    ~Count() { --*n; }
  } count{&connections_};
  const WaitResult<void> r = co_await wait(answer(std::move(socket)), options_.answer_timeout);
  (void)r;  // stopped or timed out: the socket closes with the cancelled answer
}

awaitable<void> Console::answer(tcp::socket socket) {
  std::string request;
  const auto [read_ec, n] =
      co_await asio::async_read_until(socket, asio::dynamic_buffer(request, kMaxRequest),
                                      "\r\n\r\n", asio::as_tuple(use_awaitable));
  (void)n;
  // An error other than a request too long for the buffer: the client went away.
  if (read_ec && read_ec != asio::error::not_found) co_return;

  Response res;
  const std::string_view line = std::string_view(request).substr(0, request.find("\r\n"));
  const std::size_t sp1 = line.find(' ');
  const std::size_t sp2 = line.find(' ', sp1 + 1);
  if (read_ec || sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      !line.substr(sp2 + 1).starts_with("HTTP/")) {
    res = text(400, "Bad Request", "bad request\n");
  } else if (line.substr(0, sp1) != "GET") {
    res = text(405, "Method Not Allowed", "the console is read-only: GET only\n");
  } else {
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));
    if (target == "/" || target == "/tree") {
      res = {200, "OK", "application/json", tree_json()};
    } else if (target == "/graph") {
      res = {200, "OK", "text/vnd.graphviz", graph_dot()};
    } else if (target == "/health") {
      std::vector<std::string> crashed;
      collect_crashed(top(), crashed);
      if (crashed.empty()) {
        res = {200, "OK", "application/json", "{\"status\": \"ok\"}\n"};
      } else {
        std::string body = "{\"status\": \"crashed\", \"crashed\": ";
        append_json_strings(body, crashed);
        body += "}\n";
        res = {503, "Service Unavailable", "application/json", std::move(body)};
      }
    } else {
      res = text(404, "Not Found",
                 fmt::format("no such page: {} (try /, /graph, /health)\n", target));
    }
  }
  const std::string head = head_of(res);
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(res.body)};
  const auto [write_ec, written] =
      co_await asio::async_write(socket, buffers, asio::as_tuple(use_awaitable));
  (void)written;
  if (!write_ec) {
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
  }
}

}  // namespace mode
