// Internal: the completion handler of a suspended wait, type-erased without allocation.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/detail/wait_list.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace mode::detail {

/// The completion handler of a suspended wait, whatever its type, held without allocation when it
/// is as small as Asio's handler for an awaited operation (two pointers; larger ones go on the
/// heap). Type-erased through Asio's public API alone: the associated executor and cancellation
/// slot, invocation, and `post`.
class WaitHandler {
 public:
  WaitHandler() noexcept = default;
  template <class H>
  requires(!std::is_same_v<H, WaitHandler>) explicit WaitHandler(H handler) : ops_(&ops_for<H>) {
    if constexpr (fits<H>)
      ::new (static_cast<void*>(storage_)) H(std::move(handler));
    else
      ::new (static_cast<void*>(storage_)) H*(new H(std::move(handler)));
  }
  WaitHandler(WaitHandler&& other) noexcept : ops_(std::exchange(other.ops_, nullptr)) {
    if (ops_) ops_->relocate(storage_, other.storage_);
  }
  WaitHandler& operator=(WaitHandler&& other) noexcept {
    if (this != &other) {
      reset();
      ops_ = std::exchange(other.ops_, nullptr);
      if (ops_) ops_->relocate(storage_, other.storage_);
    }
    return *this;
  }
  ~WaitHandler() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  void reset() noexcept {
    if (ops_) std::exchange(ops_, nullptr)->destroy(storage_);
  }
  /// The handler's associated executor: where its coroutine resumes.
  asio::any_io_executor get_executor() const noexcept { return ops_->executor(storage_); }
  /// The handler's associated cancellation slot.
  asio::cancellation_slot get_cancellation_slot() const noexcept { return ops_->slot(storage_); }
  /// Completes with `why` here and now: the coroutine resumes inside this call. Leaves this empty.
  void operator()(Wake why) {
    WaitHandler self(std::move(*this));
    self.ops_->invoke(self.storage_, why);
  }
  /// Completes with `why` through the handler's executor. Leaves this empty.
  void post(Wake why) {
    WaitHandler self(std::move(*this));
    self.ops_->post(self.storage_, why);
  }

 private:
  struct Ops {
    void (*relocate)(void* to, void* from) noexcept;  // move-constructs at `to`, destroys `from`
    void (*destroy)(void* at) noexcept;
    void (*invoke)(void* at, Wake why);
    void (*post)(void* at, Wake why);
    asio::any_io_executor (*executor)(const void* at) noexcept;
    asio::cancellation_slot (*slot)(const void* at) noexcept;
  };

  static constexpr std::size_t capacity = 2 * sizeof(void*);
  template <class H>
  static constexpr bool fits =
      sizeof(H) <= capacity &&
      alignof(H) <= alignof(void*) && std::is_nothrow_move_constructible_v<H>;

  template <class H>
  static H& get(void* at) noexcept {
    if constexpr (fits<H>)
      return *std::launder(static_cast<H*>(at));
    else
      return **std::launder(static_cast<H**>(at));
  }
  template <class H>
  static const H& get(const void* at) noexcept {
    return get<H>(const_cast<void*>(at));
  }

  template <class H>
  static constexpr Ops ops_for{
      [](void* to, void* from) noexcept {
        if constexpr (fits<H>) {
          H& h = get<H>(from);
          ::new (to) H(std::move(h));
          h.~H();
        } else {
          ::new (to) H*(*std::launder(static_cast<H**>(from)));
        }
      },
      [](void* at) noexcept {
        if constexpr (fits<H>)
          get<H>(at).~H();
        else
          delete &get<H>(at);
      },
      [](void* at, Wake why) { std::move(get<H>(at))(why); },
      [](void* at, Wake why) { asio::post(asio::append(std::move(get<H>(at)), why)); },
      [](const void* at) noexcept -> asio::any_io_executor {
        return asio::get_associated_executor(get<H>(at));
      },
      [](const void* at) noexcept -> asio::cancellation_slot {
        return asio::get_associated_cancellation_slot(get<H>(at));
      },
  };

  const Ops* ops_ = nullptr;
  alignas(void*) unsigned char storage_[capacity];
};

}  // namespace mode::detail
