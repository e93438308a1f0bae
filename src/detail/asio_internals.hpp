// Internal, never installed: every use of Boost.Asio's and the C++ runtime's internals, behind one
// door. Each has a portable counterpart, taken wherever the internals were not checked.
#pragma once

#include <mode/awaitable.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/version.hpp>

#include <exception>
#include <string>
#include <typeinfo>
#include <utility>
#include <version>  // defines __GLIBCXX__ under libstdc++

// Asio's awaitable internals (the fast task launch of task_thread.hpp) are used only with the Asio
// they were written against: Boost 1.81's Asio 1.26.0. Any other Asio, or MODE_PORTABLE, takes
// the portable path, built on Asio's public API alone.
#if BOOST_ASIO_VERSION == 102600 && !defined(MODE_PORTABLE)
#define MODE_ASIO_INTERNALS 1
#else
#define MODE_ASIO_INTERNALS 0
#endif

// libstdc++'s side of the Itanium C++ ABI: demangled names, the type and address of the object an
// exception_ptr holds (read without a rethrow), and the bases recorded beside each type_info.
// Without it: mangled names, rethrows, exact types only. `-DMODE_ABI_INTERNALS=0` forces that.
#ifndef MODE_ABI_INTERNALS
#if defined(__GLIBCXX__)
#define MODE_ABI_INTERNALS 1
#else
#define MODE_ABI_INTERNALS 0
#endif
#endif

#if MODE_ABI_INTERNALS
#include <cxxabi.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#endif

// ---------------------------------------------------------------------------------------------
// The C++ runtime.

namespace mode::detail::runtime {

/// The readable form of a mangled name (a type's, or a symbol's); the name itself if it cannot be
/// demangled.
inline std::string demangle(const char* name) {
#if MODE_ABI_INTERNALS
  int status = 0;
  const std::unique_ptr<char, void (*)(void*)> out(
      abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
  if (status == 0 && out) return std::string(out.get());
#endif
  return std::string(name);
}

/// The object an exception_ptr holds, read without a rethrow.
struct Thrown {
  const std::type_info* type = nullptr;
  void* object = nullptr;
  const std::exception* exception = nullptr;  // the object as a std::exception, if it is one
};

/// What `e` holds, if the runtime can tell without a rethrow (libstdc++ can).
inline bool inspect(const std::exception_ptr& e, Thrown& out) noexcept {
#if MODE_ABI_INTERNALS
  // Found as a catch clause finds it, but without a rethrow (which unwinds, for microseconds:
  // crash logs read every crash). libstdc++'s exception_ptr holds the thrown object's address.
  static_assert(sizeof(std::exception_ptr) == sizeof(void*));
  const std::type_info* type = e.__cxa_exception_type();
  if (type == nullptr) return false;
  void* thrown = nullptr;
  std::memcpy(&thrown, &e, sizeof thrown);
  void* object = thrown;  // __do_catch moves it to the std::exception base
  const bool is_exception = typeid(std::exception).__do_catch(type, &object, 1);
  out.type = type;
  out.object = thrown;
  out.exception = is_exception ? static_cast<const std::exception*>(object) : nullptr;
  return true;
#else
  static_cast<void>(e);
  static_cast<void>(out);
  return false;
#endif
}

/// Inside a catch clause: the type of the exception being handled, or null if unknown.
inline const std::type_info* current_exception_type() noexcept {
#if MODE_ABI_INTERNALS
  return abi::__cxa_current_exception_type();
#else
  return nullptr;
#endif
}

/// Whether `type` is `base` or derives from it. Without the ABI's class records: only `type ==
/// base`.
inline bool derives(const std::type_info& type, const std::type_info& base) noexcept {
  if (type == base) return true;
#if MODE_ABI_INTERNALS
  // Walks the class hierarchy that the C++ ABI records beside each class's type_info.
  if (const auto* si = dynamic_cast<const abi::__si_class_type_info*>(&type))
    return derives(*si->__base_type, base);
  if (const auto* vmi = dynamic_cast<const abi::__vmi_class_type_info*>(&type)) {
    for (unsigned i = 0; i < vmi->__base_count; ++i)
      if (derives(*vmi->__base_info[i].__base_type, base)) return true;
  }
#endif
  return false;
}

}  // namespace mode::detail::runtime

// ---------------------------------------------------------------------------------------------
// Asio's awaitable machinery.

namespace mode::detail {

/// How a task's body ended: `error` is what it threw, or null.
struct TaskOutcome {
  std::exception_ptr error;
};

}  // namespace mode::detail

#if MODE_ASIO_INTERNALS

// The fast task launch: a task as its own Asio coroutine thread, like `co_spawn`, but what the task
// throws reaches its completion without being rethrown, and the thread keeps less.
//
// Asio hands a coroutine's exception to its awaiter by rethrowing it, and a rethrow unwinds the
// stack again: as costly as the throw itself, and a crashing task pays it on every crash. The
// task's runner awaits the body through `Caught` instead, which takes the exception as a value.
// `co_spawn`'s root frame keeps four executors (about 500 bytes); a task's keeps one.
//
// Uses `awaitable_frame`, `awaitable_frame_base::pending_exception_`, `awaitable_thread` and
// `awaitable_thread_has_context_switched` (gone in Asio 1.3x).

namespace mode::detail {

/// `co_await Caught{body}` in an `awaitable<TaskOutcome>` runs `body` and returns what it threw.
struct Caught {
  awaitable<void> body;
};

}  // namespace mode::detail

namespace boost::asio::detail {

/// The promise of an `awaitable<TaskOutcome>`: Asio's `awaitable_frame<T>`, plus `co_await
/// Caught{...}`.
template <typename Executor>
class awaitable_frame<mode::detail::TaskOutcome, Executor> : public awaitable_frame_base<Executor> {
 public:
  using Outcome = mode::detail::TaskOutcome;

