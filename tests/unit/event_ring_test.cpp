// Tests of the event ring: what each service records, in order and bounded, and where it shows.
#include <mode/detail/event_ring.hpp>
#include <mode/event_ring.hpp>
#include <mode/supervisors.hpp>
#include <mode/testing.hpp>

#include "service_fixture.hpp"
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using mode::awaitable;
using mode::Service;
using mode::ServiceEvent;
using mode::ServiceEventKind;
using mode::testing::LogCapture;
using mode::testing::run;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

struct Boom : std::runtime_error {
  Boom() : std::runtime_error("boom") {}
};

class Plain : public Service {
 public:
  explicit Plain(std::string name) : name_(std::move(name)) {}
  std::string label() const override { return name_; }
  void fail() { crash(std::make_exception_ptr(Boom())); }

 private:
  std::string name_;
};

std::vector<std::string> kinds(const std::vector<ServiceEvent>& events) {
  std::vector<std::string> out;
  for (const ServiceEvent& e : events) out.emplace_back(mode::to_string(e.kind));
  return out;
}

std::vector<std::string> kinds(const Service& s) { return kinds(s.events()); }

std::size_t count(const Service& s, ServiceEventKind kind) {
  std::size_t n = 0;
  for (const ServiceEvent& e : s.events()) n += e.kind == kind ? 1 : 0;
  return n;
}

class EventRingTest : public ::testing::Test {
 protected:
  EventRingTest() { mode::use_clock(ctx, clock); }
  ~EventRingTest() override { mode::set_event_ring_size(64); }
  void settle() { clock.advance(0.0, ctx); }

  boost::asio::io_context ctx;
  mode::ManualClock clock;
  LogCapture cap;
};

TEST_F(EventRingTest, RecordsEachStateChangeInOrderAcrossRestarts) {
  auto s = std::make_shared<Plain>("S");
  EXPECT_TRUE(s->events().empty());
  run(ctx, s->start());
  clock.advance(2.0, ctx);
  run(ctx, s->restart());
  EXPECT_THAT(kinds(*s),
              ElementsAre("starting", "started", "stopping", "stopped", "starting", "started"));
  const std::vector<ServiceEvent> events = s->events();
  EXPECT_EQ(events[2].time - events[1].time, 2s);  // the loop's clock
  run(ctx, s->stop());
}

TEST(EventRing, PlainStateChangesStayInlineUntilAnEventWithMore) {
  mode::detail::EventRing ring;
  const mode::ManualClock clock;
  for (ServiceEventKind kind : {ServiceEventKind::starting, ServiceEventKind::started,
                                ServiceEventKind::stopping, ServiceEventKind::stopped})
    ring.record(clock, kind, 0, nullptr, nullptr);
  EXPECT_EQ(ring.capacity(), 0u);  // a service that never crashes allocates nothing
  ring.record(clock, ServiceEventKind::crashed, 0, nullptr, std::make_exception_ptr(Boom()));
  EXPECT_EQ(ring.capacity(), 8u);
  EXPECT_THAT(kinds(ring.snapshot()),
              ElementsAre("starting", "started", "stopping", "stopped", "crashed"));
  EXPECT_TRUE(ring.snapshot().back().reason);
}

TEST(EventRing, InlineEventsMovedIntoASmallerRingKeepTheNewest) {
  mode::detail::EventRing ring;
  const mode::ManualClock clock;
  for (ServiceEventKind kind : {ServiceEventKind::starting, ServiceEventKind::started,
                                ServiceEventKind::stopping, ServiceEventKind::stopped})
    ring.record(clock, kind, 0, nullptr, nullptr);
  mode::set_event_ring_size(2);
  ring.record(clock, ServiceEventKind::starting, 0, nullptr, nullptr);
  mode::set_event_ring_size(64);
  EXPECT_THAT(kinds(ring.snapshot()), ElementsAre("stopped", "starting"));
}

TEST_F(EventRingTest, KeepsOnlyTheLastEventsOfItsSize) {
  mode::set_event_ring_size(6);
  auto s = std::make_shared<Plain>("S");
  for (int i = 0; i < 5; ++i) {
    run(ctx, s->start());
    clock.advance(1.0, ctx);
    run(ctx, s->stop());
    s->service_reset();
  }
  EXPECT_THAT(kinds(*s),
              ElementsAre("stopping", "stopped", "starting", "started", "stopping", "stopped"));
  const std::vector<ServiceEvent> events = s->events();
  EXPECT_EQ(events.back().time - events.front().time, 1s);
}

