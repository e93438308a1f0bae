// Flight recorders: buffered lines, the timeout on the loop's timer queue, the replay.
#include <mode/detail/timer_queue.hpp>
#include <mode/service.hpp>
#include <mode/utils/flight_recorder.hpp>

#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <chrono>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <variant>
#include <vector>

namespace mode {

namespace detail {

namespace {

std::atomic<std::uint64_t> next_recorder_id{1};

// C's asctime form, `Thu Apr 19 09:43:45 2018` (day padded with a space), in local time.
std::string asctime_of(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y", &tm);
  return std::string(buf, n);
}

}  // namespace

class FlightRecorderState final : public TimerEntry {
 public:
  using Sink = std::variant<std::shared_ptr<spdlog::logger>, const CompositeLogger*>;

  FlightRecorderState(Sink sink, const Service* service, ExtraContext extra, TimerQueue& timers,
                      ChainId chain)
      : id(next_recorder_id.fetch_add(1, std::memory_order_relaxed)),
        chain(chain),
        extra_context(std::move(extra)),
        sink_(std::move(sink)),
        service_(service),
        timers_(&timers),
        started_tick_(timers.now()),
        started_wall_(std::chrono::system_clock::now()) {}
  FlightRecorderState(const FlightRecorderState&) = delete;
  FlightRecorderState& operator=(const FlightRecorderState&) = delete;
  ~FlightRecorderState() { timers_->cancel(*this); }

  void arm(Seconds timeout, const asio::any_io_executor& ex) {
    timers_->schedule(*this, started_tick_ + timeout.duration(), ex);
  }

  std::string ident() const { return fmt::format("Flight Recorder-{}", id); }
  std::string started_at_date() const { return asctime_of(started_wall_); }

  void record(LogLevel level, std::string message) noexcept {
    try {
      const Clock::time_point tick = timers_->now();
      if (timed_out)
        write(level, replay_line(tick, message));
      else
        buffer_.push_back(Entry{level, tick, std::move(message)});
    } catch (...) {
    }
  }

  std::size_t buffered() const noexcept { return buffer_.size(); }

  static FlightRecorder wrap(std::unique_ptr<FlightRecorderState> state) noexcept {
    return FlightRecorder(std::move(state));
  }

  const std::uint64_t id;
  const ChainId chain;
  ExtraContext extra_context;
  bool timed_out = false;

 private:
  struct Entry {
    LogLevel level;
    Clock::time_point tick;
    std::string message;
  };

  void on_deadline() noexcept override {
    timed_out = true;
    try {
      const std::string name = ident();
      write(LogLevel::warn, "Warning: Task timed out!");
      write(LogLevel::warn, "Please make sure it's hanging before restart.");
      write(LogLevel::info,
            fmt::format("[{}] (started at {}) Replaying logs...", name, started_at_date()));
      for (const Entry& e : buffer_) write(e.level, replay_line(e.tick, e.message));
      write(LogLevel::info, fmt::format("[{}] -End of log-", name));
      write_traceback(name);
    } catch (...) {
      write(LogLevel::err, "Flight recorder internal error while replaying");
    }
    buffer_.clear();
    buffer_.shrink_to_fit();
  }

  // Mode's `Task traceback`: where the service is suspended in its own waits. A coroutine has no
  // stack to print; these are the suspension points the service knows of.
  void write_traceback(const std::string& name) const {
    write(LogLevel::info, fmt::format("[{}] Task traceback", name));
    if (service_ == nullptr) {
      write(LogLevel::info,
            fmt::format("[{}] -missing-: no service given (flight_recorder(service, ...) shows "
                        "where it is suspended)",
                        name));
      return;
    }
    const std::vector<std::string> waits = service_->suspensions();
    if (waits.empty()) {
      write(LogLevel::info, fmt::format("[{}] -missing-: {} is not suspended in one of its waits",
                                        name, service_->shortlabel()));
    }
    for (const std::string& w : waits) write(LogLevel::info, fmt::format("[{}] {}", name, w));
  }

  std::string replay_line(Clock::time_point tick, const std::string& message) const {
    const auto wall =
        started_wall_ +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(tick - started_tick_);
    std::string line = fmt::format("[{}] ({}) {}", ident(), asctime_of(wall), message);
    const char* sep = " ";
    for (const auto& [key, value] : extra_context) {
      fmt::format_to(std::back_inserter(line), "{}{}={}", sep, key, value);
      sep = ", ";
    }
    return line;
  }

