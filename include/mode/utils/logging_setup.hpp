// Process-wide logging setup (Mode's `setup_logging`) and stdout/stderr redirection into the log
// (Mode's `FileLogProxy` / `redirect_stdouts`).
#pragma once

#include <mode/utils/logging.hpp>

#include <spdlog/common.h>

#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <streambuf>
#include <string>
#include <vector>

namespace mode {

/// When log lines on a stream are coloured.
enum class ColorMode { automatic, always, never };

/// Mode's `logging_config`, in C++ form: extra sinks and per-logger levels.
///
/// With `merge` (the default) the sinks are added to the one `setup_logging` builds; without it
/// they replace it. `levels` sets the level of named loggers (created if needed), after the
/// global level. `pattern` replaces Mode's line format for every sink.
struct LoggingConfig {
  std::vector<spdlog::sink_ptr> sinks;
  std::map<std::string, LogLevel, std::less<>> levels;
  std::optional<std::string> pattern;
  bool merge = true;
};

/// How log lines are written: Mode's text lines, or one JSON object per line.
enum class LogFormat { text, json };

/// What `setup_logging` does.
struct LoggingOptions {
  /// The level of every logger; none means WARNING (Python's root logger default).
  std::optional<LogLevel> level;
  /// Append to this file instead of writing to stderr.
  std::string logfile;
  ColorMode color = ColorMode::automatic;
  /// Put the process id in each line: `[time] [pid] [LEVEL]: message` (Mode's file format).
  bool pid = false;
  /// `json`: every sink writes JSON lines (`make_json_formatter`); `config.pattern` and colours
  /// are then ignored.
  LogFormat format = LogFormat::text;
  LoggingConfig config;
};

/// Mode's line format: `[2024-01-02 15:47:12,159: INFO]: message` (`%N` is the level as Mode
/// names it; `%^..%$` is the coloured range).
std::string mode_log_pattern(bool pid = false);

/// A spdlog formatter for `pattern` that knows `%N` (Mode's level names).
std::unique_ptr<spdlog::formatter> make_mode_formatter(const std::string& pattern);

/// A spdlog formatter that writes each record as one JSON object on one line, for log shippers
/// (Loki, Elasticsearch): `time` (UTC, RFC 3339 with microseconds), `level` (Mode's names),
/// `pid`, `logger`, `service` (the path of the service that logged it, `Worker/App/Child`, when a
/// service's `log` did), `message` (without the service's `[^--App]: ` prefix), then the
/// record's fields (`log.extra(...)`, Mode's `extra=`), which never replace those above.
std::unique_ptr<spdlog::formatter> make_json_formatter();

/// Sets up logging for the process: one sink (stderr, coloured only on a terminal unless told,
/// or the logfile), Mode's format, the level; applied to spdlog's default logger and to every
/// logger already created (services keep theirs). Returns the level set. Throws
/// spdlog::spdlog_ex if the logfile cannot be opened.
LogLevel setup_logging(const LoggingOptions& options);

/// Sets the level of every registered logger and of the default logger.
void set_all_levels(LogLevel level) noexcept;

/// A streambuf that logs each line written to it (Mode's FileLogProxy): text is collected up to
/// a newline, stripped, and logged at `level` to `logger`; whitespace-only lines are dropped,
/// and so are writes made while the same thread is already logging through it.
class LogStreamBuf final : public std::streambuf {
 public:
  LogStreamBuf(std::shared_ptr<spdlog::logger> logger, LogLevel level);
  ~LogStreamBuf() override;

 protected:
  int_type overflow(int_type ch) override;
  std::streamsize xsputn(const char* s, std::streamsize n) override;
  int sync() override;

 private:
  void emit() noexcept;
  std::shared_ptr<spdlog::logger> logger_;
  LogLevel level_;
  std::string line_;
};

/// While it lives, writes to `std::cout` and `std::cerr` go to the logger `mode.redirect` at
/// `level` (Mode's `redirect_stdouts`). Restores the original buffers when destroyed. C stdio
/// (`printf`) is not redirected.
class RedirectStdouts {
 public:
  explicit RedirectStdouts(LogLevel level = LogLevel::warn, bool stdout_too = true,
                           bool stderr_too = true);
  ~RedirectStdouts();
  RedirectStdouts(const RedirectStdouts&) = delete;
  RedirectStdouts& operator=(const RedirectStdouts&) = delete;

  /// The buffers that were in place before, for output that must bypass the log.
  std::streambuf* original_stdout() const noexcept { return old_out_; }
  std::streambuf* original_stderr() const noexcept { return old_err_; }

 private:
  std::unique_ptr<LogStreamBuf> out_buf_;
  std::unique_ptr<LogStreamBuf> err_buf_;
  std::streambuf* old_out_ = nullptr;
  std::streambuf* old_err_ = nullptr;
};

}  // namespace mode
