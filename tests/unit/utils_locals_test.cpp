// Tests of mode/utils/locals.hpp (LocalStack, this_chain) against BEHAVIOUR.md §17.2 and the rule
// in the header: one stack per coroutine chain.
#include <mode/utils/locals.hpp>

// The header under test stays first and alone: it must compile on its own.
#include <mode/testing.hpp>
#include <mode/utils/locks.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;

using mode::awaitable;
using mode::ChainId;
using mode::Event;
using mode::LocalStack;
using mode::LocalStackEmpty;
using mode::this_chain;

awaitable<ChainId> nested_chain_id(int depth) {
  if (depth == 0) co_return co_await this_chain();
  co_return co_await nested_chain_id(depth - 1);
}

TEST(ThisChain, SameInNestedCoroutinesOfOneChain) {
  asio::io_context ctx;
  const auto [outer, inner] =
      mode::testing::run(ctx, []() -> awaitable<std::pair<ChainId, ChainId>> {
        const ChainId a = co_await this_chain();
        const ChainId b = co_await nested_chain_id(5);
        co_return std::pair{a, b};
      }());
  EXPECT_TRUE(outer);
  EXPECT_EQ(outer, inner);
}

TEST(ThisChain, DiffersBetweenConcurrentChains) {
  asio::io_context ctx;
  std::vector<ChainId> ids;
  Event hold;
  auto chain = [](std::vector<ChainId>* out, Event* hold) -> awaitable<void> {
    out->push_back(co_await this_chain());
    co_await hold->wait();  // both alive at once: their entry frames cannot be shared
  };
  int finished = 0;
  for (int i = 0; i < 2; ++i)
    asio::co_spawn(ctx, chain(&ids, &hold), [&](std::exception_ptr e) {
      EXPECT_FALSE(e);
      ++finished;
    });
  mode::testing::poll(ctx);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_NE(ids[0], ids[1]);
  hold.set();
  mode::testing::run_until(ctx, [&] { return finished == 2; });
}

TEST(LocalStack, PushWithScopeGuardPopsAtScopeEnd) {
  asio::io_context ctx;
  LocalStack<int> stack;
  mode::testing::run(ctx, [](LocalStack<int>* s) -> awaitable<void> {
    {
      auto outer = co_await s->push(1);
      {
        auto inner = co_await s->push(2);
        const std::optional<int> top = co_await s->top();
        EXPECT_EQ(top, 2);
        const std::vector<int> all = co_await s->stack();
        EXPECT_EQ(all, (std::vector<int>{1, 2}));
      }
      const std::optional<int> top = co_await s->top();
      EXPECT_EQ(top, 1);
      const std::size_t n = co_await s->size();
      EXPECT_EQ(n, 1u);
    }
    const std::optional<int> top = co_await s->top();
    EXPECT_FALSE(top);
    const std::vector<int> all = co_await s->stack();
    EXPECT_TRUE(all.empty());
  }(&stack));
  EXPECT_EQ(stack.chains(), 0u);  // an emptied stack is forgotten
}

TEST(LocalStack, GuardResetAndMovePopOnce) {
  asio::io_context ctx;
  LocalStack<std::string> stack;
  mode::testing::run(ctx, [](LocalStack<std::string>* s) -> awaitable<void> {
    co_await s->push_without_automatic_cleanup("base");
    auto g = co_await s->push("a");
    auto moved = std::move(g);
    g.reset();  // moved-from: pops nothing
    const std::size_t before = co_await s->size();
    EXPECT_EQ(before, 2u);
    moved.reset();
    moved.reset();  // idempotent
    const std::size_t after = co_await s->size();
    EXPECT_EQ(after, 1u);
    const std::string base = co_await s->pop();
    EXPECT_EQ(base, "base");
  }(&stack));
}

TEST(LocalStack, PushWithoutAutomaticCleanupAndPop) {
  asio::io_context ctx;
  LocalStack<int> stack;
  mode::testing::run(ctx, [](LocalStack<int>* s) -> awaitable<void> {
    co_await s->push_without_automatic_cleanup(1);
    co_await s->push_without_automatic_cleanup(2);
    const int two = co_await s->pop();
    const int one = co_await s->pop();
    EXPECT_EQ(two, 2);
    EXPECT_EQ(one, 1);
  }(&stack));
  EXPECT_EQ(stack.chains(), 0u);
}

