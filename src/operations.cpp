// OperationsEndpoint: liveness, readiness and Prometheus metrics (prometheus-cpp), collected
// at scrape time from the service tree and /proc.
#include <mode/detail/timer_queue.hpp>
#include <mode/operations.hpp>
#include <mode/supervisors.hpp>
#include <mode/utils/queues.hpp>

#include <fmt/format.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace mode {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr double kBeat = 0.5;  // seconds between two lag measurements
// Prometheus scrapes and a few probes at once, with room to spare.
constexpr std::size_t kMaxConnections = 64;
constexpr std::array<std::string_view, 5> kStates{"init", "running", "stopping", "shutdown",
                                                  "crashed"};

HttpEndpointOptions endpoint_options_of(const OperationsOptions& o) {
  HttpEndpointOptions e;
  e.bind = o.host;
  e.port = o.port;
  e.max_connections = kMaxConnections;
  e.must_listen = true;
  return e;
}

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add(MetricFamily& f, std::vector<ClientMetric::Label> labels, double value) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

// The per-service families, filled by one walk of the tree.
struct TreeFamilies {
  MetricFamily state =
      family("mode_service_state", "1 for the state the service is in, 0 for the others",
             MetricType::Gauge);
  MetricFamily starts = family("mode_service_starts_total",
                               "Starts of the service, restarts "
                               "included",
                               MetricType::Counter);
  MetricFamily restarts =
      family("mode_service_restarts_total", "Restarts of the service", MetricType::Counter);
  MetricFamily crashes =
      family("mode_service_crashes_total", "Crashes of the service", MetricType::Counter);
  MetricFamily tasks = family("mode_service_tasks",
                              "Tasks of the service running now (not shown for a service on its "
                              "own thread)",
                              MetricType::Gauge);
  MetricFamily give_ups =
      family("mode_supervisor_give_ups_total", "Times the supervisor gave up on its services",
             MetricType::Counter);
};

// What the scrapes saw of a service's crashes (by its path).
struct CrashMemo {
  std::exception_ptr reason;  // of the last crash counted here
  std::uint64_t seen = 0;     // crashes found by the scrapes
  std::uint64_t reported = 0;
};
using CrashMemos = std::unordered_map<std::string, CrashMemo>;

// The supervisor's count if there is one; else (or if it counted fewer: discarded, replaced)
// each crash a scrape finds, once: a service without a supervisor counts nothing itself. Never
// less than what was reported before, so that a restart does not make the counter go down.
std::uint64_t crashes_of(const Service& s, CrashMemo& memo) {
  std::uint64_t counted = 0;
  if (const auto* sup = dynamic_cast<const SupervisorStrategy*>(s.supervisor())) {
    try {
      counted = sup->stats(s).crash_count;
    } catch (const std::out_of_range&) {
      // Being discarded by its supervisor: only its own flag is left.
    }
  }
  if (s.crashed() && s.crash_reason() != memo.reason) {
    memo.reason = s.crash_reason();
    ++memo.seen;
  }
  memo.reported = std::max({memo.reported, counted, memo.seen});
  return memo.reported;
}

// A service's step of its path: its short label, but a supervisor's class name (its label
// carries its address, which would make a new series of each run).
std::string path_step(const Service& s) {
  if (dynamic_cast<const SupervisorStrategy*>(&s) != nullptr) return s.Service::label();
  return s.shortlabel();
}

// Calls `fn(service, path)` for each service of the tree, the children of a service on its own
// thread excepted (only that thread may read them). The path is the beacon's (`Worker/App`),
// built on the way down; same-named siblings get `#2`, `#3`...
template <class Fn>
void walk(const Service& s, std::string path, std::unordered_map<std::string, int>& seen, Fn& fn) {
  if (const int n = ++seen[path]; n > 1) path += fmt::format("#{}", n);
  fn(s, path);
  if (s.owns_thread()) return;
  for (const Service::ServicePtr& child : s.dependencies())
    walk(*child, path + '/' + path_step(*child), seen, fn);
}

template <class Fn>
void walk_tree(const Service& root, Fn& fn) {
  std::unordered_map<std::string, int> seen;
  walk(root, path_step(root), seen, fn);
}

void collect_tree(const Service& root, TreeFamilies& f, CrashMemos& crashes) {
  auto one = [&f, &crashes](const Service& s, const std::string& path) {
    for (const std::string_view state : kStates) {
      add(f.state, {{"service", path}, {"state", std::string(state)}}, s.state() == state ? 1 : 0);
    }
    add(f.starts, {{"service", path}}, s.restart_count() + (s.started() ? 1 : 0));
    add(f.restarts, {{"service", path}}, s.restart_count());
    add(f.crashes, {{"service", path}}, static_cast<double>(crashes_of(s, crashes[path])));
    if (!s.owns_thread())
      add(f.tasks, {{"service", path}}, static_cast<double>(s.task_names().size()));
    if (const auto* sup = dynamic_cast<const SupervisorStrategy*>(&s))
      add(f.give_ups, {{"service", path}}, static_cast<double>(sup->give_ups()));
  };
  walk_tree(root, one);
}

