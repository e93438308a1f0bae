// Tests of mode/console.hpp: the read-only HTTP endpoint, over real loopback sockets.
#include <mode/console.hpp>
#include <mode/loop.hpp>
#include <mode/service.hpp>
#include <mode/supervisors.hpp>
#include <mode/testing.hpp>
#include <mode/threads.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using mode::awaitable;
using mode::Console;
using mode::ConsoleOptions;
using mode::Service;
using mode::testing::run;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class Worked : public Service {
 public:
  Worked() { task(&Worked::work, "work"); }
  std::string label() const override { return label_; }
  std::string label_ = "App";

 private:
  awaitable<void> work() {
    const bool stopped = co_await wait_for_stopped(std::nullopt);
    (void)stopped;
  }
};

// Sends `request` to the console and reads the whole response (the console closes after one).
awaitable<std::string> exchange(std::uint16_t port, std::string request) {
  const auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  co_await socket.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                mode::use_awaitable);
  co_await asio::async_write(socket, asio::buffer(request), mode::use_awaitable);
  std::string response;
  const auto [ec, n] = co_await asio::async_read(socket, asio::dynamic_buffer(response),
                                                 asio::as_tuple(mode::use_awaitable));
  (void)ec;
  (void)n;
  co_return response;
}

std::string get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
}

std::string body_of(const std::string& response) {
  return response.substr(response.find("\r\n\r\n") + 4);
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ConsoleOptions options;
    options.port = 0;
    console = std::make_shared<Console>(options);
    // The app is supervised so that its crash stops at its supervisor, and the console goes on.
    root->add_dependency(
        std::make_shared<mode::ForfeitOneForOneSupervisor>(std::vector<Service::ServicePtr>{app}));
    root->add_dependency(console);
    run(ctx, root->start());
    ASSERT_NE(console->port(), 0);
  }
  void TearDown() override { run(ctx, root->stop()); }

  std::string ask(const std::string& request) {
    return run(ctx, exchange(console->port(), request));
  }

  mode::testing::LogCapture cap;
  asio::io_context ctx;
  std::shared_ptr<Service> root = std::make_shared<Service>();
  std::shared_ptr<Worked> app = std::make_shared<Worked>();
  std::shared_ptr<Console> console;
};

TEST_F(ConsoleTest, TreeIsTheWholeServiceTreeAsJson) {
  const std::string response = ask(get("/"));
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"));
  EXPECT_THAT(response, HasSubstr("\r\nConnection: close\r\n"));
  const std::string body = body_of(response);
  EXPECT_THAT(response, HasSubstr("Content-Length: " + std::to_string(body.size()) + "\r\n"));
  EXPECT_THAT(body, StartsWith(fmt::format("{{\"pid\":{},\"loop\":\"{}\",\"tree\":"
                                           "{{\"label\":\"Service\",\"state\":\"running\","
                                           "\"restart_count\":0,\"crash_reason\":null,\"flags\":"
                                           "[],\"tasks\":[],\"suspended\":[],\"children\":[",
                                           ::getpid(), mode::loop_backend())));
  EXPECT_THAT(body, HasSubstr("{\"label\":\"App\",\"state\":\"running\",\"restart_count\":0,"
                              "\"crash_reason\":null,\"flags\":[],\"tasks\":[\"work\"],"
                              "\"suspended\":[\"wait_for_stopped in "));
  // The function as the compiler names it (g++ and clang differ).
  EXPECT_THAT(body, HasSubstr("Worked::work() at console_test.cpp:"));
  EXPECT_THAT(body, HasSubstr("{\"label\":\"Console\",\"state\":\"running\""));
  EXPECT_THAT(body, HasSubstr("\"tasks\":[\"serve\",\"connection\",\"wait\"],\"suspended\":[\"wait "
                              "(5.0 s left) in "));
  EXPECT_THAT(body, HasSubstr("mode::HttpEndpoint::connection("));
  EXPECT_THAT(body_of(ask(get("/tree"))), StartsWith("{\"pid\":"));
}

