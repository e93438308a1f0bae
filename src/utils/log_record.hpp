// Internal: the record a CompositeLogger is writing on this thread, for the formatters that keep
// its parts apart (the JSON log format).
#pragma once

#include <mode/utils/logging.hpp>

#include <cstddef>
#include <initializer_list>

namespace mode::detail {

struct LogRecord {
  const CompositeLogger::Owner* owner;
  const char* payload;  // the text logged: the owner's prefix, then the message
  std::size_t prefix;   // bytes of `payload` that are the prefix
  std::initializer_list<LogField> fields;
};

/// The record being written on this thread, while its logger's sinks format it; null otherwise.
/// A formatter checks that the message it formats is `payload`.
const LogRecord* current_log_record() noexcept;

}  // namespace mode::detail