  awaitable<Outcome, Executor> get_return_object() noexcept {
    this->coro_ = coroutine_handle<awaitable_frame>::from_promise(*this);
    return awaitable<Outcome, Executor>(this);
  }

  void return_value(Outcome o) noexcept { result_ = std::move(o); }

  Outcome get() {
    this->caller_ = nullptr;
    this->rethrow_exception();
    return std::move(result_);
  }

  using awaitable_frame_base<Executor>::await_transform;

  auto await_transform(mode::detail::Caught&& c) {
    struct Awaiter {
      awaitable<void, Executor> body;
      bool await_ready() const noexcept { return false; }
      void await_suspend(coroutine_handle<awaitable_frame> h) { body.await_suspend(h); }
      std::exception_ptr await_resume() noexcept {
        // What awaitable<void>::await_resume would rethrow, taken instead. Named through this
        // class, the member gives a pointer to the base's member, usable on the body's frame.
        constexpr std::exception_ptr awaitable_frame_base<Executor>::*pending =
            &awaitable_frame::pending_exception_;
        return std::exchange(body.frame_->*pending, nullptr);
      }
    };
    return Awaiter{std::move(c.body)};
  }

 private:
  Outcome result_;
};

}  // namespace boost::asio::detail

namespace mode::detail::fast {

/// Runs `body`; what it throws comes back as the outcome's error.
inline awaitable<TaskOutcome> run_caught(awaitable<void> body) {
  // A named operand: with a temporary one, g++ 12 destroyed the body's frame twice.
  Caught caught{std::move(body)};
  TaskOutcome outcome;
  outcome.error = co_await std::move(caught);
  co_return outcome;
}

/// The thread's root: runs the body, then calls `done` with what it threw (or null), on a later
/// turn if `later` and the body never left the spawning call. `work` keeps the loop running while
/// the task lives, as co_spawn's does.
template <class Done>
awaitable<asio::detail::awaitable_thread_entry_point> task_entry(
    awaitable<TaskOutcome> runner, [[maybe_unused]] asio::any_io_executor work, bool later,
    Done done) {
  std::exception_ptr error;
  try {
    TaskOutcome outcome = co_await std::move(runner);
    error = std::move(outcome.error);
    const bool switched = co_await asio::detail::awaitable_thread_has_context_switched{};
    if (!switched && later) co_await asio::post(use_awaitable);
  } catch (...) {
    // Cancelled before the body began, or during that last turn (the runner never throws).
    if (!error) error = std::current_exception();
  }
  done(std::move(error));
}

/// Runs `body` on `ex` as a new coroutine thread that `slot` cancels, and `done(error)` when it
/// ends. The body starts at once if the caller runs on `ex`.
template <class Done>
void spawn_task(const asio::any_io_executor& ex, awaitable<void> body, asio::cancellation_slot slot,
                Done done, bool later) {
  asio::detail::awaitable_thread<asio::any_io_executor> thread(
      task_entry(run_caught(std::move(body)),
                 asio::prefer(ex, asio::execution::outstanding_work.tracked), later,
                 std::move(done)),
      ex, slot, asio::cancellation_state(slot));
  asio::dispatch(ex, [thread = std::move(thread)]() mutable { thread.launch(); });
}

}  // namespace mode::detail::fast

#endif  // MODE_ASIO_INTERNALS

// The chain lookup behind mode::this_chain (LocalStack, flight recorders): the entry frame of the
// awaiting coroutine's "thread of execution". Asio's public API has no equivalent (no
// coroutine-local storage, no hook when a chain resumes, no handle on the thread; a chain's
// cancellation state exists only if its spawner bound a slot), so this one is used on the
// portable path too. It needs `awaitable_frame_base::attached_thread_`,
// `awaitable_thread::entry_point()` and the await_transform of a function object taking the
// frame, all three unchanged in the sources of Asio 1.26 (Boost 1.81) to 1.38 (Boost 1.90).
// Outside that range this_chain() throws instead.
#if BOOST_ASIO_VERSION >= 102600 && BOOST_ASIO_VERSION <= 103800
#define MODE_ASIO_CHAIN_LOOKUP 1
#else
#define MODE_ASIO_CHAIN_LOOKUP 0
#endif

#if MODE_ASIO_CHAIN_LOOKUP

namespace mode::detail {

/// The entry frame of the awaiting coroutine's chain; stable while the chain lives. Completes
/// without going through the loop.
inline awaitable<const void*> chain_entry() {
  using FrameBase = asio::detail::awaitable_frame_base<asio::any_io_executor>;
  using Thread = asio::detail::awaitable_thread<asio::any_io_executor>;
  // Asio keeps the frame's thread protected; a pointer to member named through a derived class
  // reaches it without touching any object of that class.
  struct FramePeek : FrameBase {
    static Thread* attached(FrameBase* frame) noexcept {
      return frame->*(&FramePeek::attached_thread_);
    }
  };
  const void* entry = nullptr;
  // Asio runs a function awaited this way with the awaiting frame once it is suspended, then
  // resumes that frame at once from the same pump loop: no trip through the executor.
  co_await [&entry](FrameBase* frame) -> Thread* {
    entry = FramePeek::attached(frame)->entry_point();
    return nullptr;
  };
  co_return entry;
}

}  // namespace mode::detail

#endif  // MODE_ASIO_CHAIN_LOOKUP