TEST(Console, AServiceOnItsOwnThreadShowsOnlyItsState) {
  asio::io_context ctx;
  auto root = std::make_shared<Service>();
  ConsoleOptions options;
  options.port = 0;
  auto console = root->add_dependency(std::make_shared<Console>(options));
  root->add_dependency(std::make_shared<mode::ServiceThread>());
  run(ctx, root->start());
  EXPECT_THAT(console->tree_json(),
              HasSubstr("{\"label\":\"ServiceThread\",\"state\":\"running\",\"restart_count\":"
                        "0,\"crash_reason\":null,\"flags\":null,\"tasks\":null,"
                        "\"suspended\":null,\"children\":null}"));
  run(ctx, root->stop());
}

TEST_F(ConsoleTest, JsonEscapesLabelsAndCrashReasons) {
  app->label_ = "A \"quoted\"\\label";
  app->crash(std::make_exception_ptr(std::runtime_error("line one\nline\ttwo\x01")));
  mode::testing::poll(ctx);
  const std::string body = body_of(ask(get("/")));
  EXPECT_THAT(body, HasSubstr("\"label\":\"A \\\"quoted\\\"\\\\label\",\"state\":\"crashed\""));
  EXPECT_THAT(body,
              HasSubstr("\"crash_reason\":\"std::runtime_error('line one\\nline\\ttwo\\u0001')\""));
  EXPECT_EQ(std::count(body.begin(), body.end(), '\n'), 1) << "one line: " << body;
}

TEST_F(ConsoleTest, GraphIsTheBeaconGraphAsDot) {
  const std::string response = ask(get("/graph"));
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\nContent-Type: text/vnd.graphviz\r\n"));
  EXPECT_THAT(body_of(response), StartsWith("digraph dependencies {"));
  EXPECT_EQ(body_of(response), console->graph_dot());
  EXPECT_THAT(body_of(response), HasSubstr("\"Service\" -> \"Console\""));
}

