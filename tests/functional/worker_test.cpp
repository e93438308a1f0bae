// The Worker as a real process: signals, exit statuses, log lines, reports.
#include <mode/version.hpp>

#include "http_client.hpp"
#include "subprocess.hpp"
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

namespace {

using mode::testing::http_get;
using mode::testing::lines_with;
using mode::testing::Subprocess;
using ::testing::HasSubstr;
using ::testing::Not;

Subprocess worker(std::vector<std::string> args = {}) {
  args.insert(args.begin(), MODE_TEST_WORKER);
  return Subprocess(std::move(args));
}

// Index of the first line containing `needle` at or after `from`, or npos.
std::size_t find_line(const std::vector<std::string>& lines, std::string_view needle,
                      std::size_t from = 0) {
  for (std::size_t i = from; i < lines.size(); ++i)
    if (lines[i].find(needle) != std::string::npos) return i;
  return std::string::npos;
}

TEST(WorkerProcess, SigtermStopsCleanlyWithTheManualsLogLines) {
  Subprocess p = worker();
  ASSERT_TRUE(p.wait_for_output("[^-App]: ready")) << p.output();
  p.kill(SIGTERM);
  const std::optional<int> status = p.wait();
  ASSERT_TRUE(status) << p.output();
  EXPECT_EQ(*status, 0) << p.output();
  const std::vector<std::string> lines = lines_with(p.err(), "]: ");
  std::size_t at = 0;
  for (const char* expected :
       {"[^Worker]: Starting...", "[^-App]: Starting...", "[^--Child]: Starting...",
        "[^-App]: ready", "[^Worker]: Signal received: SIGTERM (15)",
        "[^Worker]: Stopping on signal received...", "[^Worker]: Stopping...",
        "[^-App]: Stopping...", "[^--Child]: Stopping...", "[^--Child]: -Stopped!",
        "[^-App]: -Stopped!", "[^Worker]: -Stopped!", "[^Worker]: Gathering service tasks...",
        "[^Worker]: Closing event loop"}) {
    const std::size_t i = find_line(lines, expected, at);
    ASSERT_NE(i, std::string::npos) << "missing or out of order: " << expected << "\n" << p.err();
    at = i + 1;
  }
  // Mode's line format, without trailing spaces.
  const std::regex format(
      R"(^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}: INFO\]: \[\^Worker\]: Starting\.\.\.$)");
  EXPECT_TRUE(std::regex_match(lines.at(find_line(lines, "[^Worker]: Starting...")), format))
      << p.err();
  EXPECT_THAT(p.err(), HasSubstr(": INFO]: [^Worker]: Signal received: SIGTERM (15)"));
  // std::cout is redirected into the log at WARNING.
  EXPECT_THAT(p.err(), HasSubstr(": WARNING]: printed to stdout"));
  EXPECT_THAT(p.out(), Not(HasSubstr("printed to stdout")));
}

TEST(WorkerProcess, SigintStopsCleanly) {
  Subprocess p = worker();
  ASSERT_TRUE(p.wait_for_output("[^-App]: ready")) << p.output();
  p.kill(SIGINT);
  EXPECT_EQ(p.wait(), 0) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("[^Worker]: -Stopped!"));
  const std::vector<std::string> lines = lines_with(p.err(), "]: ");
  const std::size_t received = find_line(lines, ": INFO]: [^Worker]: Signal received: SIGINT (2)");
  ASSERT_NE(received, std::string::npos) << p.err();
  EXPECT_NE(find_line(lines, "[^Worker]: Stopping on signal received...", received + 1),
            std::string::npos)
      << p.err();
}

// SIGHUP stops the worker gracefully, as SIGTERM does (there is no config or log file to reload).
TEST(WorkerProcess, SighupStopsCleanly) {
  Subprocess p = worker();
  ASSERT_TRUE(p.wait_for_output("[^-App]: ready")) << p.output();
  p.kill(SIGHUP);
  EXPECT_EQ(p.wait(), 0) << p.output();
  const std::vector<std::string> lines = lines_with(p.err(), "]: ");
  const std::size_t received = find_line(lines, ": INFO]: [^Worker]: Signal received: SIGHUP (1)");
  ASSERT_NE(received, std::string::npos) << p.err();
  EXPECT_NE(find_line(lines, "[^Worker]: -Stopped!", received + 1), std::string::npos) << p.err();
}

