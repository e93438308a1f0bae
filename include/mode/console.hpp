// mode::Console: a read-only HTTP endpoint on the live service tree (Mode's aiomonitor console,
// which the Worker starts in debug mode on `console_port`).
#pragma once

#include <mode/http_endpoint.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mode {

/// Where a Console listens.
struct ConsoleOptions {
  std::string bind = "127.0.0.1";  ///< an IPv4 or IPv6 address
  std::uint16_t port = 50101;      ///< 0: any free port (see Console::port())
  /// Required to bind anything but a loopback address: the tree, task names and crash reasons
  /// are for the machine's own users.
  bool allow_remote = false;
  /// Connections answered at once; one more is refused at once (`503`, then closed).
  std::size_t max_connections = 8;
  /// Bound of one connection, from its accept to its answer: a client that sends nothing in
  /// that time is dropped.
  Seconds answer_timeout = 5.0;

  /// Throws std::invalid_argument for an address that does not parse, or that is not loopback
  /// while `allow_remote` is off.
  void check() const;
};

/// Answers, over HTTP/1.1 on a socket of its own, what the program looks like now; it changes
/// nothing. The tree shown is the whole tree this service belongs to (from its beacon's root).
///
/// - `GET /` (or `/tree`): JSON `{"pid", "loop", "tree"}`, each node of the tree with `label`,
///   `state`, `restart_count`, `crash_reason` (null or text), `flags`, `tasks`, `suspended`
///   (Service::suspensions) and `children` (the last four null for a service on its own thread,
///   which only its thread may read);
/// - `GET /graph`: the beacon graph as DOT;
/// - `GET /health`: 200 `{"status": "ok"}`, or 503 `{"status": "crashed", "crashed": [...]}`
///   naming every crashed service;
/// - anything else: 404, 405 (not GET) or 400 (not HTTP), with a one-line text body.
///
/// Contract: that of HttpEndpoint. A port that cannot be bound is logged as an error and the
/// console stays off: a debugging aid never stops, nor hangs, the program it is watching. A bad
/// `bind` throws from the constructor.
class Console : public HttpEndpoint {
 public:
  explicit Console(ConsoleOptions options = {});

  /// The JSON document `GET /` answers.
  std::string tree_json() const;
  /// The DOT document `GET /graph` answers.
  std::string graph_dot() const;

  std::string label() const override { return "Console"; }

 protected:
  awaitable<void> on_start() override;
  HttpAnswer answer(std::string_view target) override;
};

}  // namespace mode
