// mode::Worker: runs a tree of services as a well-behaved process (Mode's `mode.Worker`):
// command line, logging, POSIX signals, exit status.
#pragma once

#include <mode/console.hpp>
#include <mode/service.hpp>
#include <mode/utils/logging_setup.hpp>
#include <mode/worker_options.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI

namespace mode {

class BlockingDetector;
class OperationsEndpoint;

namespace detail {
class SystemdNotifier;
class WorkerGuard;
/// The Worker's loop, in a base class so that it is destroyed after the services (whose Asio
/// objects must not outlive it).
struct WorkerLoop {
  asio::io_context ctx_;
};
}  // namespace detail

/// Starts services from the command line and runs them until a signal stops them (Mode's
/// `mode.Worker`); the given services are its children, so they log as `[^-App]`.
///
/// ```
/// int main(int argc, char** argv) {
///   return mode::Worker(std::make_shared<App>()).execute_from_commandline(argc, argv);
/// }
/// ```
///
/// Contract: the worker owns an `io_context` and runs everything on it, in the calling thread.
/// The given services become its children at construction. SIGINT/SIGTERM/SIGHUP log `Signal
/// received: SIGTERM (15)` and `[^Worker]: Stopping on signal received...` and stop it; a second
/// one while stopping logs what still runs and ends the process at once with 128 + the signal;
/// the graceful stop is bounded by `shutdown_deadline` (then exit 3). The forced exits are the
/// work of a guard thread that the worker runs beside its loop, so they happen whatever the loop
/// does (even a task that never suspends); they call `_exit` after flushing the log. SIGUSR1
/// writes the service tree with states and tasks to stderr; SIGUSR2 toggles debug logging. In
/// debug mode it also starts a BlockingDetector and a Console (on `console_bind`:`console_port`);
/// with `web_port` set, in any mode, an OperationsEndpoint (`/livez`, `/readyz`, `/metrics`).
/// Under systemd (`NOTIFY_SOCKET` set) it reports through sd_notify: `STATUS=` lines, `READY=1`
/// once the whole tree has started, `STOPPING=1`, `EXTEND_TIMEOUT_USEC=` while a start or stop
/// progresses, `ERRNO=` on a crash, and `WATCHDOG=1` from its loop if `WATCHDOG_USEC` asks.
/// `execute` returns only after a complete stop (the status to return from `main`). The worker
/// installs its own handlers for those five signals while `execute` runs and restores the
/// previous ones after: one worker executes at a time in a process. A worker runs once. It may
/// live on the stack or in a `shared_ptr`.
class Worker : private detail::WorkerLoop, public Service {
 public:
  /// `Worker(app1, app2, options)`: services, optionally followed by WorkerOptions.
  template <class... Args>
  requires(!(std::is_same_v<std::remove_cvref_t<Args>, std::vector<ServicePtr>> ||
             ...)) explicit Worker(Args&&... args) {
    (add_arg(std::forward<Args>(args)), ...);
    link_services();
  }
  Worker(std::vector<ServicePtr> services, WorkerOptions options);
  ~Worker() override;

  /// Parses the command line (CLI11) into the options, then `execute()`. `--help` and
  /// `--version` print and return 0; a bad flag or value prints the error and returns 2.
  [[nodiscard]] int execute_from_commandline(int argc, const char* const* argv);
  /// Sets up logging, runs the services until stopped, and returns the exit status.
  [[nodiscard]] int execute();

  /// The command-line parser, to add the program's own flags before
  /// `execute_from_commandline` (include <CLI/CLI.hpp> to use it).
  CLI::App& cli();

  WorkerOptions& options() noexcept { return options_; }
  const std::vector<ServicePtr>& services() const noexcept { return services_; }
  /// The loop everything runs on.
  asio::io_context& io_context() noexcept { return ctx_; }

  /// Writes `msg` and a newline to stdout unless quiet (bypassing the stdout redirection).
  void say(std::string_view msg) const;
  /// Writes `msg` and a newline to stderr unless quiet (bypassing the redirection).
  void carp(std::string_view msg) const;

