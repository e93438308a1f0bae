// Console: the read-only HTTP introspection endpoint, its page and its event stream.
#include <mode/console.hpp>
#include <mode/event_ring.hpp>
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
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string_view>
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

// An event without its age: how the tree shows it, so that the tree changes when the service
// does, not as time goes by (a stream sends the tree when it changed).
std::string what_happened(const ServiceEvent& e) {
  const std::string text = format_event(e, e.time);  // "0.000 s ago: crashed: ..."
  return text.substr(text.find(": ") + 2);
}

// The path of a child of the service at `parent`: Node::path's form (short labels joined by "/").
std::string path_of_child(const std::string& parent, const Service& child) {
  return parent + "/" + child.shortlabel();
}

json::object json_tree(const Service& s, const std::string& path) {
  json::object out;
  out["label"] = s.shortlabel();
  out["path"] = path;
  out["state"] = s.state();
  out["restart_count"] = s.restart_count();
  out["crash_reason"] = s.crashed() ? json::value(exception_repr(s.crash_reason())) : nullptr;
  // A ServiceThread's events, flags, tasks and children belong to its thread: not read from
  // this one.
  if (s.owns_thread()) {
    for (const char* key : {"last_event", "flags", "tasks", "suspended", "children"})
      out[key] = nullptr;
    return out;
  }
  const std::vector<ServiceEvent> events = s.events();
  out["last_event"] =
      events.empty() ? json::value(nullptr) : json::value(what_happened(events.back()));
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
    children.emplace_back(json_tree(*child, path_of_child(path, *child)));
  out["children"] = std::move(children);
  return out;
}

// A service of the tree and its path; no service when none was found.
struct Found {
  const Service* service = nullptr;
  std::string path;
};

// The service at `path` in the tree under `s` (at `path_of_s`), as json_tree shows the tree.
Found service_at(const Service& s, const std::string& path_of_s, std::string_view path) {
  if (path_of_s == path) return {&s, path_of_s};
  if (s.owns_thread() || !path.starts_with(path_of_s + "/")) return {};
  for (const Service::ServicePtr& child : s.dependencies()) {
    Found found = service_at(*child, path_of_child(path_of_s, *child), path);
    if (found.service != nullptr) return found;
  }
  return {};
}

// The first crashed service in tree order (parents before their children). A supervised
// service's crash stays its own; one without a supervisor marks crashed its ancestors up to a
// supervised one, and their subtrees: the first of them is the topmost, whose events hold the
// crash with the same reason.
Found first_crashed(const Service& s, const std::string& path_of_s) {
  if (s.crashed()) return {&s, path_of_s};
  if (s.owns_thread()) return {};
  for (const Service::ServicePtr& child : s.dependencies()) {
    Found found = first_crashed(*child, path_of_child(path_of_s, *child));
    if (found.service != nullptr) return found;
  }
  return {};
}

// The service whose events a stream shows: the one at `wanted` while the tree has it, else the
// first crashed one, else the root.
Found shown_service(const Service& root, const std::optional<std::string>& wanted) {
  const std::string root_path = root.shortlabel();
  if (wanted) {
    Found found = service_at(root, root_path, *wanted);
    if (found.service != nullptr) return found;
  }
  Found crashed = first_crashed(root, root_path);
  if (crashed.service != nullptr) return crashed;
  return {&root, root_path};
}

// `{"service", "events"}`: the events of `s` at `path`, oldest first, each with its kind, its age
// in seconds by the service's loop clock, and its text; `events` null for a service on its own
// thread (its events are its thread's).
json::object json_events(const Service& s, const std::string& path) {
  json::object out;
  out["service"] = path;
  if (s.owns_thread()) {
    out["events"] = nullptr;
    return out;
  }
  const Clock::time_point now = s.loop_clock().now();
  json::array events;
  for (const ServiceEvent& e : s.events()) {
    json::object event;
    event["kind"] = to_string(e.kind);
    event["age"] = std::chrono::duration<double>(now - e.time).count();
    event["text"] = format_event(e, now);
    events.emplace_back(std::move(event));
  }
  out["events"] = std::move(events);
  return out;
}

