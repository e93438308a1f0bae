// Tests of mode::Service's tree: children, executors, the graph, the text form.
#include <mode/service.hpp>
#include <mode/testing.hpp>

#include "service_fixture.hpp"
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <vector>

namespace {

using namespace service_test;

TEST_F(ServiceTest, RuntimeDependencyStartsNowAndRemoveStopsIt) {
  auto root = std::make_shared<Service>();
  auto before = std::make_shared<Service>();
  run(ctx, root->add_runtime_dependency(before));
  EXPECT_EQ(before->state(), "init");  // root is not running: only added
  run(ctx, root->start());
  EXPECT_EQ(before->state(), "running");
  auto late = run(ctx, root->add_runtime_dependency(std::make_shared<Service>()));
  EXPECT_EQ(late->state(), "running");
  EXPECT_EQ(late->beacon().depth(), 2u);
  run(ctx, root->remove_dependency(late));
  EXPECT_EQ(late->state(), "shutdown");
  EXPECT_EQ(root->dependencies().size(), 1u);
  EXPECT_EQ(late->beacon().depth(), 1u);
  EXPECT_THROW(run(ctx, root->remove_dependency(late)), std::invalid_argument);
  run(ctx, root->stop());
}

TEST_F(ServiceTest, BadDependenciesAreRejected) {
  auto a = std::make_shared<Service>();
  auto b = a->add_dependency(std::make_shared<Service>());
  EXPECT_THROW(a->add_dependency(std::shared_ptr<Service>()), std::invalid_argument);
  EXPECT_THROW(a->add_dependency(a), std::invalid_argument);
  EXPECT_THROW(b->add_dependency(a), std::invalid_argument);
  a->add_dependency(b);
  EXPECT_EQ(a->dependencies().size(), 1u);
}

TEST_F(ServiceTest, InitDependenciesAreAddedAtFirstStartOnly) {
  struct Parent : Service {
    std::vector<ServicePtr> on_init_dependencies() override {
      ++calls;
      return {std::make_shared<Service>()};
    }
    int calls = 0;
  };
  auto p = std::make_shared<Parent>();
  run(ctx, p->start());
  ASSERT_EQ(p->dependencies().size(), 1u);
  EXPECT_EQ(p->dependencies()[0]->state(), "running");
  run(ctx, p->restart());
  EXPECT_EQ(p->calls, 1);
  EXPECT_EQ(p->dependencies().size(), 1u);
  run(ctx, p->stop());
}

TEST_F(ServiceTest, JoinServicesStartsThenStopsInReverse) {
  auto owner = std::make_shared<Recorder>(cap, "Owner");
  run(ctx, owner->start());
  cap.clear();
  auto x = std::make_shared<Recorder>(cap, "X");
  auto y = std::make_shared<Recorder>(cap, "Y");
  run(ctx, owner->join_services({x, y}));
  EXPECT_THAT(cap.matching(".on_st"), ElementsAre("X.on_start", "X.on_started", "Y.on_start",
                                                  "Y.on_started", "Y.on_stop", "X.on_stop"));
  run(ctx, owner->stop());
}

TEST_F(ServiceTest, CallsFromAnotherExecutorAreRejected) {
  auto s = std::make_shared<Service>();
  run(ctx, s->start());
  boost::asio::io_context other;
  EXPECT_THROW(run(other, s->stop()), std::invalid_argument);
  run(ctx, s->stop());
}

// A service holds its executor shared with the other services of its loop, not a copy of its
// own; one started on a strand keeps that strand.
TEST_F(ServiceTest, ServicesOnOneLoopShareOneExecutor) {
  auto a = std::make_shared<Service>();
  auto b = std::make_shared<Service>();
  run(ctx, a->start());
  run(ctx, b->start());
  EXPECT_EQ(&a->executor(), &b->executor());
  EXPECT_EQ(a->executor(), boost::asio::any_io_executor(ctx.get_executor()));
  auto on_strand = std::make_shared<Service>();
  const auto strand = boost::asio::make_strand(ctx);
  bool started = false;
  boost::asio::co_spawn(strand, on_strand->start(), [&](std::exception_ptr e) {
    EXPECT_EQ(e, nullptr);
    started = true;
  });
  mode::testing::run_until(ctx, [&] { return started; });
  EXPECT_EQ(on_strand->executor(), boost::asio::any_io_executor(strand));
  EXPECT_EQ(a->executor(), boost::asio::any_io_executor(ctx.get_executor()));
  ctx.restart();
  bool stopped = false;
  boost::asio::co_spawn(strand, on_strand->stop(), [&](std::exception_ptr) { stopped = true; });
  mode::testing::run_until(ctx, [&] { return stopped; });
  ctx.restart();
  run(ctx, a->stop());
  run(ctx, b->stop());
}

TEST_F(ServiceTest, GraphOfARunningTreeShowsEveryService) {
  Tree t(cap);
  run(ctx, t.root->start());
  std::ostringstream dot;
  t.root->beacon().as_graph().to_dot(dot);
  const std::string out = dot.str();
  EXPECT_NE(out.find("\"Root\" -> \"A\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"Root\" -> \"B\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"B\" -> \"C\""), std::string::npos) << out;
  EXPECT_EQ(t.c->beacon().path(), "Root/B/C");
  run(ctx, t.root->stop());
}

TEST_F(ServiceTest, ACycleOfBeaconsCannotBeBuiltSoACrashReturns) {
  auto a = std::make_shared<Recorder>(cap, "A");
  auto b = a->add_dependency(std::make_shared<Recorder>(cap, "B"));
  EXPECT_THROW(a->beacon().set_parent(b->beacon().shared_from_this()), std::invalid_argument);
  EXPECT_EQ(a->beacon().depth(), 1u);
  run(ctx, a->start());
  b->crash(std::make_exception_ptr(Boom()));
  EXPECT_THAT(cap.matching("Crashed"),
              ElementsAre("[^-B]: Crashed reason=service_test::Boom('boom')"));
  EXPECT_TRUE(a->crashed());
  run(ctx, a->stop());
}

TEST_F(ServiceTest, TextFormIsModesRepr) {
  auto s = std::make_shared<Recorder>(cap, "Root");
  EXPECT_EQ(fmt::format("{}", *s), "<Root: init>");
  run(ctx, s->start());
  std::ostringstream out;
  out << *s;
  EXPECT_EQ(out.str(), "<Root: running>");
  struct Informed : Service {
    std::string repr_info() const override { return "[x]"; }
  };
  EXPECT_EQ(fmt::format("{}", Informed()), "<Informed: init [x]>");
  run(ctx, s->stop());
  EXPECT_EQ(s->repr(), "<Root: shutdown>");
}

}  // namespace