TEST(LocalStack, PopOnEmptyThrowsAClearError) {
  asio::io_context ctx;
  LocalStack<int> stack;
  try {
    mode::testing::run(ctx,
                       [](LocalStack<int>* s) -> awaitable<void> { co_await s->pop(); }(&stack));
    FAIL() << "pop on an empty stack returned";
  } catch (const LocalStackEmpty& e) {
    EXPECT_STREQ(e.what(), "LocalStack::pop: the stack of this coroutine chain is empty");
  }
}

// Two chains interleave at an Event: each sees only its own pushes.
awaitable<void> interleaved(LocalStack<std::string>* s, std::string name, Event* mine, Event* other,
                            std::vector<std::string>* seen) {
  auto guard = co_await s->push(name);
  other->set();
  co_await mine->wait();
  auto guard2 = co_await s->push(name + "2");
  other->set();
  const std::vector<std::string> all = co_await s->stack();
  for (const std::string& item : all) seen->push_back(name + ":" + item);
}

TEST(LocalStack, ConcurrentChainsDoNotSeeEachOthersPushes) {
  asio::io_context ctx;
  LocalStack<std::string> stack;
  Event a_go;
  Event b_go;
  std::vector<std::string> seen;
  int finished = 0;
  auto done = [&](std::exception_ptr e) {
    EXPECT_FALSE(e);
    ++finished;
  };
  asio::co_spawn(ctx, interleaved(&stack, "a", &a_go, &b_go, &seen), done);
  asio::co_spawn(ctx, interleaved(&stack, "b", &b_go, &a_go, &seen), done);
  mode::testing::run_until(ctx, [&] { return finished == 2; });
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::string>{"a:a", "a:a2", "b:b", "b:b2"}));
  EXPECT_EQ(stack.chains(), 0u);
}

// A child co_spawned from a chain starts inline inside its parent's turn, yet is its own chain.
TEST(LocalStack, ChildChainStartsEmptyAndLeavesTheParentAlone) {
  asio::io_context ctx;
  LocalStack<int> stack;
  mode::testing::run(ctx, [](LocalStack<int>* s) -> awaitable<void> {
    auto guard = co_await s->push(1);
    std::optional<int> child_saw_before = 99;
    bool child_done = false;
    const auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(
        ex,
        [](LocalStack<int>* s, std::optional<int>* saw) -> awaitable<void> {
          *saw = co_await s->top();
          co_await s->push_without_automatic_cleanup(7);
          const int seven = co_await s->pop();
          EXPECT_EQ(seven, 7);
        }(s, &child_saw_before),
        [&child_done](std::exception_ptr e) {
          EXPECT_FALSE(e);
          child_done = true;
        });
    while (!child_done) co_await asio::post(ex, mode::use_awaitable);
    EXPECT_FALSE(child_saw_before);
    const std::vector<int> mine = co_await s->stack();
    EXPECT_EQ(mine, (std::vector<int>{1}));
  }(&stack));
}

// Bare Asio waits (a steady_timer here) keep the chain's stack: nothing depends on mode's waits.
TEST(LocalStack, SurvivesBareAsioWaits) {
  asio::io_context ctx;
  LocalStack<int> stack;
  mode::testing::run(ctx, [](LocalStack<int>* s) -> awaitable<void> {
    auto guard = co_await s->push(42);
    const auto ex = co_await asio::this_coro::executor;
    co_await asio::post(ex, mode::use_awaitable);
    asio::steady_timer timer(ex);
    timer.expires_at(asio::steady_timer::clock_type::now());  // due at once: no real sleep
    co_await timer.async_wait(mode::use_awaitable);
    const std::optional<int> top = co_await s->top();
    EXPECT_EQ(top, 42);
  }(&stack));
}

TEST(LocalStack, SynchronousFormsWithAChainId) {
  asio::io_context ctx;
  LocalStack<int> stack;
  mode::testing::run(ctx, [](LocalStack<int>* s) -> awaitable<void> {
    const ChainId chain = co_await this_chain();
    {
      auto g = s->push(chain, 5);
      EXPECT_EQ(s->top(chain), 5);
      EXPECT_EQ(s->size(chain), 1u);
      EXPECT_TRUE(s->remove(chain, 5));
      EXPECT_FALSE(s->remove(chain, 5));
    }  // the guard finds nothing left to pop: no error
    EXPECT_THROW(s->pop(chain), LocalStackEmpty);
    EXPECT_THROW((void)s->push(ChainId{}, 1), std::invalid_argument);
  }(&stack));
}

}  // namespace