TEST(WorkerProcess, SecondSighupWhileStoppingForcesExit129) {
  Subprocess p = worker({"--scenario", "hang_on_stop"});
  ASSERT_TRUE(p.wait_for_output("[^-App]: ready")) << p.output();
  p.kill(SIGHUP);
  ASSERT_TRUE(p.wait_for_output("hanging in on_stop")) << p.output();
  p.kill(SIGHUP);
  EXPECT_EQ(p.wait(), 129) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("SIGHUP received while stopping: forced exit"));
}

TEST(WorkerProcess, SecondSigintWhileStoppingForcesExit130) {
  Subprocess p = worker({"--scenario", "hang_on_stop"});
  ASSERT_TRUE(p.wait_for_output("[^-App]: ready")) << p.output();
  p.kill(SIGINT);
  ASSERT_TRUE(p.wait_for_output("hanging in on_stop")) << p.output();
  p.kill(SIGINT);
  EXPECT_EQ(p.wait(), 130) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("SIGINT received while stopping: forced exit"));
  EXPECT_THAT(p.err(), HasSubstr("still running: Worker (stopping)"));
  EXPECT_THAT(p.err(), HasSubstr("App (stopping)"));
}

TEST(WorkerProcess, SecondSigtermWhileStoppingForcesExit143) {
  Subprocess p = worker({"--scenario", "hang_on_stop"});
  ASSERT_TRUE(p.wait_for_output("[^-App]: ready")) << p.output();
  p.kill(SIGTERM);
  ASSERT_TRUE(p.wait_for_output("hanging in on_stop")) << p.output();
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 143) << p.output();
}

TEST(WorkerProcess, StopPastTheShutdownTimeoutExits3AndNamesWhatHangs) {
  Subprocess p = worker({"--scenario", "hang_on_stop", "--shutdown-timeout", "0.3"});
  ASSERT_TRUE(p.wait_for_output("[^-App]: ready")) << p.output();
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 3) << p.output();
  EXPECT_THAT(p.err(),
              HasSubstr("Stop did not finish within 0.3s; still running: Worker (stopping)"));
  EXPECT_THAT(p.err(), HasSubstr("App (stopping)"));
  // With what each one went through last.
  EXPECT_THAT(p.err(), HasSubstr("last events: "));
  EXPECT_THAT(p.err(), HasSubstr(" s ago: stopping"));
}

// Every line on stderr is one JSON object: the log shippers' format, the same records.
TEST(WorkerProcess, LogFormatJsonWritesOneObjectPerLine) {
  Subprocess p = worker({"--scenario", "crash", "--log-format", "json"});
  EXPECT_EQ(p.wait(), 1) << p.output();
  std::vector<boost::json::object> records;
  std::istringstream in(p.err());
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    const boost::json::value record = boost::json::parse(line, ec);
    ASSERT_FALSE(ec) << "not a JSON object: " << line;
    records.push_back(record.as_object());
  }
  const auto is = [&](std::string_view service, std::string_view message_start) {
    return std::find_if(records.begin(), records.end(), [&](const boost::json::object& r) {
      return r.contains("service") && r.at("service").as_string() == service &&
             std::string_view(r.at("message").as_string()).starts_with(message_start);
    });
  };
  const auto crashed = is("Worker/App", "Crashed reason=");
  ASSERT_NE(crashed, records.end()) << p.err();
  EXPECT_EQ(crashed->at("level").as_string(), "ERROR");
  EXPECT_THAT(std::string(crashed->at("message").as_string()), HasSubstr("task exploded"));
  EXPECT_NE(is("Worker", "We experienced a crash!"), records.end()) << p.err();
}

TEST(WorkerProcess, BadLogFormatIsExit2) {
  Subprocess p = worker({"--log-format", "xml"});
  EXPECT_EQ(p.wait(), 2) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("--log-format"));
}

