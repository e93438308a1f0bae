// The identity of a coroutine chain, read from Asio's awaitable machinery.
#include <mode/utils/locals.hpp>

#include <boost/asio/any_io_executor.hpp>

namespace mode {

namespace {

using Executor = asio::any_io_executor;
using FrameBase = asio::detail::awaitable_frame_base<Executor>;
using Thread = asio::detail::awaitable_thread<Executor>;

// Asio keeps the frame's thread protected; a pointer to member named through a derived class
// reaches it without touching any object of that class.
struct FramePeek : FrameBase {
  static Thread* attached(FrameBase* frame) noexcept {
    return frame->*(&FramePeek::attached_thread_);
  }
};

}  // namespace

awaitable<ChainId> this_chain() {
  const void* entry = nullptr;
  // Asio runs a function awaited this way with the awaiting frame once it is suspended, then
  // resumes that frame at once from the same pump loop: no trip through the executor.
  co_await [&entry](FrameBase* frame) -> Thread* {
    entry = FramePeek::attached(frame)->entry_point();
    return nullptr;
  };
  co_return ChainId(entry);
}

}  // namespace mode
