// Worker: command line, logging setup, POSIX signals, bounded stop, exit status.
#include <mode/console.hpp>
#include <mode/debug.hpp>
#include <mode/operations.hpp>
#include <mode/utils/objects.hpp>
#include <mode/worker.hpp>

#include "detail/systemd_notifier.hpp"
#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>
#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <system_error>
#include <thread>

namespace mode {

namespace {

const char* signal_name(int signo) noexcept {
  switch (signo) {
    case SIGHUP:
      return "SIGHUP";
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGUSR1:
      return "SIGUSR1";
    case SIGUSR2:
      return "SIGUSR2";
    default:
      return "signal";
  }
}

bool is_stop_signal(int signo) noexcept {
  return signo == SIGINT || signo == SIGTERM || signo == SIGHUP;
}

bool is_out_of_memory(const std::exception_ptr& e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const std::bad_alloc&) {
    return true;
  } catch (...) {
    return false;
  }
}

void write_fd(int fd, std::string_view text) noexcept {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

// The last `n` events of `s`, formatted.
std::vector<std::string> last_events(const Service& s, std::size_t n = SIZE_MAX) {
  return format_events(s.events(), s.loop_clock().now(), n);
}

// Whatever has not reached `shutdown` yet, with its tasks and last events: what a forced exit
// leaves behind. A service on its own thread shows only its state: the rest belongs to that
// thread.
void describe_running(const Service& s, std::string& out) {
  if (s.state() != "shutdown" && s.state() != "init") {
    if (!out.empty()) out += "; ";
    out += fmt::format("{} ({})", s.shortlabel(), s.state());
    if (s.owns_thread()) return;
    const std::vector<std::string> tasks = s.task_names();
    if (!tasks.empty()) out += fmt::format(" tasks: {}", fmt::join(tasks, ", "));
    const std::vector<std::string> waits = s.suspensions();
    if (!waits.empty()) out += fmt::format(" suspended: {}", fmt::join(waits, ", "));
    const std::vector<std::string> events = last_events(s, 5);
    if (!events.empty()) out += fmt::format(" last events: {}", fmt::join(events, ", "));
  } else if (s.owns_thread()) {
    return;
  }
  for (const Service::ServicePtr& child : s.dependencies()) describe_running(*child, out);
}

void describe_tree(const Service& s, std::size_t depth, std::string& out) {
  out.append(depth * 2, ' ');
  out += fmt::format("{} [{}]", s.shortlabel(), s.state());
  if (s.restart_count() > 0) out += fmt::format(" restarts={}", s.restart_count());
  if (s.crashed()) out += fmt::format(" crash_reason={}", exception_repr(s.crash_reason()));
  if (s.owns_thread()) {
    out += " (on its own thread: flags, tasks and children not shown)\n";
    return;
  }
  if (!s.diag.flags().empty()) out += fmt::format(" flags={{{}}}", fmt::join(s.diag.flags(), ", "));
  out += '\n';
  for (const std::string& t : s.task_names()) {
    out.append(depth * 2 + 2, ' ');
    out += fmt::format("TASK {}\n", t);
  }
  for (const std::string& w : s.suspensions()) {
    out.append(depth * 2 + 2, ' ');
    out += fmt::format("SUSPENDED {}\n", w);
  }
  for (const std::string& e : last_events(s)) {
    out.append(depth * 2 + 2, ' ');
    out += fmt::format("EVENT {}\n", e);
  }
  for (const Service::ServicePtr& child : s.dependencies()) describe_tree(*child, depth + 1, out);
}

}  // namespace

namespace detail {

namespace {

// The write end of the running guard's pipe (-1: none). The signal handler only writes the
// signal's number there, one byte: write(2) and a lock-free atomic are async-signal-safe.
std::atomic<int> guard_signal_fd{-1};
static_assert(std::atomic<int>::is_always_lock_free);

extern "C" void on_worker_signal(int signo) {
  const int saved = errno;
  const int fd = guard_signal_fd.load(std::memory_order_relaxed);
  if (fd >= 0) {
    const auto byte = static_cast<unsigned char>(signo);
    [[maybe_unused]] const ssize_t n = ::write(fd, &byte, 1);
  }
  errno = saved;
}

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
// Control bytes the loop writes to the guard's pipe (signal numbers are 1..64).
constexpr unsigned char kQuit = 0;
constexpr unsigned char kStopBegun = 255;
// How long a forced exit waits for the loop to say what still runs.
constexpr auto kDescribeTimeout = std::chrono::seconds(1);
// Past this, a forced exit ends the process even if writing its log line is stuck.
constexpr auto kExitBackstop = std::chrono::seconds(3);

}  // namespace

/// The Worker's guard thread: receives the worker's POSIX signals (from a handler that only
/// writes to a pipe) and hands them to the loop, and forces the exit on a second stop signal or
/// past the stop deadline. It runs beside the loop so that the forced exits work whatever the
/// loop does, even when a task blocks it or never suspends.
class WorkerGuard {
 public:
  struct Hooks {
    asio::io_context* ctx = nullptr;
    std::function<void(int)> on_signal;     // run on the loop
    std::function<std::string()> describe;  // run on the loop: what still runs
    std::shared_ptr<spdlog::logger> logger;
    std::string prefix;  // `[^Worker]: `
    Seconds deadline;
  };

