// Supervisors: services that restart the services they supervise when those crash (Mode's
// mode.supervisors, completed the way Erlang/OTP supervisors are).
#pragma once

#include <mode/service.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace mode {

/// Raised (by default) when a supervisor gives up: more than `max_restarts` restarts within
/// `over` seconds.
class MaxRestartsExceeded : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// When a supervised service is restarted (OTP's restart types).
enum class RestartType {
  permanent,  ///< after a crash and after a normal stop (the default)
  transient,  ///< only after a crash
  temporary,  ///< never: once it ends it is dropped from the supervisor
};

/// Exponential backoff between restarts of the same service: the first restart waits `min`,
/// each next one `factor` times longer, up to `max`, each varied by ±`jitter` (a fraction).
/// After the service has run `reset_after` without crashing, the delay starts over.
struct Backoff {
  Seconds min = 0.1;
  Seconds max = 30.0;
  double factor = 2.0;
  double jitter = 0.1;
  Seconds reset_after = 60.0;
};

/// What a supervisor knows of each service it supervises.
struct SupervisedStats {
  std::uint64_t restart_count = 0;
  std::uint64_t crash_count = 0;
  std::exception_ptr last_crash_reason;
  std::optional<Clock::time_point> last_crash_at;
};

/// Options of every supervisor.
struct SupervisorOptions {
  /// More than this many restarts within `over` makes the supervisor give up.
  std::size_t max_restarts = 100;
  Seconds over = 1.0;
  /// The exception the supervisor crashes with when it gives up.
  std::function<std::exception_ptr(const std::string& message)> raises =
      [](const std::string& message) {
        return std::make_exception_ptr(MaxRestartsExceeded(message));
      };
  /// When set, a crashed service is replaced by the service this returns (same place and index)
  /// instead of being restarted in place.
  std::function<awaitable<Service::ServicePtr>(Service::ServicePtr old, std::size_t index)>
      replacement;
  std::optional<Backoff> backoff;
};

/// A service that supervises services (Mode's SupervisorStrategy; the strategies below decide
/// what a crash does).
///
/// The supervised services are its dependencies: they start after it in order, stop before it
/// in reverse order, appear under it in the service tree, and log one level deeper. Their
/// `supervisor()` is this supervisor, so their crashes come here instead of going up the tree.
/// A background task waits to be woken by a crash (never losing a wake-up that comes while it
/// is busy) and restarts what the strategy says, counting restarts in a sliding window of
/// `over` seconds: the (max_restarts + 1)-th restart within `over` seconds is refused, the
/// supervisor logs `Max restarts exceeded` and crashes with `raises`, which escalates to its own
/// supervisor (a supervisor can supervise supervisors) or, without one, up the tree. Two
/// restarts count in the same window when they are less than `over` apart.
class SupervisorStrategy : public Service, public SupervisorHook {
 public:
  explicit SupervisorStrategy(std::vector<ServicePtr> services = {},
                              SupervisorOptions options = {});

  /// Supervises `s` (does not start it). Throws std::invalid_argument for a null service or
  /// one that already has a supervisor.
  void add(const ServicePtr& s, RestartType type = RestartType::permanent);
  /// Stops supervising `s` (does not stop it); unknown services are ignored.
  void discard(const ServicePtr& s);
  /// Puts `s` in the place of the service at `index` (throws std::out_of_range).
  void insert(std::size_t index, const ServicePtr& s);
  /// The supervised services, in order.
  std::vector<ServicePtr> services() const;
  /// The place of `s` among the supervised services (throws std::out_of_range).
  std::size_t index_of(const Service& s) const;
  const SupervisedStats& stats(const Service& s) const;
  /// How many times this supervisor gave up (max restarts exceeded, or a Forfeit strategy).
  std::uint64_t give_ups() const noexcept { return give_ups_; }
  const SupervisorOptions& options() const noexcept { return options_; }
  /// The restarts counted in the window that ends now (of the last `over` seconds): one more
  /// than `max_restarts` makes the supervisor give up.
  std::size_t restarts_in_window() const;

  /// True if `s` has not crashed.
  virtual bool service_operational(const Service& s) const noexcept { return !s.crashed(); }

  awaitable<void> run_until_complete();
  awaitable<void> start_services(std::vector<ServicePtr> services);
  awaitable<void> start_service(ServicePtr s);
  /// Stops them, last first; an error of one's stop is logged and the others still stop.
  awaitable<void> stop_services(std::vector<ServicePtr> services);
  /// What the strategy does with the services that crashed (in supervision order).
  virtual awaitable<void> restart_services(std::vector<ServicePtr> crashed) = 0;
  /// Restarts (or replaces) one service, counting the restart; throws `raises` on giving up.
  awaitable<void> restart_service(ServicePtr s);

