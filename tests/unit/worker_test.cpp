#include <mode/testing.hpp>
#include <mode/worker.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>

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

}  // namespace
