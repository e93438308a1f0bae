// Console: the read-only HTTP introspection endpoint, its page and its event stream.
#include <mode/console.hpp>
#include <mode/loop.hpp>
#include <mode/supervisors.hpp>
#include <mode/utils/graphs.hpp>
#include <mode/utils/objects.hpp>

#include "console_page.hpp"
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

namespace mode {

namespace {

namespace json = boost::json;

template <class Strings>
json::array json_strings(const Strings& strings) {
  json::array out;
  for (const auto& s : strings) out.emplace_back(std::string_view(s));
  return out;
}

json::object json_tree(const Service& s) {
  json::object out;
  out["label"] = s.shortlabel();
  out["state"] = s.state();
  out["restart_count"] = s.restart_count();
  out["crash_reason"] = s.crashed() ? json::value(exception_repr(s.crash_reason())) : nullptr;
  // A ServiceThread's flags, tasks and children belong to its thread: not read from this one.
  if (s.owns_thread()) {
    for (const char* key : {"flags", "tasks", "suspended", "children"}) out[key] = nullptr;
    return out;
  }
  out["flags"] = json_strings(s.diag.flags());
  out["tasks"] = json_strings(s.task_names());
  out["suspended"] = json_strings(s.suspensions());
  if (const auto* supervisor = dynamic_cast<const SupervisorStrategy*>(&s)) {
    json::object window;
    window["strategy"] = shortname(typeid(s));
    window["max_restarts"] = supervisor->options().max_restarts;
    window["over"] = supervisor->options().over.count();
    window["restarts_in_window"] = supervisor->restarts_in_window();
    window["give_ups"] = supervisor->give_ups();
    out["supervisor"] = std::move(window);
  }
  json::array children;
  for (const Service::ServicePtr& child : s.dependencies())
    children.emplace_back(json_tree(*child));
  out["children"] = std::move(children);
  return out;
}

std::string json_line(const json::value& v) { return json::serialize(v) + "\n"; }

void collect_crashed(const Service& s, std::vector<std::string>& out) {
  if (s.crashed()) out.push_back(s.shortlabel());
  for (const Service::ServicePtr& child : s.dependencies()) collect_crashed(*child, out);
}

// How often a stream looks at the tree, and how long it stays silent at most.
constexpr double kStreamSample = 0.25;
constexpr auto kKeepalive = std::chrono::seconds(15);

// One server-sent event carrying `json` (one line, as json_line makes it).
std::string event_of(std::string_view line) {
  while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  return fmt::format("data: {}\n\n", line);
}

// Runs on the renderer's thread: graphviz may take a while, the loop must not.
awaitable<std::string> render_svg(std::string dot) { co_return render_graph(dot, "svg"); }

// The endpoint's options, once checked (the check throws first).
HttpEndpointOptions endpoint_options_of(const ConsoleOptions& o) {
  o.check();
  HttpEndpointOptions e;
  e.bind = o.bind;
  e.port = o.port;
  e.max_connections = o.max_connections;
  e.answer_timeout = o.answer_timeout;
  return e;
}

}  // namespace

struct Console::Renderer {
  asio::thread_pool thread{1};
  std::string dot;  // the last one drawn, and its drawing
  std::string svg;
};

Console::Console(ConsoleOptions options) : HttpEndpoint(endpoint_options_of(options)) {}

Console::~Console() = default;

std::string Console::tree_json() const {
  json::object out;
  out["pid"] = ::getpid();
  out["loop"] = loop_backend();
  out["tree"] = json_tree(tree_root());
  return json_line(out);
}

std::string Console::graph_dot() const {
  std::ostringstream out;
  tree_root().beacon().as_graph().to_dot(out);
  return out.str();
}

awaitable<void> Console::on_start() {
  co_await HttpEndpoint::on_start();
  if (port() == 0) co_return;
  log.info("Serving the service tree on http://{}:{}/ (also /tree, /stream, /graph, /health)",
           endpoint_options().bind, port());
}

awaitable<HttpAnswer> Console::answer(HttpRequest request) {
  switch (detail::console_answer_for(request.target, request.accept)) {
    case detail::ConsoleAnswer::page:
      co_return HttpAnswer{200, "text/html; charset=utf-8", std::string(detail::console_page())};
    case detail::ConsoleAnswer::tree:
      co_return HttpAnswer{200, "application/json", tree_json()};
    case detail::ConsoleAnswer::stream: {
      HttpAnswer events{200, "text/event-stream", "retry: 1000\n\n"};
      events.streamed = true;
      co_return events;
    }
    case detail::ConsoleAnswer::graph:
      co_return HttpAnswer{200, "text/vnd.graphviz", graph_dot()};
    case detail::ConsoleAnswer::graph_svg: {
      HttpAnswer drawing = co_await graph_svg();
      co_return drawing;
    }
    case detail::ConsoleAnswer::health: {
      std::vector<std::string> crashed;
      collect_crashed(tree_root(), crashed);
      json::object body;
      body["status"] = crashed.empty() ? "ok" : "crashed";
      if (crashed.empty()) co_return HttpAnswer{200, "application/json", json_line(body)};
      body["crashed"] = json_strings(crashed);
      co_return HttpAnswer{503, "application/json", json_line(body)};
    }
    case detail::ConsoleAnswer::not_found:
      break;
  }
  co_return HttpAnswer{
      404, "text/plain; charset=utf-8",
      fmt::format("no such page: {} (try /, /tree, /stream, /graph, /graph.svg, /health)\n",
                  request.target)};
}

awaitable<HttpAnswer> Console::graph_svg() {
  std::string dot = graph_dot();
  if (!renderer_) renderer_ = std::make_unique<Renderer>();
  if (renderer_->dot != dot) {
    try {
      std::string svg = co_await asio::co_spawn(renderer_->thread, render_svg(dot), use_awaitable);
      renderer_->svg = std::move(svg);
      renderer_->dot = dot;
    } catch (const std::exception& e) {
      log.debug("/graph.svg answers DOT: {}", e.what());
      co_return HttpAnswer{200, "text/vnd.graphviz", std::move(dot)};
    }
  }
  co_return HttpAnswer{200, "image/svg+xml", renderer_->svg};
}

awaitable<void> Console::stream(HttpRequest request, HttpStream out) {
  (void)request;
  std::string sent;
  auto said_at = std::chrono::steady_clock::now();
  for (;;) {
    std::string tree = tree_json();
    if (should_stop()) {
      // Stopped, or crashed with the tree (a crash without a supervisor goes up to the root):
      // how the tree ended, then the end of the stream.
      if (tree != sent) out.write_now(event_of(tree));
      co_return;
    }
    const auto now = std::chrono::steady_clock::now();
    std::string say;
    if (tree != sent)
      say = event_of(tree);
    else if (now - said_at >= kKeepalive)
      say = ": keepalive\n\n";
    if (!say.empty()) {
      const bool written = co_await out.write(std::move(say));
      if (!written) co_return;
      sent = std::move(tree);
      said_at = now;
    }
    const bool slept = co_await sleep(kStreamSample);
    if (slept && !out.open()) co_return;
  }
}

}  // namespace mode
