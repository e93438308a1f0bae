// Tests of mode/diag.hpp: flags, transition times and transition_with.
#include <mode/diag.hpp>
#include <mode/testing.hpp>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

namespace asio = boost::asio;
using mode::awaitable;
using mode::Diag;

TEST(Diag, SetAndUnsetFlags) {
  Diag diag;
  EXPECT_TRUE(diag.flags().empty());
  EXPECT_FALSE(diag.has_flag("FLUSHING"));
  diag.set_flag("FLUSHING");
  diag.set_flag("COMMITTING");
  EXPECT_TRUE(diag.has_flag("FLUSHING"));
  EXPECT_EQ(diag.flags(), (Diag::Flags{"COMMITTING", "FLUSHING"}));
  diag.set_flag("FLUSHING");  // a set: no duplicates
  EXPECT_EQ(diag.flags().size(), 2u);
  diag.unset_flag("FLUSHING");
  EXPECT_FALSE(diag.has_flag("FLUSHING"));
  EXPECT_EQ(diag.flags(), Diag::Flags{"COMMITTING"});
  diag.unset_flag("NEVER_SET");  // harmless
  EXPECT_EQ(diag.flags().size(), 1u);
}

TEST(Diag, SetFlagRecordsTheTransitionTimeAndUnsetKeepsIt) {
  Diag diag;
  const auto before = std::chrono::steady_clock::now();
  diag.set_flag("A");
  const auto after = std::chrono::steady_clock::now();
  ASSERT_EQ(diag.last_transition().count("A"), 1u);
  const auto set_at = diag.last_transition().find("A")->second;
  EXPECT_LE(before, set_at);
  EXPECT_LE(set_at, after);
  diag.unset_flag("A");
  ASSERT_EQ(diag.last_transition().count("A"), 1u);
  EXPECT_EQ(diag.last_transition().find("A")->second, set_at);
  diag.set_flag("A");
  EXPECT_GE(diag.last_transition().find("A")->second, set_at);
  EXPECT_EQ(diag.last_transition().count("B"), 0u);
}

awaitable<int> check_flag_then_return(Diag* diag, int value) {
  EXPECT_TRUE(diag->has_flag("WORKING"));
  co_return value;
}

awaitable<void> check_flag(Diag* diag) {
  EXPECT_TRUE(diag->has_flag("WORKING"));
  co_return;
}

awaitable<int> throw_while_flagged(Diag* diag) {
  EXPECT_TRUE(diag->has_flag("WORKING"));
  throw std::runtime_error("failed");
  co_return 0;
}

TEST(Diag, TransitionWithSetsTheFlagWhileRunningAndReturnsTheValue) {
  asio::io_context ctx;
  Diag diag;
  const int v =
      mode::testing::run(ctx, diag.transition_with("WORKING", check_flag_then_return(&diag, 7)));
  EXPECT_EQ(v, 7);
  EXPECT_FALSE(diag.has_flag("WORKING"));
  EXPECT_EQ(diag.last_transition().count("WORKING"), 1u);
}

TEST(Diag, TransitionWithVoid) {
  asio::io_context ctx;
  Diag diag;
  mode::testing::run(ctx, diag.transition_with("WORKING", check_flag(&diag)));
  EXPECT_FALSE(diag.has_flag("WORKING"));
}

TEST(Diag, TransitionWithUnsetsTheFlagOnError) {
  asio::io_context ctx;
  Diag diag;
  EXPECT_THROW(mode::testing::run(ctx, diag.transition_with("WORKING", throw_while_flagged(&diag))),
               std::runtime_error);
  EXPECT_FALSE(diag.has_flag("WORKING"));
}

TEST(Diag, TransitionWithIsLazyUntilAwaited) {
  asio::io_context ctx;
  Diag diag;
  awaitable<int> pending = diag.transition_with("WORKING", check_flag_then_return(&diag, 1));
  EXPECT_FALSE(diag.has_flag("WORKING"));
  EXPECT_EQ(mode::testing::run(ctx, std::move(pending)), 1);
}

TEST(Diag, TransitionWithKeepsOtherFlags) {
  asio::io_context ctx;
  Diag diag;
  diag.set_flag("OTHER");
  mode::testing::run(ctx, diag.transition_with("WORKING", check_flag(&diag)));
  EXPECT_EQ(diag.flags(), Diag::Flags{"OTHER"});
}

}  // namespace
