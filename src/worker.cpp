// Worker: command line, logging setup, POSIX signals, bounded stop, exit status.
#include <mode/console.hpp>
#include <mode/debug.hpp>
#include <mode/utils/objects.hpp>
#include <mode/worker.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>

namespace mode {

namespace {

const char* signal_name(int signo) noexcept {
  switch (signo) {
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

void write_fd(int fd, std::string_view text) noexcept {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n <= 0) return;
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Whatever has not reached `shutdown` yet, with its tasks: what a forced exit leaves behind. A
// service on its own thread shows only its state: the rest belongs to that thread.
void describe_running(const Service& s, std::string& out) {
  if (s.state() != "shutdown" && s.state() != "init") {
    if (!out.empty()) out += "; ";
    out += fmt::format("{} ({})", s.shortlabel(), s.state());
    if (s.owns_thread()) return;
    const std::vector<std::string> tasks = s.task_names();
    if (!tasks.empty()) out += fmt::format(" tasks: {}", fmt::join(tasks, ", "));
    const std::vector<std::string> waits = s.suspensions();
    if (!waits.empty()) out += fmt::format(" suspended: {}", fmt::join(waits, ", "));
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
  for (const Service::ServicePtr& child : s.dependencies()) describe_tree(*child, depth + 1, out);
}

}  // namespace

Worker::Worker(std::vector<ServicePtr> services, WorkerOptions options)
    : services_(std::move(services)), options_(std::move(options)) {}

Worker::~Worker() = default;

void Worker::CliDeleter::operator()(CLI::App* app) const noexcept { delete app; }

CLI::App& Worker::cli() {
  if (!cli_) setup_cli();
  return *cli_;
}

void Worker::setup_cli() {
  cli_.reset(new CLI::App());
  CLI::App& app = *cli_;
  app.set_version_flag("--version", options_.version);
  app.add_option("-l,--loglevel", options_.loglevel,
                 "Log level: debug, info, warning, error, critical, or 10..50")
      ->check([](const std::string& s) -> std::string {
        try {
          level_number(s);
          return {};
        } catch (const std::exception& e) {
          return e.what();
        }
      });
  app.add_option("-f,--logfile", options_.logfile, "Append the log to this file, not stderr");
  app.add_flag("--debug", options_.debug, "Debug logging, blocking detector and console");
  app.add_flag("-q,--quiet", options_.quiet, "Do not print to stdout/stderr (the log still does)");
  app.add_option_function<std::string>(
         "--blocking-timeout",
         [this](const std::string& s) { options_.blocking_timeout = Seconds(s); },
         "Seconds the loop may block before the blocking detector warns (debug mode)")
      ->check([](const std::string& s) -> std::string {
        try {
          const Seconds secs(s);
          if (!(secs.count() > 0)) return "must be positive";
          return {};
        } catch (const std::exception& e) {
          return e.what();
        }
      });
  app.add_option("--console-port", options_.console_port,
                 "Port of the introspection endpoint (debug mode; 0: any free port)");
  app.add_option("--console-bind", options_.console_bind,
                 "Address of the introspection endpoint (default 127.0.0.1)");
  app.add_flag("--console-allow-remote", options_.console_allow_remote,
               "Allow --console-bind to name an address beyond loopback");
  app.add_flag_callback(
      "--no-color", [this] { options_.color = ColorMode::never; }, "Never colour the log");
}

int Worker::execute_from_commandline(int argc, const char* const* argv) {
  CLI::App& app = cli();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, the version, or the error and a hint
    return code == 0 ? exit_ok : exit_usage;
  }
  try {
    console_options().check();
  } catch (const std::invalid_argument& e) {
    std::cerr << e.what() << "\nRun with --help for more information.\n";
    return exit_usage;
  }
  return execute();
}

std::vector<Service::ServicePtr> Worker::on_init_dependencies() {
  std::vector<ServicePtr> deps;
  if (options_.debug) {
    deps.push_back(blocking_detector());
    deps.push_back(console());
  }
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
  co_await on_execute();
}

awaitable<void> Worker::on_started() {
  if (!options_.daemon) co_return;
  const WaitResult<void> r = co_await wait(stop_requested_);
  (void)r;
}

void Worker::say(std::string_view msg) const {
  if (!options_.quiet) write_fd(STDOUT_FILENO, fmt::format("{}\n", msg));
}

void Worker::carp(std::string_view msg) const {
  if (!options_.quiet) write_fd(STDERR_FILENO, fmt::format("{}\n", msg));
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

  signals_.emplace(ctx_, SIGINT, SIGTERM, SIGUSR1);
  signals_->add(SIGUSR2);
  wait_for_signal();
  asio::co_spawn(ctx_, run(), [this](std::exception_ptr e) {
    if (e) start_error_ = e;
    run_done_ = true;
  });
  while (!run_done_ && !ctx_.stopped()) ctx_.run_one();

  // Drain what is left (nothing, for well-behaved services), within the stop deadline.
  if (signals_) signals_->cancel();
  if (deadline_) deadline_->cancel();
  // Run what is ready (completions of the cancelled waits); pending timers are abandoned.
  ctx_.restart();
  ctx_.poll();
  log.info("Closing event loop");
  redirect_.reset();

  int status = exit_ok;
  if (start_error_ || crashed()) {
    const std::exception_ptr reason = crash_reason() ? crash_reason() : start_error_;
    log.critical("We experienced a crash! Exiting with status 1: {}", exception_repr(reason));
    status = exit_failure;
  }
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
  return status;
}

awaitable<void> Worker::run() {
  try {
    co_await start();
  } catch (...) {
    start_error_ = std::current_exception();
  }
  if (start_error_) log.error("Error: {}", exception_repr(start_error_));
  co_await stop_and_shutdown();
}

awaitable<void> Worker::stop_and_shutdown() {
  begin_stop(false);
  co_await stop();
  stop_done_ = true;
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
  deadline_.emplace(ctx_, options_.shutdown_deadline.duration());
  deadline_->async_wait([this](boost::system::error_code ec) {
    if (ec || stop_done_) return;
    force_exit(exit_failure,
               fmt::format("Stop did not finish within {}s", options_.shutdown_deadline.count()));
  });
  // A stop while the services are still starting must not wait for the start to finish.
  if (spawn && started() && !should_stop()) {
    asio::co_spawn(ctx_, stop(), [this](std::exception_ptr e) {
      if (e) log.error("Error while stopping: {}", exception_repr(e));
    });
  }
}

void Worker::wait_for_signal() {
  signals_->async_wait([this](boost::system::error_code ec, int signo) {
    if (ec) return;
    on_signal(signo);
    if (signals_) wait_for_signal();
  });
}

void Worker::on_signal(int signo) {
  switch (signo) {
    case SIGINT:
    case SIGTERM:
      if (stop_begun_) {
        force_exit(128 + signo,
                   fmt::format("{} received while stopping: forced exit", signal_name(signo)));
      }
      if (signo == SIGINT) carp("-INT- -INT- -INT- -INT- -INT- -INT-");
      signal_stop_ = signo;
      log.info("Stopping on signal received...");
      log.debug("Signal received: {} ({})", signal_name(signo), signo);
      request_stop();
      break;
    case SIGUSR1:
      write_fd(STDERR_FILENO, cry());
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

void Worker::force_exit(int status, std::string_view why) {
  std::string running;
  describe_running(*this, running);
  log.critical("{}; still running: {}", why, running.empty() ? "nothing" : running);
  try {
    spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { l->flush(); });
  } catch (...) {
  }
  std::fflush(stdout);
  std::fflush(stderr);
  ::_exit(status);
}

}  // namespace mode
