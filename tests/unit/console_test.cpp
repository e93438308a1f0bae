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
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
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
    root->add_dependency(supervisor);
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
  std::shared_ptr<Service> supervisor =
      std::make_shared<mode::ForfeitOneForOneSupervisor>(std::vector<Service::ServicePtr>{app});
  std::shared_ptr<Console> console;

  /// The app's path in the tree (its supervisor's label names its address).
  std::string app_path() const {
    return "Service/" + supervisor->shortlabel() + "/" + app->label();
  }
};

TEST_F(ConsoleTest, TreeIsTheWholeServiceTreeAsJson) {
  const std::string response = ask(get("/tree"));
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"));
  EXPECT_THAT(response, HasSubstr("\r\nConnection: close\r\n"));
  const std::string body = body_of(response);
  EXPECT_THAT(response, HasSubstr("Content-Length: " + std::to_string(body.size()) + "\r\n"));
  EXPECT_THAT(body, StartsWith(fmt::format("{{\"pid\":{},\"loop\":\"{}\",\"tree\":"
                                           "{{\"label\":\"Service\",\"path\":\"Service\","
                                           "\"state\":\"running\",\"restart_count\":0,"
                                           "\"crash_reason\":null,\"last_event\":\"started\","
                                           "\"flags\":[],\"tasks\":[],\"suspended\":[],"
                                           "\"children\":[",
                                           ::getpid(), mode::loop_backend())));
  EXPECT_THAT(body, HasSubstr("{\"label\":\"App\",\"path\":\"" + app_path() +
                              "\",\"state\":\"running\",\"restart_count\":0,"
                              "\"crash_reason\":null,\"last_event\":\"started\",\"flags\":[],"
                              "\"tasks\":[\"work\"],\"suspended\":[\"wait_for_stopped in "));
  // The function as the compiler names it (g++ and clang differ).
  EXPECT_THAT(body, HasSubstr("Worked::work() at console_test.cpp:"));
  EXPECT_THAT(body, HasSubstr("{\"label\":\"Console\",\"path\":\"Service/Console\","
                              "\"state\":\"running\""));
  EXPECT_THAT(body, HasSubstr("\"tasks\":[\"serve\",\"connection\",\"wait\"],\"suspended\":[\"wait "
                              "(5.0 s left) in "));
  EXPECT_THAT(body, HasSubstr("mode::HttpEndpoint::connection("));
  // A supervisor shows its strategy and its restart window.
  EXPECT_THAT(body, HasSubstr("\"supervisor\":{\"strategy\":\"ForfeitOneForOneSupervisor\","
                              "\"max_restarts\":100,\"over\":1E0,\"restarts_in_window\":0,"
                              "\"give_ups\":0},\"children\":[{\"label\":\"App\","));
}

// A request with an Accept header.
std::string get(const std::string& target, const std::string& accept) {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\nAccept: " + accept + "\r\n\r\n";
}

TEST_F(ConsoleTest, RootIsAPageForBrowsersAndJsonForScriptsThatAskForIt) {
  const std::string page = ask(get("/"));
  EXPECT_THAT(page, StartsWith("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"));
  EXPECT_THAT(body_of(page), StartsWith("<!doctype html>"));
  EXPECT_THAT(body_of(page), HasSubstr("new EventSource(chosen === null ? \"/stream\""));
  // Self-contained: nothing to fetch from another host.
  EXPECT_THAT(body_of(page), ::testing::Not(HasSubstr("http")));
  const std::string browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
  EXPECT_THAT(body_of(ask(get("/", browser))), StartsWith("<!doctype html>"));
  for (const std::string accept : {"application/json", "application/json, text/plain, */*"}) {
    const std::string json = ask(get("/", accept));
    EXPECT_THAT(json, StartsWith("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"));
    EXPECT_THAT(body_of(json), StartsWith("{\"pid\":")) << accept;
  }
  EXPECT_THAT(body_of(ask(get("/tree", browser))), StartsWith("{\"pid\":"));
}

TEST_F(ConsoleTest, GraphSvgIsTheGraphDrawnByGraphviz) {
  const std::string response = ask(get("/graph.svg"));
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\nContent-Type: image/svg+xml\r\n"));
  EXPECT_THAT(body_of(response), HasSubstr("<svg"));
  EXPECT_THAT(body_of(response), HasSubstr(">Console</text>"));
  EXPECT_EQ(ask(get("/graph.svg")), response);  // drawn once for the same graph
}

