// Tests of mode/service.hpp under injected faults: the bugs the simulation's property test found
// (tests/unit/simulation_property_test.cpp), each kept as a regression test.
#include <mode/service.hpp>
#include <mode/testing/faults.hpp>
#include <mode/testing/simulation.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

using mode::testing::Fault;
using mode::testing::FaultInjector;
using mode::testing::FaultPoint;
using mode::testing::FaultyService;
using mode::testing::Simulation;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

class ServiceFaults : public ::testing::Test {
 protected:
  std::shared_ptr<FaultyService> make(std::string name, double shutdown_timeout) {
    auto s = std::make_shared<FaultyService>(faults, std::move(name), FaultyService::Options{});
    s->shutdown_timeout = shutdown_timeout;
    return s;
  }
  std::vector<std::string> lines(std::string_view needle) const {
    std::vector<std::string> out;
    for (const std::string& l : sim.trace_lines())
      if (l.find(needle) != std::string::npos) out.push_back(l);
    return out;
  }

  FaultInjector faults{1};  // before the simulation: what hangs in it must not outlive it
  Simulation sim{1};
};

// A stop that gave up on a hung on_stop left the children it had not stopped yet running, their
// timers firing for ever after stop() returned.
TEST_F(ServiceFaults, AStopThatGivesUpStillStopsWhatTheHungStepKeptRunning) {
  auto parent = make("P", 5.0);
  auto child = make("C", 5.0);
  parent->add_dependency(child);
  faults.inject("P", FaultPoint::on_stop, Fault::hang);
  sim.run(parent->start());
  const auto began = sim.now();
  sim.run(parent->stop());
  EXPECT_EQ(sim.now() - began, 5s);
  EXPECT_THAT(lines("Stop did not finish within 5s"),
              ::testing::ElementsAre(HasSubstr("still waiting for: P in on_stop")));
  EXPECT_THAT(lines("Stopped without their stop callbacks"),
              ::testing::ElementsAre(HasSubstr("C")));
  EXPECT_EQ(child->state(), "shutdown");
  EXPECT_TRUE(child->task_names().empty());
  sim.run_for(std::chrono::hours(1));
  EXPECT_FALSE(sim.next_deadline());  // the child's timer is gone
  faults.release_hangs();
  sim.run_for(1.0);
  EXPECT_EQ(parent->state(), "shutdown");  // its own stop finished, late
}

// A second stop() waited for the first without a bound: when the first gave up, for ever.
TEST_F(ServiceFaults, ASecondStopReturnsWithinItsBoundWhenTheFirstGaveUp) {
  auto s = make("S", 5.0);
  faults.inject("S", FaultPoint::on_stop, Fault::hang);
  sim.run(s->start());
  sim.run(s->stop());
  const auto began = sim.now();
  sim.run(s->stop(), 6.0);
  EXPECT_EQ(sim.now() - began, 5s);
  faults.release_hangs();
}

// on_stop's error was dropped when the stop had given up by the time it ended (the cancellation
// that the give-up sends replaced it), and that cancellation was logged as an error.
TEST_F(ServiceFaults, OnStopsErrorIsLoggedWhenTheStopGaveUpMeanwhile) {
  auto parent = make("P", 5.0);
  auto child = make("C", 60.0);
  parent->add_dependency(child);
  faults.inject("P", FaultPoint::on_stop, Fault::throw_std);
  faults.inject("C", FaultPoint::on_stop, Fault::hang);
  sim.run(parent->start());
  sim.run(parent->stop());  // gives up on C's on_stop after 5 s
  faults.release_hangs();
  sim.run_for(1.0);
  EXPECT_THAT(lines("Error while stopping, after the stop gave up"),
              ::testing::ElementsAre(HasSubstr("fault #1 at P.on_stop")));
  for (const std::string& l : lines(" ERROR "))
    EXPECT_THAT(l, ::testing::Not(HasSubstr("Operation canceled")));
  EXPECT_EQ(child->state(), "shutdown");
  EXPECT_EQ(parent->state(), "shutdown");
}

// A restart while the start waited in a child's on_start that ignores the stop: the old start
// went on into the new life once that on_start returned ("Started." twice, its tasks twice).
TEST_F(ServiceFaults, AStartCutShortByARestartDoesNotGoOnIntoTheNextLife) {
  auto parent = make("P", 10.0);
  auto child = make("C", 10.0);
  parent->add_dependency(child);
  faults.inject("C", FaultPoint::on_start, Fault::slow);  // 9 s, on the loop's clock
  const auto first = sim.spawn(parent->start());
  sim.run_for(1.0);
  sim.run(parent->restart());
  sim.run_for(60.0);
  EXPECT_TRUE(first->finished);
  int starting = 0;
  int started = 0;
  for (const mode::ServiceEvent& e : parent->events()) {
    starting += e.kind == mode::ServiceEventKind::starting;
    started += e.kind == mode::ServiceEventKind::started;
  }
  EXPECT_EQ(starting, 2);
  EXPECT_EQ(started, 1);  // the second life's; the first never finished starting
  EXPECT_EQ(parent->task_names(), (std::vector<std::string>{"work", "tick"}));
  sim.run(parent->stop());
}

// crash() of a service that had crashed already (with its child's crash, say) dropped the new
// error without a line.
TEST_F(ServiceFaults, AnotherErrorOfACrashedServiceIsLogged) {
  auto s = make("S", 5.0);
  sim.run(s->start());
  s->crash(std::make_exception_ptr(std::runtime_error("first")));
  s->crash(std::make_exception_ptr(std::runtime_error("second")));
  EXPECT_THAT(lines("Crashed again reason="), ::testing::ElementsAre(HasSubstr("second")));
  s->crash(s->crash_reason());  // the same error again: already logged
  EXPECT_EQ(lines("Crashed again reason=").size(), 1u);
  sim.run(s->stop());
}

}  // namespace
