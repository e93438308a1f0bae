// Helpers for testing services: run a coroutine on a loop with a deadline, capture log lines.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/utils/logging.hpp>
#include <mode/utils/objects.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <exception>
#include <iosfwd>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace mode::testing {

/// Runs `ctx` until `done()` is true; throws std::runtime_error after `deadline` of real time,
/// so a hang fails the test instead of blocking the run.
template <class Pred>
void run_until(asio::io_context& ctx, Pred done,
               std::chrono::steady_clock::duration deadline = std::chrono::seconds(20)) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  ctx.restart();
  while (!done()) {
    if (std::chrono::steady_clock::now() > until)
      throw std::runtime_error("mode::testing: deadline passed before the coroutine finished");
    ctx.run_one_for(std::chrono::milliseconds(10));
    if (ctx.stopped()) ctx.restart();
  }
}

/// Runs the handlers that are ready on `ctx`, restarting it first (run_until leaves it stopped
/// once idle, and a stopped context polls nothing).
inline void poll(asio::io_context& ctx) {
  ctx.restart();
  ctx.poll();
}

/// True if `e` holds Asio's `operation_aborted` (how cancellation surfaces).
using mode::is_cancellation;

/// How an awaitable started by `spawn` ended; shared with its completion handler, so it may be
/// read after the test stopped waiting.
template <class T>
struct Outcome {
  bool finished = false;
  std::exception_ptr error;
  /// The result once it finished without an exception (std::monostate for void).
  std::optional<std::conditional_t<std::is_void_v<T>, std::monostate, T>> value;
};

/// co_spawns `a` on `ctx`, bound to `signal` (for cancellation) if one is given, and returns
/// where its end will be recorded.
template <class T>
std::shared_ptr<Outcome<T>> spawn(asio::io_context& ctx, awaitable<T> a,
                                  asio::cancellation_signal* signal = nullptr) {
  auto out = std::make_shared<Outcome<T>>();
  auto done = [out](std::exception_ptr e, auto&&... value) {
    out->finished = true;
    out->error = e;
    if (!e) out->value.emplace(std::move(value)...);
  };
  if (signal)
    asio::co_spawn(ctx, std::move(a), asio::bind_cancellation_slot(signal->slot(), done));
  else
    asio::co_spawn(ctx, std::move(a), done);
  return out;
}

/// Runs `body` on `ctx` until it finishes and returns its result (rethrowing its exception);
/// throws std::runtime_error if it has not finished after `deadline` of real time.
template <class T>
T run(asio::io_context& ctx, awaitable<T> body,
      std::chrono::steady_clock::duration deadline = std::chrono::seconds(20)) {
  const std::shared_ptr<Outcome<T>> out = spawn(ctx, std::move(body));
  run_until(
      ctx, [&] { return out->finished; }, deadline);
  if (out->error) std::rethrow_exception(out->error);
  if constexpr (!std::is_void_v<T>) return std::move(*out->value);
}

/// One recorded line: its level, its logger's name and its message.
struct LogLine {
  /// `LogLevel::off` for an event the test recorded itself (`LogCapture::record`).
  LogLevel level = LogLevel::off;
  std::string logger;
  std::string text;

  friend bool operator==(const LogLine&, const LogLine&) = default;
};
/// `INFO|logger|text` (Mode's level names; `-` for a test's own event), for test failures.
std::ostream& operator<<(std::ostream& out, const LogLine& line);

/// A spdlog sink that keeps each line with its level; `lines()` renders each as text: the
/// message, after `logger|` and `LEVEL|` (Mode's level names) when asked. Thread-safe.
class RecordingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  struct Prefix {
    bool logger = false;
    bool level = false;
  };
  RecordingSink() = default;
  explicit RecordingSink(Prefix prefix) : prefix_(prefix) {}

  /// Appends a line of the test's own (level `off`).
  void add(std::string line);
  std::vector<std::string> lines();
  /// The lines with their levels and loggers, unrendered.
  std::vector<LogLine> records();
  void clear();

 private:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}
  std::string render(const LogLine& line) const;

  Prefix prefix_;
  std::vector<LogLine> lines_;
};

/// Records every log line (the message only, "%v", and its level) of every mode logger while it
/// lives, and lets the test record its own events in the same sequence.
class LogCapture {
 public:
  explicit LogCapture(LogLevel level = LogLevel::debug);
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  /// Appends an event of the test to the sequence (its level is `LogLevel::off`).
  void record(std::string event);
  /// The messages, in order.
  std::vector<std::string> lines() const;
  /// The messages logged at exactly `level`, in order.
  std::vector<std::string> lines(LogLevel level) const;
  /// Every line with its level and logger, in order.
  std::vector<LogLine> records() const;
  /// The lines that contain `needle`.
  std::vector<std::string> matching(std::string_view needle) const;
  void clear();

 private:
  std::shared_ptr<RecordingSink> sink_;
  std::vector<std::pair<std::shared_ptr<spdlog::logger>, LogLevel>> saved_levels_;
};

}  // namespace mode::testing