TEST_F(ConsoleTest, GraphSvgIsTheDotTextWithoutGraphviz) {
  const std::string path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  ::setenv("PATH", "/nonexistent", 1);
  const std::string response = ask(get("/graph.svg"));
  ::setenv("PATH", path.c_str(), 1);
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\nContent-Type: text/vnd.graphviz\r\n"));
  EXPECT_EQ(body_of(response), console->graph_dot());
}

// A client of `GET /stream`: what it received so far, read a piece at a time.
struct StreamClient {
  explicit StreamClient(asio::io_context& ctx) : socket(ctx) {}
  tcp::socket socket;
  std::string received;
};

awaitable<void> open_stream(StreamClient* c, std::uint16_t port, std::string target = "/stream") {
  co_await c->socket.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                   mode::use_awaitable);
  const std::string request = get(target);
  co_await asio::async_write(c->socket, asio::buffer(request), mode::use_awaitable);
}

// The next event (or comment) the stream sends, without its blank line; "" at the end.
awaitable<std::string> next_event(StreamClient* c) {
  const auto [ec, n] = co_await asio::async_read_until(c->socket, asio::dynamic_buffer(c->received),
                                                       "\n\n", asio::as_tuple(mode::use_awaitable));
  if (ec) co_return "";
  std::string event = c->received.substr(0, n - 2);
  c->received.erase(0, n);
  co_return event;
}

// A console alone on a free port, started on `ctx`; `options` give the rest.
std::shared_ptr<Console> started_console(asio::io_context& ctx, ConsoleOptions options) {
  options.port = 0;
  auto console = std::make_shared<Console>(options);
  run(ctx, console->start());
  return console;
}

// A console on a free port, a child of `root` (started with it).
std::shared_ptr<Console> console_under(Service& root, ConsoleOptions options = {}) {
  options.port = 0;
  return root.add_dependency(std::make_shared<Console>(options));
}

// Opens the stream `target` of the console on `port` and reads its head and its first tree.
void follow(asio::io_context& ctx, StreamClient* c, std::uint16_t port,
            std::string target = "/stream") {
  run(ctx, open_stream(c, port, std::move(target)));
  run(ctx, next_event(c));  // the head
  EXPECT_THAT(run(ctx, next_event(c)), StartsWith("data: {\"pid\":"));
}

TEST_F(ConsoleTest, StreamSendsTheTreeAtOnceThenEachChange) {
  StreamClient client(ctx);
  run(ctx, open_stream(&client, console->port()));
  const std::string head = run(ctx, next_event(&client));
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nCache-Control: no-cache\r\n"));
  EXPECT_THAT(head, ::testing::Not(HasSubstr("Content-Length")));
  EXPECT_THAT(head, ::testing::EndsWith("\r\n\r\nretry: 1000"));
  const std::string first = run(ctx, next_event(&client));
  EXPECT_THAT(first, StartsWith("data: {\"pid\":"));
  EXPECT_EQ(std::count(first.begin(), first.end(), '\n'), 0) << first;
  EXPECT_THAT(
      first, HasSubstr("{\"label\":\"App\",\"path\":\"" + app_path() + "\",\"state\":\"running\""));

  const auto crashed_at = std::chrono::steady_clock::now();
  app->crash(std::make_exception_ptr(std::runtime_error("down")));
  std::string update;
  while (update.find("\"state\":\"crashed\"") == std::string::npos) {
    update = run(ctx, next_event(&client), std::chrono::seconds(2));
    ASSERT_FALSE(update.empty()) << "the stream ended";
  }
  EXPECT_LT(std::chrono::steady_clock::now() - crashed_at, std::chrono::seconds(1));
  EXPECT_THAT(update, HasSubstr("\"path\":\"" + app_path() + "\",\"state\":\"crashed\""));
}

// The next `events` event of the stream that is about `path` (each within 2 s); "" at the end.
std::string next_events_of(asio::io_context& ctx, StreamClient* c, const std::string& path) {
  const std::string head = "event: events\ndata: {\"service\":\"" + path + "\",";
  for (;;) {
    std::string e = run(ctx, next_event(c), std::chrono::seconds(2));
    if (e.empty() || e.starts_with(head)) return e;
  }
}

