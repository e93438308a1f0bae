// The manual's tutorial made real: an AppService with a web server counting page views, a
// websocket service and a user cache, run by mode::Worker (Ctrl-C stops it).
//   tutorial [--host 127.0.0.1] [--port 8000] [--web-port 8080]   then: curl 127.0.0.1:8000/
#include <mode/service.hpp>
#include <mode/worker.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <iostream>
#include <map>
#include <optional>
#include <string>

namespace tutorial {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Counts page views per URL (the manual keeps them in Redis).
class PageViewCache : public mode::Service {
 public:
  int update(const std::string& url, int n = 1) { return views_[url] += n; }
  int get(const std::string& url) const {
    const auto it = views_.find(url);
    return it == views_.end() ? 0 : it->second;
  }

 private:
  std::map<std::string, int> views_;
};

/// The service tree as DOT (what `GET /graph` answers).
void graph_of(const mode::Service& s, std::string& out) {
  for (const mode::Service::ServicePtr& child : s.dependencies()) {
    out += "  \"" + s.label() + "\" -> \"" + child->label() + "\";\n";
    graph_of(*child, out);
  }
}

/// Where the web server listens (the command line sets it).
struct Address {
  std::string host = "127.0.0.1";
  int port = 8000;
};

/// HTTP on host:port: `GET /...` counts a view of that path and answers the count;
/// `GET /graph` answers the service graph as DOT.
class Webserver : public mode::Service {
 public:
  explicit Webserver(const Address* address) : address_(address) {}

 protected:
  std::vector<ServicePtr> on_init_dependencies() override { return {views_}; }

  mode::awaitable<void> on_start() override {
    const auto ex = co_await asio::this_coro::executor;
    acceptor_.emplace(ex);
    const tcp::endpoint where(asio::ip::make_address(address_->host),
                              static_cast<unsigned short>(address_->port));
    boost::system::error_code ec;
    acceptor_->open(where.protocol(), ec);
    if (!ec) acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_->bind(where, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      acceptor_.reset();
      throw std::runtime_error("cannot listen on " + address_->host + ":" +
                               std::to_string(address_->port) + ": " + ec.message());
    }
    log.info("Serving on port {}", acceptor_->local_endpoint().port());
    add_future(serve(), "serve");
  }

  mode::awaitable<void> on_stop() override {
    log.info("Closing server");
    if (acceptor_) acceptor_->close();
    co_return;
  }

  mode::awaitable<void> on_shutdown() override {
    log.info("Cleanup");
    acceptor_.reset();
    co_return;
  }

 private:
  mode::awaitable<void> serve() {
    bool failing = false;
    for (;;) {
      auto [ec, socket] = co_await acceptor_->async_accept(use_tuple);
      if (ec == asio::error::operation_aborted || should_stop()) co_return;  // closed by on_stop
      if (ec) {
        // Out of file descriptors (EMFILE), say: the server must not die of it. Log the first
        // failure of a run, and retry after a pause (an immediate retry would spin the loop).
        if (!failing) log.warning("Cannot accept a connection: {}; retrying", ec.message());
        failing = true;
        const bool slept = co_await sleep(0.1);
        if (!slept) co_return;
        continue;
      }
      if (failing) log.info("Accepting connections again");
      failing = false;
      add_future(session(std::move(socket)), "session");
    }
  }

  mode::awaitable<void> session(tcp::socket socket) {
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> req;
    auto [ec, n] = co_await http::async_read(socket, buffer, req, use_tuple);
    if (ec) co_return;
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.set(http::field::server, "mode-cpp tutorial");
    const std::string target(req.target());
    if (target == "/graph") {
      std::string dot = "digraph {\n";
      const mode::Service* top = this;
      for (auto n = beacon().parent(); n; n = n->parent())
        if (n->data() != nullptr) top = n->data();
      graph_of(*top, dot);
      dot += "}\n";
      res.set(http::field::content_type, "text/vnd.graphviz");
      res.body() = std::move(dot);
    } else {
      const int views = views_->update(target);
      res.set(http::field::content_type, "text/plain");
      res.body() = target + " viewed " + std::to_string(views) + " times\n";
    }
    res.keep_alive(false);
    res.prepare_payload();
    const auto written = co_await http::async_write(socket, res, use_tuple);
    (void)written;  // a client that went away is not our error
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }

  const Address* address_;
  std::shared_ptr<PageViewCache> views_ = std::make_shared<PageViewCache>();
  std::optional<tcp::acceptor> acceptor_;
};

/// Stands in for the manual's websocket server.
class Websockets : public mode::Service {
 protected:
  mode::awaitable<void> on_start() override {
    std::cout << "STARTING WEBSOCKET SERVER" << std::endl;
    co_return;
  }
};

/// Users that log in expire after a while; a timer removes the expired ones.
class UserCache : public mode::Service {
 public:
  UserCache() { timer(1.0, &UserCache::remove_expired, "remove_expired"); }

 private:
  void remove_expired() { std::cout << "REMOVING EXPIRED USERS" << std::endl; }
};

class AppService : public mode::Service {
 public:
  explicit AppService(const Address* address) : address_(address) {}

 protected:
  std::vector<ServicePtr> on_init_dependencies() override {
    return {std::make_shared<Websockets>(), std::make_shared<UserCache>(),
            std::make_shared<Webserver>(address_)};
  }

 private:
  const Address* address_;
};

}  // namespace tutorial

int main(int argc, char** argv) {
  tutorial::Address address;
  mode::WorkerOptions options;
  options.loglevel = "info";
  options.redirect_stdouts = false;  // the manual's output prints these lines as they are
  mode::Worker worker(std::make_shared<tutorial::AppService>(&address), options);
  worker.cli()
      .add_option("-p,--port", address.port, "Port of the web server (0: any free port)")
      ->check(CLI::Range(0, 65535));
  worker.cli()
      .add_option("--host", address.host, "Address of the web server (default 127.0.0.1)")
      ->check(CLI::ValidIPV4);
  return worker.execute_from_commandline(argc, argv);
}
