// Tests of mode/signals.hpp against BEHAVIOUR.md §6 and decisions D4, D20.
#include <mode/signals.hpp>
#include <mode/testing.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

namespace asio = boost::asio;
using mode::awaitable;
using mode::Connection;
using mode::Signal;
using mode::SyncSignal;
using Log = std::vector<std::string>;

// A sender that stays where it is (PinnedSender), as a service does: it can be a default sender.
struct Sender {
  explicit Sender(std::string id) : id(std::move(id)) {}
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;
  std::string id;
};

// A sender that is a value: it can be sent as a temporary, but cannot be a default sender.
struct Message {
  std::string id;
};

// Receives into a log; an object that weak receivers can be tied to.
struct Listener {
  explicit Listener(Log* log) : log(log) {}
  void on_sync(Sender& s, int x) { log->push_back("listener:" + s.id + ":" + std::to_string(x)); }
  awaitable<void> on_async(Sender& s, int x) {
    const auto ex = co_await asio::this_coro::executor;
    co_await asio::post(ex, mode::use_awaitable);
    log->push_back("listener:" + s.id + ":" + std::to_string(x));
  }
  Log* log;
};

// Lets the loop run other handlers once (a receiver that really suspends).
awaitable<void> yield() {
  const auto ex = co_await asio::this_coro::executor;
  co_await asio::post(ex, mode::use_awaitable);
}

// A receiver coroutine: logs `tag` when called and when done, yielding in between.
awaitable<void> record(Log* log, std::string tag, std::string sender, int x) {
  log->push_back(tag + ":" + sender + ":" + std::to_string(x));
  co_await yield();
  log->push_back(tag + " done");
}

// An async receiver that logs under `tag` (a plain lambda returning a coroutine, no captures
// living in a coroutine frame).
auto async_receiver(Log* log, std::string tag) {
  return [log, tag](Sender& s, int x) { return record(log, tag, s.id, x); };
}

auto sync_receiver(Log* log, std::string tag) {
  return
      [log, tag](Sender& s, int x) { log->push_back(tag + ":" + s.id + ":" + std::to_string(x)); };
}

awaitable<void> throw_runtime_error(std::string what) {
  co_await yield();
  throw std::runtime_error(what);
}

// ---------------------------------------------------------------------------------------------
// SyncSignal

TEST(SyncSignal, CallsReceiversInConnectionOrderEachOnce) {
  SyncSignal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  std::vector<Connection> conns;
  for (const char* tag : {"r1", "r2", "r3", "r4"})
    conns.push_back(sig.connect(sync_receiver(&log, tag)));
  sig.send(a, 7);
  EXPECT_EQ(log, (Log{"r1:a:7", "r2:a:7", "r3:a:7", "r4:a:7"}));
  EXPECT_EQ(sig.receiver_count(), 4u);
}

TEST(SyncSignal, FilteredAndUnfilteredReceiversRunInConnectionOrder) {
  SyncSignal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  Sender b{"b"};
  const Connection c1 = sig.connect(sync_receiver(&log, "any1"));
  const Connection c2 = sig.connect(sync_receiver(&log, "onlyA"), a);
  const Connection c3 = sig.connect(sync_receiver(&log, "any2"));
  const Connection c4 = sig.connect(sync_receiver(&log, "onlyB"), b);
  sig.send(a, 1);
  sig.send(b, 2);
  EXPECT_EQ(log, (Log{"any1:a:1", "onlyA:a:1", "any2:a:1", "any1:b:2", "any2:b:2", "onlyB:b:2"}));
}

TEST(SyncSignal, SenderFilterComparesByAddressNotValue) {
  SyncSignal<Sender, int> sig;
  Log log;
  Sender a{"same"};
  Sender b{"same"};
  const Connection c = sig.connect(sync_receiver(&log, "onlyA"), a);
  sig.send(b, 1);
  EXPECT_TRUE(log.empty());
  sig.send(a, 2);
  EXPECT_EQ(log, (Log{"onlyA:same:2"}));
}

TEST(SyncSignal, ConnectingTheSameCallableTwiceMakesTwoReceivers) {
  SyncSignal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  const auto fn = sync_receiver(&log, "r");
  const Connection c1 = sig.connect(fn);
  Connection c2 = sig.connect(fn);
  sig.send(a, 1);
  EXPECT_EQ(log.size(), 2u);
  c2.disconnect();
  sig.send(a, 2);
  EXPECT_EQ(log.size(), 3u);
}

TEST(SyncSignal, ReceiversGetArgumentsAndMayTakeThemByValueOrReference) {
  SyncSignal<Sender, std::string, std::vector<int>&> sig;
  Sender a{"a"};
  std::vector<int> out;
  std::string seen_by_value;
  const Connection c1 = sig.connect([&](Sender&, std::string s, std::vector<int>& v) {
    seen_by_value = s;
    v.push_back(1);
  });
  const Connection c2 = sig.connect([](Sender& s, const std::string& str, std::vector<int>& v) {
    v.push_back(static_cast<int>(str.size() + s.id.size()));
  });
  sig.send(a, std::string("hello"), out);
  EXPECT_EQ(seen_by_value, "hello");
  EXPECT_EQ(out, (std::vector<int>{1, 6}));
}

