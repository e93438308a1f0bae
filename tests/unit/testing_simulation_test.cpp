// Tests of mode/testing/simulation.hpp: virtual time, determinism per seed, replay, refusals.
#include <mode/service.hpp>
#include <mode/supervisors.hpp>
#include <mode/testing/simulation.hpp>
#include <mode/threads.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using mode::awaitable;
using mode::Service;
using mode::testing::Simulation;
using mode::testing::SimulationError;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

class Ticker : public Service {
 public:
  Ticker() { timer(1.0, &Ticker::tick, "tick"); }
  int ticks = 0;

 private:
  void tick() { ++ticks; }
};

TEST(Simulation, RunsAnHourOfTimersOnVirtualTime) {
  Simulation sim(1);
  auto ticker = std::make_shared<Ticker>();
  sim.run(ticker->start());
  sim.run_for(std::chrono::hours(1));
  EXPECT_EQ(ticker->ticks, 3600);
  EXPECT_EQ(sim.elapsed(), std::chrono::hours(1));
  sim.run(ticker->stop());
  EXPECT_TRUE(sim.idle());  // the timer's deadline went with its stop
}

class Sleeper : public Service {
 public:
  Sleeper() { task(&Sleeper::nap, "nap"); }
  bool woke = false;

 private:
  awaitable<void> nap() {
    const bool slept = co_await sleep(90.0);
    woke = slept;
  }
};

TEST(Simulation, RunUntilStopsWhereThePredicateHolds) {
  Simulation sim(1);
  auto s = std::make_shared<Sleeper>();
  sim.run(s->start());
  EXPECT_FALSE(sim.run_until([&] { return s->woke; }, 60.0));
  EXPECT_EQ(sim.elapsed(), 60s);
  EXPECT_TRUE(sim.run_until([&] { return s->woke; }, 3600.0));
  EXPECT_EQ(sim.elapsed(), 90s);  // not the budget's end
  sim.run(s->stop());
}

TEST(Simulation, RunThrowsWithTheSeedWhenTheBudgetPasses) {
  Simulation sim(4242);
  auto s = std::make_shared<Sleeper>();
  sim.run(s->start());
  try {
    sim.run(s->wait_until_stopped(), 10.0);
    FAIL() << "no SimulationError";
  } catch (const SimulationError& e) {
    EXPECT_THAT(e.what(), HasSubstr("within 10"));
    EXPECT_THAT(e.what(), HasSubstr("MODE_SIM_SEED=4242 "));
  }
  sim.run(s->stop());
}

/// Crashes on every start while `storm` is set; supervised with jittered backoff.
class Flaky : public Service {
 public:
  explicit Flaky(std::string name) : name_(std::move(name)) { timer(7.0, &Flaky::fail, "fail"); }
  std::string label() const override { return name_; }

 private:
  void fail() { throw std::runtime_error(name_ + " failed"); }
  std::string name_;
};

std::string run_supervised_tree(std::uint64_t seed) {
  Simulation sim(seed);
  mode::SupervisorOptions options;
  options.backoff = mode::Backoff{.min = 0.5, .max = 8.0, .factor = 2.0, .jitter = 0.5};
  auto sup = std::make_shared<mode::OneForOneSupervisor>(
      std::vector<Service::ServicePtr>{std::make_shared<Flaky>("A"), std::make_shared<Flaky>("B")},
      options);
  sim.run(sup->start());
  sim.run_for(std::chrono::minutes(10));
  sim.run(sup->stop());
  return sim.trace();
}

TEST(Simulation, TheSameSeedGivesTheSameTraceByteForByte) {
  const std::string first = run_supervised_tree(7);
  EXPECT_THAT(first, HasSubstr("Restarting dead A"));
  EXPECT_THAT(first, HasSubstr("0x?"));  // the supervisor's label, its address masked
  EXPECT_EQ(first.find("0x5"), std::string::npos);
  EXPECT_EQ(run_supervised_tree(7), first);
  // The backoff's jitter comes from the seed: another seed restarts at other times.
  EXPECT_NE(run_supervised_tree(8), first);
}

