// mode::BlockingDetector: warns, with the loop thread's stack, when the event loop is blocked
// (Mode's `mode.debug`).
#pragma once

#include <mode/service.hpp>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

namespace mode {

/// Mode's `Blocking` exception type (kept for API parity; the C++ detector only logs, it never
/// throws into the blocked code).
class Blocking : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Detects a blocked event loop: a task of this service beats every `timeout / 4` on the loop,
/// and a watchdog thread checks the beat. When the loop has not come back for `timeout`, the
/// watchdog interrupts the loop thread with a real-time signal (SIGRTMIN+3) whose handler only
/// records the return addresses (async-signal-safe), then logs, from the watchdog thread,
/// WARNING `Blocking detected (timeout=<t>s)` followed by the symbolized stack (link with
/// `-rdynamic` for function names). One warning per blocked stretch.
///
/// Contract: start it from the loop thread it watches (the Worker does so in debug mode); stop
/// joins the watchdog thread and restores the previous signal handler. One detector runs at a
/// time per process (the signal slot is process-wide); a second one logs an error and stays
/// idle.
class BlockingDetector : public Service {
 public:
  explicit BlockingDetector(Seconds timeout = 10.0);
  ~BlockingDetector() override;

  Seconds timeout() const noexcept { return timeout_; }
  /// How many times blocking was detected.
  std::uint64_t detections() const noexcept { return detections_.load(); }
  /// The last report's text (empty if none).
  std::string last_report() const;

 protected:
  awaitable<void> on_start() override;
  awaitable<void> on_stop() override;
  awaitable<void> on_shutdown() override;

 private:
  awaitable<void> beat();
  void watch();
  std::string capture_stack();
  void stop_watchdog() noexcept;

  Seconds timeout_;
  std::atomic<std::uint64_t> beats_{0};
  std::atomic<std::uint64_t> detections_{0};
  std::thread watchdog_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool quit_ = false;
  bool armed_ = false;  // owns the process-wide signal slot
  std::string last_report_;
  std::string prefix_;
  std::shared_ptr<spdlog::logger> out_;
  unsigned long loop_thread_ = 0;
};

}  // namespace mode