TEST(SyncSignal, AcceptsMoveOnlyReceiversAndIgnoresResults) {
  SyncSignal<Sender> sig;
  Sender a{"a"};
  auto count = std::make_unique<int>(0);
  int* raw = count.get();
  const Connection c = sig.connect([p = std::move(count)](Sender&) { return ++*p; });
  sig.send(a);
  sig.send(a);
  EXPECT_EQ(*raw, 2);
}

TEST(SyncSignal, DroppingTheConnectionDisconnects) {
  SyncSignal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  {
    const Connection c = sig.connect(sync_receiver(&log, "r"));
    EXPECT_TRUE(c.connected());
    sig.send(a, 1);
  }
  EXPECT_EQ(sig.receiver_count(), 0u);
  EXPECT_TRUE(sig.empty());
  sig.send(a, 2);
  EXPECT_EQ(log, (Log{"r:a:1"}));
}

TEST(SyncSignal, MoveKeepsTheReceiverAndMoveAssignDisconnectsTheOldOne) {
  SyncSignal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  Connection c1 = sig.connect(sync_receiver(&log, "r1"));
  Connection moved = std::move(c1);
  EXPECT_FALSE(c1.connected());  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_TRUE(moved.connected());
  moved = sig.connect(sync_receiver(&log, "r2"));
  sig.send(a, 1);
  EXPECT_EQ(log, (Log{"r2:a:1"}));
  EXPECT_EQ(sig.receiver_count(), 1u);
}

TEST(SyncSignal, ExplicitDisconnectWithAndWithoutSender) {
  SyncSignal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  Connection any = sig.connect(sync_receiver(&log, "any"));
  Connection only_a = sig.connect(sync_receiver(&log, "onlyA"), a);
  Connection third = sig.connect(sync_receiver(&log, "third"), a);

  EXPECT_TRUE(sig.disconnect(only_a));  // a filtered receiver (Mode's KeyError, D4)
  EXPECT_FALSE(only_a.connected());
  EXPECT_FALSE(sig.disconnect(only_a));  // twice is harmless
  any.disconnect();                      // an unfiltered one (a no-op in Mode, D4)
  EXPECT_FALSE(any.connected());
  sig.send(a, 1);
  EXPECT_EQ(log, (Log{"third:a:1"}));

  SyncSignal<Sender, int> other;
  EXPECT_FALSE(other.disconnect(third));  // not its receiver: left alone
  EXPECT_TRUE(third.connected());
  EXPECT_EQ(sig.receiver_count(), 1u);
}

TEST(SyncSignal, ReleaseKeepsTheReceiverForTheSignalsLifetime) {
  SyncSignal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  sig.connect(sync_receiver(&log, "kept")).release();
  sig.send(a, 1);
  EXPECT_EQ(log, (Log{"kept:a:1"}));
  EXPECT_EQ(sig.receiver_count(), 1u);
}

TEST(SyncSignal, ConnectionMayOutliveItsSignal) {
  Connection c;
  {
    SyncSignal<Sender, int> sig;
    c = sig.connect([](Sender&, int) {});
    EXPECT_TRUE(c.connected());
  }
  EXPECT_FALSE(c.connected());
  c.disconnect();
}

TEST(SyncSignal, WeakReceiverIsDroppedOnceItsOwnerDies) {
  SyncSignal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  auto listener = std::make_shared<Listener>(&log);
  const Connection c = sig.connect_weak(std::weak_ptr(listener), &Listener::on_sync);
  const Connection lambda = sig.connect_weak(
      std::weak_ptr(listener), [](Listener& l, Sender& s, int x) { l.on_sync(s, x * 10); });
  sig.send(a, 1);
  EXPECT_EQ(log, (Log{"listener:a:1", "listener:a:10"}));
  EXPECT_EQ(listener.use_count(), 1);  // weak: not kept alive

  listener.reset();
  EXPECT_FALSE(c.connected());
  EXPECT_EQ(sig.receiver_count(), 0u);
  sig.send(a, 2);
  EXPECT_EQ(log.size(), 2u);
}

TEST(SyncSignal, WeakReceiverWithSenderFilter) {
  SyncSignal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  Sender b{"b"};
  auto listener = std::make_shared<Listener>(&log);
  const Connection c = sig.connect_weak(std::weak_ptr(listener), &Listener::on_sync, b);
  sig.send(a, 1);
  sig.send(b, 2);
  EXPECT_EQ(log, (Log{"listener:b:2"}));
}