  void write(LogLevel level, std::string_view line) const noexcept {
    try {
      if (const auto* logger = std::get_if<std::shared_ptr<spdlog::logger>>(&sink_))
        (*logger)->log(level, line);
      else
        std::get<const CompositeLogger*>(sink_)->log(level, "{}", line);
    } catch (...) {
    }
  }

  Sink sink_;
  const Service* service_;  // whose suspensions are the task traceback; may be null
  TimerQueue* timers_;
  Clock::time_point started_tick_;
  std::chrono::system_clock::time_point started_wall_;
  std::vector<Entry> buffer_;
};

namespace {

// The recorders of every chain, innermost on top.
LocalStack<FlightRecorderState*>& recorders() {
  static LocalStack<FlightRecorderState*> stack;
  return stack;
}

}  // namespace

}  // namespace detail

namespace {

awaitable<FlightRecorder> make_recorder(detail::FlightRecorderState::Sink sink,
                                        const Service* service, Seconds timeout,
                                        ExtraContext extra) {
  const ChainId chain = co_await this_chain();
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  auto& stack = detail::recorders();
  // Keys of the enclosing recorder this one lacks (Mode's activate()).
  const std::optional<detail::FlightRecorderState*> parent = stack.top(chain);
  if (parent) extra.insert((*parent)->extra_context.begin(), (*parent)->extra_context.end());
  auto state = std::make_unique<detail::FlightRecorderState>(
      std::move(sink), service, std::move(extra), detail::TimerQueue::of(ex), chain);
  state->arm(timeout, ex);
  stack.push_without_automatic_cleanup(chain, state.get());
  co_return detail::FlightRecorderState::wrap(std::move(state));
}

}  // namespace

awaitable<FlightRecorder> flight_recorder(std::shared_ptr<spdlog::logger> logger, Seconds timeout,
                                          ExtraContext extra_context) {
  if (!logger) throw std::invalid_argument("flight_recorder: null logger");
  return make_recorder(std::move(logger), nullptr, timeout, std::move(extra_context));
}

awaitable<FlightRecorder> flight_recorder(const CompositeLogger& logger, Seconds timeout,
                                          ExtraContext extra_context) {
  return make_recorder(&logger, nullptr, timeout, std::move(extra_context));
}

awaitable<FlightRecorder> flight_recorder(const Service& service, Seconds timeout,
                                          ExtraContext extra_context) {
  return make_recorder(&service.log, &service, timeout, std::move(extra_context));
}

FlightRecorder::FlightRecorder(std::unique_ptr<detail::FlightRecorderState> state) noexcept
    : state_(std::move(state)) {}

FlightRecorder::FlightRecorder(FlightRecorder&& other) noexcept = default;

FlightRecorder::~FlightRecorder() {
  if (!state_) return;
  // Leave the chain's stack wherever this recorder sits in it: scopes need not have nested.
  detail::recorders().remove(state_->chain, state_.get());
}

std::string FlightRecorder::ident() const { return state_->ident(); }
std::uint64_t FlightRecorder::id() const noexcept { return state_->id; }
std::string FlightRecorder::started_at_date() const { return state_->started_at_date(); }
bool FlightRecorder::timed_out() const noexcept { return state_->timed_out; }
ExtraContext& FlightRecorder::extra_context() noexcept { return state_->extra_context; }
std::size_t FlightRecorder::buffered() const noexcept { return state_->buffered(); }

void FlightRecorder::record(LogLevel level, std::string message) const noexcept {
  if (state_) state_->record(level, std::move(message));
}

bool OnTimeout::active() const noexcept {
  try {
    return detail::recorders().size(chain_) != 0;
  } catch (...) {
    return false;
  }
}

void OnTimeout::record(LogLevel level, std::string message) const noexcept {
  try {
    if (const auto top = detail::recorders().top(chain_)) (*top)->record(level, std::move(message));
  } catch (...) {
  }
}

awaitable<OnTimeout> on_timeout() {
  const ChainId chain = co_await this_chain();
  co_return OnTimeout(chain);
}

}  // namespace mode