// What tells one state of the events of `shown` from another, ages aside (a full ring keeps its
// size: its first event moves on).
std::string events_mark(const Found& shown) {
  if (shown.service->owns_thread()) return shown.path;
  const std::vector<ServiceEvent> events = shown.service->events();
  if (events.empty()) return shown.path;
  return fmt::format("{}\n{}\n{}\n{}", shown.path, events.size(),
                     events.front().time.time_since_epoch().count(),
                     events.back().time.time_since_epoch().count());
}

std::string json_line(const json::value& v) { return json::serialize(v) + "\n"; }

void collect_crashed(const Service& s, std::vector<std::string>& out) {
  if (s.crashed()) out.push_back(s.shortlabel());
  for (const Service::ServicePtr& child : s.dependencies()) collect_crashed(*child, out);
}

// How often a stream looks at the tree, and how long it stays silent at most.
constexpr double kStreamSample = 0.25;
constexpr auto kKeepalive = std::chrono::seconds(15);

// One server-sent event carrying `json` (one line, as json_line makes it), of type `type` when
// not a plain message.
std::string event_of(std::string_view line, std::string_view type = {}) {
  while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  if (type.empty()) return fmt::format("data: {}\n\n", line);
  return fmt::format("event: {}\ndata: {}\n\n", type, line);
}

constexpr std::string_view kPlainText = "text/plain; charset=utf-8";

// The answer to `GET /events?service=PATH`.
HttpAnswer events_answer(const Service& root, const HttpRequest& request) {
  const std::optional<std::string> path = request.query_value("service");
  if (!path) {
    return {400, std::string(kPlainText),
            "/events needs the service: /events?service=PATH, PATH as in /tree (\"path\")\n"};
  }
  const Found found = service_at(root, root.shortlabel(), *path);
  if (found.service == nullptr) {
    return {404, std::string(kPlainText),
            fmt::format("no service at {} in the tree (its paths are in /tree)\n", *path)};
  }
  return {200, "application/json", json_line(json_events(*found.service, found.path))};
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
  out["tree"] = json_tree(tree_root(), tree_root().shortlabel());
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
  log.info(
      "Serving the service tree on http://{}:{}/ (also /tree, /events, /stream, /graph, "
      "/health)",
      endpoint_options().bind, port());
}

awaitable<HttpAnswer> Console::answer(HttpRequest request) {
  switch (detail::console_answer_for(request.target, request.accept)) {
    case detail::ConsoleAnswer::page:
      co_return HttpAnswer{200, "text/html; charset=utf-8", std::string(detail::console_page())};
    case detail::ConsoleAnswer::tree:
      co_return HttpAnswer{200, "application/json", tree_json()};
    case detail::ConsoleAnswer::events:
      co_return events_answer(tree_root(), request);
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
  co_return HttpAnswer{404, std::string(kPlainText),
                       fmt::format("no such page: {} (try /, /tree, /events?service=PATH, "
                                   "/stream, /graph, /graph.svg, /health)\n",
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
  const std::optional<std::string> wanted = request.query_value("service");
  std::string sent_tree;
  std::string sent_mark;
  auto said_at = std::chrono::steady_clock::now();
  for (;;) {
    std::string tree = tree_json();
    const Found shown = shown_service(tree_root(), wanted);
    std::string mark = events_mark(shown);
    std::string say;
    if (tree != sent_tree) say = event_of(tree);
    if (mark != sent_mark)
      say += event_of(json_line(json_events(*shown.service, shown.path)), "events");
    if (should_stop()) {
      // Stopped, or crashed with the tree (a crash without a supervisor goes up to the root):
      // how the tree ended, then the end of the stream.
      if (!say.empty()) out.write_now(say);
      co_return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (say.empty() && now - said_at >= kKeepalive) say = ": keepalive\n\n";
    if (!say.empty()) {
      const bool written = co_await out.write(std::move(say));
      if (!written) co_return;
      sent_tree = std::move(tree);
      sent_mark = std::move(mark);
      said_at = now;
    }
    const bool slept = co_await sleep(kStreamSample);
    if (slept && !out.open()) co_return;
  }
}

}  // namespace mode
