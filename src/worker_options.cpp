// The Worker's command line: its flags, their checks, and the parse.
#include <mode/console_options.hpp>
#include <mode/worker_options.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>

#include <cmath>
#include <exception>
#include <iostream>
#include <map>
#include <stdexcept>

namespace mode {

namespace {

// CLI11 check of an option in seconds: empty if `s` is a finite positive number.
std::string positive_seconds(const std::string& s) {
  try {
    const Seconds secs(s);
    if (!std::isfinite(secs.count())) return "must be a finite number of seconds";
    if (!(secs.count() > 0)) return "must be positive";
    return {};
  } catch (const std::exception& e) {
    return e.what();
  }
}

}  // namespace

void add_worker_flags(CLI::App& app, WorkerOptions& options) {
  WorkerOptions* o = &options;
  app.set_version_flag("--version", options.version);
  app.add_option("-l,--loglevel", options.loglevel,
                 "Log level: debug, info, warning, error, critical, or 10..50")
      ->check([](const std::string& s) -> std::string {
        // No level starts with a dash: `--loglevel --debug` must not take `--debug` as its value.
        if (s.starts_with('-')) return "expected a level name or number, got " + s;
        try {
          level_number(s);
          return {};
        } catch (const std::exception& e) {
          return e.what();
        }
      });
  app.add_option("-f,--logfile", options.logfile, "Append the log to this file, not stderr")
      ->check([](const std::string& s) -> std::string {
        // `--logfile --debug` must not log to a file named `--debug` (write `./-name` for that).
        if (s.starts_with('-')) return "expected a file name, got " + s;
        return {};
      });
  app.add_flag("--debug", options.debug, "Debug logging, blocking detector and console");
  app.add_flag("-q,--quiet", options.quiet, "Do not print to stdout/stderr (the log still does)");
  app.add_option_function<std::string>(
         "--blocking-timeout", [o](const std::string& s) { o->blocking_timeout = Seconds(s); },
         "Seconds the loop may block before the blocking detector warns (debug mode)")
      ->check(positive_seconds);
  app.add_option_function<std::string>(
         "--shutdown-timeout", [o](const std::string& s) { o->shutdown_deadline = Seconds(s); },
         fmt::format("Seconds the whole stop may take before the worker names what hangs and "
                     "exits {} (default {})",
                     static_cast<int>(exit_shutdown_overrun), options.shutdown_deadline.count()))
      ->check(positive_seconds);
  app.add_option("--console-port", options.console_port,
                 "Port of the introspection endpoint (debug mode; 0: any free port)");
  app.add_option("--console-bind", options.console_bind,
                 "Address of the introspection endpoint (default 127.0.0.1)");
  app.add_flag("--console-allow-remote", options.console_allow_remote,
               "Allow --console-bind to name an address beyond loopback");
  app.add_option("--web-port", options.web_port,
                 "Serve /livez, /readyz and /metrics on this port (0: any free port)");
  app.add_option("--web-host", options.web_host,
                 "Address of --web-port (default 127.0.0.1; 0.0.0.0: every interface)")
      ->check([](const std::string& s) -> std::string {
        boost::system::error_code ec;
        boost::asio::ip::make_address(s, ec);
        return ec ? "not an IP address: " + s : std::string();
      });
  app.add_flag_callback(
      "--no-color", [o] { o->color = ColorMode::never; }, "Never colour the log");
  app.add_option("--log-format", options.log_format,
                 "text (Mode's lines) or json (one object per line, for log shippers)")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, LogFormat>{{"text", LogFormat::text}, {"json", LogFormat::json}},
          CLI::ignore_case));
}

std::optional<int> parse_worker_commandline(CLI::App& app, WorkerOptions& options, int argc,
                                            const char* const* argv) {
  std::ostream& out = options.stdout_stream != nullptr ? *options.stdout_stream : std::cout;
  std::ostream& err = options.stderr_stream != nullptr ? *options.stderr_stream : std::cerr;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Prints help, the version, or the error and a hint.
    const int code = app.exit(e, out, err);
    return code == 0 ? exit_ok : exit_usage;
  }
  ConsoleOptions console;
  console.bind = options.console_bind;
  console.allow_remote = options.console_allow_remote;
  try {
    console.check();
  } catch (const std::invalid_argument& e) {
    err << e.what() << "\nRun with --help for more information.\n";
    err.flush();
    return exit_usage;
  }
  return std::nullopt;
}

}  // namespace mode