TEST(WorkerProcess, BadShutdownTimeoutIsExit2) {
  for (const char* bad : {"0", "-1", "soon", "inf"}) {
    Subprocess p = worker({"--shutdown-timeout", bad});
    EXPECT_EQ(p.wait(), 2) << bad << ": " << p.output();
    EXPECT_THAT(p.err(), HasSubstr("--shutdown-timeout")) << bad;
  }
}

TEST(WorkerProcess, OutOfMemoryExits71) {
  Subprocess p = worker({"--scenario", "out_of_memory"});
  EXPECT_EQ(p.wait(), 71) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("Out of memory!"));
  EXPECT_THAT(p.err(), Not(HasSubstr("We experienced a crash!")));
}

// The forced exits do not need the loop: a task that holds it (sleeping without the library's
// waits, or burning the CPU) cannot make the worker unkillable.
TEST(WorkerProcess, SecondSigtermForcesExitWhileATaskHoldsTheLoopWhileStopping) {
  Subprocess p = worker({"--scenario", "spin_on_stop"});
  ASSERT_TRUE(p.wait_for_output("[^-App]: ready")) << p.output();
  p.kill(SIGTERM);
  ASSERT_TRUE(p.wait_for_output("holding the loop while stopping")) << p.output();
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(std::chrono::seconds(20)), 143) << p.output();
  EXPECT_THAT(p.err(),
              HasSubstr("[^Worker]: SIGTERM received while stopping: forced exit; still running: "
                        "unknown (the event loop did not answer"));
}

TEST(WorkerProcess, SecondSigtermForcesExitWhenTheLoopNeverSawTheFirst) {
  Subprocess p = worker({"--scenario", "spin"});
  ASSERT_TRUE(p.wait_for_output("[^-App]: holding the loop")) << p.output();
  // The first SIGTERM asks for a stop the held loop never runs; the next one forces the exit.
  // Sent until the process ends: two signals sent at once could merge into one.
  std::optional<int> status;
  for (int i = 0; i < 100 && !status; ++i) {
    p.kill(SIGTERM);
    status = p.wait(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(status, 143) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("SIGTERM received while stopping: forced exit"));
}

TEST(WorkerProcess, StopDeadlineForcesExitWhileATaskBurnsTheCpu) {
  Subprocess p = worker({"--scenario", "busy_on_stop", "--shutdown-timeout", "0.5"});
  ASSERT_TRUE(p.wait_for_output("[^-App]: ready")) << p.output();
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(std::chrono::seconds(20)), 3) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("holding the loop while stopping"));
  EXPECT_THAT(p.err(), HasSubstr(": CRITICAL]: [^Worker]: Stop did not finish within 0.5s; still "
                                 "running: unknown (the event loop did not answer"));
}

TEST(WorkerProcess, CrashExits1) {
  Subprocess p = worker({"--scenario", "crash"});
  EXPECT_EQ(p.wait(), 1) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("[^-App]: Crashed reason="));
  EXPECT_THAT(p.err(), HasSubstr("task exploded"));
  EXPECT_THAT(p.err(), HasSubstr("[^Worker]: -Stopped!"));
  EXPECT_THAT(p.err(), HasSubstr("We experienced a crash!"));
}

TEST(WorkerProcess, FailedStartExits1) {
  Subprocess p = worker({"--scenario", "start_fail"});
  EXPECT_EQ(p.wait(), 1) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("[^Worker]: Error: "));
  EXPECT_THAT(p.err(), HasSubstr("cannot start"));
  // As in Mode, the error comes before the worker's stop, not after it.
  const std::vector<std::string> lines = lines_with(p.err(), "]: ");
  const std::size_t error = find_line(lines, ": ERROR]: [^Worker]: Error: std::runtime_error");
  ASSERT_NE(error, std::string::npos) << p.err();
  const std::size_t stopping = find_line(lines, "[^Worker]: Stopping...");
  ASSERT_NE(stopping, std::string::npos) << p.err();
  EXPECT_LT(error, stopping) << p.err();
  EXPECT_EQ(lines_with(p.err(), "[^Worker]: Error: ").size(), 1u) << p.err();
}

