// mode::WorkerOptions: what a Worker is told, by its program and by its command line, and the
// parse of that command line (which needs no Worker, so that a bad argv is an error, never a
// crash).
#pragma once

#include <mode/utils/logging_setup.hpp>
#include <mode/utils/times.hpp>
#include <mode/version.hpp>

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace mode {

/// Options of a Worker (Mode's Worker arguments); the command line can override most of them.
struct WorkerOptions {
  bool debug = false;  ///< `--debug`: debug log level, blocking detector, console
  bool quiet = false;  ///< `--quiet`: `say` and `carp` print nothing
  /// `--loglevel`: a name (`info`, `WARNING`...) or number (`20`); empty means WARNING.
  std::string loglevel;
  std::string logfile;           ///< `--logfile`: append the log to this file, not stderr
  LoggingConfig logging_config;  ///< extra sinks and per-logger levels
  bool redirect_stdouts = true;  ///< std::cout / std::cerr writes go to the log...
  LogLevel redirect_stdouts_level = LogLevel::warn;  ///< ...at this level
  /// `--console-port`: the Console's port in debug mode (0: any free port).
  std::uint16_t console_port = 50101;
  std::string console_bind = "127.0.0.1";  ///< `--console-bind`: the Console's address
  bool console_allow_remote = false;       ///< `--console-allow-remote`: bind beyond loopback
  /// `--web-port`: serve /livez, /readyz and /metrics (OperationsEndpoint) on this port, in
  /// every mode (0: any free port, logged); none: no such endpoint.
  std::optional<std::uint16_t> web_port;
  std::string web_host = "127.0.0.1";      ///< `--web-host`: the operations endpoint's address
  Seconds blocking_timeout = 10.0;         ///< `--blocking-timeout`: BlockingDetector timeout
  bool override_logging = true;            ///< set up logging at the first start
  ColorMode color = ColorMode::automatic;  ///< `--no-color` makes it `never`
  LogFormat log_format = LogFormat::text;  ///< `--log-format text|json`
  /// Keep running until stopped or signalled; off: stop once the services have started.
  bool daemon = true;
  /// `--shutdown-timeout`: bound of the whole graceful stop; past it the worker logs what still
  /// runs and exits `exit_shutdown_overrun`. Below Kubernetes' default grace period (30 s) and
  /// systemd's default TimeoutStopSec (90 s), so the worker names what hangs before their SIGKILL.
  Seconds shutdown_deadline = 25.0;
  /// Printed by `--version`: the program's own version, mode-cpp's by default.
  std::string version = MODE_VERSION_STRING;
  /// Where `say` writes (Mode's `stdout=`), and `--help`/`--version`; null: the process's stdout.
  /// It must outlive the worker's run, and is written from the loop thread only.
  std::ostream* stdout_stream = nullptr;
  /// Where `carp`, the SIGINT banner, the SIGUSR1 report and command-line errors go (Mode's
  /// `stderr=`); null: the process's stderr. Same rules as `stdout_stream`. The log goes where
  /// the logging options say, not here (as in Mode).
  std::ostream* stderr_stream = nullptr;
};

/// Exit statuses of `execute`/`execute_from_commandline`.
enum ExitStatus : int {
  exit_ok = 0,                ///< stopped cleanly
  exit_failure = 1,           ///< a service crashed, or the start failed (as in Mode)
  exit_usage = 2,             ///< bad command line
  exit_shutdown_overrun = 3,  ///< the stop passed `shutdown_deadline`: forced exit
  exit_out_of_memory = 71,    ///< the crash or the start failure was std::bad_alloc (EX_OSERR)
  exit_sighup = 129,          ///< second SIGHUP while stopping: forced exit
  exit_sigint = 130,          ///< second SIGINT while stopping: forced exit
  exit_sigterm = 143,         ///< second SIGTERM while stopping: forced exit
};

/// Adds the Worker's flags (`--loglevel`, `--debug`, `--shutdown-timeout`...) to `app`, each
/// writing into `options`, which must outlive the parse. `--version` prints `options.version`.
void add_worker_flags(CLI::App& app, WorkerOptions& options);

/// Parses `argv` with `app` (the Worker's flags, and any of the program's own) into `options`,
/// then checks what no single flag can (the console's address against
/// `--console-allow-remote`). Returns none when the program should run; else the status to exit
/// with: `exit_ok` once `--help` or `--version` printed to `options.stdout_stream`, `exit_usage`
/// once the error and a hint printed to `options.stderr_stream` (null streams: the process's).
/// A bad command line never throws.
[[nodiscard]] std::optional<int> parse_worker_commandline(CLI::App& app, WorkerOptions& options,
                                                          int argc, const char* const* argv);

}  // namespace mode
