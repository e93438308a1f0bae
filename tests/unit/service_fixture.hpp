// What the Service tests share: a service that records its callbacks, a small tree, the fixture.
#pragma once

#include <mode/service.hpp>
#include <mode/testing.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

// A named namespace: one ServiceTest class for every file of the suite (gtest requires it).
namespace service_test {

using mode::awaitable;
using mode::Service;
using mode::testing::LogCapture;
using mode::testing::run;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using namespace std::chrono_literals;

/// Records each callback as "<label>.<callback>" in the capture, between the log lines.
class Recorder : public Service {
 public:
  Recorder(LogCapture& cap, std::string name) : cap_(cap), name_(std::move(name)) {}
  std::string label() const override { return name_; }

 protected:
  void on_init() override { note("on_init"); }
  awaitable<void> on_first_start() override {
    note("on_first_start");
    co_return;
  }
  awaitable<void> on_start() override {
    note("on_start");
    co_return;
  }
  awaitable<void> on_started() override {
    note("on_started");
    co_return;
  }
  awaitable<void> on_stop() override {
    note("on_stop");
    co_return;
  }
  awaitable<void> on_shutdown() override {
    note("on_shutdown");
    co_return;
  }
  awaitable<void> on_restart() override {
    note("on_restart");
    co_return;
  }
  void note(std::string_view what) { cap_.record(name_ + "." + std::string(what)); }

  LogCapture& cap_;
  std::string name_;
};

struct Tree {
  explicit Tree(LogCapture& cap)
      : root(std::make_shared<Recorder>(cap, "Root")),
        a(std::make_shared<Recorder>(cap, "A")),
        b(std::make_shared<Recorder>(cap, "B")),
        c(std::make_shared<Recorder>(cap, "C")) {
    b->add_dependency(c);
    root->add_dependency(b);
    root->add_dependency(a);
  }
  std::shared_ptr<Recorder> root, a, b, c;
};

class ServiceTest : public ::testing::Test {
 protected:
  boost::asio::io_context ctx;
  LogCapture cap;
};

struct Boom : std::runtime_error {
  Boom() : std::runtime_error("boom") {}
};

// Awaitables on a real timer, for the waits and the futures.
inline awaitable<int> answer_after(boost::asio::steady_timer::duration d, int value) {
  const auto ex = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer t(ex, d);
  co_await t.async_wait(mode::use_awaitable);
  co_return value;
}

inline awaitable<int> fail_after(boost::asio::steady_timer::duration d) {
  const auto ex = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer t(ex, d);
  co_await t.async_wait(mode::use_awaitable);
  throw Boom();
}

inline awaitable<void> count_until_cancelled(int* n) {
  for (;;) {
    const auto ex = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer t(ex, 1ms);
    co_await t.async_wait(mode::use_awaitable);
    ++*n;
  }
}

// Waits forever, ignoring cancellation, as badly written code does.
inline awaitable<void> hang_ignoring_cancellation() {
  const auto ex = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer t(ex, 1h);
  for (;;) {
    try {
      co_await t.async_wait(mode::use_awaitable);
    } catch (...) {
    }
    co_await boost::asio::this_coro::reset_cancellation_state();
  }
}

}  // namespace service_test