// The stream also carries the events of one service: the first crashed one, else the root,
// unless `?service=` names one.
TEST_F(ConsoleTest, StreamCarriesTheEventsOfTheFirstCrashedServiceElseOfTheRoot) {
  StreamClient client(ctx);
  follow(ctx, &client, console->port());
  EXPECT_THAT(run(ctx, next_event(&client)),
              StartsWith("event: events\ndata: {\"service\":\"Service\",\"events\":[{\"kind\":"
                         "\"starting\",\"age\":"));
  StreamClient chosen(ctx);
  follow(ctx, &chosen, console->port(), "/stream?service=Service%2FConsole");
  EXPECT_THAT(next_events_of(ctx, &chosen, "Service/Console"), HasSubstr("s ago: started\"}]}"));

  app->crash(std::make_exception_ptr(std::runtime_error("down")));
  const std::string crash = next_events_of(ctx, &client, app_path());
  EXPECT_THAT(crash, HasSubstr("{\"kind\":\"crashed\",\"age\":"));
  EXPECT_THAT(crash, HasSubstr(" s ago: crashed: std::runtime_error('down')\"}"));
  // The one named stays, crash or not: it sends again only when its events change.
  run(ctx, console->stop());
  std::string rest;
  for (std::string e = run(ctx, next_event(&chosen)); !e.empty(); e = run(ctx, next_event(&chosen)))
    rest += e + "\n\n";
  EXPECT_THAT(rest, HasSubstr("event: events\ndata: {\"service\":\"Service/Console\","));
  EXPECT_THAT(rest, ::testing::Not(HasSubstr("App\",\"events\"")));
}

// A crash without a supervisor marks its ancestors crashed: the first crashed is the topmost,
// and its events hold the crash.
TEST(Console, StreamShowsTheTopmostServiceACrashReached) {
  mode::testing::LogCapture cap;
  asio::io_context ctx;
  auto root = std::make_shared<Service>();
  auto middle = root->add_dependency(std::make_shared<Worked>());
  middle->label_ = "Middle";
  auto leaf = middle->add_dependency(std::make_shared<Worked>());
  leaf->label_ = "Leaf";
  auto console = console_under(*root);
  run(ctx, root->start());
  StreamClient client(ctx);
  follow(ctx, &client, console->port());
  EXPECT_THAT(next_events_of(ctx, &client, "Service"), ::testing::Not(HasSubstr("crashed")));
  leaf->crash(std::make_exception_ptr(std::runtime_error("down")));
  ASSERT_TRUE(middle->crashed() && root->crashed());
  EXPECT_THAT(next_events_of(ctx, &client, "Service"),
              HasSubstr(" s ago: crashed: std::runtime_error('down')\"}"));
  run(ctx, root->stop());
}

TEST(Console, StreamOutlivesTheAnswerTimeoutAndEndsPromptlyOnStop) {
  asio::io_context ctx;
  auto root = std::make_shared<Service>();
  auto app = root->add_dependency(std::make_shared<Worked>());
  ConsoleOptions options;
  options.answer_timeout = 0.2;
  auto console = console_under(*root, options);
  run(ctx, root->start());
  StreamClient client(ctx);
  follow(ctx, &client, console->port());
  // Well past the answer timeout, the stream is still there and still follows the tree.
  run(ctx, root->sleep(0.6));
  app->label_ = "Renamed";
  std::string update;
  while (update.find("\"label\":\"Renamed\"") == std::string::npos) {
    update = run(ctx, next_event(&client), std::chrono::seconds(2));
    ASSERT_FALSE(update.empty()) << "the stream ended";
  }
  // The stop does not wait for the client: the stream sends how the tree ended, then ends.
  const auto stopping_at = std::chrono::steady_clock::now();
  run(ctx, root->stop(), std::chrono::seconds(5));
  EXPECT_LT(std::chrono::steady_clock::now() - stopping_at, std::chrono::seconds(1));
  std::string last;
  for (std::string e = run(ctx, next_event(&client)); !e.empty(); e = run(ctx, next_event(&client)))
    if (e.starts_with("data: ")) last = e;  // the trees, not the `events` events
  EXPECT_THAT(last, HasSubstr("\"label\":\"Console\",\"path\":\"Service/Console\",\"state\":"
                              "\"stopping\""));
  EXPECT_EQ(client.received, "");  // then the end of the stream
}