// A cancellation out of the start is not a crash (Mode ignores a cancelled start): stop, exit 0.
TEST(WorkerProcess, CancelledStartStopsAndExits0) {
  Subprocess p = worker({"--scenario", "start_cancelled"});
  EXPECT_EQ(p.wait(), 0) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("[^Worker]: -Stopped!"));
  EXPECT_THAT(p.err(), Not(HasSubstr("[^Worker]: Error")));
  EXPECT_THAT(p.err(), Not(HasSubstr("We experienced a crash!")));
}

TEST(WorkerProcess, NoDaemonExitsOnceStarted) {
  Subprocess p = worker({"--no-daemon"});
  EXPECT_EQ(p.wait(), 0) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("[^Worker]: -Stopped!"));
}

TEST(WorkerProcess, BadFlagExits2WithAMessage) {
  Subprocess p = worker({"--bogus"});
  EXPECT_EQ(p.wait(), 2) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("--bogus"));
}

TEST(WorkerProcess, BadLogLevelExits2WithAMessage) {
  Subprocess p = worker({"--loglevel", "loud"});
  EXPECT_EQ(p.wait(), 2) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("unknown log level 'loud'"));
}

TEST(WorkerProcess, BadBlockingTimeoutExits2) {
  Subprocess p = worker({"--blocking-timeout", "soon"});
  EXPECT_EQ(p.wait(), 2) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("soon"));
  for (const char* value : {"inf", "nan", "infinity"}) {
    Subprocess q = worker({"--blocking-timeout", value});
    EXPECT_EQ(q.wait(), 2) << value << ": " << q.output();
    EXPECT_THAT(q.err(), HasSubstr("--blocking-timeout")) << value;
  }
}

// A huge (finite) timeout is accepted and must not hang the stop (the watchdog's period is
// clamped).
TEST(WorkerProcess, HugeBlockingTimeoutStillStops) {
  Subprocess p = worker({"--debug", "--blocking-timeout", "1e300", "--console-port", "0"});
  ASSERT_TRUE(p.wait_for_output("[^-App]: ready")) << p.output();
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(std::chrono::seconds(20)), 0) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("[^Worker]: -Stopped!"));
}

// A flag where a value should be is an error, not the value.
TEST(WorkerProcess, LoglevelWithoutAValueDoesNotSwallowTheNextFlag) {
  Subprocess p = worker({"--loglevel", "--no-daemon"});
  EXPECT_EQ(p.wait(), 2) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("--loglevel"));
  EXPECT_THAT(p.err(), HasSubstr("expected a level name or number, got --no-daemon"));
  Subprocess last = worker({"--loglevel"});
  EXPECT_EQ(last.wait(), 2) << last.output();
  EXPECT_THAT(last.err(), HasSubstr("--loglevel"));
}

TEST(WorkerProcess, HelpAndVersionExit0) {
  Subprocess help = worker({"--help"});
  EXPECT_EQ(help.wait(), 0);
  EXPECT_THAT(help.out(), HasSubstr("--loglevel"));
  EXPECT_THAT(help.out(), HasSubstr("--scenario"));
  Subprocess version = worker({"--version"});
  EXPECT_EQ(version.wait(), 0);
  // A program that sets no version of its own prints the library's.
  EXPECT_THAT(version.out(), HasSubstr(MODE_VERSION_STRING));
}

TEST(WorkerProcess, Sigusr1WritesTheServiceTree) {
  Subprocess p = worker();
  ASSERT_TRUE(p.wait_for_output("[^-App]: ready")) << p.output();
  p.kill(SIGUSR1);
  ASSERT_TRUE(p.wait_for_output("TASK tick")) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("SERVICE TREE"));
  EXPECT_THAT(p.err(), HasSubstr("Worker [running]"));
  EXPECT_THAT(p.err(), HasSubstr("  App [running]"));
  EXPECT_THAT(p.err(), HasSubstr("    TASK work"));
  EXPECT_THAT(p.err(), HasSubstr("    Child [running]"));
  // Where each task is suspended: the Child's tick task sleeps in a loop.
  EXPECT_THAT(p.err(), HasSubstr("      SUSPENDED sleep ("));
  EXPECT_THAT(p.err(), HasSubstr("program::Child::tick() at worker_program.cpp:"));
  // And each service's last events.
  EXPECT_THAT(p.err(), HasSubstr("    EVENT "));
  EXPECT_THAT(p.err(), HasSubstr(" s ago: started\n"));
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();
}

