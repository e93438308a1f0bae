#include <mode/debug.hpp>
#include <mode/testing.hpp>
#include <mode/worker.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <sstream>

namespace {

using ::testing::HasSubstr;

mode::WorkerOptions quiet_options() {
  mode::WorkerOptions o;
  o.override_logging = false;  // keep the test binary's logging as it is
  o.redirect_stdouts = false;
  o.daemon = false;
  o.shutdown_deadline = 10.0;
  return o;
}

class Ticker : public mode::Service {
 public:
  Ticker() { task(&Ticker::tick, "tick"); }

 private:
  mode::awaitable<void> tick() {
    for (;;) {
      const bool slept = co_await sleep(0.01);
      if (!slept) co_return;
    }
  }
};

class Exploding : public mode::Service {
 public:
  Exploding() { task(&Exploding::explode, "explode"); }

 private:
  mode::awaitable<void> explode() {
    const bool slept = co_await sleep(0.01);
    if (slept) throw std::runtime_error("boom");
  }
};

// Raises `signo` at the process once it has started: the worker's signal_set gets it.
class RaiseOnStart : public mode::Service {
 public:
  explicit RaiseOnStart(int signo) : signo_(signo) {}

 protected:
  mode::awaitable<void> on_started() override {
    std::raise(signo_);
    co_return;
  }

 private:
  int signo_;
};

// Asks its worker to stop while the next sibling is still starting.
class SlowStart : public mode::Service {
 public:
  mode::Worker* worker = nullptr;

 protected:
  mode::awaitable<void> on_start() override {
    worker->request_stop();
    const bool slept = co_await sleep(30.0);  // woken by the stop
    EXPECT_FALSE(slept);
  }
};

// Throws `error` from on_start.
class FailingStart : public mode::Service {
 public:
  explicit FailingStart(std::exception_ptr error) : error_(std::move(error)) {}

 protected:
  mode::awaitable<void> on_start() override {
    std::rethrow_exception(error_);
    co_return;
  }

 private:
  std::exception_ptr error_;
};

std::exception_ptr cancellation() {
  return std::make_exception_ptr(
      boost::system::system_error(boost::asio::error::operation_aborted));
}

// A worker whose own first start is cancelled.
class CancelledWorker : public mode::Worker {
 public:
  using Worker::Worker;

 protected:
  mode::awaitable<void> on_execute() override {
    std::rethrow_exception(cancellation());
    co_return;
  }
};

// Raises SIGUSR1 once started, waits for the report on `stream`, then stops the worker.
class CryOnStart : public mode::Service {
 public:
  mode::Worker* worker = nullptr;
  std::ostringstream* stream = nullptr;

