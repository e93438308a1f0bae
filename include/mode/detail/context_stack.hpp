// Internal: the contexts a service keeps until its stop (Mode's exit stacks).
#pragma once

#include <mode/awaitable.hpp>

#include <concepts>
#include <memory>
#include <utility>

namespace mode {
class CompositeLogger;
}

namespace mode::detail {

/// A context whose exit is awaited: `c.exit()` returns an `awaitable<void>`.
template <class C>
concept AsyncContext = requires(C c) {
  { c.exit() } -> std::same_as<awaitable<void>>;
};

/// A stack of contexts, the latest on top; one pointer when empty (most services keep none).
class ContextStack {
 public:
  ContextStack() noexcept = default;
  ContextStack(const ContextStack&) = delete;
  ContextStack& operator=(const ContextStack&) = delete;
  ~ContextStack() { release(); }

  bool empty() const noexcept { return top_ == nullptr; }
  /// Enters `c` (calls `c.enter()` if it has one) and keeps it; its `exit()`, if any, runs at
  /// `exit_all`, otherwise its destruction is the exit.
  template <class C>
  C& push(C c);
  /// Awaits `c.enter()` and keeps `c`; `c.exit()` is awaited at `exit_all`.
  template <class C>
  awaitable<C*> push_async(C c);
  /// Exits the sync contexts, then the async ones, each in reverse order of entering, logging an
  /// error of one exit to `log` and going on; then releases them all.
  awaitable<void> exit_all(CompositeLogger& log);

 private:
  struct Holder {
    std::unique_ptr<Holder> below;
    virtual ~Holder() = default;
    virtual bool async() const noexcept = 0;
    virtual void exit() {}
    virtual awaitable<void> aexit() { co_return; }
  };
  template <class C>
  struct SyncHolder final : Holder {
    explicit SyncHolder(C c) : value(std::move(c)) {}
    bool async() const noexcept override { return false; }
    void exit() override {
      if constexpr (requires { value.exit(); }) value.exit();
    }
    C value;
  };
  template <class C>
  struct AsyncHolder final : Holder {
    explicit AsyncHolder(C c) : value(std::move(c)) {}
    bool async() const noexcept override { return true; }
    awaitable<void> aexit() override { co_await value.exit(); }
    C value;
  };

  /// Releases top first, without recursing through the stack.
  void release() noexcept {
    while (top_) top_ = std::move(top_->below);
  }

  std::unique_ptr<Holder> top_;
};

template <class C>
C& ContextStack::push(C c) {
  auto holder = std::make_unique<SyncHolder<C>>(std::move(c));
  if constexpr (requires { holder->value.enter(); }) holder->value.enter();
  C& ref = holder->value;
  holder->below = std::move(top_);
  top_ = std::move(holder);
  return ref;
}

template <class C>
awaitable<C*> ContextStack::push_async(C c) {
  auto holder = std::make_unique<AsyncHolder<C>>(std::move(c));
  co_await holder->value.enter();
  C* ptr = &holder->value;
  holder->below = std::move(top_);
  top_ = std::move(holder);
  co_return ptr;
}

}  // namespace mode::detail
