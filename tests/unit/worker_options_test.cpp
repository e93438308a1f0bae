// Tests of mode/worker_options.hpp: the Worker's command line parsed without a Worker.
#include <mode/worker_options.hpp>

#include <CLI/CLI.hpp>
#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

// The parse of `args` (after the program's name) into fresh options, with what it printed.
struct Parsed {
  std::optional<int> status;
  mode::WorkerOptions options;
  std::ostringstream out;
  std::ostringstream err;

  explicit Parsed(std::vector<const char*> args) {
    args.insert(args.begin(), "worker");
    options.stdout_stream = &out;
    options.stderr_stream = &err;
    CLI::App app;
    mode::add_worker_flags(app, options);
    status =
        mode::parse_worker_commandline(app, options, static_cast<int>(args.size()), args.data());
  }
};

TEST(WorkerOptions, AGoodCommandLineFillsTheOptionsAndRuns) {
  const Parsed p({"--loglevel", "info", "--shutdown-timeout", "1/m", "--log-format", "JSON",
                  "--web-port", "8080", "--console-bind", "::1", "--no-color"});
  EXPECT_EQ(p.status, std::nullopt) << p.err.str();
  EXPECT_EQ(p.options.loglevel, "info");
  EXPECT_DOUBLE_EQ(p.options.shutdown_deadline.count(), 1.0 / 60);
  EXPECT_EQ(p.options.log_format, mode::LogFormat::json);
  EXPECT_EQ(p.options.web_port, 8080);
  EXPECT_EQ(p.options.console_bind, "::1");
  EXPECT_EQ(p.options.color, mode::ColorMode::never);
}

TEST(WorkerOptions, ABadValueIsAUsageErrorNamingIt) {
  for (const char* arg :
       {"--loglevel=loud", "--shutdown-timeout=-1", "--blocking-timeout=inf",
        "--web-host=localhost", "--log-format=xml", "--console-port=70000", "--no-such-flag"}) {
    const Parsed p({arg});
    EXPECT_EQ(p.status, mode::exit_usage) << arg;
    EXPECT_NE(p.err.str().find("--help"), std::string::npos) << arg << ": " << p.err.str();
  }
}

TEST(WorkerOptions, ARemoteConsoleNeedsItsFlag) {
  const Parsed refused({"--console-bind", "10.0.0.1"});
  EXPECT_EQ(refused.status, mode::exit_usage);
  EXPECT_NE(refused.err.str().find("--console-allow-remote"), std::string::npos);
  const Parsed allowed({"--console-bind", "10.0.0.1", "--console-allow-remote"});
  EXPECT_EQ(allowed.status, std::nullopt) << allowed.err.str();
}

TEST(WorkerOptions, HelpAndVersionPrintAndExitZero) {
  const Parsed help({"--help"});
  EXPECT_EQ(help.status, mode::exit_ok);
  EXPECT_NE(help.out.str().find("--shutdown-timeout"), std::string::npos);
  const Parsed version({"--version"});
  EXPECT_EQ(version.status, mode::exit_ok);
  EXPECT_NE(version.out.str().find(MODE_VERSION_STRING), std::string::npos);
}

}  // namespace
