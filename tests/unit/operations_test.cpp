// Tests of mode/operations.hpp: readiness and metrics as the tree changes (the HTTP side is
// HttpEndpoint's, tested through the Console and the functional tests).
#include <mode/clock.hpp>
#include <mode/operations.hpp>
#include <mode/service.hpp>
#include <mode/testing.hpp>
#include <mode/utils/locks.hpp>
#include <mode/utils/queues.hpp>

#include <boost/asio/io_context.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace {

using mode::Service;
using mode::testing::poll;
using mode::testing::run;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// The value of the sample `series` (name and labels, as rendered) in `text`; -1 if absent.
double sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(series + ' ', 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

class Named : public Service {
 public:
  explicit Named(std::string name) : name_(std::move(name)) {}
  std::string label() const override { return name_; }

 private:
  std::string name_;
};

TEST(OperationsEndpoint, ReadinessAndMetricsFollowTheTree) {
  mode::testing::LogCapture cap;
  boost::asio::io_context ctx;
  auto root = std::make_shared<Named>("Root");
  auto ops = std::make_shared<mode::OperationsEndpoint>();
  auto first = std::make_shared<Named>("Twin");
  auto second = std::make_shared<Named>("Twin");
  root->add_dependency(ops);
  root->add_dependency(first);
  root->add_dependency(second);
  EXPECT_THAT(ops->not_ready(), Contains("Root/Twin#2: init"));

  run(ctx, root->start());
  EXPECT_THAT(ops->not_ready(), ElementsAre());
  EXPECT_NE(ops->port(), 0);
  const std::string running = ops->metrics();
  EXPECT_THAT(running,
              HasSubstr("mode_service_state{service=\"Root/Twin#2\",state=\"running\"} 1"));
  EXPECT_THAT(running, HasSubstr("mode_service_starts_total{service=\"Root/Twin\"} 1\n"));
  EXPECT_THAT(running, HasSubstr("mode_service_crashes_total{service=\"Root/Twin#2\"} 0\n"));
  EXPECT_THAT(running, HasSubstr("# TYPE mode_service_restarts_total counter\n"));

  second->crash(std::make_exception_ptr(std::runtime_error("boom")));
  EXPECT_THAT(ops->not_ready(), Contains("Root/Twin#2: crashed"));
  EXPECT_THAT(ops->metrics(), HasSubstr("mode_service_crashes_total{service=\"Root/Twin#2\"} 1\n"));
  run(ctx, root->stop());
}

TEST(OperationsEndpoint, ACrashWithoutSupervisorCountsAndTheCounterNeverGoesDown) {
  mode::testing::LogCapture cap;
  boost::asio::io_context ctx;
  auto root = std::make_shared<Named>("Root");
  auto ops = std::make_shared<mode::OperationsEndpoint>();
  auto alone = std::make_shared<Named>("Alone");
  root->add_dependency(ops);
  root->add_dependency(alone);
  run(ctx, root->start());
  ASSERT_EQ(alone->supervisor(), nullptr);
  const std::string series = "mode_service_crashes_total{service=\"Root/Alone\"}";
  EXPECT_EQ(sample(ops->metrics(), series), 0);

  alone->crash(std::make_exception_ptr(std::runtime_error("first")));
  EXPECT_EQ(sample(ops->metrics(), series), 1);
  EXPECT_EQ(sample(ops->metrics(), series), 1);  // the same crash, scraped again
  run(ctx, alone->restart());
  EXPECT_EQ(alone->state(), "running");
  EXPECT_EQ(sample(ops->metrics(), series), 1);  // no longer crashed, the crash still counts
  alone->crash(std::make_exception_ptr(std::runtime_error("second")));
  EXPECT_EQ(sample(ops->metrics(), series), 2);
  run(ctx, root->stop());
}

// A timer and an itertimer of one second each.
class Ticking : public Named {
 public:
  Ticking() : Named("Ticking") {
    timer(1.0, &Ticking::on_timer, "on_timer");
    task(&Ticking::iterate, "iterate");
  }
  int timer_runs = 0;
  int ticks = 0;

 private:
  void on_timer() { ++timer_runs; }
  mode::awaitable<void> iterate() {
    mode::Itertimer it = itertimer(1.0, 0.1, "iterate");
    for (;;) {
      const std::optional<double> t = co_await it.next();
      if (!t) co_return;
      ++ticks;
    }
  }
};

TEST(OperationsEndpoint, TimerLatenessCountsLateTimersAndItertimerTicks) {
  mode::testing::LogCapture cap;  // the late wake-ups are logged
  boost::asio::io_context ctx;
  mode::ManualClock clock;
  mode::use_clock(ctx, clock);
  auto ticking = std::make_shared<Ticking>();
  auto ops = std::make_shared<mode::OperationsEndpoint>();
  const std::string before = ops->metrics();
  EXPECT_THAT(before, HasSubstr("# TYPE mode_timer_lateness_seconds histogram\n"));
  const std::string le_2_5 = "mode_timer_lateness_seconds_bucket{le=\"2.5\"}";
  const std::string le_5 = "mode_timer_lateness_seconds_bucket{le=\"5\"}";
  const std::string count = "mode_timer_lateness_seconds_count";
  ASSERT_GE(sample(before, le_2_5), 0) << before;
  ASSERT_GE(sample(before, le_5), 0) << before;

  run(ctx, ticking->start());
  poll(ctx);
  // On time: the first tick of each, 0 s late.
  clock.advance(1.0, ctx);
  EXPECT_EQ(ticking->timer_runs, 1);
  EXPECT_EQ(ticking->ticks, 1);
  const std::string on_time = ops->metrics();
  EXPECT_EQ(sample(on_time, count), sample(before, count) + 2) << on_time;
  EXPECT_EQ(sample(on_time, le_5) - sample(on_time, le_2_5),
            sample(before, le_5) - sample(before, le_2_5));

  // Time goes on while the loop does not run (advanced with another context): both wake 3 s
  // late, in the (2.5, 5] bucket.
  boost::asio::io_context elsewhere;
  clock.advance(4.0, elsewhere);
  poll(ctx);
  EXPECT_EQ(ticking->timer_runs, 2);
  EXPECT_EQ(ticking->ticks, 2);
  const std::string late = ops->metrics();
  EXPECT_EQ(sample(late, count), sample(before, count) + 4) << late;
  EXPECT_EQ(sample(late, le_5) - sample(late, le_2_5),
            sample(before, le_5) - sample(before, le_2_5) + 2)
      << late;
  EXPECT_GE(sample(late, "mode_timer_lateness_seconds_sum"),
            sample(before, "mode_timer_lateness_seconds_sum") + 6 - 1e-6);
  run(ctx, ticking->stop());
}

TEST(OperationsEndpoint, WatchedQueuesShowDepthAndPressureUntilDestroyed) {
  boost::asio::io_context ctx;
  auto ops = std::make_shared<mode::OperationsEndpoint>();
  EXPECT_THAT(ops->metrics(), Not(HasSubstr("mode_queue_depth")));
  mode::FlowControlEvent flow(false);
  auto orders = std::make_unique<mode::FlowControlQueue<int>>(5, flow);
  mode::ThrowableQueue<int> events;  // unbounded
  ops->watch(*orders, "orders");
  ops->watch(events, "events");
  EXPECT_THROW(ops->watch(events, "orders"), std::invalid_argument);

  for (int i = 0; i < 4; ++i) orders->put_nowait(i);
  int key = 0;
  EXPECT_TRUE(orders->put_nowait_enhanced(
      4, [] {}, [] {}, &key));
  std::string text = ops->metrics();
  EXPECT_EQ(sample(text, "mode_queue_depth{queue=\"orders\"}"), 5) << text;
  EXPECT_EQ(sample(text, "mode_queue_capacity{queue=\"orders\"}"), 5);
  EXPECT_EQ(sample(text, "mode_queue_pressure_highs_total{queue=\"orders\"}"), 1);
  EXPECT_EQ(sample(text, "mode_queue_pressure_pending{queue=\"orders\"}"), 1);
  EXPECT_EQ(sample(text, "mode_queue_pressure_drops_total{queue=\"orders\"}"), 0);
  EXPECT_EQ(sample(text, "mode_queue_depth{queue=\"events\"}"), 0);
  EXPECT_EQ(sample(text, "mode_queue_capacity{queue=\"events\"}"), 0);
  EXPECT_THAT(text, HasSubstr("# TYPE mode_queue_pressure_highs_total counter\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE mode_queue_depth gauge\n"));

  // A producer held by the full queue, then one held by flow control.
  auto full = mode::testing::spawn(ctx, orders->put(5));
  poll(ctx);  // past the flow control, waiting for room
  flow.suspend();
  auto getter = mode::testing::spawn(ctx, events.get());
  poll(ctx);
  text = ops->metrics();
  EXPECT_EQ(sample(text, "mode_queue_waiting_producers{queue=\"orders\"}"), 1) << text;
  EXPECT_EQ(sample(text, "mode_queue_waiting_consumers{queue=\"events\"}"), 1);
  EXPECT_EQ(sample(text, "mode_queue_put_waits_total{queue=\"orders\",reason=\"full\"}"), 1);
  EXPECT_EQ(sample(text, "mode_queue_put_waits_total{queue=\"orders\",reason=\"flow_control\"}"),
            0);
  for (int i = 0; i < 5; ++i) orders->get_nowait();  // the 4th saw 2 items: pressure dropped
  mode::testing::run_until(ctx, [&] { return full->finished; });
  events.put_nowait(1);
  mode::testing::run_until(ctx, [&] { return getter->finished; });
  auto held = mode::testing::spawn(ctx, orders->put(6));
  poll(ctx);
  text = ops->metrics();
  EXPECT_EQ(sample(text, "mode_queue_depth{queue=\"orders\"}"), 1) << text;
  EXPECT_EQ(sample(text, "mode_queue_pressure_pending{queue=\"orders\"}"), 0);
  EXPECT_EQ(sample(text, "mode_queue_pressure_drops_total{queue=\"orders\"}"), 1);
  EXPECT_EQ(sample(text, "mode_queue_put_waits_total{queue=\"orders\",reason=\"flow_control\"}"),
            1);
  EXPECT_GT(sample(text, "mode_queue_put_wait_seconds_total{queue=\"orders\"}"), 0);
  flow.resume();
  mode::testing::run_until(ctx, [&] { return held->finished; });

  // Gone with its queue; its name is free again.
  orders.reset();
  text = ops->metrics();
  EXPECT_THAT(text, Not(HasSubstr("queue=\"orders\"")));
  EXPECT_EQ(sample(text, "mode_queue_depth{queue=\"events\"}"), 0);
  mode::FlowControlQueue<int> replacement(2);
  ops->watch(replacement, "orders");
  EXPECT_EQ(sample(ops->metrics(), "mode_queue_capacity{queue=\"orders\"}"), 2);
}

TEST(OperationsEndpoint, AHostThatIsNotAnAddressIsAClearError) {
  mode::OperationsOptions options;
  options.host = "localhost";
  EXPECT_THROW(
      {
        try {
          mode::OperationsEndpoint endpoint(options);
        } catch (const std::invalid_argument& e) {
          EXPECT_STREQ(e.what(), "not an IP address: \"localhost\"");
          throw;
        }
      },
      std::invalid_argument);
}

}  // namespace