 protected:
  mode::awaitable<void> on_started() override {
    std::raise(SIGUSR1);
    for (int i = 0; i < 2000 && stream->str().find("SERVICE TREE") == std::string::npos; ++i) {
      const bool slept = co_await sleep(0.01);
      if (!slept) break;
    }
    worker->request_stop();
  }
};

std::size_t index_of(const std::vector<std::string>& lines, std::string_view needle) {
  const auto it = std::find_if(lines.begin(), lines.end(), [&](const std::string& line) {
    return line.find(needle) != std::string::npos;
  });
  return it == lines.end() ? std::string::npos : static_cast<std::size_t>(it - lines.begin());
}

TEST(Worker, NoDaemonStartsStopsAndReturns0) {
  mode::testing::LogCapture capture(mode::LogLevel::info);
  mode::Worker worker(std::make_shared<Ticker>(), quiet_options());
  EXPECT_EQ(worker.execute(), mode::exit_ok);
  EXPECT_EQ(worker.state(), "shutdown");
  const std::vector<std::string> lines = capture.lines();
  const std::vector<std::string> expected = {"[^Worker]: Starting...",
                                             "[^-Ticker]: Starting...",
                                             "[^Worker]: Stopping...",
                                             "[^-Ticker]: Stopping...",
                                             "[^-Ticker]: -Stopped!",
                                             "[^Worker]: -Stopped!",
                                             "[^Worker]: Gathering service tasks...",
                                             "[^Worker]: Gathering all futures...",
                                             "[^Worker]: Closing event loop"};
  EXPECT_THAT(lines, ::testing::IsSupersetOf(expected));
}

TEST(Worker, TextFormListsItsServices) {
  mode::Worker worker(std::make_shared<Ticker>(), std::make_shared<mode::Service>(),
                      quiet_options());
  EXPECT_EQ(fmt::format("{}", worker), "<Worker: init [<Ticker: init>, <Service: init>]>");
}

TEST(Worker, CrashReturns1) {
  mode::testing::LogCapture capture(mode::LogLevel::info);
  auto options = quiet_options();
  options.daemon = true;
  mode::Worker worker(std::make_shared<Exploding>(), options);
  EXPECT_EQ(worker.execute(), mode::exit_failure);
  EXPECT_EQ(capture.matching("[^-Exploding]: Crashed reason=").size(), 1u);
  EXPECT_EQ(capture.matching("We experienced a crash!").size(), 1u);
}

TEST(Worker, SigtermStopsItInProcess) {
  mode::testing::LogCapture capture(mode::LogLevel::info);
  auto options = quiet_options();
  options.daemon = true;
  mode::Worker worker(std::make_shared<Ticker>(), std::make_shared<RaiseOnStart>(SIGTERM), options);
  EXPECT_EQ(worker.execute(), mode::exit_ok);
  EXPECT_EQ(capture.matching("[^Worker]: Stopping on signal received...").size(), 1u);
  EXPECT_EQ(worker.services()[0]->state(), "shutdown");
  // Mode's line, before the stop.
  const std::vector<std::string> lines = capture.lines();
  const std::size_t received = index_of(lines, "[^Worker]: Signal received: SIGTERM (15)");
  ASSERT_NE(received, std::string::npos);
  EXPECT_LT(received, index_of(lines, "[^Worker]: Stopping on signal received..."));
}

TEST(Worker, SighupStopsItGracefully) {
  mode::testing::LogCapture capture(mode::LogLevel::info);
  auto options = quiet_options();
  options.daemon = true;
  mode::Worker worker(std::make_shared<Ticker>(), std::make_shared<RaiseOnStart>(SIGHUP), options);
  EXPECT_EQ(worker.execute(), mode::exit_ok);
  EXPECT_EQ(capture.matching("[^Worker]: Signal received: SIGHUP (1)").size(), 1u);
  EXPECT_EQ(worker.services()[0]->state(), "shutdown");
}

// The worker's signal handlers live only while it executes.
TEST(Worker, RestoresTheSignalHandlersItReplaced) {
  struct sigaction before {};
  ::sigaction(SIGTERM, nullptr, &before);
  mode::Worker worker(std::make_shared<Ticker>(), quiet_options());
  EXPECT_EQ(worker.execute(), mode::exit_ok);
  struct sigaction after {};
  ::sigaction(SIGTERM, nullptr, &after);
  EXPECT_EQ(after.sa_handler, before.sa_handler);
}

// As in Mode, the services are the worker's children from the construction on: the tree and the
// log prefixes are right before the first start.
TEST(Worker, ConstructionLinksTheServicesUnderTheWorker) {
  mode::testing::LogCapture capture(mode::LogLevel::info);
  auto first = std::make_shared<Ticker>();
  auto second = std::make_shared<Exploding>();
  mode::Worker worker(first, second, quiet_options());
  EXPECT_EQ(first->beacon().parent().get(), &worker.beacon());
  EXPECT_EQ(second->beacon().depth(), 2u);
  const std::vector<mode::Service::ServicePtr> both{first, second};
  EXPECT_EQ(worker.dependencies(), both);
  first->log.info("before the start");
  EXPECT_EQ(capture.matching("[^-Ticker]: before the start").size(), 1u);

  auto third = std::make_shared<Ticker>();
  mode::Worker from_vector(std::vector<mode::Service::ServicePtr>{third}, quiet_options());
  EXPECT_EQ(third->beacon().parent().get(), &from_vector.beacon());
  // The start adds no second copy.
  EXPECT_EQ(from_vector.execute(), mode::exit_ok);
  EXPECT_EQ(from_vector.dependencies(), (std::vector<mode::Service::ServicePtr>{third}));
}

TEST(Worker, DebugAidsStartBeforeTheServices) {
  auto options = quiet_options();
  options.debug = true;
  options.console_port = 0;
  auto app = std::make_shared<Ticker>();
  mode::Worker worker(app, options);
  EXPECT_EQ(worker.execute(), mode::exit_ok);
  const std::vector<mode::Service::ServicePtr> expected{worker.blocking_detector(),
                                                        worker.console(), app};
  EXPECT_EQ(worker.dependencies(), expected);
}

// Mode's stdout= / stderr=: an embedded worker's output, readable without a subprocess.
TEST(Worker, WritesToTheStreamsItIsGiven) {
  std::ostringstream out;
  std::ostringstream err;
  auto options = quiet_options();
  options.stdout_stream = &out;
  options.stderr_stream = &err;
  options.daemon = true;
  auto crier = std::make_shared<CryOnStart>();
  mode::Worker worker(crier, options);
  crier->worker = &worker;
  crier->stream = &err;
  worker.say("to stdout");
  worker.carp("to stderr");
  EXPECT_EQ(out.str(), "to stdout\n");
  EXPECT_EQ(err.str(), "to stderr\n");
  EXPECT_EQ(worker.execute(), mode::exit_ok);
  EXPECT_THAT(err.str(), HasSubstr("SERVICE TREE"));  // SIGUSR1's report
  EXPECT_THAT(err.str(), HasSubstr("  CryOnStart [running]"));

  std::ostringstream help_out;
  std::ostringstream help_err;
  options.stdout_stream = &help_out;
  options.stderr_stream = &help_err;
  mode::Worker helped(std::make_shared<Ticker>(), options);
  const char* help[] = {"prog", "--help"};
  EXPECT_EQ(helped.execute_from_commandline(2, help), mode::exit_ok);
  EXPECT_THAT(help_out.str(), HasSubstr("--loglevel"));
  const char* bad[] = {"prog", "--bogus"};
  EXPECT_EQ(helped.execute_from_commandline(2, bad), mode::exit_usage);
  EXPECT_THAT(help_err.str(), HasSubstr("--bogus"));
}

TEST(Worker, QuietSaysNothingOnTheStreams) {
  std::ostringstream out;
  auto options = quiet_options();
  options.quiet = true;
  options.stdout_stream = &out;
  options.stderr_stream = &out;
  mode::Worker worker(std::make_shared<Ticker>(), options);
  worker.say("no");
  worker.carp("no");
  EXPECT_EQ(out.str(), "");
}

// Mode logs `Error: <repr>` when the start fails, then stops: the error comes first.
TEST(Worker, StartErrorIsLoggedOnceBeforeTheStop) {
  mode::testing::LogCapture capture(mode::LogLevel::info);
  mode::Worker worker(
      std::make_shared<FailingStart>(std::make_exception_ptr(std::runtime_error("nope"))),
      quiet_options());
  EXPECT_EQ(worker.execute(), mode::exit_failure);
  const std::vector<std::string> lines = capture.lines();
  EXPECT_EQ(capture.matching("[^Worker]: Error: ").size(), 1u);
  const std::size_t error = index_of(lines, "[^Worker]: Error: std::runtime_error('nope')");
  ASSERT_NE(error, std::string::npos);
  EXPECT_LT(error, index_of(lines, "[^Worker]: Stopping..."));
  EXPECT_EQ(capture.matching("We experienced a crash!").size(), 1u);
}

// A cancellation out of the start is not a crash: the worker stops and returns 0.
TEST(Worker, CancelledStartStopsAndReturns0) {
  mode::testing::LogCapture capture(mode::LogLevel::info);
  CancelledWorker worker(std::make_shared<Ticker>(), quiet_options());
  EXPECT_EQ(worker.execute(), mode::exit_ok);
  EXPECT_FALSE(worker.crashed());
  EXPECT_TRUE(capture.matching("[^Worker]: Error").empty());
  EXPECT_TRUE(capture.matching("We experienced a crash!").empty());
  EXPECT_EQ(capture.matching("[^Worker]: -Stopped!").size(), 1u);
}

TEST(Worker, CancelledChildStartStopsAndReturns0) {
  mode::testing::LogCapture capture(mode::LogLevel::info);
  mode::Worker worker(std::make_shared<FailingStart>(cancellation()), quiet_options());
  EXPECT_EQ(worker.execute(), mode::exit_ok);
  EXPECT_TRUE(capture.matching("[^Worker]: Error").empty());
  EXPECT_TRUE(capture.matching("We experienced a crash!").empty());
}

TEST(Worker, StopWhileStartingStopsEveryService) {
  auto options = quiet_options();
  options.daemon = true;
  auto first = std::make_shared<Ticker>();
  auto third = std::make_shared<Ticker>();
  auto slow = std::make_shared<SlowStart>();
  mode::Worker worker(first, slow, third, options);
  slow->worker = &worker;
  EXPECT_EQ(worker.execute(), mode::exit_ok);
  EXPECT_EQ(first->state(), "shutdown");
  EXPECT_EQ(third->state(), "init");  // never started
  EXPECT_TRUE(first->task_names().empty());
}

TEST(Worker, CryDescribesTheTree) {
  auto options = quiet_options();
  mode::Worker worker(std::make_shared<Ticker>(), options);
  const std::string report = worker.cry();
  EXPECT_THAT(report, HasSubstr("SERVICE TREE"));
  EXPECT_THAT(report, HasSubstr("Worker [init]"));
}

TEST(Worker, CommandLineErrorsReturn2) {
  mode::Worker worker(std::make_shared<Ticker>(), quiet_options());
  const char* argv[] = {"prog", "--loglevel", "loud"};
  testing::internal::CaptureStderr();
  EXPECT_EQ(worker.execute_from_commandline(3, argv), mode::exit_usage);
  EXPECT_THAT(testing::internal::GetCapturedStderr(), HasSubstr("unknown log level 'loud'"));
  EXPECT_EQ(worker.state(), "init");
}

TEST(Worker, AFlagIsNotTakenForAMissingValue) {
  std::ostringstream err;
  auto options = quiet_options();
  options.stderr_stream = &err;
  mode::Worker worker(std::make_shared<Ticker>(), options);
  const char* argv[] = {"prog", "--loglevel", "--debug"};
  EXPECT_EQ(worker.execute_from_commandline(3, argv), mode::exit_usage);
  EXPECT_THAT(err.str(), HasSubstr("expected a level name or number, got --debug"));
  EXPECT_FALSE(worker.options().debug);
  EXPECT_EQ(worker.state(), "init");
}

TEST(Worker, NonFiniteBlockingTimeoutIsAUsageError) {
  for (const char* value : {"inf", "nan", "infinity"}) {
    std::ostringstream err;
    auto options = quiet_options();
    options.stderr_stream = &err;
    mode::Worker worker(std::make_shared<Ticker>(), options);
    const char* argv[] = {"prog", "--blocking-timeout", value};
    EXPECT_EQ(worker.execute_from_commandline(3, argv), mode::exit_usage) << value;
    EXPECT_THAT(err.str(), HasSubstr("--blocking-timeout")) << value;
  }
}

}  // namespace