  explicit WorkerGuard(Hooks hooks) : hooks_(std::move(hooks)) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
      throw std::system_error(errno, std::generic_category(), "Worker: cannot make a pipe");
    }
    read_fd_ = fds[0];
    write_fd_ = fds[1];
    int expected = -1;
    if (!guard_signal_fd.compare_exchange_strong(expected, write_fd_)) {
      ::close(read_fd_);
      ::close(write_fd_);
      throw std::logic_error("Worker: another worker is executing in this process");
    }
    struct sigaction sa {};
    sa.sa_handler = on_worker_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (std::size_t i = 0; i < std::size(kSignals); ++i)
      ::sigaction(kSignals[i], &sa, &previous_[i]);
    try {
      thread_ = std::thread([this] { run(); });
    } catch (...) {
      restore();
      throw;
    }
  }
  WorkerGuard(const WorkerGuard&) = delete;
  WorkerGuard& operator=(const WorkerGuard&) = delete;

  ~WorkerGuard() {
    send(kQuit);
    thread_.join();
    restore();
  }

  /// Called on the loop when the stop begins: arms the deadline (if a signal did not already).
  void stop_begun() noexcept { send(kStopBegun); }

 private:
  using clock = std::chrono::steady_clock;

  void restore() noexcept {
    for (std::size_t i = 0; i < std::size(kSignals); ++i)
      ::sigaction(kSignals[i], &previous_[i], nullptr);
    guard_signal_fd.store(-1);
    ::close(read_fd_);
    ::close(write_fd_);
  }

  void send(unsigned char byte) noexcept {
    for (;;) {
      const ssize_t n = ::write(write_fd_, &byte, 1);
      if (n < 0 && errno == EINTR) continue;
      return;
    }
  }

  std::optional<clock::time_point> deadline_from_now() const noexcept {
    const double secs = hooks_.deadline.count();
    // Beyond a century is no deadline at all (and the sum below cannot overflow).
    if (!(secs < 3.2e9)) return std::nullopt;
    return clock::now() + hooks_.deadline.duration();
  }

