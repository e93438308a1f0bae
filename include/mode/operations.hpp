// mode::OperationsEndpoint: what Kubernetes probes and Prometheus scrape (/livez, /readyz,
// /metrics), started by the Worker on `--web-port`.
#pragma once

#include <mode/http_endpoint.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mode {

class FlowControlQueueBase;

/// Where an OperationsEndpoint listens, and how it knows the start is over.
struct OperationsOptions {
  /// An IPv4 or IPv6 address; loopback by default (`0.0.0.0` to be reached from a pod's probes).
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0: any free port (logged, and see HttpEndpoint::port())
  /// True once the whole tree has finished starting (the Worker knows); null: a tree whose
  /// services are all running counts as started.
  std::function<bool()> start_complete;
};

/// Serves, over HTTP on a socket of its own, the answers operations engines ask for:
///
/// - `GET /livez`: 200 `ok` (the answer itself shows the loop runs);
/// - `GET /readyz`: 200 `ready` once the whole tree has started and every service of it runs;
///   otherwise 503, one line per reason (`starting`, `Worker/App/Cache: crashed`...);
/// - `GET /metrics`: the tree's and the process's metrics in the Prometheus text format:
///   per service (label `service`, its path in the tree) `mode_service_state` (label `state`),
///   `mode_service_starts_total`, `mode_service_restarts_total`, `mode_service_crashes_total`,
///   `mode_service_tasks`; `mode_supervisor_give_ups_total`; `mode_event_loop_lag_seconds`
///   (a histogram); `mode_timer_lateness_seconds` (a histogram of how late the Service timers
///   and itertimer ticks of every loop of the process woke up); per watched queue (label
///   `queue`, see `watch`) `mode_queue_depth`, `mode_queue_capacity`,
///   `mode_queue_waiting_producers`, `mode_queue_waiting_consumers`,
///   `mode_queue_pressure_pending`, `mode_queue_pressure_highs_total`,
///   `mode_queue_pressure_drops_total`, `mode_queue_put_waits_total` (label `reason`:
///   `flow_control` or `full`) and `mode_queue_put_wait_seconds_total`; and the standard
///   `process_*` metrics;
/// - anything else: 404; not GET: 405.
///
/// Contract: that of HttpEndpoint (up to 64 connections at once). The metrics are collected at
/// scrape time by walking the tree, except the event-loop lag, which a task of this service
/// measures twice a second, and the timer lateness, which the timers count as they wake (two
/// relaxed atomic adds, no prometheus-cpp call), from the making of the first OperationsEndpoint
/// of the process on. A crash counts in `mode_service_crashes_total`
/// whether or not the service has a supervisor (without one, a crash is seen by the scrapes
/// that find the service crashed, each crash once; a counter never goes down). A port that cannot
/// be bound fails the start (`cannot listen on host:port: ...`); a `host` that is not an IP address
/// throws std::invalid_argument from the constructor.
class OperationsEndpoint : public HttpEndpoint {
 public:
  explicit OperationsEndpoint(OperationsOptions options = {});
  ~OperationsEndpoint() override;

  /// Why the tree is not ready, one line each; empty when it is.
  std::vector<std::string> not_ready() const;
  /// The document `GET /metrics` answers.
  std::string metrics() const;

  /// Exports the depth and pressure of `queue` under the label `queue="<name>"` until the queue
  /// is destroyed (then it leaves the scrapes by itself; no need to unwatch). The queue must
  /// live on this endpoint's loop: it is read by the scrape. A `name` that a queue still alive
  /// is watched under throws std::invalid_argument.
  void watch(const FlowControlQueueBase& queue, std::string name);

 protected:
  awaitable<void> on_start() override;
  awaitable<HttpAnswer> answer(HttpRequest request) override;

 private:
  awaitable<void> heartbeat();

  struct Metrics;
  std::unique_ptr<Metrics> metrics_;
  std::function<bool()> start_complete_;
};

}  // namespace mode
