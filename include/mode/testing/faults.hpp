// Fault injection: user code that throws, hangs, spins, dawdles or crashes where a seed or the
// test says, to check that the library survives it (see docs/testing.md).
#pragma once

#include <mode/awaitable.hpp>
#include <mode/service.hpp>
#include <mode/utils/times.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace mode::testing {

/// Where user code consults the injector.
enum class FaultPoint : std::uint8_t { on_start, on_started, on_stop, on_shutdown, task, timer };

/// How user code misbehaves.
enum class Fault : std::uint8_t {
  none,
  throw_std,    ///< throws std::runtime_error("fault #N at Service.point")
  throw_other,  ///< throws a std::string (not a std::exception) with the same text
  hang,         ///< never returns and ignores cancellation, until `release_hangs()`
  busy,         ///< runs a while without ever suspending, then returns
  slow,         ///< takes 0.9 × the service's `shutdown_timeout` of loop time, then returns
  crash,        ///< calls the service's `crash()` and returns
};

std::string_view to_string(FaultPoint point) noexcept;
std::string_view to_string(Fault fault) noexcept;

/// Decides, from a seed or as the test chose, how user code misbehaves at each FaultPoint, does
/// it, and remembers what it did.
///
/// Chosen faults (`inject`) come first; otherwise a call misbehaves with probability `rate`,
/// with a fault drawn from `kinds`. Everything runs on the loop of the service it is called for;
/// the injector must outlive the coroutines that hang in it.
class FaultInjector {
 public:
  /// One fault that happened.
  struct Injection {
    std::size_t id = 0;  ///< `#id` in the text of what it throws
    std::string service;
    FaultPoint point = FaultPoint::on_start;
    Fault fault = Fault::none;
    Clock::time_point at;
    /// What it threw (or the reason it crashed the service with); null for the other kinds.
    std::exception_ptr error;
    /// `fault #id at Service.point`: in the text of what it throws.
    std::string text;
  };

  explicit FaultInjector(std::uint64_t seed) : rng_(seed) {}
  FaultInjector(const FaultInjector&) = delete;
  FaultInjector& operator=(const FaultInjector&) = delete;

  /// Probability that a call with no chosen fault misbehaves (0: only chosen faults).
  double rate = 0;
  /// What a random fault is drawn from.
  std::vector<Fault> kinds{Fault::throw_std, Fault::throw_other, Fault::hang,
                           Fault::busy,      Fault::slow,        Fault::crash};
  /// Loop iterations of a `busy` fault.
  std::size_t busy_iterations = 20'000;

  /// Makes the next `times` calls of `service` (its label) at `point` misbehave with `fault`.
  void inject(std::string service, FaultPoint point, Fault fault, std::size_t times = 1);
  /// Stops every chosen and random fault (a test's clean-up phase); `release_hangs` separately.
  void disable() noexcept;

  /// Called by user code of `service` at `point`: misbehaves as chosen or drawn, or returns.
  awaitable<void> at(Service& service, FaultPoint point);

  const std::vector<Injection>& injections() const noexcept { return injections_; }
  /// Coroutines hanging in a `hang` fault now.
  std::size_t hanging() const noexcept { return hangs_.size(); }
  /// Ends every hang (they return normally).
  void release_hangs() noexcept;

 private:
  struct Chosen {
    std::string service;
    FaultPoint point;
    Fault fault;
    std::size_t times;
  };
  Fault decide(const Service& service, FaultPoint point);
  awaitable<void> hang();
  awaitable<void> take(Service& service, Seconds d);

  std::mt19937_64 rng_;
  std::vector<Chosen> chosen_;
  std::vector<Injection> injections_;
  std::vector<detail::WaitOp*> hangs_;
  bool disabled_ = false;
};

/// A service whose callbacks, background task and timer consult a FaultInjector, and which
/// records its callbacks in order (`callbacks()`), for tests of the library's guarantees.
class FaultyService : public Service {
 public:
  struct Options {
    /// Interval of its timer (0: none).
    double timer = 1.0;
    /// Interval of the loop of its background task (0: no task).
    double task = 1.5;
    /// How long `on_start` takes (a sleep of the service's, cut short by a stop).
    double start_delay = 0;
  };

  FaultyService(FaultInjector& injector, std::string name, Options options);
  std::string label() const override { return name_; }
  /// `on_init`, `on_first_start`, `on_start`, `on_started`, `on_stop`, `on_shutdown`,
  /// `on_restart`, in the order they were called (when each began).
  const std::vector<std::string>& callbacks() const noexcept { return callbacks_; }

 protected:
  void on_init() override;
  awaitable<void> on_first_start() override;
  awaitable<void> on_start() override;
  awaitable<void> on_started() override;
  awaitable<void> on_stop() override;
  awaitable<void> on_shutdown() override;
  awaitable<void> on_restart() override;

 private:
  awaitable<void> work();
  awaitable<void> tick();

  FaultInjector& injector_;
  std::string name_;
  Options options_;
  std::vector<std::string> callbacks_;
};

}  // namespace mode::testing