// The standard process metrics (as the Prometheus client libraries name them), from /proc.
void collect_process(std::vector<MetricFamily>& out) {
  std::ifstream stat_file("/proc/self/stat");
  const std::string stat((std::istreambuf_iterator<char>(stat_file)),
                         std::istreambuf_iterator<char>());
  // The fields after the command name, which may hold spaces and parentheses: from field 3.
  const std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return;
  std::istringstream fields(stat.substr(close + 2));
  std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
  if (f.size() < 22) return;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  // Field n of stat(5) is f[n - 3].
  const double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
  const double start_ticks = std::stod(f[19]);
  const double virtual_bytes = std::stod(f[20]);
  const double resident_bytes = std::stod(f[21]) * page;

  double boot_time = 0;
  std::ifstream proc_stat("/proc/stat");
  for (std::string key; proc_stat >> key;) {
    if (key == "btime") {
      proc_stat >> boot_time;
      break;
    }
    proc_stat.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }

  std::error_code ec;
  const std::filesystem::directory_iterator fds("/proc/self/fd", ec);
  // Less the descriptor that lists them.
  const auto open_fds = ec ? 0 : std::distance(fds, std::filesystem::directory_iterator()) - 1;
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);

  auto gauge = [&out](std::string name, std::string help, MetricType type, double value) {
    out.push_back(family(std::move(name), std::move(help), type));
    add(out.back(), {}, value);
  };
  gauge("process_cpu_seconds_total", "Total user and system CPU time spent in seconds",
        MetricType::Counter, cpu);
  gauge("process_resident_memory_bytes", "Resident memory size in bytes", MetricType::Gauge,
        resident_bytes);
  gauge("process_virtual_memory_bytes", "Virtual memory size in bytes", MetricType::Gauge,
        virtual_bytes);
  gauge("process_open_fds", "Number of open file descriptors", MetricType::Gauge,
        static_cast<double>(open_fds));
  gauge("process_max_fds", "Maximum number of open file descriptors", MetricType::Gauge,
        static_cast<double>(limit.rlim_cur));
  gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds",
        MetricType::Gauge, boot_time + start_ticks / ticks);
}

// The timer lateness of every loop, as prometheus-cpp's histogram would render it.
MetricFamily timer_lateness() {
  using detail::TimerLateness;
  const TimerLateness::Counts counts = TimerLateness::process_counts();
  MetricFamily f = family("mode_timer_lateness_seconds",
                          "How late Service timers and itertimer ticks woke up, all loops of the "
                          "process",
                          MetricType::Histogram);
  ClientMetric m;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.buckets.size(); ++i) {
    cumulative += counts.buckets[i];
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound = i < TimerLateness::bounds.size() ? TimerLateness::bounds[i]
                                                     : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back(b);
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = static_cast<double>(counts.sum_ns) * 1e-9;
  f.metric.push_back(std::move(m));
  return f;
}

struct WatchedQueue {
  std::string name;
  std::weak_ptr<const FlowControlQueueBase> queue;
};

// The families of the watched queues still alive; forgets the others.
void collect_queues(std::vector<WatchedQueue>& watched, std::vector<MetricFamily>& out) {
  std::erase_if(watched, [](const WatchedQueue& w) { return w.queue.expired(); });
  if (watched.empty()) return;
  MetricFamily depth = family("mode_queue_depth", "Items in the queue", MetricType::Gauge);
  MetricFamily capacity =
      family("mode_queue_capacity", "The queue's maxsize (0: unbounded)", MetricType::Gauge);
  MetricFamily producers =
      family("mode_queue_waiting_producers", "Coroutines waiting in put (for room or flow control)",
             MetricType::Gauge);
  MetricFamily consumers =
      family("mode_queue_waiting_consumers", "Coroutines waiting in get", MetricType::Gauge);
  MetricFamily pending = family("mode_queue_pressure_pending",
                                "Producers held back by high pressure: drop callbacks not called "
                                "yet",
                                MetricType::Gauge);
  MetricFamily highs =
      family("mode_queue_pressure_highs_total",
             "Enhanced puts that found the queue under high pressure", MetricType::Counter);
  MetricFamily drops =
      family("mode_queue_pressure_drops_total",
             "Pressure-drop callbacks called as the queue drained", MetricType::Counter);
  MetricFamily waits =
      family("mode_queue_put_waits_total", "Puts that had to wait, by reason", MetricType::Counter);
  MetricFamily wait_seconds =
      family("mode_queue_put_wait_seconds_total",
             "Time puts spent waiting (for room or flow control)", MetricType::Counter);
  for (const WatchedQueue& w : watched) {
    const std::shared_ptr<const FlowControlQueueBase> q = w.queue.lock();
    const FlowControlQueueBase::Stats& st = q->stats();
    const std::vector<ClientMetric::Label> label{{"queue", w.name}};
    add(depth, label, static_cast<double>(q->qsize()));
    add(capacity, label, static_cast<double>(q->maxsize()));
    add(producers, label, static_cast<double>(q->putters()));
    add(consumers, label, static_cast<double>(q->getters()));
    add(pending, label, static_cast<double>(q->pending_pressure_drops()));
    add(highs, label, static_cast<double>(st.pressure_highs));
    add(drops, label, static_cast<double>(st.pressure_drops));
    add(waits, {{"queue", w.name}, {"reason", "flow_control"}},
        static_cast<double>(st.flow_control_waits));
    add(waits, {{"queue", w.name}, {"reason", "full"}}, static_cast<double>(st.full_waits));
    add(wait_seconds, label, std::chrono::duration<double>(st.put_wait_time).count());
  }
  for (MetricFamily* f :
       {&depth, &capacity, &producers, &consumers, &pending, &highs, &drops, &waits, &wait_seconds})
    out.push_back(std::move(*f));
}

}  // namespace

