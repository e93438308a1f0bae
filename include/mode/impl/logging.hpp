// The bodies of utils/logging.hpp's templates.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <utility>

namespace mode {

template <class... A>
void CompositeLogger::exception(fmt::format_string<A...> f, A&&... args) const noexcept {
  if (!enabled(LogLevel::err)) return;
  try {
    fmt::memory_buffer buf;
    owner_->format_log_prefix(buf);
    const std::size_t prefix = buf.size();
    fmt::format_to(std::back_inserter(buf), f, std::forward<A>(args)...);
    append_current_exception(buf);
    write(LogLevel::err, buf, prefix, {});
  } catch (...) {
  }
}

template <class... A>
void CompositeLogger::log_with(std::initializer_list<LogField> fields, LogLevel level,
                               fmt::format_string<A...> f, A&&... args) const noexcept {
  if (!enabled(level)) return;
  try {
    fmt::memory_buffer buf;
    owner_->format_log_prefix(buf);
    const std::size_t prefix = buf.size();
    fmt::format_to(std::back_inserter(buf), f, std::forward<A>(args)...);
    write(level, buf, prefix, fields);
  } catch (...) {
  }
}

}  // namespace mode