  void run() noexcept {
    bool stopping = false;
    std::optional<clock::time_point> deadline;
    for (;;) {
      int timeout_ms = -1;
      if (deadline) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock::now());
        if (left.count() <= 0) {
          force_exit(exit_shutdown_overrun,
                     fmt::format("Stop did not finish within {}s", hooks_.deadline.count()));
        }
        timeout_ms = static_cast<int>(std::min<std::int64_t>(left.count(), INT_MAX));
      }
      pollfd p{read_fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, timeout_ms);
      if (ready <= 0) continue;  // the deadline (checked above), or EINTR
      unsigned char bytes[64];
      const ssize_t n = ::read(read_fd_, bytes, sizeof bytes);
      if (n == 0) return;
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return;
      }
      for (ssize_t i = 0; i < n; ++i) {
        const int b = bytes[i];
        if (b == kQuit) return;
        if (b == kStopBegun || is_stop_signal(b)) {
          if (stopping && b != kStopBegun) {
            force_exit(128 + b,
                       fmt::format("{} received while stopping: forced exit", signal_name(b)));
          }
          if (!stopping) deadline = deadline_from_now();
          stopping = true;
          if (b == kStopBegun) continue;
        }
        try {
          asio::post(*hooks_.ctx, [fn = hooks_.on_signal, b] { fn(b); });
        } catch (...) {
        }
      }
    }
  }

  // Logs what still runs (if the loop answers in time) and ends the process.
  [[noreturn]] void force_exit(int status, const std::string& why) noexcept {
    try {
      std::thread([status] {
        std::this_thread::sleep_for(kExitBackstop);
        ::_exit(status);
      }).detach();
    } catch (...) {
    }
    std::string running;
    try {
      struct Answer {
        std::mutex mutex;
        std::condition_variable cv;
        bool done = false;
        std::string text;
      };
      auto answer = std::make_shared<Answer>();
      asio::post(*hooks_.ctx, [answer, describe = hooks_.describe] {
        std::string text;
        try {
          text = describe();
        } catch (...) {
        }
        const std::lock_guard lock(answer->mutex);
        answer->text = std::move(text);
        answer->done = true;
        answer->cv.notify_all();
      });
      std::unique_lock lock(answer->mutex);
      if (answer->cv.wait_for(lock, kDescribeTimeout, [&] { return answer->done; })) {
        running = answer->text.empty() ? "nothing" : answer->text;
      } else {
        running = fmt::format(
            "unknown (the event loop did not answer within {}s: a task blocks it or never "
            "suspends)",
            kDescribeTimeout.count());
      }
    } catch (...) {
      running = "unknown";
    }
    try {
      hooks_.logger->critical("{}{}; still running: {}", hooks_.prefix, why, running);
      hooks_.logger->flush();
      spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
    } catch (...) {
    }
    std::fflush(stdout);
    std::fflush(stderr);
    ::_exit(status);
  }

  Hooks hooks_;
  int read_fd_ = -1;
  int write_fd_ = -1;
  struct sigaction previous_[std::size(kSignals)]{};
  std::thread thread_;
};

}  // namespace detail

Worker::Worker(std::vector<ServicePtr> services, WorkerOptions options)
    : services_(std::move(services)), options_(std::move(options)) {
  link_services();
}

Worker::~Worker() = default;

std::string Worker::repr_info() const {
  std::vector<std::string> reprs;
  for (const ServicePtr& s : services_) reprs.push_back(s->repr());
  return fmt::format("[{}]", fmt::join(reprs, ", "));
}

void Worker::link_services() {
  // As in Mode: the services are the worker's children from the start, so the tree and their
  // log prefixes (`[^-App]`) are right before the first start.
  for (const ServicePtr& s : services_) add_dependency(s);
}

void Worker::CliDeleter::operator()(CLI::App* app) const noexcept { delete app; }

void Worker::GuardDeleter::operator()(detail::WorkerGuard* guard) const noexcept { delete guard; }

void Worker::NotifierDeleter::operator()(detail::SystemdNotifier* notifier) const noexcept {
  delete notifier;
}

CLI::App& Worker::cli() {
  if (!cli_) setup_cli();
  return *cli_;
}

void Worker::setup_cli() {
  cli_.reset(new CLI::App());
  add_worker_flags(*cli_, options_);
}

std::ostream& Worker::out_stream() const {
  return options_.stdout_stream != nullptr ? *options_.stdout_stream : std::cout;
}

std::ostream& Worker::err_stream() const {
  return options_.stderr_stream != nullptr ? *options_.stderr_stream : std::cerr;
}

int Worker::execute_from_commandline(int argc, const char* const* argv) {
  const std::optional<int> status = parse_worker_commandline(cli(), options_, argc, argv);
  if (status) return *status;
  return execute();
}

std::vector<Service::ServicePtr> Worker::on_init_dependencies() {
  std::vector<ServicePtr> deps;
  if (options_.debug) {
    deps.push_back(blocking_detector());
    deps.push_back(console());
  }
  if (options_.web_port) deps.push_back(operations_endpoint());
  if (deps.empty()) return services_;  // children since the construction
  // The aids start first, so that they watch (and answer probes during) the services' start:
  // take the services out and put them back after.
  for (const ServicePtr& s : services_) discard_dependency(s);
  deps.insert(deps.end(), services_.begin(), services_.end());
  return deps;
}

ConsoleOptions Worker::console_options() const {
  ConsoleOptions o;
  o.bind = options_.console_bind;
  o.port = options_.console_port;
  o.allow_remote = options_.console_allow_remote;
  return o;
}

