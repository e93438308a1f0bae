// mode::LocalStack: a stack of values per coroutine chain (Mode's mode.utils.locals), such as the
// "current request" or the current flight recorder; and ChainId, the identity of a chain.
#pragma once

#include <mode/awaitable.hpp>

#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

// The rule: a LocalStack holds one stack per coroutine chain. A chain is what Asio calls a
// "thread of execution" of awaitables: everything one `co_spawn` runs, including every coroutine
// it awaits, however deep. Two chains never see each other's items, whether they run on one
// thread or several; a chain spawned by another starts with empty stacks (unlike Mode, where a
// child task shares its parent's list, so a child's pushes are seen by its parent).
//
// Why `co_await`: Asio 1.81 has no coroutine-local storage and no hook when a chain resumes, so a
// thread-local cannot follow a chain (another chain runs on the thread whenever this one waits,
// and `co_spawn` even starts a child inline inside its parent's turn). The chain is therefore
// identified where it is known exactly: inside a `co_await`, from the chain's entry frame. The
// operations are coroutines (`co_await stack.push(x)`); code that looks the chain up once can use
// the synchronous forms that take a ChainId (`stack.top(chain)`).
//
// A chain's stack exists from its first push to its last pop. Pop what you pushed with
// `push_without_automatic_cleanup` before the chain ends: Asio reuses the entry frame of a
// finished chain, and a later chain would find the leftovers.

namespace mode {

/// The identity of the coroutine chain that awaited `this_chain()`; stable while the chain lives.
class ChainId {
 public:
  constexpr ChainId() noexcept = default;
  /// False for a default-constructed id (no chain).
  explicit operator bool() const noexcept { return frame_ != nullptr; }
  friend bool operator==(ChainId, ChainId) = default;

 private:
  friend struct std::hash<ChainId>;
  friend awaitable<ChainId> this_chain();
  explicit ChainId(const void* frame) noexcept : frame_(frame) {}
  const void* frame_ = nullptr;
};

/// The chain of the awaiting coroutine. Completes without going through the loop.
awaitable<ChainId> this_chain();

}  // namespace mode

template <>
struct std::hash<mode::ChainId> {
  std::size_t operator()(mode::ChainId c) const noexcept {
    return std::hash<const void*>{}(c.frame_);
  }
};

namespace mode {

/// Thrown by `LocalStack::pop` when the chain's stack is empty.
class LocalStackEmpty : public std::out_of_range {
 public:
  LocalStackEmpty()
      : std::out_of_range("LocalStack::pop: the stack of this coroutine chain is empty") {}
};

/// A stack of `T` per coroutine chain (Mode's LocalStack); see the rule at the top of this file.
///
/// Thread-safe: chains on several threads may use one LocalStack (a mutex guards the chains'
/// stacks; a chain's own stack is only touched from that chain). The LocalStack must outlive
/// the pushes of every chain, including their scope guards.
template <class T>
class LocalStack {
 public:
  /// Pops the top of one chain's stack when destroyed (the scope of `push`).
  class [[nodiscard]] Guard {
   public:
    Guard() noexcept = default;
    Guard(Guard&& other) noexcept
        : stack_(std::exchange(other.stack_, nullptr)), chain_(other.chain_) {}
    Guard& operator=(Guard&& other) noexcept;
    ~Guard() { reset(); }
    /// Pops now instead of at the end of the scope (idempotent).
    void reset() noexcept {
      if (auto* s = std::exchange(stack_, nullptr)) s->pop_quietly(chain_);
    }

   private:
    friend class LocalStack;
    Guard(LocalStack* stack, ChainId chain) noexcept : stack_(stack), chain_(chain) {}
    LocalStack* stack_ = nullptr;
    ChainId chain_;
  };

  LocalStack() = default;
  LocalStack(const LocalStack&) = delete;
  LocalStack& operator=(const LocalStack&) = delete;

  /// Pushes `value` on this chain's stack; the returned guard pops it at the end of its scope
  /// (Mode's `with stack.push(x):`).
  awaitable<Guard> push(T value);
  /// Pushes `value` on this chain's stack; `pop` removes it.
  awaitable<void> push_without_automatic_cleanup(T value);
  /// Removes and returns the top of this chain's stack; throws LocalStackEmpty if it is empty.
  awaitable<T> pop();
  /// A copy of the top of this chain's stack, or nothing.
  awaitable<std::optional<T>> top();
  /// A copy of this chain's stack, bottom first (empty if nothing was pushed).
  awaitable<std::vector<T>> stack();
  /// The depth of this chain's stack.
  awaitable<std::size_t> size();

  // The same operations for a chain looked up before (`co_await this_chain()`): no coroutine.

  Guard push(ChainId chain, T value);
  void push_without_automatic_cleanup(ChainId chain, T value);
  T pop(ChainId chain);
  std::optional<T> top(ChainId chain) const;
  std::vector<T> stack(ChainId chain) const;
  std::size_t size(ChainId chain) const;
  /// Removes the topmost item equal to `value` from `chain`'s stack; returns whether there was one
  /// (for owners that must leave even when scopes were not nested).
  bool remove(ChainId chain, const T& value) noexcept;
  /// Chains that have a non-empty stack.
  std::size_t chains() const;

 private:
  void pop_quietly(ChainId chain) noexcept;

  mutable std::mutex mutex_;
  std::unordered_map<ChainId, std::vector<T>> stacks_;
};

}  // namespace mode

#include <mode/impl/locals.hpp>