TEST(SyncSignal, StrongReceiversAreTheDefault) {
  SyncSignal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  auto listener = std::make_shared<Listener>(&log);
  const Connection c = sig.connect([l = listener](Sender& s, int x) { l->on_sync(s, x); });
  std::weak_ptr<Listener> watch = listener;
  listener.reset();
  sig.send(a, 3);
  EXPECT_EQ(log, (Log{"listener:a:3"}));
  EXPECT_FALSE(watch.expired());
}

TEST(SyncSignal, ReceiverConnectedDuringSendRunsFromTheNextSend) {
  SyncSignal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  std::vector<Connection> added;
  const Connection c = sig.connect([&](Sender&, int x) {
    log.push_back("adder:" + std::to_string(x));
    added.push_back(sig.connect(sync_receiver(&log, "late" + std::to_string(x))));
  });
  sig.send(a, 1);
  EXPECT_EQ(log, (Log{"adder:1"}));
  sig.send(a, 2);
  EXPECT_EQ(log, (Log{"adder:1", "adder:2", "late1:a:2"}));
}

TEST(SyncSignal, ReceiverDisconnectedDuringSendBeforeItsTurnIsNotCalled) {
  SyncSignal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  Connection victim;
  const Connection first = sig.connect([&](Sender&, int) {
    log.push_back("first");
    victim.disconnect();
  });
  victim = sig.connect(sync_receiver(&log, "victim"));
  const Connection last = sig.connect(sync_receiver(&log, "last"));
  sig.send(a, 1);
  EXPECT_EQ(log, (Log{"first", "last:a:1"}));
  EXPECT_EQ(sig.receiver_count(), 2u);
}

TEST(SyncSignal, ReceiverMayDisconnectItselfDuringSend) {
  SyncSignal<Sender, int> sig;
  Sender a{"a"};
  Connection self;
  auto state = std::make_shared<std::string>("alive");
  int calls = 0;
  self = sig.connect([&, state](Sender&, int) {
    ++calls;
    self.disconnect();
    EXPECT_EQ(*state, "alive");  // its captures live until it returns
  });
  std::weak_ptr<std::string> watch = state;
  state.reset();
  sig.send(a, 1);
  sig.send(a, 2);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(watch.expired());  // released once the send ended
}

TEST(SyncSignal, ReceiverMayDestroyTheSignalDuringSend) {
  auto sig = std::make_unique<SyncSignal<Sender, int>>();
  Log log;
  Sender a{"a"};
  const Connection c1 = sig->connect([&](Sender&, int) { sig.reset(); });
  const Connection c2 = sig->connect(sync_receiver(&log, "after"));
  sig->send(a, 1);
  EXPECT_EQ(sig, nullptr);
  EXPECT_EQ(log, (Log{"after:a:1"}));  // the send in progress finishes
  EXPECT_FALSE(c2.connected());
}

TEST(SyncSignal, NestedSendsSeeTheSameReceivers) {
  SyncSignal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  const Connection c1 = sig.connect([&](Sender& s, int x) {
    log.push_back("outer" + std::to_string(x));
    if (x > 0) sig.send(s, x - 1);
  });
  Connection c2 = sig.connect(sync_receiver(&log, "r"));
  sig.send(a, 1);
  EXPECT_EQ(log, (Log{"outer1", "outer0", "r:a:0", "r:a:1"}));
}

TEST(SyncSignal, ReceiverExceptionPropagatesAndStopsTheSend) {
  SyncSignal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  const Connection c1 = sig.connect(sync_receiver(&log, "before"));
  Connection c2 = sig.connect([](Sender&, int x) {
    if (x == 1) throw std::runtime_error("boom");
  });
  Connection c3 = sig.connect([&](Sender& s, int x) {
    log.push_back("after:" + s.id + ":" + std::to_string(x));
    c2.disconnect();  // the list is usable (and compacts) after a send that threw
  });
  EXPECT_THROW(sig.send(a, 1), std::runtime_error);
  EXPECT_EQ(log, (Log{"before:a:1"}));
  sig.send(a, 2);
  sig.send(a, 1);
  EXPECT_EQ(log, (Log{"before:a:1", "before:a:2", "after:a:2", "before:a:1", "after:a:1"}));
  EXPECT_EQ(sig.receiver_count(), 2u);
}

TEST(SyncSignal, WithDefaultSenderSharesReceivers) {
  SyncSignal<Sender, int> cls("on_stopped", "X");  // the class's signal
  Log log;
  Sender x{"x"};
  Sender y{"y"};
  SyncSignal<Sender, int> on_x = cls.with_default_sender(x);  // per instance
  SyncSignal<Sender, int> on_y = cls.with_default_sender(y);
  EXPECT_EQ(on_x.default_sender(), &x);
  EXPECT_EQ(on_x.label(), "X.on_stopped");

  const Connection all = cls.connect(sync_receiver(&log, "all"));
  Connection only_x = on_x.connect(sync_receiver(&log, "onlyX"));  // filtered by x (Mode)
  const Connection explicit_y = on_x.connect(sync_receiver(&log, "onlyY"), y);  // explicit wins
  on_x.send(303);
  on_y.send(404);
  EXPECT_EQ(log, (Log{"all:x:303", "onlyX:x:303", "all:y:404", "onlyY:y:404"}));

  EXPECT_EQ(cls.receiver_count(), 3u);
  EXPECT_TRUE(on_y.disconnect(only_x));  // shared registry (D4)
  EXPECT_EQ(cls.receiver_count(), 2u);
}

