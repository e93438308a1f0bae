// The event-loop backend (Mode's `mode.loop`): chosen when the library is built, not at run time.
#pragma once

#include <string_view>

namespace mode {

/// The backend every `io_context` of this build runs on: `"epoll"` (the default, Mode's asyncio
/// loop) or `"io_uring"` (CMake option `MODE_IO_URING`, liburing; Mode's uvloop role). Asio
/// fixes the backend at compile time, so the library and the program agree on it through the
/// `mode::mode` target's compile definitions.
std::string_view loop_backend() noexcept;

}  // namespace mode