  /// Asks the worker to stop, as SIGTERM does (callable from the loop thread only).
  void request_stop() noexcept;
  /// The service tree with states, diag flags and tasks (the SIGUSR1 report).
  std::string cry() const;
  /// The BlockingDetector (created on first use; started by the worker in debug mode).
  std::shared_ptr<BlockingDetector> blocking_detector();
  /// The Console (created on first use from the options; started by the worker in debug mode).
  std::shared_ptr<Console> console();
  /// The OperationsEndpoint (created on first use from the options; started by the worker when
  /// `web_port` is set).
  std::shared_ptr<OperationsEndpoint> operations_endpoint();

  std::string label() const override { return "Worker"; }
  /// Its services, as Mode's repr shows them: `<Worker: init [<App: init>]>`.
  std::string repr_info() const override;

  /// Logs `Error: <repr>` when the failure ends the worker's start (before the stop lines, as
  /// Mode does), then crashes as any service does. A cancellation (`operation_aborted`) is
  /// neither logged nor a crash: the worker just stops (Mode ignores a cancelled start).
  void crash(std::exception_ptr reason) noexcept override;

 protected:
  std::vector<ServicePtr> on_init_dependencies() override;
  /// Sets up logging (`default_on_first_start`), then `on_execute`.
  awaitable<void> on_first_start() override;
  awaitable<void> default_on_first_start();
  /// Called once at the first start, after logging is set up.
  virtual awaitable<void> on_execute() { co_return; }
  /// Called after logging is set up, with the level it set.
  virtual void on_setup_root_logger(LogLevel /*level*/) {}
  /// Called when the services have stopped, before the loop is drained.
  virtual void on_worker_shutdown() {}
  /// In daemon mode, waits until a stop is requested or a service crashes.
  awaitable<void> on_started() override;

  /// Stops everything within `shutdown_deadline` and drains the loop.
  awaitable<void> stop_and_shutdown();

 private:
  template <class S>
  requires std::is_base_of_v<Service, S>
  void add_arg(std::shared_ptr<S> s) { services_.push_back(std::move(s)); }
  void add_arg(WorkerOptions o) { options_ = std::move(o); }

  void link_services();
  awaitable<void> run();
  void on_signal(int signo);
  void begin_stop(bool spawn);
  void setup_cli();
  ConsoleOptions console_options() const;
  std::ostream& out_stream() const;
  std::ostream& err_stream() const;

  std::vector<ServicePtr> services_;
  WorkerOptions options_;
  struct GuardDeleter {
    void operator()(detail::WorkerGuard* guard) const noexcept;
  };
  std::unique_ptr<detail::WorkerGuard, GuardDeleter> guard_;
  struct NotifierDeleter {
    void operator()(detail::SystemdNotifier* notifier) const noexcept;
  };
  std::unique_ptr<detail::SystemdNotifier, NotifierDeleter> systemd_;  // with NOTIFY_SOCKET only
  struct CliDeleter {
    void operator()(CLI::App* app) const noexcept;
  };
  std::unique_ptr<CLI::App, CliDeleter> cli_;
  std::unique_ptr<RedirectStdouts> redirect_;
  std::shared_ptr<BlockingDetector> detector_;
  std::shared_ptr<Console> console_;
  std::shared_ptr<OperationsEndpoint> operations_;
  Event stop_requested_;
  std::optional<LogLevel> level_before_debug_;
  LogLevel level_ = LogLevel::warn;
  int signal_stop_ = 0;      // the signal that asked to stop, 0 if none
  bool stop_begun_ = false;  // a stop coroutine was spawned
  bool run_done_ = false;
  bool in_start_ = false;            // run() awaits start(), which has not reached on_started
  bool start_error_logged_ = false;  // crash() logged `Error: ...` for the start
  std::exception_ptr start_error_;
};

}  // namespace mode
