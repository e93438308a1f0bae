// Console: the read-only HTTP introspection endpoint.
#include <mode/console.hpp>
#include <mode/loop.hpp>
#include <mode/utils/objects.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <sstream>
#include <stdexcept>
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

Console::Console(ConsoleOptions options) : HttpEndpoint(endpoint_options_of(options)) {}

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
  log.info("Serving the service tree on http://{}:{}/ (also /graph, /health)",
           endpoint_options().bind, port());
}

HttpAnswer Console::answer(std::string_view target) {
  if (target == "/" || target == "/tree") return {200, "application/json", tree_json()};
  if (target == "/graph") return {200, "text/vnd.graphviz", graph_dot()};
  if (target == "/health") {
    std::vector<std::string> crashed;
    collect_crashed(tree_root(), crashed);
    json::object body;
    body["status"] = crashed.empty() ? "ok" : "crashed";
    if (crashed.empty()) return {200, "application/json", json_line(body)};
    body["crashed"] = json_strings(crashed);
    return {503, "application/json", json_line(body)};
  }
  return {404, "text/plain; charset=utf-8",
          fmt::format("no such page: {} (try /, /graph, /health)\n", target)};
}

}  // namespace mode