TEST(SyncSignal, SendWithoutSenderNeedsADefaultSender) {
  SyncSignal<Sender, int> sig("on_x", "Owner");
  try {
    sig.send(1);
    FAIL() << "expected std::logic_error";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("Owner.on_x"), std::string::npos) << e.what();
  }
}

TEST(SyncSignal, CloneKeepsNamesAndDefaultSenderButNotReceivers) {
  SyncSignal<Sender, int> sig("on_x", "Owner");
  Log log;
  Sender a{"a"};
  SyncSignal<Sender, int> with_a = sig.with_default_sender(a);
  const Connection c = sig.connect(sync_receiver(&log, "orig"));
  SyncSignal<Sender, int> copy = with_a.clone();
  EXPECT_EQ(copy.name(), "on_x");
  EXPECT_EQ(copy.owner(), "Owner");
  EXPECT_EQ(copy.default_sender(), &a);
  EXPECT_TRUE(copy.empty());
  const Connection cc = copy.connect(sync_receiver(&log, "copy"));
  copy.send(1);
  EXPECT_EQ(log, (Log{"copy:a:1"}));
  EXPECT_EQ(sig.receiver_count(), 1u);
}

TEST(SyncSignal, LabelIsOwnerDotNameOrName) {
  EXPECT_EQ((SyncSignal<Sender>("on_started", "Service").label()), "Service.on_started");
  EXPECT_EQ((SyncSignal<Sender>("on_started").label()), "on_started");
  EXPECT_EQ((SyncSignal<Sender>().label()), "");
}

TEST(SyncSignal, SendWithNoReceiversDoesNothing) {
  SyncSignal<Sender, int> sig;
  Sender a{"a"};
  EXPECT_TRUE(sig.empty());
  sig.send(a, 1);
  Connection c = sig.connect([](Sender&, int) {});
  EXPECT_FALSE(sig.empty());
  c.disconnect();
  EXPECT_TRUE(sig.empty());
  sig.send(a, 2);
}

TEST(SyncSignal, MovedFromSignalIsEmptyAndUsable) {
  SyncSignal<Sender, int> sig("n", "o");
  Log log;
  Sender a{"a"};
  Connection c = sig.connect(sync_receiver(&log, "r"));
  SyncSignal<Sender, int> moved = std::move(sig);
  moved.send(a, 1);
  EXPECT_TRUE(c.connected());
  EXPECT_TRUE(sig.empty());  // NOLINT(bugprone-use-after-move): valid, empty
  sig.send(a, 2);
  EXPECT_EQ(sig.label(), "");
  const Connection again = sig.connect(sync_receiver(&log, "again"));
  sig.send(a, 3);
  EXPECT_EQ(log, (Log{"r:a:1", "again:a:3"}));
}

// ---------------------------------------------------------------------------------------------
// Signal (async)

TEST(Signal, AwaitsReceiversOneAfterAnotherInConnectionOrder) {
  asio::io_context ctx;
  Signal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  const Connection c1 = sig.connect(async_receiver(&log, "r1"));
  const Connection c2 = sig.connect(async_receiver(&log, "r2"));
  const Connection c3 = sig.connect(async_receiver(&log, "r3"));
  mode::testing::run(ctx, sig.send(a, 5));
  EXPECT_EQ(log, (Log{"r1:a:5", "r1 done", "r2:a:5", "r2 done", "r3:a:5", "r3 done"}));
}

TEST(Signal, SenderFilter) {
  asio::io_context ctx;
  Signal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  Sender b{"b"};
  const Connection c1 = sig.connect(async_receiver(&log, "onlyA"), a);
  const Connection c2 = sig.connect(async_receiver(&log, "any"));
  mode::testing::run(ctx, sig.send(b, 1));
  mode::testing::run(ctx, sig.send(a, 2));
  EXPECT_EQ(log, (Log{"any:b:1", "any done", "onlyA:a:2", "onlyA done", "any:a:2", "any done"}));
}

TEST(Signal, DisconnectWithAndWithoutSender) {
  asio::io_context ctx;
  Signal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  Connection c1 = sig.connect(async_receiver(&log, "onlyA"), a);
  Connection c2 = sig.connect(async_receiver(&log, "any"));
  const Connection c3 = sig.connect(async_receiver(&log, "kept"));
  EXPECT_TRUE(sig.disconnect(c1));
  c2.disconnect();
  { const Connection dropped = sig.connect(async_receiver(&log, "dropped")); }
  mode::testing::run(ctx, sig.send(a, 1));
  EXPECT_EQ(log, (Log{"kept:a:1", "kept done"}));
}

