// The tutorial demo as a real process on a free port: HTTP requests, then SIGTERM.
#include "http_client.hpp"
#include "subprocess.hpp"
#include "tutorial_process.hpp"
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#ifdef MODE_TUTORIAL
namespace {

using mode::testing::http_get;
using mode::testing::lines_with;
using mode::testing::read_all;
using mode::testing::send_get;
using mode::testing::served_port;
using mode::testing::Subprocess;
using mode::testing::tutorial;
using ::testing::HasSubstr;

TEST(TutorialProcess, ServesPageViewsAndStopsOnSigterm) {
  Subprocess p = tutorial({"--port", "0"});
  ASSERT_TRUE(p.wait_for_output("[^--Webserver]: Serving on port")) << p.output();
  const int port = served_port(p.err());
  ASSERT_GT(port, 0) << p.err();
  EXPECT_THAT(p.out(), HasSubstr("STARTING WEBSOCKET SERVER"));
  EXPECT_THAT(http_get(port, "/"), HasSubstr("/ viewed 1 times"));
  EXPECT_THAT(http_get(port, "/"), HasSubstr("/ viewed 2 times"));
  const std::string graph = http_get(port, "/graph");
  EXPECT_THAT(graph, HasSubstr("200 OK"));
  EXPECT_THAT(graph, HasSubstr("\"AppService\" -> \"Webserver\""));
  EXPECT_THAT(graph, HasSubstr("\"Webserver\" -> \"PageViewCache\""));
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();
  const std::string& log = p.err();
  const std::size_t signal_at = log.find("[^Worker]: Stopping on signal received...");
  const std::size_t webserver_at = log.find("[^--Webserver]: -Stopped!");
  const std::size_t worker_at = log.find("[^Worker]: -Stopped!");
  ASSERT_NE(signal_at, std::string::npos) << log;
  EXPECT_LT(signal_at, webserver_at) << log;
  EXPECT_LT(webserver_at, worker_at) << log;
}

TEST(TutorialProcess, PortInUseIsAClearErrorAndExit1) {
  Subprocess first = tutorial({"--port", "0"});
  ASSERT_TRUE(first.wait_for_output("[^--Webserver]: Serving on port")) << first.output();
  const int port = served_port(first.err());
  Subprocess second = tutorial({"--port", std::to_string(port)});
  EXPECT_EQ(second.wait(), 1) << second.output();
  EXPECT_THAT(second.err(), HasSubstr("cannot listen on 127.0.0.1:" + std::to_string(port)));
  first.kill(SIGINT);
  EXPECT_EQ(first.wait(), 0) << first.output();
}

// The descriptors `pid` has open.
std::set<long> open_fds(pid_t pid) {
  std::set<long> open;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  if (DIR* d = ::opendir(dir.c_str())) {
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') open.insert(std::stol(e->d_name));
    }
    ::closedir(d);
  }
  return open;
}

// The lowest descriptor number not in `open`: with RLIMIT_NOFILE at it, the process can open no
// more.
rlim_t lowest_free_fd(const std::set<long>& open) {
  long fd = 0;
  while (open.count(fd) != 0) ++fd;
  return static_cast<rlim_t>(fd);
}

