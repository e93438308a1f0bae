// mode::Console: a read-only HTTP endpoint and live page on the service tree (Mode's aiomonitor
// console, which the Worker starts in debug mode on `console_port`).
#pragma once

#include <mode/console_options.hpp>
#include <mode/http_endpoint.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace mode {

/// Answers, over HTTP/1.1 on a socket of its own, what the program looks like now; it changes
/// nothing. The tree shown is the whole tree this service belongs to (from its beacon's root).
///
/// - `GET /`: a page for a browser, self-contained (nothing fetched from elsewhere), that shows
///   the tree live: each service's state, restarts, crash reason, flags, tasks and where it is
///   suspended, each supervisor's strategy and restart window, the graph, and the events of a
///   service (clicked in the tree; by default the first crashed one, else the root);
///   with `Accept: application/json` (named before `text/html`), the JSON of `/tree`;
/// - `GET /tree`: JSON `{"pid", "loop", "tree"}`, each node of the tree with `label`, `path`
///   (the short labels from the root down to it, joined by `/`: Node::path's form), `state`,
///   `restart_count`, `crash_reason` (null or text), `last_event` (its latest event as
///   format_event says it, without the age; null without one), `flags`, `tasks`, `suspended`
///   (Service::suspensions), for a supervisor `supervisor` (`strategy`, `max_restarts`, `over`,
///   `restarts_in_window`, `give_ups`), and `children` (`last_event`, `flags`, `tasks`,
///   `suspended` and `children` null for a service on its own thread, which only its thread may
///   read);
/// - `GET /events?service=PATH`: JSON `{"service": PATH, "events": [...]}`, the events of the
///   service at PATH (a `path` of `/tree`, percent-encoded), oldest first, each with its `kind`,
///   its `age` (seconds before now by the service's loop clock) and its `text` (format_event);
///   `events` null for a service on its own thread; 404 for a path the tree does not have, 400
///   without `service`;
/// - `GET /stream`: server-sent events (`text/event-stream`): the JSON of `/tree` as one `data:`
///   event at once, then again whenever it changed (looked at every 250 ms); and as `events`
///   events, the JSON of `/events` for the service `?service=PATH` names while the tree has it,
///   else for the first crashed service in tree order (parents first), else for the root: at
///   once, then whenever that service or its events changed; a `: keepalive` comment after 15 s
///   of silence; when the console stops (or a crash reaches it), the last of each, then the
///   end; a client that goes away is noticed within 250 ms;
/// - `GET /graph`: the beacon graph as DOT; `GET /graph.svg`: the same drawn by graphviz's `dot`
///   (on a thread of its own, not on the loop), or the DOT text (`text/vnd.graphviz`) where
///   `dot` is not installed or fails;
/// - `GET /health`: 200 `{"status": "ok"}`, or 503 `{"status": "crashed", "crashed": [...]}`
///   naming every crashed service;
/// - anything else: 404, 405 (not GET) or 400 (not HTTP), with a one-line text body.
///
/// Contract: that of HttpEndpoint; a stream holds one of the `max_connections` for as long as it
/// is open. A port that cannot be bound is logged as an error and the console stays off: a
/// debugging aid never stops, nor hangs, the program it is watching. A bad `bind` throws from
/// the constructor.
class Console : public HttpEndpoint {
 public:
  explicit Console(ConsoleOptions options = {});
  ~Console() override;

  /// The JSON document `GET /tree` answers.
  std::string tree_json() const;
  /// The DOT document `GET /graph` answers.
  std::string graph_dot() const;

  std::string label() const override { return "Console"; }

 protected:
  awaitable<void> on_start() override;
  awaitable<HttpAnswer> answer(HttpRequest request) override;
  awaitable<void> stream(HttpRequest request, HttpStream out) override;

 private:
  awaitable<HttpAnswer> graph_svg();

  struct Renderer;
  std::unique_ptr<Renderer> renderer_;  // graphviz's thread, made on the first /graph.svg
};

}  // namespace mode