TEST(Signal, WeakReceiverIsDroppedOnceItsOwnerDies) {
  asio::io_context ctx;
  Signal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  auto listener = std::make_shared<Listener>(&log);
  const Connection c = sig.connect_weak(std::weak_ptr(listener), &Listener::on_async);
  mode::testing::run(ctx, sig.send(a, 1));
  EXPECT_EQ(log, (Log{"listener:a:1"}));
  EXPECT_EQ(listener.use_count(), 1);  // weak: not kept alive between sends
  listener.reset();
  EXPECT_FALSE(c.connected());
  mode::testing::run(ctx, sig.send(a, 2));
  EXPECT_EQ(log.size(), 1u);
  EXPECT_EQ(sig.receiver_count(), 0u);
}

// Releases the last outside reference to a weak receiver's owner while it runs.
awaitable<void> release_owner_then_send(Signal<Sender, int>* sig, Sender* sender,
                                        std::shared_ptr<Listener>* owner, Log* log) {
  const auto ex = co_await asio::this_coro::executor;
  // Drop the owner on the loop while the receiver is suspended inside its call.
  asio::post(ex, [owner, log] {
    log->push_back("owner released");
    owner->reset();
  });
  co_await sig->send(*sender, 2);
}

TEST(Signal, WeakReceiversOwnerSurvivesUntilItsCallCompletes) {
  asio::io_context ctx;
  Signal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  auto listener = std::make_shared<Listener>(&log);
  std::weak_ptr<Listener> watch = listener;
  const Connection c = sig.connect_weak(std::weak_ptr(listener), &Listener::on_async);
  mode::testing::run(ctx, release_owner_then_send(&sig, &a, &listener, &log));
  EXPECT_EQ(log, (Log{"owner released", "listener:a:2"}));
  EXPECT_TRUE(watch.expired());
  EXPECT_FALSE(c.connected());
}

// Connects and disconnects receivers of `sig` while a send is suspended in a receiver.
awaitable<void> mutate_during_send(Signal<Sender, int>* sig, Log* log, Connection* victim,
                                   std::vector<Connection>* added) {
  log->push_back("mutator");
  victim->disconnect();
  added->push_back(sig->connect(async_receiver(log, "late")));
  co_await yield();
}

TEST(Signal, ConnectAndDisconnectDuringSend) {
  asio::io_context ctx;
  Signal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  Connection victim;
  std::vector<Connection> added;
  const Connection first =
      sig.connect([&](Sender&, int) { return mutate_during_send(&sig, &log, &victim, &added); });
  victim = sig.connect(async_receiver(&log, "victim"));
  const Connection last = sig.connect(async_receiver(&log, "last"));
  mode::testing::run(ctx, sig.send(a, 1));
  EXPECT_EQ(log, (Log{"mutator", "last:a:1", "last done"}));
  log.clear();
  added.clear();  // the late receiver is not called by the first send, and now gone
  mode::testing::run(ctx, sig.send(a, 2));
  EXPECT_EQ(log, (Log{"mutator", "last:a:2", "last done"}));
  EXPECT_EQ(sig.receiver_count(), 3u);  // first, last, and the late one of this send
}

// Two coroutines send at once; one disconnects a receiver while the other is inside it.
awaitable<void> send_tagged(Signal<Sender, int>* sig, Sender* sender, int x) {
  co_await sig->send(*sender, x);
}

TEST(Signal, InterleavedSendsAndDisconnectKeepEveryReceiverValid) {
  asio::io_context ctx;
  Signal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  Connection c1 = sig.connect(async_receiver(&log, "r1"));
  const Connection c2 = sig.connect([&](Sender&, int x) -> awaitable<void> {
    if (x == 1) c1.disconnect();
    return yield();
  });
  bool done1 = false;
  bool done2 = false;
  asio::co_spawn(ctx, send_tagged(&sig, &a, 1), [&](std::exception_ptr e) {
    EXPECT_FALSE(e);
    done1 = true;
  });
  asio::co_spawn(ctx, send_tagged(&sig, &a, 2), [&](std::exception_ptr e) {
    EXPECT_FALSE(e);
    done2 = true;
  });
  mode::testing::run_until(ctx, [&] { return done1 && done2; });
  // Both started r1 before send 1 reached the disconnecting receiver.
  EXPECT_EQ(log, (Log{"r1:a:1", "r1:a:2", "r1 done", "r1 done"}));
  EXPECT_EQ(sig.receiver_count(), 1u);
  log.clear();
  mode::testing::run(ctx, sig.send(a, 3));
  EXPECT_TRUE(log.empty());
}