TEST(Console, AStreamEndsWhenItsClientGoesAway) {
  asio::io_context ctx;
  ConsoleOptions options;
  options.max_connections = 1;
  auto console = started_console(ctx, options);
  {
    StreamClient client(ctx);
    run(ctx, open_stream(&client, console->port()));
    run(ctx, next_event(&client));
    EXPECT_THAT(run(ctx, next_event(&client)), StartsWith("data: "));
  }
  // Its place is free again once the console noticed (within a sample).
  std::string answered;
  for (int i = 0; i < 100 && !answered.starts_with("HTTP/1.1 200"); ++i) {
    run(ctx, console->sleep(0.05));
    answered = run(ctx, exchange(console->port(), get("/health")));
  }
  EXPECT_THAT(answered, StartsWith("HTTP/1.1 200 OK\r\n"));
  run(ctx, console->stop());
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
              HasSubstr("{\"label\":\"ServiceThread\",\"path\":\"Service/ServiceThread\","
                        "\"state\":\"running\",\"restart_count\":0,\"crash_reason\":null,"
                        "\"last_event\":null,\"flags\":null,\"tasks\":null,"
                        "\"suspended\":null,\"children\":null}"));
  // Its events are its thread's too.
  const std::string events =
      body_of(run(ctx, exchange(console->port(), get("/events?service=Service/ServiceThread"))));
  EXPECT_EQ(events, "{\"service\":\"Service/ServiceThread\",\"events\":null}\n");
  run(ctx, root->stop());
}

TEST_F(ConsoleTest, JsonEscapesLabelsAndCrashReasons) {
  app->label_ = "A \"quoted\"\\label";
  app->crash(std::make_exception_ptr(std::runtime_error("line one\nline\ttwo\x01")));
  mode::testing::poll(ctx);
  const std::string body = body_of(ask(get("/tree")));
  EXPECT_THAT(body, HasSubstr("\"label\":\"A \\\"quoted\\\"\\\\label\",\"path\":\"Service/" +
                              supervisor->shortlabel() +
                              "/A \\\"quoted\\\"\\\\label\",\"state\":\"crashed\""));
  EXPECT_THAT(body,
              HasSubstr("\"crash_reason\":\"std::runtime_error('line one\\nline\\ttwo\\u0001')\""));
  EXPECT_EQ(std::count(body.begin(), body.end(), '\n'), 1) << "one line: " << body;
}

// `text` percent-encoded for a query: all but letters, digits and '/'.
std::string encoded(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '/')
      out += c;
    else
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
  }
  return out;
}

