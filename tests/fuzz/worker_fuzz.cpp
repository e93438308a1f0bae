// libFuzzer target for the Worker's command line (mode/worker_options.hpp): any argv either
// parses into options a worker can run with, or is a usage error printed to stderr; `--help`
// and `--version` print to stdout. Nothing throws, nothing crashes.
#include <mode/worker_options.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

// Options a worker runs with: what each flag's check promised.
void check_runnable(const mode::WorkerOptions& o) {
  if (!o.loglevel.empty()) (void)mode::level_number(o.loglevel);  // throws: a lost check
  for (const mode::Seconds s : {o.blocking_timeout, o.shutdown_deadline})
    check(std::isfinite(s.count()) && s.count() > 0);
  boost::system::error_code ec;
  const auto console = boost::asio::ip::make_address(o.console_bind, ec);
  check(!ec && (console.is_loopback() || o.console_allow_remote));
  boost::asio::ip::make_address(o.web_host, ec);
  check(!ec);
  check(o.log_format == mode::LogFormat::text || o.log_format == mode::LogFormat::json);
}

// Flags the fuzzer starts from, so that most inputs reach the values' checks.
constexpr const char* kFlags[] = {
    "--loglevel",
    "-l",
    "--logfile",
    "-f",
    "--debug",
    "-q",
    "--quiet",
    "--blocking-timeout",
    "--shutdown-timeout",
    "--console-port",
    "--console-bind",
    "--console-allow-remote",
    "--web-port",
    "--web-host",
    "--no-color",
    "--log-format",
    "--help",
    "--version",
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  std::vector<std::string> args{"worker"};
  while (in.remaining_bytes() > 0 && args.size() < 12) {
    if (in.ConsumeBool())
      args.emplace_back(kFlags[in.ConsumeIntegralInRange<std::size_t>(0, std::size(kFlags) - 1)]);
    else
      args.push_back(in.ConsumeRandomLengthString(40));
  }
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());

  std::ostringstream out;
  std::ostringstream err;
  mode::WorkerOptions options;
  options.stdout_stream = &out;
  options.stderr_stream = &err;
  CLI::App app;
  mode::add_worker_flags(app, options);
  const std::optional<int> status =
      mode::parse_worker_commandline(app, options, static_cast<int>(argv.size()), argv.data());
  if (!status) {
    check_runnable(options);
  } else if (*status == mode::exit_usage) {
    check(!err.str().empty());
  } else {
    check(*status == mode::exit_ok && !out.str().empty());
  }
  return 0;
}