TEST(WorkerProcess, Sigusr2TogglesDebugLogging) {
  Subprocess p = worker();
  ASSERT_TRUE(p.wait_for_output("[^-App]: ready")) << p.output();
  p.kill(SIGUSR2);
  ASSERT_TRUE(p.wait_for_output("Debug logging on")) << p.output();
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();
  EXPECT_THAT(p.err(), HasSubstr(": DEBUG]: [^-App]: Shutting down..."));
}

TEST(WorkerProcess, LogfileReceivesTheLog) {
  char path[] = "/tmp/mode-worker-logXXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  Subprocess p = worker({"--logfile", path, "--no-daemon"});
  EXPECT_EQ(p.wait(), 0) << p.output();
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  std::remove(path);
  EXPECT_THAT(text.str(), HasSubstr(": INFO]: [^Worker]: Starting..."));
  EXPECT_THAT(text.str(), HasSubstr("[^Worker]: -Stopped!"));
  EXPECT_THAT(p.err(), Not(HasSubstr("[^Worker]: Starting...")));
}

TEST(WorkerProcess, BlockingDetectorNamesTheBlockingFunction) {
  Subprocess p = worker(
      {"--scenario", "block", "--debug", "--blocking-timeout", "0.3", "--console-port", "0"});
  ASSERT_TRUE(p.wait_for_output("block_the_loop", std::chrono::seconds(10))) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("]: [^-BlockingDetector]: Blocking detected (timeout=0.3s)"));
  ASSERT_TRUE(p.wait_for_output("[^-App]: ready")) << p.output();
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();
}

TEST(WorkerProcess, DebugModeServesTheConsoleOnLoopback) {
  Subprocess p = worker({"--debug", "--console-port", "0"});
  const std::string serving = "[^-Console]: Serving the service tree on http://127.0.0.1:";
  ASSERT_TRUE(p.wait_for_output(serving)) << p.output();
  ASSERT_TRUE(p.wait_for_output("[^-App]: ready")) << p.output();
  const std::string err = p.err();
  const auto port =
      static_cast<std::uint16_t>(std::stoi(err.substr(err.find(serving) + serving.size())));
  const std::string tree = http_get(port, "/tree");
  EXPECT_THAT(tree, HasSubstr("HTTP/1.1 200 OK"));
  EXPECT_THAT(
      tree, HasSubstr("\"tree\":{\"label\":\"Worker\",\"path\":\"Worker\",\"state\":\"running\""));
  EXPECT_THAT(tree, HasSubstr("{\"label\":\"Child\",\"path\":\"Worker/App/Child\",\"state\":"
                              "\"running\""));
  EXPECT_THAT(http_get(port, "/health"), HasSubstr("{\"status\":\"ok\"}"));
  EXPECT_THAT(http_get(port, "/graph"), HasSubstr("\"Worker\" -> \"App\""));
  EXPECT_THAT(http_get(port, "/"), HasSubstr("Content-Type: text/html"));
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();
}

TEST(WorkerProcess, ConsoleBeyondLoopbackNeedsAnExplicitFlag) {
  Subprocess p = worker({"--debug", "--console-bind", "0.0.0.0"});
  EXPECT_EQ(p.wait(), 2) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("console: 0.0.0.0 is not a loopback address; binding it needs "
                                 "allow_remote (--console-allow-remote)"));
  Subprocess bad = worker({"--console-bind", "nowhere"});
  EXPECT_EQ(bad.wait(), 2) << bad.output();
  EXPECT_THAT(bad.err(), HasSubstr("console: not an IP address: \"nowhere\""));
}

}  // namespace