  void wakeup(Service& crashed) noexcept override;
  std::string label() const override;

 protected:
  awaitable<void> on_start() override;
  awaitable<void> start_dependency(ServicePtr child) override;
  /// Skips services that never started; logs `Unable to stop service <s>: <error>`.
  awaitable<void> stop_dependency(ServicePtr child) override;

  /// Logs the crash of each and stops them for good (the Forfeit strategies).
  awaitable<void> give_up(std::vector<ServicePtr> services, std::string_view why);

 private:
  /// From a catch block: logs the current exception as `Unable to stop service <s>: <error>`.
  void log_unable_to_stop(const Service& s) const noexcept;
  struct Entry {
    Entry(Service* s, RestartType t) : service(s), type(t) {}
    Service* service;
    RestartType type;
    SupervisedStats stats;
    double next_delay = 0;  // backoff, seconds
    std::optional<Clock::time_point> last_restart_at;
    bool forfeited = false;
  };
  // One body for the const and non-const lookups.
  template <class Self>
  using EntryOf = std::conditional_t<std::is_const_v<Self>, const Entry, Entry>;
  template <class Self>
  static EntryOf<Self>* find_in(Self& self, const Service& s) noexcept {
    for (EntryOf<Self>& e : self.entries_)
      if (e.service == &s) return &e;
    return nullptr;
  }
  template <class Self>
  static EntryOf<Self>& entry_in(Self& self, const Service& s) {
    EntryOf<Self>* e = find_in(self, s);
    if (e == nullptr) throw_not_supervised(self, s);
    return *e;
  }
  /// The entry of `s`; std::out_of_range if it is not supervised here.
  Entry& entry_of(const Service& s) { return entry_in(*this, s); }
  const Entry& entry_of(const Service& s) const { return entry_in(*this, s); }
  /// The entry of `s`, or null.
  Entry* find(const Service& s) noexcept { return find_in(*this, s); }
  const Entry* find(const Service& s) const noexcept { return find_in(*this, s); }
  [[noreturn]] static void throw_not_supervised(const SupervisorStrategy& self, const Service& s);
  awaitable<void> supervise();
  void count_restart();
  double backoff_delay(Entry& e);

  SupervisorOptions options_;
  std::vector<Entry> entries_;
  std::deque<Clock::time_point> restarts_;
  std::uint64_t give_ups_ = 0;
  Event wakeup_;
  std::minstd_rand jitter_rng_{std::random_device{}()};
};

/// Restarts only the service that crashed (OTP one_for_one).
class OneForOneSupervisor : public SupervisorStrategy {
 public:
  using SupervisorStrategy::SupervisorStrategy;
  awaitable<void> restart_services(std::vector<ServicePtr> crashed) override;
};

/// Stops every supervised service and restarts them all, in order (OTP one_for_all).
class OneForAllSupervisor : public SupervisorStrategy {
 public:
  using SupervisorStrategy::SupervisorStrategy;
  awaitable<void> restart_services(std::vector<ServicePtr> crashed) override;
};

/// Restarts the crashed service and every service supervised after it, in order (OTP
/// rest_for_one).
class RestForOneSupervisor : public SupervisorStrategy {
 public:
  using SupervisorStrategy::SupervisorStrategy;
  awaitable<void> restart_services(std::vector<ServicePtr> crashed) override;
};

/// Gives up on a crashed service: stops it and never restarts it (logged once).
class ForfeitOneForOneSupervisor : public SupervisorStrategy {
 public:
  using SupervisorStrategy::SupervisorStrategy;
  awaitable<void> restart_services(std::vector<ServicePtr> crashed) override;
};

/// Gives up on all supervised services when one crashes: stops them all (logged once).
class ForfeitOneForAllSupervisor : public SupervisorStrategy {
 public:
  using SupervisorStrategy::SupervisorStrategy;
  awaitable<void> restart_services(std::vector<ServicePtr> crashed) override;
};

/// Crashes itself with the crash of any service it supervises, so the crash reaches the root
/// of the program (the Worker then exits non-zero).
class CrashingSupervisor : public SupervisorStrategy {
 public:
  using SupervisorStrategy::SupervisorStrategy;
  awaitable<void> restart_services(std::vector<ServicePtr> crashed) override;
  void wakeup(Service& crashed) noexcept override;
};

}  // namespace mode
