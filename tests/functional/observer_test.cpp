// The console's page in a real browser: the tutorial run with --debug, its page opened in
// headless Chromium (driven through the DevTools protocol), and a crash seen live.
#include <mode/testing.hpp>

#include "http_client.hpp"
#include "subprocess.hpp"
#include "tutorial_process.hpp"
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#ifdef MODE_TUTORIAL
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using asio::ip::tcp;
using mode::testing::http_get;
using mode::testing::Subprocess;
using Clock = std::chrono::steady_clock;
using ::testing::HasSubstr;

// A fresh directory under the system's temporary one, removed with this object.
struct TempDir {
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mode-observer-XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  std::filesystem::path path;
};

// The first number after `prefix` in `text`, or -1.
int number_after(const std::string& text, const std::string& prefix) {
  const std::size_t at = text.find(prefix);
  if (at == std::string::npos) return -1;
  return std::atoi(text.c_str() + at + prefix.size());
}

std::string decode_base64(const std::string& in) {
  static const std::string digits =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (const char c : in) {
    const std::size_t v = digits.find(c);
    if (v == std::string::npos) continue;  // '=' and line breaks
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

// One page of a browser, through the Chrome DevTools protocol over its websocket.
class Devtools {
 public:
  explicit Devtools(asio::io_context& ctx) : ws_(ctx) {}

  // Bounded by 10 s.
  void connect(asio::io_context& ctx, int port, const std::string& path) {
    mode::testing::run(ctx, handshake(this, port, path), std::chrono::seconds(10));
  }

  // The result of `method`, events before it skipped; bounded by 10 s.
  json::value call(asio::io_context& ctx, const std::string& method, json::object params = {}) {
    json::object message;
    message["id"] = ++last_id_;
    message["method"] = method;
    message["params"] = std::move(params);
    return mode::testing::run(ctx, exchange(this, json::serialize(message), last_id_),
                              std::chrono::seconds(10));
  }

  // The value of the JavaScript expression `js` in the page.
  json::value evaluate(asio::io_context& ctx, const std::string& js) {
    json::object params;
    params["expression"] = js;
    params["returnByValue"] = true;
    const json::value r = call(ctx, "Runtime.evaluate", std::move(params));
    return r.at("result").at("result").as_object().contains("value")
               ? r.at("result").at("result").at("value")
               : json::value();
  }

  void screenshot(asio::io_context& ctx, const std::filesystem::path& file) {
    json::object params;
    params["format"] = "png";
    const json::value r = call(ctx, "Page.captureScreenshot", std::move(params));
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary)
        << decode_base64(std::string(r.at("result").at("data").as_string()));
  }

 private:
  static mode::awaitable<void> handshake(Devtools* self, int port, std::string path) {
    const tcp::endpoint where(asio::ip::make_address("127.0.0.1"),
                              static_cast<std::uint16_t>(port));
    co_await beast::get_lowest_layer(self->ws_).async_connect(where, mode::use_awaitable);
    const std::string host = "127.0.0.1:" + std::to_string(port);
    co_await self->ws_.async_handshake(host, path, mode::use_awaitable);
  }

  static mode::awaitable<json::value> exchange(Devtools* self, std::string message,
                                               std::int64_t id) {
    co_await self->ws_.async_write(asio::buffer(message), mode::use_awaitable);
    for (;;) {
      beast::flat_buffer buffer;
      co_await self->ws_.async_read(buffer, mode::use_awaitable);
      json::value reply = json::parse(beast::buffers_to_string(buffer.data()));
      const json::object& o = reply.as_object();
      if (o.contains("id") && o.at("id").to_number<std::int64_t>() == id) co_return reply;
    }
  }

  beast::websocket::stream<tcp::socket> ws_;
  std::int64_t last_id_ = 0;
};

// One HTTP response read from `fd` up to its Content-Length (the DevTools server keeps the
// connection open), then closed; "" if it fails (each read is bounded by the socket's timeout).
std::string read_response(int fd) {
  std::string in;
  char buf[4096];
  for (;;) {
    const std::size_t head = in.find("\r\n\r\n");
    if (head != std::string::npos) {
      const int length = number_after(in, "Content-Length:");
      if (length >= 0 && in.size() >= head + 4 + static_cast<std::size_t>(length)) break;
    }
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return in;
}

// The page's websocket path, from the browser's list of targets (/json/list), or "".
std::string page_target(int devtools_port, const std::string& url) {
  const int fd = mode::testing::send_request(
      devtools_port, "GET /json/list HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
  if (fd < 0) return "";
  const std::string response = read_response(fd);
  const std::size_t body = response.find("\r\n\r\n");
  if (body == std::string::npos) return "";
  const json::value targets = json::parse(response.substr(body + 4));
  for (const json::value& t : targets.as_array()) {
    if (t.at("type") != "page" || !std::string(t.at("url").as_string()).starts_with(url)) continue;
    const std::string ws(t.at("webSocketDebuggerUrl").as_string());
    return ws.substr(ws.find("/devtools/"));
  }
  return "";
}

// Every (label, state) of the tree in the console's JSON, in tree order.
void services_of(const json::value& node, std::vector<std::pair<std::string, std::string>>& out) {
  out.emplace_back(node.at("label").as_string(), node.at("state").as_string());
  if (node.at("children").is_array())
    for (const json::value& c : node.at("children").as_array()) services_of(c, out);
}

// The path of the service labelled `label` in the console's JSON tree under `node`, or "".
std::string path_of(const json::value& node, const std::string& label) {
  if (node.at("label") == label.c_str()) return std::string(node.at("path").as_string());
  if (node.at("children").is_array()) {
    for (const json::value& c : node.at("children").as_array()) {
      std::string found = path_of(c, label);
      if (!found.empty()) return found;
    }
  }
  return "";
}

// Epoch milliseconds of a log line's `[YYYY-MM-DD HH:MM:SS,mmm: LEVEL]` (local time), or -1.
std::int64_t log_time_ms(const std::string& line) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(line.c_str(), "[%d-%d-%d %d:%d:%d,%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) != 7)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  return static_cast<std::int64_t>(std::mktime(&tm)) * 1000 + ms;
}

// The page's state: its body's data attributes (data-loads, data-updates, data-events-of...; see
// the page), `webserver`, the state its Webserver shows, `graph`: `svg` once it shows the drawing,
// `panel`: the text of its events panel, and `selected`: the path of the service marked selected.
using PageState = std::map<std::string, std::string>;

PageState page_state(asio::io_context& ctx, Devtools& page) {
  const std::string js =
      "document.body ? JSON.stringify(Object.assign({}, document.body.dataset, {"
      "webserver: (document.querySelector('li[data-label=\"Webserver\"]') || {dataset: {}})"
      ".dataset.state || '', "
      "graph: document.querySelector('#drawing img') ? 'svg' : "
      "document.querySelector('#drawing pre') ? 'dot' : '', "
      "panel: (document.getElementById('events') || {}).innerText || '', "
      "selected: (document.querySelector('#tree .head.selected') || {dataset: {}}).dataset.path "
      "|| ''})) : '{}'";
  const json::value v = page.evaluate(ctx, js);
  PageState out;
  if (!v.is_string()) return out;
  const json::value fields = json::parse(v.as_string());
  for (const auto& [key, value] : fields.as_object())
    if (value.is_string()) out[std::string(key)] = std::string(value.as_string());
  return out;
}

std::string describe(const PageState& state) {
  std::string out;
  for (const auto& [key, value] : state) out += key + "=" + value + " ";
  return out;
}

// Where the screenshots go: the build tree, kept as artifacts of the run.
const std::filesystem::path kArtifacts = MODE_TEST_ARTIFACTS;
constexpr double kCrashAfter = 10.0;  // s after the start: time enough to open the page

TEST(ObserverPage, ShowsTheLiveTreeAndACrashWithoutReload) {
  const std::string chromium = mode::testing::find_program("chromium");
  ASSERT_FALSE(chromium.empty())
      << "chromium not found on PATH: this test needs headless Chromium (Debian package "
         "chromium, installed by scripts/install-deps.sh)";
  Subprocess app =
      mode::testing::tutorial({"--port", "0", "--debug", "--console-port", "0", "--test-crash",
                               "Webserver:" + std::to_string(kCrashAfter)});
  const std::string serving = "[^-Console]: Serving the service tree on http://127.0.0.1:";
  ASSERT_TRUE(app.wait_for_output(serving)) << app.output();
  ASSERT_TRUE(app.wait_for_output("[^--Webserver]: Serving on port")) << app.output();
  const int console = number_after(app.err(), serving);
  ASSERT_GT(console, 0) << app.err();
  const std::string url = "http://127.0.0.1:" + std::to_string(console) + "/";
  const auto began = Clock::now();
  // Where the time goes (Chromium's start varies much with the machine's load).
  const auto mark = [&](const char* what) {
    std::cout << "[ observer ] " << what << " after "
              << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - began).count()
              << " ms\n";
  };

  TempDir profile;
  Subprocess browser({chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                      "--user-data-dir=" + profile.path.string(), "--remote-debugging-port=0",
                      "--window-size=1280,820", url});
  const std::string listening = "DevTools listening on ws://127.0.0.1:";
  ASSERT_TRUE(browser.wait_for_output(listening, std::chrono::seconds(30))) << browser.output();
  const int devtools_port = number_after(browser.err(), listening);
  mark("browser listening");
  std::string target;
  for (int i = 0; i < 100 && target.empty(); ++i) {
    target = page_target(devtools_port, url);
    if (target.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(target.empty()) << "no page for " << url << " in the browser";
  asio::io_context ctx;
  Devtools page(ctx);
  page.connect(ctx, devtools_port, target);
  mark("page target connected");

  // The page draws the tree as soon as the stream's first event comes.
  PageState state;
  for (const auto until = Clock::now() + std::chrono::seconds(15); Clock::now() < until;) {
    state = page_state(ctx, page);
    if (!state["updates"].empty() && state["updates"] != "0" && !state["graph"].empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  mark("first tree shown");
  ASSERT_FALSE(state["updates"].empty() || state["updates"] == "0")
      << "the page got no tree: " << describe(state);
  EXPECT_EQ(state["status"], "live");
  EXPECT_EQ(state["webserver"], "running");
  EXPECT_EQ(state["graph"], "svg") << "graphviz is installed: the page shows the drawing";

  // Every service of the tree, with its state, is in the page's DOM.
  const std::string tree_response = http_get(console, "/tree");
  const json::value tree = json::parse(tree_response.substr(tree_response.find("\r\n\r\n") + 4));
  std::vector<std::pair<std::string, std::string>> services;
  services_of(tree.at("tree"), services);
  ASSERT_GE(services.size(), 8U) << tree_response;
  const std::string dom =
      std::string(page.evaluate(ctx, "document.documentElement.outerHTML").as_string());
  for (const auto& [label, s] : services) {
    const std::string item =
        "<li class=\"service\" data-label=\"" + label + "\" data-state=\"" + s + "\">";
    EXPECT_NE(dom.find(item), std::string::npos) << "not in the page: " << item;
  }

  // The events panel shows the root's events while nothing crashed; a click on a service shows
  // its events, a second click goes back to the default. It then follows the Webserver, to see
  // its own crash (by default the panel would show the first crashed service: the Worker, which
  // the crash reaches and ends).
  const std::string root_path(tree.at("tree").at("path").as_string());
  const std::string user_cache = path_of(tree.at("tree"), "UserCache");
  const std::string webserver = path_of(tree.at("tree"), "Webserver");
  ASSERT_FALSE(user_cache.empty() || webserver.empty()) << tree_response;
  // Until `state` shows the events of `path` and `done` holds; bounded by 2 s.
  const auto panel_until = [&](const std::string& path, const auto& done) {
    for (const auto until = Clock::now() + std::chrono::seconds(2); Clock::now() < until;) {
      state = page_state(ctx, page);
      if (state["eventsOf"] == path && done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  };
  EXPECT_TRUE(panel_until(root_path, [&] { return !state["eventKinds"].empty(); }))
      << describe(state);
  EXPECT_THAT(state["eventKinds"], HasSubstr("started")) << describe(state);
  EXPECT_THAT(state["panel"], HasSubstr(" s ago started")) << describe(state);
  EXPECT_EQ(state["selected"], root_path);
  const auto click = [&](const std::string& label) {
    page.evaluate(
        ctx, "document.querySelector('li[data-label=\"" + label + "\"] > .head').click(), true");
  };
  click("UserCache");
  EXPECT_TRUE(panel_until(user_cache, [&] { return state["selected"] == user_cache; }))
      << describe(state);
  EXPECT_THAT(state["eventKinds"], HasSubstr("started")) << describe(state);
  click("UserCache");
  EXPECT_TRUE(panel_until(root_path, [&] { return state["selected"] == root_path; }))
      << describe(state);
  click("Webserver");
  EXPECT_TRUE(panel_until(webserver, [&] { return state["selected"] == webserver; }))
      << describe(state);
  mark("events panel followed the clicks");

  page.screenshot(ctx, kArtifacts / "observer-running.png");
  const std::string loaded_at = state["loadedAt"];

  // The crash, as the tutorial logs it, then as the page (never reloaded) shows it.
  const std::string crashed = "[^--Webserver]: Crashed reason=";
  ASSERT_TRUE(
      app.wait_for_output(crashed, std::chrono::seconds(static_cast<int>(kCrashAfter) + 10)))
      << app.output();
  std::string crash_line;
  for (const std::string& line : mode::testing::lines_with(app.err(), crashed)) crash_line = line;
  const std::int64_t crash_ms = log_time_ms(crash_line);
  ASSERT_GT(crash_ms, 0) << crash_line;
  ASSERT_LT(std::stoll(loaded_at), crash_ms) << "the page must be loaded before the crash";
  for (const auto until = Clock::now() + std::chrono::seconds(2); Clock::now() < until;) {
    state = page_state(ctx, page);
    if (state["webserver"] == "crashed") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(state["webserver"], "crashed") << describe(state);
  EXPECT_EQ(state["loads"], "1") << "the page was reloaded";
  EXPECT_EQ(state["loadedAt"], loaded_at) << "the page was reloaded";
  ASSERT_FALSE(state["crashSeenAt"].empty()) << describe(state);
  const std::int64_t latency = std::stoll(state["crashSeenAt"]) - crash_ms;
  EXPECT_LT(latency, 2000) << "the crash reached the page " << latency << " ms after it happened";
  std::cout << "[ observer ] the crash reached the page " << latency << " ms after its log line, "
            << "after " << state["updates"] << " updates\n";
  const std::string after =
      std::string(page.evaluate(ctx, "document.documentElement.outerHTML").as_string());
  EXPECT_NE(after.find("data-label=\"Webserver\" data-state=\"crashed\">"), std::string::npos);
  EXPECT_NE(after.find("std::runtime_error('crashed by --test-crash')"), std::string::npos);
  // The panel shows the Webserver's crash among its events.
  EXPECT_TRUE(panel_until(webserver, [&] {
    return state["eventKinds"].find("crashed") != std::string::npos;
  })) << describe(state);
  EXPECT_THAT(state["panel"], HasSubstr("crashed: std::runtime_error('crashed by --test-crash')"))
      << describe(state);
  EXPECT_EQ(state["selected"], webserver);
  page.screenshot(ctx, kArtifacts / "observer-crashed.png");

  // The crash ends the tutorial (no supervisor: it goes up to the Worker).
  EXPECT_EQ(app.wait(std::chrono::seconds(20)), 1) << app.output();
  browser.kill(SIGTERM);
  EXPECT_TRUE(browser.wait(std::chrono::seconds(10)).has_value());
}

}  // namespace
#endif