// Waits (bounded) until `pid` has exactly the descriptors `expected` open again: the server shuts
// a connection down before it closes it, so the client sees the end of a response while the
// server still holds its descriptor for a moment.
bool wait_for_fds(pid_t pid, const std::set<long>& expected) {
  for (int i = 0; i < 500; ++i) {
    if (open_fds(pid) == expected) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// At the file-descriptor limit accept fails (EMFILE): the server logs it and tries again, and
// answers once descriptors are free, instead of never accepting again.
TEST(TutorialProcess, KeepsServingAfterRunningOutOfFileDescriptors) {
  Subprocess p = tutorial({"--port", "0"});
  ASSERT_TRUE(p.wait_for_output("[^--Webserver]: Serving on port")) << p.output();
  const int port = served_port(p.err());
  ASSERT_GT(port, 0) << p.err();
  const std::set<long> idle = open_fds(p.pid());
  EXPECT_THAT(http_get(port, "/"), HasSubstr("/ viewed 1 times"));
  ASSERT_TRUE(wait_for_fds(p.pid(), idle)) << "the first connection's descriptor stays open";

  rlimit saved{};
  ASSERT_EQ(::prlimit(p.pid(), RLIMIT_NOFILE, nullptr, &saved), 0);
  const rlimit none{lowest_free_fd(idle), saved.rlim_max};
  ASSERT_EQ(::prlimit(p.pid(), RLIMIT_NOFILE, &none, nullptr), 0);
  const int waiting = send_get(port, "/");
  ASSERT_GE(waiting, 0);
  ASSERT_TRUE(p.wait_for_output("[^--Webserver]: Cannot accept a connection: Too many open files"))
      << p.output();
  EXPECT_EQ(lines_with(p.err(), "Cannot accept a connection").size(), 1u) << "logged once a run";

  ASSERT_EQ(::prlimit(p.pid(), RLIMIT_NOFILE, &saved, nullptr), 0);
  EXPECT_THAT(read_all(waiting), HasSubstr("/ viewed 2 times"));
  EXPECT_THAT(http_get(port, "/"), HasSubstr("/ viewed 3 times"));
  EXPECT_TRUE(p.wait_for_output("[^--Webserver]: Accepting connections again")) << p.output();
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();
}

// A websocket client of the tutorial, each read bounded (the test never hangs on a silent server).
class WsClient {
 public:
  explicit WsClient(int port) : ws_(io_) {
    namespace asio = boost::asio;
    const asio::ip::tcp::endpoint at(asio::ip::make_address("127.0.0.1"),
                                     static_cast<unsigned short>(port));
    ws_.next_layer().connect(at);
    timeval tv{10, 0};
    ::setsockopt(ws_.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ws_.handshake("127.0.0.1", "/");
  }
  void send(const std::string& text) { ws_.write(boost::asio::buffer(text)); }
  std::string receive() {
    boost::beast::flat_buffer buffer;
    boost::system::error_code ec;
    ws_.read(buffer, ec);
    return ec ? "read failed: " + ec.message() : boost::beast::buffers_to_string(buffer.data());
  }

 private:
  boost::asio::io_context io_;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
};

TEST(TutorialProcess, WebsocketsEchoAndBroadcastEveryPageView) {
  Subprocess p = tutorial({"--port", "0"});
  ASSERT_TRUE(p.wait_for_output("[^--Webserver]: Serving on port")) << p.output();
  const int port = served_port(p.err());
  const int ws_port = served_port(p.err(), "Websockets");
  ASSERT_GT(ws_port, 0) << p.err();
  WsClient first(ws_port);
  WsClient second(ws_port);
  first.send("hello");
  EXPECT_EQ(first.receive(), "hello");
  second.send("again");
  EXPECT_EQ(second.receive(), "again");
  EXPECT_THAT(http_get(port, "/index"), HasSubstr("/index viewed 1 times"));
  EXPECT_EQ(first.receive(), "/index viewed 1 times");
  EXPECT_EQ(second.receive(), "/index viewed 1 times");
  // A stop with clients connected ends their sessions and exits cleanly.
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();
  EXPECT_THAT(first.receive(), HasSubstr("read failed"));
  EXPECT_THAT(p.err(), HasSubstr("[^--Websockets]: -Stopped!"));
}

TEST(TutorialProcess, WebsocketPortInUseIsAClearErrorAndExit1) {
  Subprocess first = tutorial({"--port", "0"});
  ASSERT_TRUE(first.wait_for_output("[^--Webserver]: Serving on port")) << first.output();
  const std::string ws_port = std::to_string(served_port(first.err(), "Websockets"));
  Subprocess second = tutorial({"--port", "0", "--ws-port", ws_port});
  EXPECT_EQ(second.wait(), 1) << second.output();
  EXPECT_THAT(second.err(), HasSubstr("cannot listen on 127.0.0.1:" + ws_port));
  first.kill(SIGINT);
  EXPECT_EQ(first.wait(), 0) << first.output();
}

TEST(TutorialProcess, BadPortIsExit2) {
  Subprocess p = tutorial({"--port", "70000"});
  EXPECT_EQ(p.wait(), 2) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("--port"));
}

}  // namespace
#endif