TEST_F(ConsoleTest, HealthTurns503WhenAServiceCrashes) {
  const std::string ok = ask(get("/health"));
  EXPECT_THAT(ok, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(body_of(ok), "{\"status\":\"ok\"}\n");
  app->crash(std::make_exception_ptr(std::runtime_error("down")));
  mode::testing::poll(ctx);
  const std::string bad = ask(get("/health?verbose=1"));
  EXPECT_THAT(bad, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_EQ(body_of(bad), "{\"status\":\"crashed\",\"crashed\":[\"App\"]}\n");
}

TEST_F(ConsoleTest, OtherRequestsGetClearErrors) {
  const std::string missing = ask(get("/nope"));
  EXPECT_THAT(missing, StartsWith("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_EQ(body_of(missing), "no such page: /nope (try /, /graph, /health)\n");
  EXPECT_THAT(ask("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"),
              StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));
  EXPECT_THAT(ask("hello\r\n\r\n"), StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  EXPECT_THAT(ask("GET /" + std::string(10000, 'x')), StartsWith("HTTP/1.1 400 Bad Request\r\n"));
  // Still serving after all that.
  EXPECT_THAT(ask(get("/health")), StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST_F(ConsoleTest, StopClosesTheListeningSocket) {
  const std::uint16_t port = console->port();
  run(ctx, root->stop());
  EXPECT_EQ(console->port(), 0);
  asio::io_context other;
  tcp::socket socket(other);
  boost::system::error_code ec;
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  EXPECT_EQ(ec, asio::error::connection_refused);
  root = std::make_shared<Service>();  // TearDown stops a fresh one
}

TEST(Console, APortInUseIsLoggedAndTheProgramGoesOn) {
  mode::testing::LogCapture cap;
  asio::io_context ctx;
  tcp::acceptor taken(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  ConsoleOptions options;
  options.port = taken.local_endpoint().port();
  auto console = std::make_shared<Console>(options);
  run(ctx, console->start());
  EXPECT_EQ(console->state(), "running");
  EXPECT_EQ(console->port(), 0);
  EXPECT_THAT(cap.lines(),
              ::testing::Contains(fmt::format(
                  "[^Console]: Console off: cannot listen on 127.0.0.1:{}: Address already in use",
                  options.port)));
  run(ctx, console->stop());
}

// A client connected to the console that sends nothing (a loopback socket of this process).
tcp::socket idle_client(asio::io_context& ctx, std::uint16_t port) {
  tcp::socket socket(ctx);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  return socket;
}

// Reads until the console closes the connection; what it sent.
awaitable<std::string> read_all(tcp::socket* socket) {
  std::string received;
  const auto [ec, n] = co_await asio::async_read(*socket, asio::dynamic_buffer(received),
                                                 asio::as_tuple(mode::use_awaitable));
  (void)ec;
  (void)n;
  co_return received;
}

// Each connection is served on its own: idle clients do not hold up the next one.
TEST(Console, IdleConnectionsDoNotBlockAnotherClient) {
  asio::io_context ctx;
  ConsoleOptions options;
  options.port = 0;
  options.answer_timeout = 600.0;  // the idle ones stay for the whole test
  auto console = std::make_shared<Console>(options);
  run(ctx, console->start());
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(idle_client(ctx, console->port()));
  const std::string response = run(ctx, exchange(console->port(), get("/health")));
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(body_of(response), "{\"status\":\"ok\"}\n");
  // Stop drops the idle connections at once.
  run(ctx, console->stop());
  for (tcp::socket& s : idle) EXPECT_EQ(run(ctx, read_all(&s)), "");
}

TEST(Console, ConnectionsBeyondTheBoundAreRefusedAtOnce) {
  asio::io_context ctx;
  ConsoleOptions options;
  options.port = 0;
  options.max_connections = 2;
  options.answer_timeout = 600.0;
  auto console = std::make_shared<Console>(options);
  run(ctx, console->start());
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 2; ++i) idle.push_back(idle_client(ctx, console->port()));
  // Accepted in order: the two idle ones take the two places.
  const std::string refused = run(ctx, exchange(console->port(), get("/health")));
  EXPECT_THAT(refused, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_EQ(body_of(refused), "Console is busy: too many connections, try again\n");
  // A place frees up when a client goes away.
  idle.pop_back();
  std::string answered;
  for (int i = 0; i < 200; ++i) {
    answered = run(ctx, exchange(console->port(), get("/health")));
    if (answered.starts_with("HTTP/1.1 200")) break;
  }
  EXPECT_THAT(answered, StartsWith("HTTP/1.1 200 OK\r\n"));
  run(ctx, console->stop());
}

TEST(Console, AClientThatSendsNothingIsDroppedAfterTheAnswerTimeout) {
  asio::io_context ctx;
  ConsoleOptions options;
  options.port = 0;
  options.answer_timeout = 0.2;
  auto console = std::make_shared<Console>(options);
  run(ctx, console->start());
  tcp::socket idle = idle_client(ctx, console->port());
  EXPECT_EQ(run(ctx, read_all(&idle)), "");  // closed by the console, nothing sent
  EXPECT_EQ(console->state(), "running");
  EXPECT_THAT(run(ctx, exchange(console->port(), get("/health"))), StartsWith("HTTP/1.1 200 OK"));
  run(ctx, console->stop());
}

TEST(Console, BindingBeyondLoopbackNeedsAllowRemote) {
  ConsoleOptions options;
  options.bind = "0.0.0.0";
  try {
    Console c(options);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(),
                 "console: 0.0.0.0 is not a loopback address; binding it needs allow_remote "
                 "(--console-allow-remote)");
  }
  options.allow_remote = true;
  EXPECT_NO_THROW(options.check());
  options = {};
  options.bind = "::1";
  EXPECT_NO_THROW(options.check());
  options.bind = "localhost";
  EXPECT_THROW(options.check(), std::invalid_argument);
}

}  // namespace
