// Helpers for testing services: run a coroutine on a loop with a deadline, capture log lines.
#pragma once

#include <mode/awaitable.hpp>
#include <mode/utils/logging.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
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
bool is_cancellation(const std::exception_ptr& e) noexcept;

/// Runs `body` on `ctx` until it finishes and returns its result (rethrowing its exception);
/// throws std::runtime_error if it has not finished after `deadline` of real time.
template <class T>
T run(asio::io_context& ctx, awaitable<T> body,
      std::chrono::steady_clock::duration deadline = std::chrono::seconds(20)) {
  // Shared with the handler: after a deadline the abandoned coroutine may still finish later.
  struct State {
    std::exception_ptr error;
    bool finished = false;
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> result;
  };
  auto state = std::make_shared<State>();
  asio::co_spawn(ctx, std::move(body), [state](std::exception_ptr e, auto&&... value) {
    state->error = e;
    state->finished = true;
    if constexpr (sizeof...(value) > 0) {
      if (!e) state->result.emplace(std::move(value)...);
    }
  });
  run_until(
      ctx, [&] { return state->finished; }, deadline);
  if (state->error) std::rethrow_exception(state->error);
  if constexpr (!std::is_void_v<T>) return std::move(*state->result);
}

/// A spdlog sink that keeps each line as text: the message, after `logger|` and `LEVEL|` (Mode's
/// level names) when asked. Thread-safe.
class RecordingSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  struct Prefix {
    bool logger = false;
    bool level = false;
  };
  RecordingSink() = default;
  explicit RecordingSink(Prefix prefix) : prefix_(prefix) {}

  /// Appends a line of the test's own.
  void add(std::string line);
  std::vector<std::string> lines();
  void clear();

 private:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override {}

  Prefix prefix_;
  std::vector<std::string> lines_;
};

/// Records every log line (the message only, "%v") of every mode logger while it lives, and
/// lets the test record its own events in the same sequence.
class LogCapture {
 public:
  explicit LogCapture(LogLevel level = LogLevel::debug);
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  /// Appends an event of the test to the sequence.
  void record(std::string event);
  std::vector<std::string> lines() const;
  /// The lines that contain `needle`.
  std::vector<std::string> matching(std::string_view needle) const;
  void clear();

 private:
  std::shared_ptr<RecordingSink> sink_;
  std::vector<std::pair<std::shared_ptr<spdlog::logger>, LogLevel>> saved_levels_;
};

}  // namespace mode::testing