TEST(Signal, ReceiverExceptionPropagatesAndStopsTheSend) {
  asio::io_context ctx;
  Signal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  const Connection c1 = sig.connect(async_receiver(&log, "before"));
  const Connection c2 = sig.connect([](Sender&, int) { return throw_runtime_error("boom"); });
  const Connection c3 = sig.connect(async_receiver(&log, "after"));
  EXPECT_THROW(mode::testing::run(ctx, sig.send(a, 1)), std::runtime_error);
  EXPECT_EQ(log, (Log{"before:a:1", "before done"}));
  EXPECT_EQ(sig.receiver_count(), 3u);
}

TEST(Signal, ReceiverThrowingBeforeReturningACoroutinePropagates) {
  asio::io_context ctx;
  Signal<Sender, int> sig;
  Sender a{"a"};
  const Connection c =
      sig.connect([](Sender&, int) -> awaitable<void> { throw std::invalid_argument("eager"); });
  EXPECT_THROW(mode::testing::run(ctx, sig.send(a, 1)), std::invalid_argument);
}

TEST(Signal, WithDefaultSenderSharesReceivers) {
  asio::io_context ctx;
  Signal<Sender, int> cls("on_started", "X");
  Log log;
  Sender x{"x"};
  Sender y{"y"};
  Signal<Sender, int> on_x = cls.with_default_sender(x);
  Signal<Sender, int> on_y = cls.with_default_sender(y);
  const Connection all = cls.connect(async_receiver(&log, "all"));
  const Connection only_x = on_x.connect(async_receiver(&log, "onlyX"));
  mode::testing::run(ctx, on_y.send(1));
  mode::testing::run(ctx, on_x.send(2));
  EXPECT_EQ(log, (Log{"all:y:1", "all done", "all:x:2", "all done", "onlyX:x:2", "onlyX done"}));
  EXPECT_EQ(on_y.label(), "X.on_started");
  EXPECT_THROW(static_cast<void>(cls.send(3)), std::logic_error);
}

TEST(Signal, CloneHasNoReceivers) {
  asio::io_context ctx;
  Signal<Sender, int> sig("on_x", "Owner");
  Log log;
  Sender a{"a"};
  const Connection c = sig.connect(async_receiver(&log, "orig"));
  Signal<Sender, int> copy = sig.clone();
  EXPECT_EQ(copy.label(), "Owner.on_x");
  EXPECT_TRUE(copy.empty());
  mode::testing::run(ctx, copy.send(a, 1));
  EXPECT_TRUE(log.empty());
}

TEST(Signal, SendWithNoReceiversCompletesAtOnce) {
  asio::io_context ctx;
  Signal<Sender> sig;
  Sender a{"a"};
  EXPECT_TRUE(sig.empty());
  mode::testing::run(ctx, sig.send(a));
  std::optional<Connection> c(sig.connect([](Sender&) { return yield(); }));
  c.reset();
  EXPECT_TRUE(sig.empty());
  mode::testing::run(ctx, sig.send(a));
}

TEST(Signal, SendKeepsItsReceiversAliveWhenTheSignalIsDestroyed) {
  asio::io_context ctx;
  auto sig = std::make_unique<Signal<Sender, int>>();
  Log log;
  Sender a{"a"};
  const Connection c1 = sig->connect([&](Sender&, int) -> awaitable<void> {
    sig.reset();
    return yield();
  });
  const Connection c2 = sig->connect(async_receiver(&log, "after"));
  mode::testing::run(ctx, sig->send(a, 1));
  EXPECT_EQ(sig, nullptr);
  EXPECT_EQ(log, (Log{"after:a:1", "after done"}));
}

// ---------------------------------------------------------------------------------------------
// Plain receivers on an async Signal, temporary senders, sender-less signals (issue 12)

template <class Sig, class F>
concept Connectable = requires(Sig& sig, F fn) {
  sig.connect(std::move(fn));
};

static_assert(Connectable<Signal<Sender, int>, void (*)(Sender&, int)>);
static_assert(Connectable<Signal<Sender, int>, int (*)(Sender&, int)>);
static_assert(Connectable<Signal<Sender, int>, awaitable<void> (*)(Sender&, int)>);
// A receiver whose coroutine would never run if its result were dropped.
static_assert(!Connectable<Signal<Sender, int>, awaitable<int> (*)(Sender&, int)>);
static_assert(!Connectable<Signal<Sender, int>, void (*)(int)>);

TEST(Signal, AcceptsPlainReceiversAndCallsThemInConnectionOrder) {
  asio::io_context ctx;
  Signal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  auto listener = std::make_shared<Listener>(&log);
  const Connection c1 = sig.connect(sync_receiver(&log, "plain"));
  const Connection c2 = sig.connect(async_receiver(&log, "async"));
  const Connection c3 = sig.connect([&](Sender& s, int x) {
    log.push_back("result ignored:" + s.id);
    return x * 2;
  });
  const Connection c4 = sig.connect_weak(std::weak_ptr(listener), &Listener::on_sync);
  const Connection c5 = sig.connect(sync_receiver(&log, "onlyA"), a);
  mode::testing::run(ctx, sig.send(a, 3));
  EXPECT_EQ(log, (Log{"plain:a:3", "async:a:3", "async done", "result ignored:a", "listener:a:3",
                      "onlyA:a:3"}));
  EXPECT_EQ(sig.receiver_count(), 5u);
  listener.reset();
  EXPECT_EQ(sig.receiver_count(), 4u);
}

