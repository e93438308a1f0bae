// Tests of mode/utils/aiter.hpp against BEHAVIOUR.md §16 and decision D16.
#include <mode/testing.hpp>
#include <mode/utils/aiter.hpp>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using mode::AsyncIterator;
using mode::awaitable;
using I64 = std::int64_t;
using Ints = std::vector<I64>;

template <class T>
std::vector<T> collect(AsyncIterator<T> it) {
  boost::asio::io_context ctx;
  return mode::testing::run(ctx, mode::alist(std::move(it)));
}

// A source that counts how many items were pulled from it.
struct Counted {
  std::shared_ptr<int> pulled = std::make_shared<int>(0);
  AsyncIterator<I64> it;
};

awaitable<std::optional<I64>> counted_next(AsyncIterator<I64> inner, std::shared_ptr<int> pulled) {
  std::optional<I64> item = co_await inner.next();
  if (item) ++*pulled;
  co_return item;
}

Counted counted(I64 n) {
  auto pulled = std::make_shared<int>(0);
  AsyncIterator<I64> inner = mode::arange(n);
  return {pulled, AsyncIterator<I64>([inner, pulled] { return counted_next(inner, pulled); })};
}

TEST(Arange, IsPythonsRange) {
  EXPECT_EQ(collect(mode::arange(3)), (Ints{0, 1, 2}));
  EXPECT_EQ(collect(mode::arange(2, 5)), (Ints{2, 3, 4}));
  EXPECT_EQ(collect(mode::arange(10, 0, -3)), (Ints{10, 7, 4, 1}));
  EXPECT_EQ(collect(mode::arange(0, 10, 4)), (Ints{0, 4, 8}));
  EXPECT_TRUE(collect(mode::arange(0)).empty());
  EXPECT_TRUE(collect(mode::arange(-3)).empty());
  EXPECT_TRUE(collect(mode::arange(5, 0)).empty());
}

TEST(Arange, StopsAtTheEndOfTheIntegerRange) {
  constexpr I64 max = std::numeric_limits<I64>::max();
  EXPECT_EQ(collect(mode::arange(max - 3, max, 2)), (Ints{max - 3, max - 1}));
}

TEST(Arange, ZeroStepThrows) { EXPECT_THROW(mode::arange(0, 10, 0), std::invalid_argument); }

// Python's range.count / range.index / len, for the whole range, whatever has been pulled.
TEST(Arange, CountIndexAndSize) {
  const mode::Arange evens = mode::arange(0, 10, 2);
  EXPECT_EQ(evens.size(), 5);
  EXPECT_EQ(evens.count(4), 1);
  EXPECT_EQ(evens.count(5), 0);
  EXPECT_EQ(evens.count(10), 0);
  EXPECT_EQ(evens.count(-2), 0);
  EXPECT_EQ(evens.index(0), 0);
  EXPECT_EQ(evens.index(8), 4);
  const mode::Arange down = mode::arange(10, 0, -3);  // 10, 7, 4, 1
  EXPECT_EQ(down.size(), 4);
  EXPECT_EQ(down.index(1), 3);
  EXPECT_EQ(down.count(0), 0);
  EXPECT_EQ(down.count(13), 0);
  EXPECT_EQ(mode::arange(5, 0).size(), 0);
  EXPECT_EQ(mode::arange(5, 0).count(3), 0);
  EXPECT_EQ(mode::arange(-3).size(), 0);
  const I64 max = std::numeric_limits<I64>::max();
  const I64 min = std::numeric_limits<I64>::min();
  EXPECT_EQ(mode::arange(min, max, max).size(), 3);  // min, -1, max - 1
  EXPECT_EQ(mode::arange(min, max, max).index(max - 1), 2);
  EXPECT_EQ(mode::arange(max, min, min).size(), 2);  // max, -1
  EXPECT_EQ(mode::arange(max, min, min).index(-1), 1);
}

TEST(Arange, CountAndIndexDoNotDependOnIteration) {
  const mode::Arange r = mode::arange(3);
  EXPECT_EQ(collect(r), (Ints{0, 1, 2}));
  EXPECT_EQ(r.index(2), 2);
  EXPECT_EQ(r.size(), 3);
}

TEST(Arange, IndexOfAValueNotInTheRangeThrows) {
  try {
    (void)mode::arange(0, 10, 2).index(3);
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "mode::arange: 3 is not in range(0, 10, 2)");
  }
}

TEST(Aiter, WrapsAVector) {
  EXPECT_EQ(collect(mode::aiter(std::vector<std::string>{"a", "b"})),
            (std::vector<std::string>{"a", "b"}));
}

TEST(AsyncIterator, EmptyNextFunctionThrows) {
  EXPECT_THROW(AsyncIterator<int>(nullptr), std::invalid_argument);
}