std::shared_ptr<Console> Worker::console() {
  if (!console_) console_ = std::make_shared<Console>(console_options());
  return console_;
}

std::shared_ptr<OperationsEndpoint> Worker::operations_endpoint() {
  if (!operations_) {
    OperationsOptions o;
    o.host = options_.web_host;
    o.port = options_.web_port.value_or(0);
    // Ready once the worker's own start is over: every service of the tree then started.
    o.start_complete = [this] { return started() && !in_start_; };
    operations_ = std::make_shared<OperationsEndpoint>(std::move(o));
  }
  return operations_;
}

std::shared_ptr<BlockingDetector> Worker::blocking_detector() {
  if (!detector_) detector_ = std::make_shared<BlockingDetector>(options_.blocking_timeout);
  return detector_;
}

awaitable<void> Worker::on_first_start() { co_await default_on_first_start(); }

awaitable<void> Worker::default_on_first_start() {
  if (options_.override_logging) {
    LoggingOptions lo;
    if (options_.debug)
      lo.level = LogLevel::debug;
    else if (!options_.loglevel.empty())
      lo.level = level_number(options_.loglevel);
    lo.logfile = options_.logfile;
    lo.color = options_.color;
    lo.format = options_.log_format;
    lo.config = options_.logging_config;
    try {
      level_ = setup_logging(lo);
    } catch (const std::exception& e) {
      carp(fmt::format("CANNOT SETUP LOGGING: {}", e.what()));
      throw;
    }
    on_setup_root_logger(level_);
    if (options_.redirect_stdouts)
      redirect_ = std::make_unique<RedirectStdouts>(options_.redirect_stdouts_level);
  }
  // After the logging setup: a bad NOTIFY_SOCKET or WATCHDOG_USEC is logged where the log goes.
  if (detail::SystemdNotifier::wanted()) {
    systemd_.reset(new detail::SystemdNotifier(
        ctx_, *this, [this](const std::string& error) { log.error("{}", error); }));
  }
  co_await on_execute();
}

awaitable<void> Worker::on_started() {
  in_start_ = false;
  if (systemd_) systemd_->ready();
  if (!options_.daemon) co_return;
  const WaitResult<void> r = co_await wait(stop_requested_);
  (void)r;
}

void Worker::say(std::string_view msg) const {
  if (options_.quiet) return;
  if (options_.stdout_stream != nullptr) {
    *options_.stdout_stream << msg << '\n';
    options_.stdout_stream->flush();
  } else {
    write_fd(STDOUT_FILENO, fmt::format("{}\n", msg));
  }
}

void Worker::carp(std::string_view msg) const {
  if (options_.quiet) return;
  if (options_.stderr_stream != nullptr) {
    *options_.stderr_stream << msg << '\n';
    options_.stderr_stream->flush();
  } else {
    write_fd(STDERR_FILENO, fmt::format("{}\n", msg));
  }
}

std::string Worker::cry() const {
  std::string out = "SERVICE TREE\n";
  out.append(49, '=');
  out += '\n';
  describe_tree(*this, 0, out);
  return out;
}