TEST(Signal, PlainReceiverExceptionPropagatesAndStopsTheSend) {
  asio::io_context ctx;
  Signal<Sender, int> sig;
  Log log;
  Sender a{"a"};
  const Connection c1 = sig.connect([](Sender&, int) { throw std::runtime_error("plain"); });
  const Connection c2 = sig.connect(async_receiver(&log, "after"));
  EXPECT_THROW(mode::testing::run(ctx, sig.send(a, 1)), std::runtime_error);
  EXPECT_TRUE(log.empty());
}

TEST(Signal, SendKeepsATemporarySenderUntilItCompletes) {
  asio::io_context ctx;
  Signal<Message, int> sig;
  Log log;
  const Connection c = sig.connect(
      [&log](Message& m, int x) -> awaitable<void> { return record(&log, "r", m.id, x); });
  const Connection plain = sig.connect([&log](Message& m, int) { log.push_back("plain:" + m.id); });
  // The awaitable outlives the full expression that made the temporary.
  awaitable<void> pending = sig.send(Message{std::string(40, 'x')}, 1);
  log.push_back("not started");
  mode::testing::run(ctx, std::move(pending));
  EXPECT_EQ(log, (Log{"not started", "r:" + std::string(40, 'x') + ":1", "r done",
                      "plain:" + std::string(40, 'x')}));
  const Message named{"named"};
  Signal<const Message> const_sig;
  const Connection cc = const_sig.connect([&log](const Message& m) { log.push_back(m.id); });
  mode::testing::run(ctx, const_sig.send(Message{"const temp"}));
  mode::testing::run(ctx, const_sig.send(named));
  EXPECT_EQ(log.back(), "named");
  EXPECT_EQ(log[log.size() - 2], "const temp");
}

TEST(SyncSignal, SendTakesATemporarySender) {
  SyncSignal<Message, int> sig;
  Log log;
  const Connection c =
      sig.connect([&log](Message& m, int x) { log.push_back(m.id + std::to_string(x)); });
  sig.send(Message{"temp"}, 1);
  EXPECT_EQ(log, (Log{"temp1"}));
}

awaitable<void> record_no_sender(Log* log, std::string tag, int x) {
  log->push_back(tag + ":" + std::to_string(x));
  co_await yield();
  log->push_back(tag + " done");
}

TEST(Signal, WithoutSenderReceiversTakeOnlyTheArguments) {
  asio::io_context ctx;
  Signal<void, int> sig("on_tick", "Clock");
  Log log;
  auto listener = std::make_shared<Log>();
  const Connection c1 = sig.connect([&log](int x) { return record_no_sender(&log, "async", x); });
  Connection c2 = sig.connect([&log](int x) { log.push_back("plain:" + std::to_string(x)); });
  const Connection c3 = sig.connect_weak(
      std::weak_ptr(listener), [](Log& l, int x) { l.push_back("weak:" + std::to_string(x)); });
  EXPECT_EQ(sig.receiver_count(), 3u);
  EXPECT_EQ(sig.label(), "Clock.on_tick");
  mode::testing::run(ctx, sig.send(7));
  EXPECT_EQ(log, (Log{"async:7", "async done", "plain:7"}));
  EXPECT_EQ(*listener, (Log{"weak:7"}));
  EXPECT_TRUE(sig.disconnect(c2));
  Signal<void, int> copy = sig.clone();
  EXPECT_TRUE(copy.empty());
  EXPECT_EQ(copy.label(), "Clock.on_tick");
  EXPECT_EQ(fmt::format("{}", sig), "<Signal: Clock.on_tick>");
  static_assert(std::is_void_v<Signal<void, int>::sender_type>);
  static_assert(!Connectable<Signal<void, int>, void (*)(Sender&, int)>);
}

TEST(SyncSignal, WithoutSenderReceiversTakeOnlyTheArguments) {
  SyncSignal<void, std::string, std::vector<int>&> sig;
  std::vector<int> out;
  const Connection c = sig.connect(
      [](const std::string& s, std::vector<int>& v) { v.push_back(static_cast<int>(s.size())); });
  sig.send("four", out);
  EXPECT_EQ(out, std::vector<int>{4});
  EXPECT_EQ(fmt::format("{}", sig), "<SyncSignal: >");
}

// ---------------------------------------------------------------------------------------------
// Default senders are pinned (issue 12): the signal keeps the sender's address.