TEST(Aenumerate, PairsIndexAndItem) {
  using P = std::pair<I64, std::string>;
  EXPECT_EQ(collect(mode::aenumerate(mode::aiter(std::vector<std::string>{"a", "b", "c"}))),
            (std::vector<P>{{0, "a"}, {1, "b"}, {2, "c"}}));
  EXPECT_EQ(collect(mode::aenumerate(mode::aiter(std::vector<std::string>{"x"}), 5)),
            (std::vector<P>{{5, "x"}}));
}

TEST(Aslice, ModesExamples) {
  EXPECT_EQ(collect(mode::aslice(mode::arange(100), 10)), (Ints{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(collect(mode::aslice(mode::arange(100), 10, 20)),
            (Ints{10, 11, 12, 13, 14, 15, 16, 17, 18, 19}));
  EXPECT_EQ(collect(mode::aslice(mode::arange(10), 2, 8, 3)), (Ints{2, 5}));
}

TEST(Aslice, StopZeroYieldsNothingDecisionD16) {
  EXPECT_TRUE(collect(mode::aslice(mode::arange(10), 0)).empty());
  EXPECT_EQ(collect(mode::aslice(mode::arange(5), 0, std::nullopt)), (Ints{0, 1, 2, 3, 4}));
  EXPECT_EQ(collect(mode::aslice(mode::arange(5), 3, std::nullopt)), (Ints{3, 4}));
}

TEST(Aslice, ShortSourceEndsEarly) {
  EXPECT_EQ(collect(mode::aslice(mode::arange(3), 1, 10)), (Ints{1, 2}));
  EXPECT_TRUE(collect(mode::aslice(mode::arange(3), 5, 10)).empty());
}

TEST(Aslice, StopsPullingRightAfterTheLastWantedItem) {
  Counted c = counted(10);
  EXPECT_EQ(collect(mode::aslice(c.it, 2, 8, 3)), (Ints{2, 5}));
  EXPECT_EQ(*c.pulled, 6);
  // The source goes on where the slice left it.
  EXPECT_EQ(collect(c.it), (Ints{6, 7, 8, 9}));
}

TEST(Aslice, BadArgumentsThrow) {
  EXPECT_THROW(mode::aslice(mode::arange(3), -1), std::invalid_argument);
  EXPECT_THROW(mode::aslice(mode::arange(3), -1, 2), std::invalid_argument);
  EXPECT_THROW(mode::aslice(mode::arange(3), 0, 2, 0), std::invalid_argument);
  EXPECT_THROW(mode::aslice(mode::arange(3), 0, 2, -1), std::invalid_argument);
}

TEST(Chunks, ModesExamples) {
  using Chunks = std::vector<Ints>;
  EXPECT_EQ(collect(mode::chunks(mode::arange(11), 2)),
            (Chunks{{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9}, {10}}));
  EXPECT_EQ(collect(mode::chunks(mode::arange(11), 3)),
            (Chunks{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9, 10}}));
  EXPECT_EQ(collect(mode::chunks(mode::arange(10), 2)),
            (Chunks{{0, 1}, {2, 3}, {4, 5}, {6, 7}, {8, 9}}));
  EXPECT_TRUE(collect(mode::chunks(mode::arange(0), 2)).empty());
}

TEST(Chunks, OneYieldsOneElementChunksLazilyDecisionD16) {
  Counted c = counted(3);
  auto it = mode::chunks(c.it, 1);
  boost::asio::io_context ctx;
  const Ints first = mode::testing::run(ctx, mode::anext(it));
  EXPECT_EQ(first, (Ints{0}));
  EXPECT_EQ(*c.pulled, 1);
  EXPECT_EQ(collect(it), (std::vector<Ints>{{1}, {2}}));
}

TEST(Chunks, BadSizeThrows) {
  EXPECT_THROW(mode::chunks(mode::arange(3), 0), std::invalid_argument);
  EXPECT_THROW(mode::chunks(mode::arange(3), -2), std::invalid_argument);
}

TEST(Anext, GivesItemsThenTheDefaultOrThrows) {
  boost::asio::io_context ctx;
  auto it = mode::arange(1);
  EXPECT_EQ(mode::testing::run(ctx, mode::anext(it, 7)), 0);
  // A falsy default is honoured (Mode checks the tuple of defaults, not the value).
  EXPECT_EQ(mode::testing::run(ctx, mode::anext(it, 0)), 0);
  EXPECT_EQ(mode::testing::run(ctx, mode::anext(it, 42)), 42);
  EXPECT_THROW(mode::testing::run(ctx, mode::anext(it)), mode::StopAsyncIteration);
}

TEST(Alist, CollectsEverything) {
  EXPECT_EQ(collect(mode::arange(4)), (Ints{0, 1, 2, 3}));
  EXPECT_EQ(collect(mode::aenumerate(mode::arange(2), 1)),
            (std::vector<std::pair<I64, I64>>{{1, 0}, {2, 1}}));
}

}  // namespace