TEST(Simulation, SupervisorJitterDrawsFromTheSeed) {
  auto delays = [](std::uint64_t seed) {
    Simulation sim(seed);
    mode::SupervisorOptions options;
    options.backoff = mode::Backoff{.min = 1.0, .max = 1.0, .factor = 1.0, .jitter = 0.5};
    auto a = std::make_shared<Flaky>("A");
    auto sup =
        std::make_shared<mode::OneForOneSupervisor>(std::vector<Service::ServicePtr>{a}, options);
    sim.run(sup->start());
    sim.run_for(std::chrono::minutes(1));
    sim.run(sup->stop());
    std::vector<double> out;
    for (const mode::ServiceEvent& e : a->events())
      if (e.kind == mode::ServiceEventKind::restart_delayed) out.push_back(e.value);
    return out;
  };
  const std::vector<double> first = delays(3);
  ASSERT_GE(first.size(), 3u);
  EXPECT_EQ(delays(3), first);
  EXPECT_NE(delays(4), first);
}

TEST(Simulation, RefusesAServiceThread) {
  Simulation sim(1);
  auto t = std::make_shared<mode::ServiceThread>();
  try {
    sim.run(t->start());
    FAIL() << "a ServiceThread started under a simulation";
  } catch (const std::logic_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot run under mode::testing::Simulation"));
  }
  EXPECT_FALSE(t->thread_alive());
}

class Spinner : public Service {
 public:
  Spinner() { task(&Spinner::spin, "spin"); }

 private:
  awaitable<void> spin() {
    const auto ex = co_await boost::asio::this_coro::executor;
    for (;;) co_await boost::asio::post(ex, mode::use_awaitable);
  }
};

TEST(Simulation, ReportsALoopThatNeverGoesIdle) {
  Simulation sim(9, Simulation::Options{.max_handlers_per_instant = 1000});
  auto s = std::make_shared<Spinner>();
  try {
    sim.run(s->start());
    sim.run_for(1.0);
    FAIL() << "no SimulationError";
  } catch (const SimulationError& e) {
    EXPECT_THAT(e.what(), HasSubstr("without going idle"));
    EXPECT_THAT(e.what(), HasSubstr("seed 9"));
  }
}

TEST(Simulation, TraceStampsVirtualTimeAndNotes) {
  Simulation sim(1);
  auto s = std::make_shared<Sleeper>();
  sim.run(s->start());
  sim.run_for(2.5);
  sim.note("halfway");
  sim.run(s->stop());
  const std::vector<std::string> lines = sim.trace_lines();
  EXPECT_THAT(lines, ::testing::Contains("+0.000000 INFO [^Sleeper]: Starting..."));
  EXPECT_THAT(lines, ::testing::Contains("+2.500000 - halfway"));
  EXPECT_THAT(lines, ::testing::Contains("+2.500000 INFO [^Sleeper]: -Stopped!"));
}

TEST(Simulation, SeedComesFromTheEnvironmentForAReplay) {
  ::unsetenv("MODE_SIM_SEED");
  EXPECT_EQ(Simulation::seed_from_env(5), 5u);
  ::setenv("MODE_SIM_SEED", "1234", 1);
  EXPECT_EQ(Simulation::seed_from_env(5), 1234u);
  ::setenv("MODE_SIM_SEED", "12x", 1);
  EXPECT_THROW(Simulation::seed_from_env(5), std::invalid_argument);
  ::unsetenv("MODE_SIM_SEED");
  const Simulation sim(77);
  EXPECT_THAT(sim.replay_command("Suite.Name"),
              ::testing::MatchesRegex("MODE_SIM_SEED=77 .+ --gtest_filter=Suite.Name"));
}

TEST(Simulation, GivesTheLoggersBackWhenDestroyed) {
  const auto def = spdlog::default_logger();
  const auto sinks = def->sinks();
  const auto level = def->level();
  {
    Simulation sim(1);
    EXPECT_EQ(def->sinks().size(), 1u);  // the trace's only
    EXPECT_EQ(def->level(), mode::LogLevel::debug);
  }
  EXPECT_EQ(def->sinks(), sinks);
  EXPECT_EQ(def->level(), level);
}

}  // namespace
