// BlockingDetector: heartbeat task on the loop, watchdog thread, signal-based stack capture.
#include <mode/debug.hpp>

#include "detail/asio_internals.hpp"
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>

namespace mode {

namespace {

constexpr int max_frames = 64;
// Bounds of the beat and watch periods, in seconds.
constexpr double kMinPeriod = 0.001;
constexpr double kMaxPeriod = 3600.0;

// The process-wide capture slot the signal handler fills; only one detector owns it.
struct CaptureSlot {
  std::atomic<bool> owned{false};
  std::atomic<bool> done{false};
  void* frames[max_frames];
  int count = 0;
  struct sigaction previous {};
};
CaptureSlot slot;

int capture_signal() noexcept { return SIGRTMIN + 3; }

extern "C" void on_capture_signal(int) {
  // backtrace() is async-signal-safe once libgcc is loaded (warmed up in on_start).
  slot.count = ::backtrace(slot.frames, max_frames);
  slot.done.store(true, std::memory_order_release);
}

std::string symbolize(void* addr) {
  Dl_info info{};
  if (::dladdr(addr, &info) != 0 && info.dli_sname != nullptr) {
    return fmt::format("{} +{:#x}", detail::runtime::demangle(info.dli_sname),
                       static_cast<const char*>(addr) - static_cast<const char*>(info.dli_saddr));
  }
  if (info.dli_fname != nullptr) return fmt::format("{} [{}]", addr, info.dli_fname);
  return fmt::format("{}", addr);
}

}  // namespace

BlockingDetector::BlockingDetector(Seconds timeout) : timeout_(timeout) {
  if (!(timeout.count() > 0)) {
    throw std::invalid_argument(
        fmt::format("BlockingDetector timeout must be positive, got {}s", timeout.count()));
  }
  task(&BlockingDetector::beat, "beat");
}

BlockingDetector::~BlockingDetector() { stop_watchdog(); }

std::string BlockingDetector::last_report() const {
  const std::lock_guard lock(mutex_);
  return last_report_;
}

awaitable<void> BlockingDetector::on_start() {
  // Everything the watchdog thread uses is prepared here, on the loop thread.
  log.debug("Watching the loop (timeout={}s)", timeout_.count());
  out_ = get_logger(logger_name());
  fmt::memory_buffer prefix;
  fmt::format_to(std::back_inserter(prefix), "[^");
  for (std::size_t d = beacon().depth(); d > 1; --d) prefix.push_back('-');
  fmt::format_to(std::back_inserter(prefix), "{}]: ", shortlabel());
  prefix_ = fmt::to_string(prefix);
  loop_thread_ = static_cast<unsigned long>(::pthread_self());
  bool expected = false;
  if (!slot.owned.compare_exchange_strong(expected, true)) {
    log.error("Another BlockingDetector is running: this one stays idle");
    co_return;
  }
  void* warmup[2];
  ::backtrace(warmup, 2);
  struct sigaction sa {};
  sa.sa_handler = on_capture_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(capture_signal(), &sa, &slot.previous);
  armed_ = true;
  quit_ = false;
  watchdog_ = std::thread([this] { watch(); });
  co_return;
}

awaitable<void> BlockingDetector::on_stop() {
  stop_watchdog();
  co_return;
}

awaitable<void> BlockingDetector::on_shutdown() {
  stop_watchdog();
  co_return;
}

void BlockingDetector::stop_watchdog() noexcept {
  {
    const std::lock_guard lock(mutex_);
    quit_ = true;
  }
  cv_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  if (armed_) {
    ::sigaction(capture_signal(), &slot.previous, nullptr);
    armed_ = false;
    slot.owned.store(false);
  }
}

awaitable<void> BlockingDetector::beat() {
  // Capped: a huge timeout (even infinity) must still give the loop's timers a sane deadline.
  const double interval = std::min(timeout_.count() / 4, kMaxPeriod);
  for (;;) {
    beats_.fetch_add(1, std::memory_order_relaxed);
    const bool slept = co_await sleep(interval);
    if (!slept) co_return;
  }
}

void BlockingDetector::watch() {
  using clock = std::chrono::steady_clock;
  // Clamped as Seconds::duration() clamps: a huge timeout (1e300, infinity) must neither
  // overflow the period (a negative one spins this thread holding the mutex that stop needs)
  // nor the condition variable's deadline. The timeout itself saturates: never reached.
  const auto period = std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double>(std::clamp(timeout_.count() / 8, kMinPeriod, kMaxPeriod)));
  const auto timeout = timeout_.duration();
  std::uint64_t seen = beats_.load();
  auto changed_at = clock::now();
  bool reported = false;
  std::unique_lock lock(mutex_);
  for (;;) {
    if (cv_.wait_for(lock, period, [this] { return quit_; })) return;
    const std::uint64_t now_beats = beats_.load();
    const auto now = clock::now();
    if (now_beats != seen) {
      seen = now_beats;
      changed_at = now;
      reported = false;
      continue;
    }
    if (reported || now - changed_at < timeout) continue;
    reported = true;
    lock.unlock();
    const std::string stack = capture_stack();
    const std::string report =
        fmt::format("Blocking detected (timeout={}s)\n{}", timeout_.count(), stack);
    try {
      out_->warn("{}{}", prefix_, report);
    } catch (...) {
    }
    detections_.fetch_add(1);
    lock.lock();
    last_report_ = report;
  }
}

std::string BlockingDetector::capture_stack() {
  slot.done.store(false);
  if (::pthread_kill(static_cast<pthread_t>(loop_thread_), capture_signal()) != 0)
    return "  (cannot signal the loop thread)";
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!slot.done.load(std::memory_order_acquire)) {
    if (std::chrono::steady_clock::now() > until) return "  (the loop thread did not answer)";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::string out;
  // Frame 0 is the handler and frame 1 the signal trampoline: start at the interrupted code.
  for (int i = 2; i < slot.count; ++i)
    out += fmt::format("  #{} {}\n", i - 2, symbolize(slot.frames[i]));
  return out;
}

}  // namespace mode