TEST_F(EventRingTest, SizeZeroRecordsNothing) {
  mode::set_event_ring_size(0);
  auto s = std::make_shared<Plain>("S");
  run(ctx, s->start());
  s->fail();
  EXPECT_TRUE(s->events().empty());
  EXPECT_EQ(cap.matching("Crashed reason=").size(), 1u);
  EXPECT_TRUE(cap.matching("Last events").empty());
  run(ctx, s->stop());
}

TEST_F(EventRingTest, ACrashIsRecordedAndItsLineIsFollowedByTheEventsBefore) {
  auto s = std::make_shared<Plain>("S");
  run(ctx, s->start());
  clock.advance(1.5, ctx);
  s->fail();
  const std::vector<ServiceEvent> events = s->events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events.back().kind, ServiceEventKind::crashed);
  EXPECT_THAT(mode::exception_repr(events.back().reason), HasSubstr("Boom('boom')"));
  EXPECT_EQ(cap.matching("Crashed reason=").size(), 1u);
  EXPECT_THAT(cap.matching("Last events"),
              ElementsAre("[^S]: Last events before that, oldest first:\n"
                          "  1.500 s ago: starting\n"
                          "  1.500 s ago: started"));
  run(ctx, s->stop());
}

TEST_F(EventRingTest, ARestartStormIsRecordedButLoggedOnlyThreeTimesAMinute) {
  auto a = std::make_shared<Plain>("A");
  auto sup = std::make_shared<mode::OneForOneSupervisor>(std::vector<Service::ServicePtr>{a});
  run(ctx, sup->start());
  for (int i = 0; i < 10; ++i) {
    a->fail();
    settle();
    ASSERT_EQ(a->state(), "running");
  }
  EXPECT_EQ(count(*a, ServiceEventKind::crashed), 10u);
  EXPECT_EQ(a->recent_crashes(), 10u);
  EXPECT_EQ(cap.matching("Crashed reason=").size(), Service::logged_crashes_per_minute);
  EXPECT_EQ(cap.matching("Restarting dead A").size(), Service::logged_crashes_per_minute);
  // Nor are the routine lines of those restarts: the first start, and one per logged crash.
  const auto starting_lines = [&] {
    std::size_t n = 0;
    for (const std::string& line : cap.lines(mode::LogLevel::info))
      n += line.find("A]: Starting...") != std::string::npos ? 1 : 0;
    return n;
  };
  EXPECT_EQ(starting_lines(), 1 + Service::logged_crashes_per_minute);
  // A minute later the storm is over: the next crash is logged again.
  clock.advance(61.0, ctx);
  EXPECT_EQ(a->recent_crashes(), 0u);
  a->fail();
  settle();
  EXPECT_EQ(cap.matching("Crashed reason=").size(), Service::logged_crashes_per_minute + 1);
  EXPECT_EQ(cap.matching("Restarting dead A").size(), Service::logged_crashes_per_minute + 1);
  run(ctx, sup->stop());
}

TEST_F(EventRingTest, ASupervisorRecordsTheBackoffDelayAndGivingUp) {
  auto a = std::make_shared<Plain>("A");
  mode::SupervisorOptions options;
  options.backoff =
      mode::Backoff{.min = 0.5, .max = 4.0, .factor = 2.0, .jitter = 0.0, .reset_after = 60.0};
  options.max_restarts = 1;
  options.over = 60.0;
  auto sup =
      std::make_shared<mode::OneForOneSupervisor>(std::vector<Service::ServicePtr>{a}, options);
  run(ctx, sup->start());
  a->fail();
  clock.advance(1.0, ctx);
  ASSERT_EQ(a->state(), "running");
  const std::vector<ServiceEvent> events = a->events();
  const auto delayed = std::find_if(events.begin(), events.end(), [](const ServiceEvent& e) {
    return e.kind == ServiceEventKind::restart_delayed;
  });
  ASSERT_NE(delayed, events.end());
  EXPECT_DOUBLE_EQ(delayed->value, 0.5);
  a->fail();  // the second restart within a minute: too many
  clock.advance(1.0, ctx);
  const std::vector<ServiceEvent> sup_events = sup->events();
  const auto gave_up =
      std::find_if(sup_events.begin(), sup_events.end(),
                   [](const ServiceEvent& e) { return e.kind == ServiceEventKind::gave_up; });
  ASSERT_NE(gave_up, sup_events.end());
  EXPECT_STREQ(gave_up->detail, "max restarts exceeded");
  ctx.stop();
}