int Worker::execute() {
  // The worker may live on the stack: its tasks need shared_from_this while it runs.
  std::shared_ptr<Worker> keeper;
  if (weak_from_this().expired()) keeper = std::shared_ptr<Worker>(this, [](Worker*) {});
  // Our own deadline bounds the stop; the core's per-stop bound must not cut it shorter.
  shutdown_timeout = std::max(shutdown_timeout.count(), options_.shutdown_deadline.count() + 1);

  detail::WorkerGuard::Hooks hooks;
  hooks.ctx = &ctx_;
  hooks.on_signal = [this](int signo) { on_signal(signo); };
  hooks.describe = [this] {
    std::string running;
    describe_running(*this, running);
    return running;
  };
  hooks.logger = get_logger(logger_name());
  fmt::memory_buffer prefix;
  format_service_log_prefix(prefix, beacon().depth(), shortlabel());
  hooks.prefix = fmt::to_string(prefix);
  hooks.deadline = options_.shutdown_deadline;
  try {
    guard_.reset(new detail::WorkerGuard(std::move(hooks)));
  } catch (const std::exception& e) {
    carp(fmt::format("Worker: cannot run: {}", e.what()));
    return exit_failure;
  }

  {
    // Signals arrive through the guard thread's posts: the loop must wait for them even when
    // nothing else is pending on it.
    auto work = asio::make_work_guard(ctx_);
    asio::co_spawn(ctx_, run(), [this](std::exception_ptr e) {
      if (e) start_error_ = e;
      run_done_ = true;
    });
    while (!run_done_ && !ctx_.stopped()) ctx_.run_one();
  }

  if (systemd_) systemd_->close();
  // Run what is ready (signals delivered meanwhile, completions); pending timers are abandoned.
  ctx_.restart();
  ctx_.poll();
  log.info("Closing event loop");
  redirect_.reset();

  int status = exit_ok;
  const bool start_failed = start_error_ && !is_cancellation(start_error_);
  const bool crash_failed = crashed() && !is_cancellation(crash_reason());
  if (start_failed || crash_failed) {
    const std::exception_ptr reason = crash_failed ? crash_reason() : start_error_;
    if (systemd_) systemd_->failed(reason);
    if (is_out_of_memory(reason)) {
      // Mode's exit on memory exhaustion (EX_OSERR).
      carp("Out of memory!");
      status = exit_out_of_memory;
    } else {
      log.critical("We experienced a crash! Exiting with status 1: {}", exception_repr(reason));
      status = exit_failure;
    }
  }
  systemd_.reset();
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
  // Until here the guard bounds the whole shutdown by the deadline.
  guard_.reset();
  return status;
}

awaitable<void> Worker::run() {
  in_start_ = true;
  try {
    co_await start();
  } catch (...) {
    start_error_ = std::current_exception();
  }
  in_start_ = false;
  // Mode ignores a cancelled start: the worker just stops.
  if (start_error_ && !start_error_logged_ && !is_cancellation(start_error_))
    log.error("Error: {}", exception_repr(start_error_));
  co_await stop_and_shutdown();
}

void Worker::crash(std::exception_ptr reason) noexcept {
  if (is_cancellation(reason)) return;  // a cancelled start is not a crash (Mode ignores it)
  if (in_start_ && !start_error_logged_) {
    // The start failed: say so before the stop that follows.
    start_error_logged_ = true;
    log.error("Error: {}", exception_repr(reason));
  }
  Service::crash(std::move(reason));
}

awaitable<void> Worker::stop_and_shutdown() {
  begin_stop(false);
  co_await stop();
  if (systemd_) systemd_->stopped();
  log.info("Gathering service tasks...");
  log.info("Gathering all futures...");
  on_worker_shutdown();
}

void Worker::request_stop() noexcept {
  stop_requested_.set();
  begin_stop(true);
}

void Worker::begin_stop(bool spawn) {
  if (stop_begun_) return;
  stop_begun_ = true;
  stop_requested_.set();
  if (systemd_) systemd_->stopping();
  if (guard_) guard_->stop_begun();  // arms the deadline, on the guard thread
  // A stop while the services are still starting must not wait for the start to finish.
  if (spawn && started() && !should_stop()) {
    asio::co_spawn(ctx_, stop(), [this](std::exception_ptr e) {
      if (e) log.error("Error while stopping: {}", exception_repr(e));
    });
  }
}

void Worker::on_signal(int signo) {
  switch (signo) {
    case SIGINT:
    case SIGTERM:
    case SIGHUP:
      // A second one while stopping never gets here: the guard thread forced the exit.
      if (signo == SIGINT) carp("-INT- -INT- -INT- -INT- -INT- -INT-");
      log.info("Signal received: {} ({})", signal_name(signo), signo);
      if (stop_begun_) break;
      signal_stop_ = signo;
      log.info("Stopping on signal received...");
      request_stop();
      break;
    case SIGUSR1:
      if (options_.stderr_stream != nullptr) {
        *options_.stderr_stream << cry();
        options_.stderr_stream->flush();
      } else {
        write_fd(STDERR_FILENO, cry());
      }
      break;
    case SIGUSR2:
      if (level_before_debug_) {
        log.warning("Debug logging off (SIGUSR2)");
        set_all_levels(*level_before_debug_);
        level_before_debug_.reset();
      } else {
        level_before_debug_ = spdlog::default_logger()->level();
        set_all_levels(LogLevel::debug);
        log.warning("Debug logging on (SIGUSR2)");
      }
      break;
    default:
      break;
  }
}

}  // namespace mode
