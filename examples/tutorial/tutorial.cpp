// The manual's tutorial made real: an AppService with a web server counting page views, a
// websocket server that echoes and broadcasts each page view, and a user cache, run by
// mode::Worker (Ctrl-C stops it).
//   tutorial [--host 127.0.0.1] [--port 8000] [--ws-port 8001] [--web-port 8080] ...
//   (--test-crash LABEL:SECONDS, for tests: crashes that service, to observe a crash)
//   then: curl http://127.0.0.1:8000/ (and a websocket client on ws://127.0.0.1:8001/)
#include <mode/service.hpp>
#include <mode/signals.hpp>
#include <mode/worker.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace tutorial {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
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

/// A server on host:port (port 0: any free port; the command line sets both): accepts
/// connections until it stops and runs `session` for each, as a future of the service.
class Server : public mode::Service {
 public:
  Server(const std::string* host, const int* port) : host_(host), port_(port) {}

 protected:
  virtual mode::awaitable<void> session(tcp::socket socket) = 0;

  mode::awaitable<void> on_start() override {
    const auto ex = co_await asio::this_coro::executor;
    acceptor_.emplace(ex);
    const tcp::endpoint where(asio::ip::make_address(*host_), static_cast<unsigned short>(*port_));
    boost::system::error_code ec;
    acceptor_->open(where.protocol(), ec);
    if (!ec) acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_->bind(where, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      acceptor_.reset();
      throw std::runtime_error("cannot listen on " + *host_ + ":" + std::to_string(*port_) + ": " +
                               ec.message());
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

  const std::string* host_;
  const int* port_;
  std::optional<tcp::acceptor> acceptor_;
};

/// HTTP: `GET /...` counts a view of that path, answers the count and tells `page_viewed`;
/// `GET /graph` answers the service graph as DOT.
class Webserver : public Server {
 public:
  using Server::Server;

  /// Each counted view, as `/path viewed N times`.
  mode::SyncSignal<void, std::string> page_viewed{"page_viewed", "Webserver"};

 protected:
  std::vector<ServicePtr> on_init_dependencies() override { return {views_}; }

 private:
  mode::awaitable<void> session(tcp::socket socket) override {
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
      std::string text = target + " viewed " + std::to_string(views) + " times";
      page_viewed.send(text);
      res.set(http::field::content_type, "text/plain");
      res.body() = std::move(text) + "\n";
    }
    res.keep_alive(false);
    res.prepare_payload();
    const auto written = co_await http::async_write(socket, res, use_tuple);
    (void)written;  // a client that went away is not our error
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
  }

  std::shared_ptr<PageViewCache> views_ = std::make_shared<PageViewCache>();
};

/// Websockets on 127.0.0.1:ws_port: echoes what a client sends, and sends every client each
/// text given to `broadcast`.
class Websockets : public Server {
 public:
  using Server::Server;

  void broadcast(const std::string& text) {
    for (const std::shared_ptr<Client>& c : clients_) c->send(text);
  }

 protected:
  mode::awaitable<void> on_start() override {
    std::cout << "STARTING WEBSOCKET SERVER" << std::endl;
    co_await Server::on_start();
  }

  mode::awaitable<void> on_stop() override {
    co_await Server::on_stop();
    // Ends every session: their pending reads and writes fail at once.
    for (const std::shared_ptr<Client>& c : clients_) c->close();
  }

 private:
  // One connected client: what is queued for it, written in order by its writer.
  struct Client {
    explicit Client(tcp::socket socket)
        : ws(std::move(socket)), wake(ws.get_executor(), asio::steady_timer::time_point::max()) {}
    void send(std::string text) {
      outbox.push_back(std::move(text));
      wake.cancel();
    }
    void close() {
      closed = true;
      boost::system::error_code ignored;
      boost::beast::get_lowest_layer(ws).close(ignored);
      wake.cancel();
    }
    websocket::stream<tcp::socket> ws;
    std::deque<std::string> outbox;
    asio::steady_timer wake;  // cancelled when there is more to write
    bool closed = false;
  };

  mode::awaitable<void> session(tcp::socket socket) override {
    auto client = std::make_shared<Client>(std::move(socket));
    auto [ec] = co_await client->ws.async_accept(use_tuple);
    if (ec) co_return;
    clients_.push_back(client);
    const auto self = std::prev(clients_.end());
    add_future(write_to(client), "ws writer");
    boost::beast::flat_buffer buffer;
    for (;;) {
      auto [read_ec, n] = co_await client->ws.async_read(buffer, use_tuple);
      if (read_ec) break;  // the client left, or the stop closed the socket
      client->send(boost::beast::buffers_to_string(buffer.data()));
      buffer.consume(n);
    }
    clients_.erase(self);
    client->close();
  }

