// Simulation: stepping virtual time, the trace, replaying a seed.
#include <mode/detail/timer_queue.hpp>
#include <mode/testing/simulation.hpp>

#include "detail/simulated_loop.hpp"
#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <mutex>

namespace mode::testing {

/// Stamps each line with the virtual time of the simulation's clock.
class Simulation::TraceSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  TraceSink(const ManualClock& clock, Clock::time_point start) : clock_(clock), start_(start) {}

  void add(std::string_view level, std::string_view text) {
    const std::lock_guard lock(mutex_);
    append(level, text);
  }
  std::vector<std::string> lines() {
    const std::lock_guard lock(mutex_);
    return lines_;
  }

 private:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    append(level_name(msg.level), std::string_view(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

  void append(std::string_view level, std::string_view text) {
    const double t = std::chrono::duration<double>(clock_.now() - start_).count();
    std::string line = fmt::format("+{:.6f} {} ", t, level);
    // Addresses differ from run to run: a label such as `OneForOneSupervisor: (2@0x5581...)`
    // keeps its shape, not its number.
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '0' && i + 2 < text.size() && text[i + 1] == 'x' &&
          std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
        line += "0x?";
        i += 2;
        while (i + 1 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1]))) ++i;
      } else {
        line += text[i];
      }
    }
    lines_.push_back(std::move(line));
  }

  const ManualClock& clock_;
  Clock::time_point start_;
  std::vector<std::string> lines_;
};

/// A logger's sinks and level before the simulation took them.
struct Simulation::SavedLogger {
  std::shared_ptr<spdlog::logger> logger;
  std::vector<spdlog::sink_ptr> sinks;
  LogLevel level;
};

Simulation::Simulation(std::uint64_t seed, Options options)
    : seed_(seed),
      options_(options),
      start_(clock_.now()),
      sink_(std::make_shared<TraceSink>(clock_, start_)),
      ctx_(std::make_unique<asio::io_context>(1)),
      stepper_(std::make_unique<asio::io_context>(1)) {
  asio::add_service(*ctx_, new detail::SimulatedLoop(*ctx_, seed));
  use_clock(*ctx_, clock_);
  auto take = [&](const std::shared_ptr<spdlog::logger>& logger) {
    saved_.push_back(SavedLogger{logger, logger->sinks(), logger->level()});
    if (!options_.echo) logger->sinks().clear();
    logger->sinks().push_back(sink_);
    logger->set_level(LogLevel::debug);
  };
  // The registry's lock is held inside apply_all: ask for the default logger outside it.
  const auto def = spdlog::default_logger();
  take(def);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    if (l != def) take(l);
  });
}

Simulation::~Simulation() {
  // The loop first: destroying what is still suspended in it may log.
  ctx_.reset();
  stepper_.reset();
  const SavedLogger* def = nullptr;
  for (SavedLogger& s : saved_) {
    s.logger->sinks() = s.sinks;
    s.logger->set_level(s.level);
    if (s.logger == spdlog::default_logger()) def = &s;
  }
  // Loggers created meanwhile took the simulation's sinks: give them the default logger's.
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    if (std::none_of(saved_.begin(), saved_.end(),
                     [&](const SavedLogger& s) { return s.logger == l; }) &&
        def != nullptr) {
      l->sinks() = def->sinks;
      l->set_level(def->level);
    }
  });
}

std::uint64_t Simulation::seed_from_env(std::uint64_t fallback) {
  const char* text = std::getenv("MODE_SIM_SEED");
  if (text == nullptr || *text == '\0') return fallback;
  std::uint64_t seed = 0;
  const std::string_view s(text);
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), seed);
  if (ec != std::errc() || end != s.data() + s.size())
    throw std::invalid_argument(fmt::format("MODE_SIM_SEED: not a seed: '{}'", s));
  return seed;
}

std::mt19937_64& Simulation::rng() noexcept {
  return asio::use_service<detail::SimulatedLoop>(*ctx_).rng;
}

std::optional<Clock::time_point> Simulation::next_deadline() const {
  return asio::use_service<detail::TimerQueue>(*ctx_).next_deadline();
}

void Simulation::run_ready() {
  ctx_->restart();
  std::size_t n = 0;
  while (ctx_->poll_one() > 0) {
    if (++n > options_.max_handlers_per_instant) {
      fail(
          fmt::format("the loop ran {} handlers at +{:.6f} s without going idle: something "
                      "spins (a task that never waits?)",
                      n, std::chrono::duration<double>(elapsed()).count()));
    }
  }
}

bool Simulation::idle() {
  run_ready();
  return !next_deadline();
}

void Simulation::step_to(Clock::time_point t) {
  if (t > clock_.now()) clock_.advance(Seconds(t - clock_.now()), *stepper_);
  // Deadlines due now (armed at the current instant) fire too.
  asio::use_service<detail::TimerQueue>(*ctx_).fire_due();
}

bool Simulation::run_until_impl(const std::function<bool()>& done, Seconds budget) {
  const Clock::time_point end = clock_.now() + budget.duration();
  for (;;) {
    run_ready();
    if (done()) return true;
    const std::optional<Clock::time_point> next = next_deadline();
    if (!next || *next > end) break;
    step_to(*next);
  }
  step_to(end);
  run_ready();
  return done();
}

void Simulation::run_for(Seconds span) {
  run_until([] { return false; }, span);
}

std::string Simulation::trace() const {
  std::string out;
  for (const std::string& line : sink_->lines()) out.append(line).append("\n");
  return out;
}

std::vector<std::string> Simulation::trace_lines() const { return sink_->lines(); }

void Simulation::note(std::string_view text) { sink_->add("-", text); }

std::string Simulation::replay_command(std::string_view test_filter) const {
  std::string out = fmt::format("MODE_SIM_SEED={} {}", seed_, program_invocation_name);
  if (!test_filter.empty()) out += fmt::format(" --gtest_filter={}", test_filter);
  return out;
}

std::string Simulation::replay_hint(std::string_view test_filter) const {
  return fmt::format("seed {}; replay: {}", seed_, replay_command(test_filter));
}

void Simulation::fail(std::string what) const {
  throw SimulationError(fmt::format("{} ({})", what, replay_hint()));
}

}  // namespace mode::testing
