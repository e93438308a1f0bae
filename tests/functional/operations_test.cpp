// The operations endpoint of a real worker process: probes, Prometheus metrics (checked by
// promtool), a port in use, and garbage requests.
#include "http_client.hpp"
#include "subprocess.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace {

using mode::testing::http_get;
using mode::testing::read_all;
using mode::testing::send_request;
using mode::testing::Subprocess;
using ::testing::HasSubstr;
using ::testing::StartsWith;

Subprocess worker(std::vector<std::string> args) {
  args.insert(args.begin(), MODE_TEST_WORKER);
  return Subprocess(std::move(args));
}

// The port the endpoint logged, or -1.
int served_port(Subprocess& p) {
  if (!p.wait_for_output("Serving /livez, /readyz and /metrics on http://")) return -1;
  std::smatch m;
  const std::string err = p.err();
  const std::regex re(R"(Serving /livez, /readyz and /metrics on http://127\.0\.0\.1:(\d+)/)");
  if (!std::regex_search(err, m, re)) return -1;
  return std::stoi(m[1].str());
}

// Asks `target` until `pred` holds of the response (bounded); the last response.
std::string poll_until(int port, const std::string& target,
                       const std::function<bool(const std::string&)>& pred) {
  std::string res;
  for (int i = 0; i < 200; ++i) {
    res = http_get(port, target);
    if (pred(res)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return res;
}

// Asks /readyz until it answers 200 (bounded); the last response.
std::string wait_until_ready(int port) {
  return poll_until(port, "/readyz",
                    [](const std::string& r) { return r.starts_with("HTTP/1.1 200 "); });
}

std::string body_of(const std::string& response) {
  const std::size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : response.substr(at + 4);
}

// Checks the body of a /metrics response with `promtool check metrics` (the test fails if it
// complains: any output or a non-zero status); false when promtool is missing.
bool checked_by_promtool(const std::string& response) {
  const std::string promtool = mode::testing::find_program("promtool");
  if (promtool.empty()) return false;
  const std::string file = ::testing::TempDir() + "mode_metrics.txt";
  std::ofstream(file) << body_of(response);
  Subprocess check({"/bin/sh", "-c", promtool + " check metrics < " + file});
  EXPECT_EQ(check.wait(), 0) << check.output() << "\n" << response;
  EXPECT_EQ(check.output(), "") << response;
  return true;
}

constexpr const char* kNoPromtool =
    "promtool not found (Debian's prometheus package; scripts/install-deps.sh)";

TEST(OperationsEndpoint, ProbesAndMetricsOfARunningWorker) {
  Subprocess p = worker({"--web-port", "0", "--scenario", "supervised_crash"});
  const int port = served_port(p);
  ASSERT_GT(port, 0) << p.output();

  const std::string livez = http_get(port, "/livez");
  EXPECT_THAT(livez, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(body_of(livez), "ok\n");
  // The flaky service crashes once, 0.2 s after its start, and its supervisor restarts it.
  const std::regex restarted(R"(mode_service_restarts_total\{service="[^"]*/Flaky"\} 1\n)");
  const std::string metrics = poll_until(
      port, "/metrics", [&](const std::string& r) { return std::regex_search(r, restarted); });
  EXPECT_TRUE(std::regex_search(metrics, restarted)) << metrics;
  EXPECT_THAT(metrics, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  EXPECT_TRUE(std::regex_search(
      metrics, std::regex(R"(mode_service_crashes_total\{service="[^"]*/Flaky"\} 1\n)")))
      << metrics;
  EXPECT_TRUE(std::regex_search(
      metrics, std::regex(R"(mode_service_starts_total\{service="[^"]*/Flaky"\} 2\n)")))
      << metrics;
  EXPECT_THAT(metrics, HasSubstr("mode_service_state{service=\"Worker/App\",state=\"running\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("mode_service_state{service=\"Worker/App\",state=\"crashed\"} 0"));
  EXPECT_THAT(metrics, HasSubstr("mode_service_tasks{service=\"Worker/App/Child\"} 1"));
  EXPECT_THAT(metrics, HasSubstr("mode_supervisor_give_ups_total{service=\"Worker/App/"));
  EXPECT_THAT(metrics, HasSubstr("# TYPE mode_event_loop_lag_seconds histogram"));
  EXPECT_THAT(metrics, HasSubstr("mode_event_loop_lag_seconds_bucket{le=\"+Inf\"}"));
  EXPECT_THAT(metrics, HasSubstr("# TYPE mode_timer_lateness_seconds histogram"));
  EXPECT_THAT(metrics, HasSubstr("mode_timer_lateness_seconds_bucket{le=\"+Inf\"}"));
  EXPECT_THAT(metrics, HasSubstr("mode_queue_depth{queue=\"jobs\"} 3\n"));
  EXPECT_THAT(metrics, HasSubstr("mode_queue_capacity{queue=\"jobs\"} 100\n"));
  EXPECT_THAT(metrics, HasSubstr("mode_queue_put_waits_total{queue=\"jobs\",reason=\"full\"} 0\n"));
  for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                           "process_open_fds ", "process_max_fds ", "process_start_time_seconds "})
    EXPECT_THAT(metrics, HasSubstr(std::string("\n") + name)) << metrics;

  // Restarted: ready again.
  const std::string readyz = wait_until_ready(port);
  EXPECT_THAT(readyz, StartsWith("HTTP/1.1 200 OK\r\n")) << readyz;
  EXPECT_EQ(body_of(readyz), "ready\n");

  EXPECT_THAT(http_get(port, "/nope"), StartsWith("HTTP/1.1 404 Not Found\r\n"));
  EXPECT_THAT(http_get(port, "/metrics", "POST"),
              StartsWith("HTTP/1.1 405 Method Not Allowed\r\n"));

  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();

  if (!checked_by_promtool(metrics)) GTEST_SKIP() << kNoPromtool;
}

TEST(OperationsEndpoint, ReadyzIs503UntilTheStartCompletes) {
  Subprocess p = worker({"--web-port", "0", "--scenario", "slow_start"});
  const int port = served_port(p);
  ASSERT_GT(port, 0) << p.output();
  ASSERT_TRUE(p.wait_for_output("[^-App]: starting slowly")) << p.output();
  // The loop answers while the start goes on.
  EXPECT_THAT(http_get(port, "/livez"), StartsWith("HTTP/1.1 200 OK\r\n"));
  const std::string starting = http_get(port, "/readyz");
  EXPECT_THAT(starting, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_THAT(body_of(starting), HasSubstr("starting\n"));
  EXPECT_THAT(body_of(starting), HasSubstr("Worker/App/Child: init\n"));
  const std::string ready = wait_until_ready(port);
  EXPECT_THAT(ready, StartsWith("HTTP/1.1 200 OK\r\n")) << ready;
  EXPECT_TRUE(p.wait_for_output("[^-App]: ready")) << p.output();
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();
}

TEST(OperationsEndpoint, ReadyzIs503AfterACrash) {
  // The supervisor gives up on the crashed service: the process runs on, not ready.
  Subprocess p = worker({"--web-port", "0", "--scenario", "forfeit"});
  const int port = served_port(p);
  ASSERT_GT(port, 0) << p.output();
  const std::string readyz = poll_until(port, "/readyz", [](const std::string& r) {
    return r.find("/Flaky: crashed\n") != std::string::npos;
  });
  EXPECT_THAT(readyz, StartsWith("HTTP/1.1 503 Service Unavailable\r\n"));
  EXPECT_THAT(body_of(readyz), HasSubstr("/Flaky: crashed\n"));
  const std::string metrics = http_get(port, "/metrics");
  EXPECT_TRUE(std::regex_search(
      metrics, std::regex(R"(mode_supervisor_give_ups_total\{service="Worker/App/[^"]*"\} 1\n)")))
      << metrics;
  EXPECT_TRUE(std::regex_search(
      metrics, std::regex(R"(mode_service_state\{service="[^"]*/Flaky",state="crashed"\} 1\n)")))
      << metrics;
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();
}

TEST(OperationsEndpoint, APortInUseIsAClearErrorAndExit1) {
  const int taken = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(taken, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(taken, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(taken, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  Subprocess p = worker({"--web-port", port});
  EXPECT_EQ(p.wait(), 1) << p.output();
  EXPECT_THAT(p.err(),
              HasSubstr("cannot listen on 127.0.0.1:" + port + ": Address already in use"));
  ::close(taken);
}

TEST(OperationsEndpoint, BadOptionsAreExit2) {
  Subprocess host = worker({"--web-port", "0", "--web-host", "localhost:80"});
  EXPECT_EQ(host.wait(), 2) << host.output();
  EXPECT_THAT(host.err(), HasSubstr("not an IP address: localhost:80"));
  Subprocess port = worker({"--web-port", "70000"});
  EXPECT_EQ(port.wait(), 2) << port.output();
  EXPECT_THAT(port.err(), HasSubstr("--web-port"));
}

TEST(OperationsEndpoint, GarbageAndManyConnectionsDoNotHurtIt) {
  Subprocess p = worker({"--web-port", "0"});
  const int port = served_port(p);
  ASSERT_GT(port, 0) << p.output();
  for (const std::string& garbage :
       {std::string("hello\r\n\r\n"), std::string("GET /" + std::string(9000, 'x')),
        std::string("\x00\xff\r\n\r\n", 6),
        std::string("GET /livez HTTP/1.1\r\nContent-Length: -1\r\n\r\n")}) {
    const int fd = send_request(port, garbage);
    ASSERT_GE(fd, 0);
    ::shutdown(fd, SHUT_WR);  // a half request ends here
    EXPECT_THAT(read_all(fd), StartsWith("HTTP/1.1 400 Bad Request\r\n")) << garbage.size();
  }
  // Many clients at once, some of them idle: each is answered or refused, none hangs it.
  std::vector<int> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(send_request(port, "GET /li"));
  std::vector<std::thread> clients;
  std::vector<std::string> answers(100);
  for (std::size_t i = 0; i < answers.size(); ++i)
    clients.emplace_back([&answers, i, port] { answers[i] = http_get(port, "/metrics"); });
  for (std::thread& t : clients) t.join();
  for (const std::string& a : answers)
    EXPECT_TRUE(a.starts_with("HTTP/1.1 200 OK\r\n") ||
                a.starts_with("HTTP/1.1 503 Service Unavailable\r\n"))
        << a.substr(0, 100);
  for (const int fd : idle) ::close(fd);
  EXPECT_THAT(http_get(port, "/livez"), StartsWith("HTTP/1.1 200 OK\r\n"));
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();
}

#ifdef MODE_TUTORIAL
TEST(OperationsEndpoint, TheTutorialIsReadyAndScraped) {
  Subprocess p({MODE_TUTORIAL, "--port", "0", "--ws-port", "0", "--web-port", "0"});
  const int port = served_port(p);
  ASSERT_GT(port, 0) << p.output();
  const std::string readyz = wait_until_ready(port);
  EXPECT_THAT(readyz, StartsWith("HTTP/1.1 200 OK\r\n")) << readyz;
  const std::string metrics = http_get(port, "/metrics");
  EXPECT_THAT(
      metrics,
      HasSubstr("mode_service_state{service=\"Worker/AppService/Webserver\",state=\"running\"} 1"));
  // The tutorial's UserCache has a timer: the lateness histogram is there (empty or not).
  EXPECT_THAT(metrics, HasSubstr("# TYPE mode_timer_lateness_seconds histogram\n"));
  EXPECT_THAT(metrics, HasSubstr("mode_timer_lateness_seconds_count "));
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();

  if (!checked_by_promtool(metrics)) GTEST_SKIP() << kNoPromtool;
}
#endif

}  // namespace
