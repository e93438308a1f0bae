// Loggers of services: named spdlog loggers, and the CompositeLogger every service has as `log`.
#pragma once

#include <fmt/format.h>
#include <spdlog/logger.h>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <variant>

namespace mode {

using LogLevel = spdlog::level::level_enum;

/// The named logger, created on first use with the sinks and level of spdlog's default logger.
std::shared_ptr<spdlog::logger> get_logger(std::string_view name);

/// A level from its name (`"debug"`, `"INFO"`, `"warn"`, `"warning"`, `"crit"`...) or number
/// (`"10"`..`"50"`, as Python's logging). Throws std::invalid_argument naming the input.
LogLevel level_number(std::string_view name);
/// Mode's name of a level: DEBUG, INFO, WARNING, ERROR, CRITICAL.
std::string_view level_name(LogLevel level) noexcept;

/// The logger name of a class (Mode's per-module logger): its namespace, `main` if it has none.
std::string logger_name_of(const std::type_info& type);
/// Mode's service log prefix, `[^--label]: `, with one dash per level below the root (depth 1).
void format_service_log_prefix(fmt::memory_buffer& out, std::size_t depth, std::string_view label);

namespace detail {
/// Mode's per-level helpers, `debug` to `critical`, over the `log(level, format, args...)` of
/// `Derived`.
template <class Derived>
class LevelHelpers {
 public:
  template <class... A>
  void debug(fmt::format_string<A...> f, A&&... args) const noexcept {
    self().log(LogLevel::debug, f, std::forward<A>(args)...);
  }
  template <class... A>
  void info(fmt::format_string<A...> f, A&&... args) const noexcept {
    self().log(LogLevel::info, f, std::forward<A>(args)...);
  }
  template <class... A>
  void warn(fmt::format_string<A...> f, A&&... args) const noexcept {
    self().log(LogLevel::warn, f, std::forward<A>(args)...);
  }
  template <class... A>
  void warning(fmt::format_string<A...> f, A&&... args) const noexcept {
    self().log(LogLevel::warn, f, std::forward<A>(args)...);
  }
  template <class... A>
  void error(fmt::format_string<A...> f, A&&... args) const noexcept {
    self().log(LogLevel::err, f, std::forward<A>(args)...);
  }
  template <class... A>
  void crit(fmt::format_string<A...> f, A&&... args) const noexcept {
    self().log(LogLevel::critical, f, std::forward<A>(args)...);
  }
  template <class... A>
  void critical(fmt::format_string<A...> f, A&&... args) const noexcept {
    self().log(LogLevel::critical, f, std::forward<A>(args)...);
  }

 private:
  const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
};
}  // namespace detail

/// A field of a log record beside its message (Mode's `extra=`): a member of the line in the JSON
/// log format (`--log-format json`), not shown by the text format. Integers are kept as 64-bit
/// signed numbers. It refers to its key and string value: build it in the logging expression.
struct LogField {
  using Value = std::variant<std::string_view, std::int64_t, double, bool>;

  LogField(std::string_view k, std::string_view v) noexcept : key(k), value(v) {}
  LogField(std::string_view k, const char* v) noexcept : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, const std::string& v) noexcept
      : key(k), value(std::string_view(v)) {}
  LogField(std::string_view k, bool v) noexcept : key(k), value(v) {}
  template <std::integral I>
  requires(!std::same_as<I, bool>) LogField(std::string_view k, I v)
  noexcept : key(k), value(static_cast<std::int64_t>(v)) {}
  template <std::floating_point F>
  LogField(std::string_view k, F v) noexcept : key(k), value(static_cast<double>(v)) {}

  std::string_view key;
  Value value;
};

/// Mode's `log` helper: writes through its owner's logger, each message after the owner's prefix
/// (`[^--Label]: ` for services), with fmt-style arguments. Logging never throws; the message is
/// only formatted when its level is enabled.
class CompositeLogger : public detail::LevelHelpers<CompositeLogger> {
 public:
  /// What a CompositeLogger writes for.
  class Owner {
   public:
    virtual spdlog::logger& logger() const = 0;
    virtual void format_log_prefix(fmt::memory_buffer& out) const = 0;
    /// Where the owner sits, for the JSON log format's `service` member; empty: none.
    virtual std::string log_path() const { return {}; }

   protected:
    ~Owner() = default;
  };

  explicit CompositeLogger(const Owner& owner) noexcept : owner_(&owner) {}

  /// Whether a line at `level` would be written: to skip building costly arguments.
  bool enabled(LogLevel level) const noexcept { return owner_->logger().should_log(level); }

  template <class... A>
  void log(LogLevel level, fmt::format_string<A...> f, A&&... args) const noexcept {
    log_with({}, level, f, std::forward<A>(args)...);
  }

  /// This logger with `fields` added to each record it writes (Mode's `extra=`), for one
  /// expression: `log.extra({{"user", name}, {"bytes", n}}).info("served {}", path)`.
  class WithExtra : public detail::LevelHelpers<WithExtra> {
   public:
    template <class... A>
    void log(LogLevel level, fmt::format_string<A...> f, A&&... args) const noexcept {
      logger_.log_with(fields_, level, f, std::forward<A>(args)...);
    }

   private:
    friend class CompositeLogger;
    WithExtra(const CompositeLogger& logger, std::initializer_list<LogField> fields) noexcept
        : logger_(logger), fields_(fields) {}
    const CompositeLogger& logger_;
    std::initializer_list<LogField> fields_;
  };
  WithExtra extra(std::initializer_list<LogField> fields) const noexcept {
    return WithExtra(*this, fields);
  }

  template <class... A>
  void dev(fmt::format_string<A...> f, A&&... args) const noexcept {
    if (devlog_enabled()) log(LogLevel::info, f, std::forward<A>(args)...);
  }
  /// At ERROR, followed by ": " and the current exception's type and message (Mode's
  /// `log.exception`); call it from a catch block.
  template <class... A>
  void exception(fmt::format_string<A...> f, A&&... args) const noexcept;

 private:
  template <class... A>
  void log_with(std::initializer_list<LogField> fields, LogLevel level, fmt::format_string<A...> f,
                A&&... args) const noexcept;
  static bool devlog_enabled() noexcept;
  static void append_current_exception(fmt::memory_buffer& buf);
  /// Logs `buf`, whose first `prefix` bytes are the owner's prefix, with `fields`.
  void write(LogLevel level, const fmt::memory_buffer& buf, std::size_t prefix,
             std::initializer_list<LogField> fields) const;

  const Owner* owner_;
};

}  // namespace mode

#include <mode/impl/logging.hpp>