  static mode::awaitable<void> write_to(std::shared_ptr<Client> client) {
    while (!client->closed) {
      if (client->outbox.empty()) {
        client->wake.expires_at(asio::steady_timer::time_point::max());
        co_await client->wake.async_wait(use_tuple);  // woken by a cancel: no error to see
        continue;
      }
      const std::string text = std::move(client->outbox.front());
      client->outbox.pop_front();
      client->ws.text(true);
      auto [ec, n] = co_await client->ws.async_write(asio::buffer(text), use_tuple);
      if (ec) co_return;
    }
  }

  std::list<std::shared_ptr<Client>> clients_;
};

/// Users that log in expire after a while; a timer removes the expired ones.
class UserCache : public mode::Service {
 public:
  UserCache() { timer(1.0, &UserCache::remove_expired, "remove_expired"); }

 private:
  void remove_expired() { std::cout << "REMOVING EXPIRED USERS" << std::endl; }
};

/// What `--test-crash LABEL:SECONDS` asks for: a crash, for tests of what observes one.
struct TestCrash {
  std::string label;  // empty: none
  double seconds = 0;
};

/// The service labelled `label` in the tree under `s` (`s` included), or null.
mode::Service* find_service(mode::Service& s, const std::string& label) {
  if (s.label() == label) return &s;
  for (const mode::Service::ServicePtr& child : s.dependencies())
    if (mode::Service* found = find_service(*child, label)) return found;
  return nullptr;
}

class AppService : public mode::Service {
 public:
  AppService(const std::string* host, const int* port, const int* ws_port,
             const TestCrash* test_crash)
      : host_(host), port_(port), ws_port_(ws_port), test_crash_(test_crash) {}

 protected:
  mode::awaitable<void> on_started() override {
    if (!test_crash_->label.empty()) add_future(crash_later(), "test_crash");
    co_return;
  }

  std::vector<ServicePtr> on_init_dependencies() override {
    auto websockets = std::make_shared<Websockets>(host_, ws_port_);
    auto webserver = std::make_shared<Webserver>(host_, port_);
    webserver->page_viewed
        .connect([ws = websockets.get()](const std::string& text) { ws->broadcast(text); })
        .release();  // for the life of the web server, which the websockets outlive
    return {websockets, std::make_shared<UserCache>(), webserver};
  }

 private:
  mode::awaitable<void> crash_later() {
    const bool slept = co_await sleep(test_crash_->seconds);
    if (!slept) co_return;
    mode::Service* victim = find_service(*this, test_crash_->label);
    if (victim == nullptr)
      throw std::runtime_error("--test-crash: no service labelled " + test_crash_->label);
    victim->crash(std::make_exception_ptr(std::runtime_error("crashed by --test-crash")));
  }

  const std::string* host_;
  const int* port_;
  const int* ws_port_;
  const TestCrash* test_crash_;
};

/// Parses `LABEL:SECONDS` into `into`; the error CLI11 reports, or "".
std::string parse_test_crash(const std::string& text, TestCrash& into) {
  const std::size_t colon = text.rfind(':');
  const std::string why = "expected LABEL:SECONDS (seconds >= 0), got " + text;
  if (colon == 0 || colon == std::string::npos) return why;
  try {
    std::size_t used = 0;
    const double seconds = std::stod(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || !(seconds >= 0 && seconds < 1e9)) return why;
    into.label = text.substr(0, colon);
    into.seconds = seconds;
  } catch (const std::exception&) {
    return why;
  }
  return "";
}

}  // namespace tutorial

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 8000;
  int ws_port = 8001;
  mode::WorkerOptions options;
  options.loglevel = "info";
  options.redirect_stdouts = false;  // the manual's output prints these lines as they are
  tutorial::TestCrash test_crash;
  mode::Worker worker(std::make_shared<tutorial::AppService>(&host, &port, &ws_port, &test_crash),
                      options);
  worker.cli()
      .add_option("--host", host, "Address of the web and websocket servers (default 127.0.0.1)")
      ->check(CLI::ValidIPV4);
  worker.cli()
      .add_option("-p,--port", port, "Port of the web server (0: any free port)")
      ->check(CLI::Range(0, 65535));
  worker.cli()
      .add_option("--ws-port", ws_port, "Port of the websocket server (0: any free port)")
      ->check(CLI::Range(0, 65535));
  worker.cli()
      .add_option_function<std::string>(
          "--test-crash",
          [&test_crash](const std::string& text) {
            const std::string why = tutorial::parse_test_crash(text, test_crash);
            if (!why.empty()) throw CLI::ValidationError("--test-crash", why);
          },
          "For tests: crash the service labelled LABEL, SECONDS after the start")
      ->type_name("LABEL:SECONDS")
      ->group("Testing");
  return worker.execute_from_commandline(argc, argv);
}