TEST_F(EventRingTest, AStopPastItsBoundIsRecordedWithTheStep) {
  struct Stubborn : Service {
    Stubborn() { task(&Stubborn::stubborn, "stubborn"); }
    awaitable<void> stubborn() { return service_test::hang_ignoring_cancellation(); }
  };
  auto s = std::make_shared<Stubborn>();
  s->shutdown_timeout = 5.0;
  run(ctx, s->start());
  boost::asio::co_spawn(ctx, s->stop(), boost::asio::detached);
  clock.advance(5.1, ctx);
  bool found = false;
  for (const ServiceEvent& e : s->events()) {
    if (e.kind != ServiceEventKind::slow_stop) continue;
    found = true;
    EXPECT_STREQ(e.detail, "joining tasks");
    EXPECT_DOUBLE_EQ(e.value, 5.0);
  }
  EXPECT_TRUE(found);
  ctx.stop();
}

TEST(EventRing, ALateTimerIsRecorded) {
  // Real time: the loop is blocked past the timer's due time, so that it fires late.
  struct Ticking : Service {
    Ticking() {
      timer(0.05, &Ticking::tick, "tick");
      task(&Ticking::block, "block");
    }
    void tick() { ++ticks; }
    awaitable<void> block() {
      co_await sleep(0.04);
      std::this_thread::sleep_for(100ms);  // past the tick due at 0.05 s
    }
    int ticks = 0;
  };
  boost::asio::io_context ctx;
  auto s = std::make_shared<Ticking>();
  run(ctx, s->start());
  while (s->ticks == 0) ctx.run_one();
  const std::vector<ServiceEvent> events = s->events();
  const auto late = std::find_if(events.begin(), events.end(), [](const ServiceEvent& e) {
    return e.kind == ServiceEventKind::late_timer;
  });
  ASSERT_NE(late, events.end());
  EXPECT_STREQ(late->detail, "tick");
  EXPECT_GE(late->value, 0.015);  // at least its allowed drift
  run(ctx, s->stop());
}

TEST(EventRing, EachKindReadsAsText) {
  const mode::Clock::time_point t0{};
  const auto at = [&](ServiceEventKind kind, double value = 0, const char* detail = nullptr) {
    ServiceEvent e;
    e.time = t0;
    e.kind = kind;
    e.value = value;
    e.detail = detail;
    return mode::format_event(e, t0 + 2500ms);
  };
  EXPECT_EQ(at(ServiceEventKind::started), "2.500 s ago: started");
  EXPECT_EQ(at(ServiceEventKind::restart_delayed, 0.5), "2.500 s ago: restart_delayed 0.500 s");
  EXPECT_EQ(at(ServiceEventKind::gave_up, 0, "max restarts exceeded"),
            "2.500 s ago: gave_up: max restarts exceeded");
  EXPECT_EQ(at(ServiceEventKind::slow_stop, 5, "on_stop"),
            "2.500 s ago: slow_stop past 5.000 s in on_stop");
  EXPECT_EQ(at(ServiceEventKind::late_timer, 0.25, "tick"),
            "2.500 s ago: late_timer tick by 0.250 s");
  ServiceEvent crash;
  crash.time = t0;
  crash.kind = ServiceEventKind::crashed;
  crash.reason = std::make_exception_ptr(Boom());
  EXPECT_THAT(mode::format_event(crash, t0), HasSubstr("0.000 s ago: crashed: "));
  EXPECT_THAT(mode::format_event(crash, t0), HasSubstr("Boom('boom')"));
  const std::vector<std::string> last = mode::format_events({crash, crash, crash}, t0, 2);
  EXPECT_EQ(last.size(), 2u);
}

}  // namespace