struct OperationsEndpoint::Metrics {
  CrashMemos crashes;
  std::vector<WatchedQueue> queues;
  prometheus::Registry registry;
  prometheus::Histogram& lag =
      prometheus::BuildHistogram()
          .Name("mode_event_loop_lag_seconds")
          .Help(
              "How late the event loop ran a timer, measured twice a "
              "second")
          .Register(registry)
          .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                           0.1, 0.25, 0.5, 1, 2.5, 5, 10});
};

OperationsEndpoint::OperationsEndpoint(OperationsOptions options)
    : HttpEndpoint(endpoint_options_of(options)),
      metrics_(std::make_unique<Metrics>()),
      start_complete_(std::move(options.start_complete)) {
  detail::TimerLateness::enable();
  task(&OperationsEndpoint::heartbeat, "heartbeat");
}

OperationsEndpoint::~OperationsEndpoint() = default;

awaitable<void> OperationsEndpoint::on_start() {
  co_await HttpEndpoint::on_start();
  const std::string& host = endpoint_options().bind;
  const bool v6 = host.find(':') != std::string::npos;
  log.info("Serving /livez, /readyz and /metrics on http://{}{}{}:{}/", v6 ? "[" : "", host,
           v6 ? "]" : "", port());
}

awaitable<void> OperationsEndpoint::heartbeat() {
  using Clock = std::chrono::steady_clock;
  const std::chrono::duration<double> beat(kBeat);
  for (;;) {
    const Clock::time_point before = Clock::now();
    const bool slept = co_await sleep(kBeat);
    if (!slept) co_return;
    const std::chrono::duration<double> late = Clock::now() - before - beat;
    metrics_->lag.Observe(std::max(0.0, late.count()));
  }
}

std::vector<std::string> OperationsEndpoint::not_ready() const {
  std::vector<std::string> reasons;
  if (start_complete_ && !start_complete_()) reasons.emplace_back("starting");
  auto one = [&reasons](const Service& s, const std::string& path) {
    if (s.state() != "running") reasons.push_back(fmt::format("{}: {}", path, s.state()));
  };
  walk_tree(tree_root(), one);
  return reasons;
}

std::string OperationsEndpoint::metrics() const {
  std::vector<MetricFamily> families = metrics_->registry.Collect();
  TreeFamilies tree;
  collect_tree(tree_root(), tree, metrics_->crashes);
  for (MetricFamily* f :
       {&tree.state, &tree.starts, &tree.restarts, &tree.crashes, &tree.tasks, &tree.give_ups}) {
    if (!f->metric.empty()) families.push_back(std::move(*f));
  }
  families.push_back(timer_lateness());
  collect_queues(metrics_->queues, families);
  collect_process(families);
  return prometheus::TextSerializer().Serialize(families);
}

void OperationsEndpoint::watch(const FlowControlQueueBase& queue, std::string name) {
  for (const WatchedQueue& w : metrics_->queues) {
    if (w.name == name && !w.queue.expired())
      throw std::invalid_argument(fmt::format("a queue is watched as \"{}\" already", name));
  }
  metrics_->queues.push_back(WatchedQueue{std::move(name), queue.lifetime()});
}

awaitable<HttpAnswer> OperationsEndpoint::answer(HttpRequest request) {
  const std::string& target = request.target;
  if (target == "/livez") co_return HttpAnswer{200, "text/plain; charset=utf-8", "ok\n"};
  if (target == "/readyz") {
    const std::vector<std::string> reasons = not_ready();
    if (reasons.empty()) co_return HttpAnswer{200, "text/plain; charset=utf-8", "ready\n"};
    co_return HttpAnswer{503, "text/plain; charset=utf-8",
                         fmt::format("{}\n", fmt::join(reasons, "\n"))};
  }
  if (target == "/metrics")
    co_return HttpAnswer{200, "text/plain; version=0.0.4; charset=utf-8", metrics()};
  co_return HttpAnswer{404, "text/plain; charset=utf-8",
                       fmt::format("no such page: {} (try /livez, /readyz, /metrics)\n", target)};
}

}  // namespace mode
