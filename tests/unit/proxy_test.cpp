// Tests of mode/proxy.hpp: Proxy (lazy, cached or not), maybe_evaluate, ServiceProxy forwarding.
#include <mode/proxy.hpp>
#include <mode/service.hpp>
#include <mode/testing.hpp>

#include <boost/asio/io_context.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using mode::awaitable;
using mode::Proxy;
using mode::Service;
using mode::ServiceProxy;
using mode::testing::run;

TEST(Proxy, EvaluatesOnEveryUseWithoutCache) {
  int calls = 0;
  Proxy<int> p([&] { return ++calls; });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(p.evaluate(), 1);
  EXPECT_EQ(*p, 2);
  EXPECT_EQ(calls, 2);
  EXPECT_FALSE(p.evaluated());
  EXPECT_FALSE(p.cache());
}

TEST(Proxy, EvaluatesOnceWithCache) {
  int calls = 0;
  Proxy<int> p([&] { return ++calls; }, true);
  EXPECT_FALSE(p.evaluated());
  EXPECT_EQ(p.evaluate(), 1);
  EXPECT_EQ(p.evaluate(), 1);
  EXPECT_TRUE(p.evaluated());
  EXPECT_EQ(calls, 1);
  // Copies share the cache.
  const Proxy<int> copy = p;
  EXPECT_EQ(copy.evaluate(), 1);
  EXPECT_EQ(calls, 1);
}

TEST(Proxy, ArrowReachesMembers) {
  int calls = 0;
  Proxy<std::string> p([&] {
    ++calls;
    return std::string("hello");
  });
  EXPECT_EQ(p->size(), 5U);
  EXPECT_EQ(calls, 1);
  Proxy cached([&] { return std::vector<int>{1, 2, 3}; }, true);
  cached->push_back(4);
  EXPECT_EQ(cached->size(), 4U);
}

TEST(Proxy, AFactoryThatThrowsIsCalledAgainNextTime) {
  int calls = 0;
  Proxy<int> p(
      [&] {
        if (++calls == 1) throw std::runtime_error("first");
        return 42;
      },
      true);
  EXPECT_THROW(p.evaluate(), std::runtime_error);
  EXPECT_FALSE(p.evaluated());
  EXPECT_EQ(p.evaluate(), 42);
  EXPECT_EQ(calls, 2);
}

TEST(Proxy, EmptyFactoryThrows) {
  EXPECT_THROW(Proxy<int>(nullptr), std::invalid_argument);
  EXPECT_THROW(Proxy<int>(std::function<int()>(), true), std::invalid_argument);
}

TEST(MaybeEvaluate, EvaluatesProxiesAndPassesOtherValues) {
  Proxy<int> p([] { return 7; });
  EXPECT_EQ(mode::maybe_evaluate(p), 7);
  EXPECT_EQ(mode::maybe_evaluate(3), 3);
  const std::string s = "x";
  EXPECT_EQ(&mode::maybe_evaluate(s), &s);
}

class Actual : public Service {
 public:
  int started_calls = 0;

 protected:
  awaitable<void> on_start() override {
    ++started_calls;
    co_return;
  }
};

class MyServiceProxy : public ServiceProxy {
 public:
  int made = 0;

 protected:
  ServicePtr make_service() override {
    ++made;
    return std::make_shared<Actual>();
  }
};

TEST(ServiceProxy, CreatesTheServiceOnFirstUse) {
  MyServiceProxy proxy;
  EXPECT_FALSE(proxy.has_service());
  EXPECT_EQ(proxy.made, 0);
  EXPECT_FALSE(proxy.started());
  EXPECT_TRUE(proxy.has_service());
  EXPECT_EQ(proxy.state(), "init");
  EXPECT_EQ(proxy.service().get(), proxy.service().get());
  EXPECT_EQ(proxy.made, 1);
}

TEST(ServiceProxy, ForwardsTheLifecycle) {
  boost::asio::io_context ctx;
  MyServiceProxy proxy;
  auto& actual = dynamic_cast<Actual&>(*proxy.service());
  auto child = proxy.add_dependency(std::make_shared<Service>());
  run(ctx, proxy.start());
  EXPECT_TRUE(proxy.started());
  EXPECT_EQ(proxy.state(), "running");
  EXPECT_EQ(actual.started_calls, 1);
  EXPECT_TRUE(child->started());
  EXPECT_FALSE(run(ctx, proxy.maybe_start()));
  EXPECT_FALSE(proxy.should_stop());
  run(ctx, proxy.stop());
  EXPECT_EQ(proxy.state(), "shutdown");
  EXPECT_EQ(child->state(), "shutdown");
  run(ctx, proxy.wait_until_stopped());
  EXPECT_EQ(&proxy.beacon(), &actual.beacon());
}

TEST(ServiceProxy, ForwardsCrash) {
  boost::asio::io_context ctx;
  ServiceProxy proxy([] { return std::make_shared<Actual>(); });
  run(ctx, proxy.start());
  proxy.crash(std::make_exception_ptr(std::runtime_error("boom")));
  EXPECT_TRUE(proxy.crashed());
  EXPECT_TRUE(proxy.should_stop());
  EXPECT_EQ(proxy.crash_reason(), proxy.service()->crash_reason());
  EXPECT_NE(proxy.crash_reason(), nullptr);
  run(ctx, proxy.stop());
}

TEST(ServiceProxy, LabelIsTheProxyClassName) {
  MyServiceProxy proxy;
  EXPECT_EQ(proxy.label(), "MyServiceProxy");
  EXPECT_EQ(proxy.shortlabel(), "MyServiceProxy");
  EXPECT_FALSE(proxy.has_service());
}

// Mode's ServiceProxy logs as the proxy's class, at the underlying service's depth.
TEST(ServiceProxy, LogPrefixIsTheProxyClassAtTheServiceDepth) {
  mode::testing::LogCapture cap;
  MyServiceProxy proxy;
  proxy.log.info("before the service exists");
  EXPECT_FALSE(proxy.has_service());
  auto parent = std::make_shared<Service>();
  auto grandparent = std::make_shared<Service>();
  grandparent->add_dependency(parent);
  parent->add_dependency(proxy.service());
  proxy.log.warning("at depth {}", proxy.beacon().depth());
  EXPECT_THAT(cap.lines(), ::testing::ElementsAre("[^MyServiceProxy]: before the service exists",
                                                  "[^--MyServiceProxy]: at depth 3"));
}

TEST(ServiceProxy, BadFactoriesThrow) {
  EXPECT_THROW(ServiceProxy(nullptr), std::invalid_argument);
  int calls = 0;
  ServiceProxy proxy([&]() -> ServiceProxy::ServicePtr {
    if (++calls == 1) return nullptr;
    return std::make_shared<Actual>();
  });
  EXPECT_THROW(proxy.service(), std::logic_error);
  EXPECT_FALSE(proxy.has_service());
  EXPECT_NE(proxy.service(), nullptr);
}

}  // namespace
