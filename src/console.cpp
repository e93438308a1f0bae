// Console: the read-only HTTP introspection endpoint.
#include <mode/console.hpp>
#include <mode/loop.hpp>
#include <mode/utils/objects.hpp>

#include <fmt/format.h>
#include <unistd.h>

#include <sstream>
#include <stdexcept>
#include <vector>

namespace mode {

namespace {

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        else
          out += c;
    }
  }
  out += '"';
}

template <class Strings>
void append_json_strings(std::string& out, const Strings& strings) {
  out += '[';
  bool first = true;
  for (const auto& s : strings) {
    if (!first) out += ", ";
    first = false;
    append_json_string(out, s);
  }
  out += ']';
}

void append_json_tree(std::string& out, const Service& s) {
  out += "{\"label\": ";
  append_json_string(out, s.shortlabel());
  out += ", \"state\": ";
  append_json_string(out, s.state());
  out += fmt::format(", \"restart_count\": {}, \"crash_reason\": ", s.restart_count());
  if (s.crashed())
    append_json_string(out, exception_repr(s.crash_reason()));
  else
    out += "null";
  // A ServiceThread's flags, tasks and children belong to its thread: not read from this one.
  if (s.owns_thread()) {
    out += ", \"flags\": null, \"tasks\": null, \"suspended\": null, \"children\": null}";
    return;
  }
  out += ", \"flags\": ";
  append_json_strings(out, s.diag.flags());
  out += ", \"tasks\": ";
  append_json_strings(out, s.task_names());
  out += ", \"suspended\": ";
  append_json_strings(out, s.suspensions());
  out += ", \"children\": [";
  bool first = true;
  for (const Service::ServicePtr& child : s.dependencies()) {
    if (!first) out += ", ";
    first = false;
    append_json_tree(out, *child);
  }
  out += "]}";
}

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
  std::string out = fmt::format("{{\"pid\": {}, \"loop\": ", ::getpid());
  append_json_string(out, loop_backend());
  out += ", \"tree\": ";
  append_json_tree(out, tree_root());
  out += "}\n";
  return out;
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
    if (crashed.empty()) return {200, "application/json", "{\"status\": \"ok\"}\n"};
    std::string body = "{\"status\": \"crashed\", \"crashed\": ";
    append_json_strings(body, crashed);
    body += "}\n";
    return {503, "application/json", std::move(body)};
  }
  return {404, "text/plain; charset=utf-8",
          fmt::format("no such page: {} (try /, /graph, /health)\n", target)};
}

}  // namespace mode