// `/events?service=PATH`: the events of the service at PATH (percent-decoded), oldest first, each
// aged by the loop's clock.
TEST(Console, EventsOfAServiceByItsPathAgedByItsLoopClock) {
  mode::testing::LogCapture cap;
  asio::io_context ctx;
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  auto root = std::make_shared<Service>();
  auto app = std::make_shared<Worked>();
  app->label_ = "My App/1";
  auto supervisor = root->add_dependency(
      std::make_shared<mode::ForfeitOneForOneSupervisor>(std::vector<Service::ServicePtr>{app}));
  auto console = console_under(*root);
  run(ctx, root->start());
  clock.advance(2.5, ctx);
  app->crash(std::make_exception_ptr(std::runtime_error("down")));
  clock.advance(1.5, ctx);
  // The supervisor's label names its address (`ForfeitOneForOneSupervisor: (1@0x...)`).
  const std::string supervisor_path = "Service/" + supervisor->shortlabel();
  const std::string path = supervisor_path + "/My App/1";
  EXPECT_THAT(console->tree_json(),
              HasSubstr("{\"label\":\"My App/1\",\"path\":\"" + path + "\",\"state\":\"crashed\""));
  const std::string response = run(
      ctx, exchange(console->port(),
                    get("/events?other=x&service=" + encoded(supervisor_path) + "%2fMy+App%2F1")));
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"));
  const json::value doc = json::parse(body_of(response));
  EXPECT_EQ(std::string(doc.at("service").as_string()), path);
  const json::array& events = doc.at("events").as_array();
  ASSERT_GE(events.size(), 3U) << body_of(response);
  EXPECT_EQ(events[0],
            json::parse(R"({"kind":"starting","age":4.0,"text":"4.000 s ago: starting"})"));
  EXPECT_EQ(events[1],
            json::parse(R"({"kind":"started","age":4.0,"text":"4.000 s ago: started"})"));
  EXPECT_EQ(events[2],
            json::parse(R"x({"kind":"crashed","age":1.5,)x"
                        R"x("text":"1.500 s ago: crashed: std::runtime_error('down')"})x"));
  // The same service, its path encoded otherwise.
  EXPECT_EQ(
      body_of(run(ctx, exchange(console->port(), get("/events?service=" + encoded(supervisor_path) +
                                                     "/My%20App%2f1")))),
      body_of(response));
  // Its supervisor gave up on it and stopped it: the rest of its events, and its last one in the
  // tree, without the age (the tree changes when the program does, not with the time).
  ASSERT_EQ(events.size(), 6U) << body_of(response);
  EXPECT_EQ(events[3],
            json::parse(R"({"kind":"gave_up","age":1.5,)"
                        R"("text":"1.500 s ago: gave_up: its supervisor gave up on it"})"));
  EXPECT_EQ(events[5],
            json::parse(R"({"kind":"stopped","age":1.5,"text":"1.500 s ago: stopped"})"));
  EXPECT_THAT(
      console->tree_json(),
      HasSubstr("\"crash_reason\":\"std::runtime_error('down')\",\"last_event\":\"stopped\""));
  EXPECT_THAT(console->tree_json(), ::testing::Not(HasSubstr(" s ago")));
  run(ctx, root->stop());
}

TEST_F(ConsoleTest, EventsNeedTheServiceAndOneTheTreeHas) {
  for (const std::string target : {"/events", "/events?", "/events?services=App"}) {
    const std::string missing = ask(get(target));
    EXPECT_THAT(missing, StartsWith("HTTP/1.1 400 Bad Request\r\n")) << target;
    EXPECT_EQ(body_of(missing),
              "/events needs the service: /events?service=PATH, PATH as in /tree (\"path\")\n");
  }
  for (const std::string& path : {std::string("App"), std::string("Service/App"),
                                  app_path().substr(0, app_path().size() - 1), app_path() + "/"}) {
    const std::string unknown = ask(get("/events?service=" + encoded(path)));
    EXPECT_THAT(unknown, StartsWith("HTTP/1.1 404 Not Found\r\n")) << path;
    EXPECT_EQ(body_of(unknown),
              "no service at " + path + " in the tree (its paths are in /tree)\n");
  }
  // What cannot be decoded stays as it was sent.
  EXPECT_EQ(body_of(ask(get("/events?service=Service%2FNo%zz%4"))),
            "no service at Service/No%zz%4 in the tree (its paths are in /tree)\n");
  EXPECT_THAT(ask(get("/events?service=Service")), StartsWith("HTTP/1.1 200 OK\r\n"));
}

TEST(HttpRequest, QueryValuesArePercentDecoded) {
  mode::HttpRequest request;
  request.query = "a=1&service=Root%2FMy+App%21%2b&flag&bad=%zz%4&a=2&x%3Dy=%E2%9C%93";
  EXPECT_EQ(request.query_value("service"), "Root/My App!+");
  EXPECT_EQ(request.query_value("a"), "1");  // the first
  EXPECT_EQ(request.query_value("flag"), "");
  EXPECT_EQ(request.query_value("bad"), "%zz%4");
  EXPECT_EQ(request.query_value("x=y"), "\u2713");
  EXPECT_EQ(request.query_value("missing"), std::nullopt);
  EXPECT_EQ(mode::HttpRequest().query_value("a"), std::nullopt);
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
  EXPECT_EQ(body_of(missing),
            "no such page: /nope (try /, /tree, /events?service=PATH, /stream, /graph, "
            "/graph.svg, /health)\n");
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
  options.answer_timeout = 600.0;  // the idle ones stay for the whole test
  auto console = started_console(ctx, options);
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
  options.max_connections = 2;
  options.answer_timeout = 600.0;
  auto console = started_console(ctx, options);
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
  options.answer_timeout = 0.2;
  auto console = started_console(ctx, options);
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