template <class Sig, class S>
concept CanHaveDefaultSender = requires(const Sig& sig, S& sender) {
  sig.with_default_sender(sender);
};

static_assert(mode::PinnedSender<Sender>);
static_assert(!mode::PinnedSender<Message>);
static_assert(CanHaveDefaultSender<Signal<Sender, int>, Sender>);
static_assert(CanHaveDefaultSender<SyncSignal<const Sender, int>, const Sender>);
// A movable owner would leave its per-instance signal pointing at the moved-from object.
static_assert(!CanHaveDefaultSender<Signal<Message, int>, Message>);
static_assert(!CanHaveDefaultSender<SyncSignal<Message, int>, Message>);
static_assert(!CanHaveDefaultSender<SyncSignal<const Message, int>, const Message>);

// The per-instance pattern: the owner's class signal, and its own copy with itself as sender.
class Widget {
 public:
  static SyncSignal<Widget, int>& changed() {
    static SyncSignal<Widget, int> signal("on_changed", "Widget");
    return signal;
  }
  explicit Widget(std::string name) : name(std::move(name)) {}
  Widget(const Widget&) = delete;
  Widget& operator=(const Widget&) = delete;

  std::string name;
  SyncSignal<Widget, int> on_changed = changed().with_default_sender(*this);
};

static_assert(!std::is_move_constructible_v<Widget>);

TEST(SyncSignal, PerInstanceSignalOfAPinnedOwner) {
  Log log;
  Widget w1("w1");
  Widget w2("w2");
  const Connection all = Widget::changed().connect(
      [&log](Widget& w, int x) { log.push_back("all:" + w.name + std::to_string(x)); });
  const Connection mine = w1.on_changed.connect(
      [&log](Widget& w, int x) { log.push_back("w1:" + w.name + std::to_string(x)); });
  w1.on_changed.send(1);
  w2.on_changed.send(2);
  EXPECT_EQ(log, (Log{"all:w11", "w1:w11", "all:w22"}));
  EXPECT_EQ(w1.on_changed.repr(), "<SyncSignal: Widget.on_changed sender=<" +
                                      mode::qualname<Widget>() + " object at " +
                                      fmt::format("{}", fmt::ptr(&w1)) + ">>");
}

// ---------------------------------------------------------------------------------------------
// Text form (Mode's repr)

// A sender with a text form of its own.
struct Named {
  explicit Named(std::string n) : name(std::move(n)) {}
  Named(const Named&) = delete;
  Named& operator=(const Named&) = delete;
  std::string name;
};

}  // namespace

template <>
struct fmt::formatter<Named> : fmt::formatter<std::string_view> {
  template <class Context>
  auto format(const Named& n, Context& ctx) const {
    return fmt::formatter<std::string_view>::format("<Named: " + n.name + ">", ctx);
  }
};

namespace {

TEST(Signal, TextFormIsModesRepr) {
  Signal<Sender, int> cls("on_started", "X");
  EXPECT_EQ(cls.repr(), "<Signal: X.on_started>");
  EXPECT_EQ(fmt::format("{}", cls), "<Signal: X.on_started>");
  EXPECT_EQ(fmt::format("[{:>25}]", cls), "[   <Signal: X.on_started>]");  // string specs apply
  std::ostringstream out;
  out << cls;
  EXPECT_EQ(out.str(), "<Signal: X.on_started>");
  EXPECT_EQ((Signal<Sender>("on_x").repr()), "<Signal: on_x>");
  EXPECT_EQ((Signal<Sender>().repr()), "<Signal: >");

  SyncSignal<Named> named_cls("on_stopped", "Y");
  Named y("y");
  SyncSignal<Named> on_y = named_cls.with_default_sender(y);
  EXPECT_EQ(fmt::format("{}", on_y), "<SyncSignal: Y.on_stopped sender=<Named: y>>");
  std::ostringstream sync_out;
  sync_out << named_cls;
  EXPECT_EQ(sync_out.str(), "<SyncSignal: Y.on_stopped>");

  Sender x{"x"};
  const Signal<Sender, int> on_x = cls.with_default_sender(x);
  EXPECT_EQ(on_x.repr(), "<Signal: X.on_started sender=<" + mode::qualname<Sender>() +
                             " object at " + fmt::format("{}", fmt::ptr(&x)) + ">>");
}

// A string sender is quoted, as Mode's repr of a str: `<SyncSignal:  sender='snd'>`.
struct Label {
  explicit Label(std::string t) : text(std::move(t)) {}
  Label(const Label&) = delete;
  Label& operator=(const Label&) = delete;
  operator std::string_view() const noexcept { return text; }  // NOLINT: the point of the test
  std::string text;
};

TEST(SyncSignal, TextFormQuotesAStringSenderAsMode) {
  SyncSignal<Label> sig;
  Label snd("snd");
  EXPECT_EQ(sig.with_default_sender(snd).repr(), "<SyncSignal:  sender='snd'>");
}

}  // namespace
