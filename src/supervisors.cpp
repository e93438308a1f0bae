// Supervisors: the wake-up loop, restart counting, backoff, and the strategies.
#include <mode/supervisors.hpp>
#include <mode/utils/objects.hpp>

#include "detail/simulated_loop.hpp"

#include <algorithm>
#include <cmath>

namespace mode {

SupervisorStrategy::SupervisorStrategy(std::vector<ServicePtr> services, SupervisorOptions options)
    : options_(std::move(options)) {
  if (options_.over.count() <= 0)
    throw std::invalid_argument("supervisor: `over` must be a positive number of seconds");
  if (options_.backoff) {
    const Backoff& b = *options_.backoff;
    if (b.min.count() < 0 || b.max < b.min || b.factor < 1.0 || b.jitter < 0 || b.jitter >= 1)
      throw std::invalid_argument(
          "supervisor backoff: need 0 <= min <= max, factor >= 1 and 0 <= jitter < 1");
  }
  for (const ServicePtr& s : services) add(s);
  task(&SupervisorStrategy::supervise, "supervise");
}

std::string SupervisorStrategy::label() const {
  return fmt::format("{}: ({}@{})", Service::label(), entries_.size(),
                     static_cast<const void*>(this));
}

void SupervisorStrategy::add(const ServicePtr& s, RestartType type) {
  if (!s) throw std::invalid_argument(fmt::format("{}: cannot supervise a null service", label()));
  if (s->supervisor() != nullptr) {
    throw std::invalid_argument(
        fmt::format("{}: {} already has a supervisor", label(), s->label()));
  }
  add_dependency(s);
  s->set_supervisor(this);
  entries_.emplace_back(s.get(), type);
  if (started() && !should_stop()) wakeup_.set();  // the loop starts it
}

void SupervisorStrategy::discard(const ServicePtr& s) {
  const Entry* e = find(*s);
  if (e == nullptr) return;
  entries_.erase(entries_.begin() + (e - entries_.data()));
  s->set_supervisor(nullptr);
  discard_dependency(s);
}

void SupervisorStrategy::insert(std::size_t index, const ServicePtr& s) {
  if (index >= entries_.size()) {
    throw std::out_of_range(fmt::format("{}: no supervised service at index {} (of {})", label(),
                                        index, entries_.size()));
  }
  if (!s) throw std::invalid_argument(fmt::format("{}: cannot supervise a null service", label()));
  Entry& e = entries_[index];
  const ServicePtr old = e.service->shared_from_this();
  replace_dependency(old, s);
  old->set_supervisor(nullptr);
  s->set_supervisor(this);
  e.service = s.get();
  e.forfeited = false;
}

std::vector<Service::ServicePtr> SupervisorStrategy::services() const {
  std::vector<ServicePtr> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back(e.service->shared_from_this());
  return out;
}

void SupervisorStrategy::throw_not_supervised(const SupervisorStrategy& self, const Service& s) {
  throw std::out_of_range(fmt::format("{}: {} is not supervised here", self.label(), s.label()));
}

std::size_t SupervisorStrategy::index_of(const Service& s) const {
  return static_cast<std::size_t>(&entry_of(s) - entries_.data());
}

const SupervisedStats& SupervisorStrategy::stats(const Service& s) const {
  return entry_of(s).stats;
}

void SupervisorStrategy::wakeup(Service& s) noexcept {
  if (Entry* e = find(s); e != nullptr && s.crashed()) {
    SupervisedStats& stats = e->stats;
    // Woken again for the same crash (by its stop, say): counted once.
    if (stats.last_crash_reason != s.crash_reason()) ++stats.crash_count;
    stats.last_crash_reason = s.crash_reason();
    stats.last_crash_at =
        executor() ? detail::TimerQueue::of(executor()).now() : SteadyClock::instance().now();
  }
  wakeup_.set();
}

awaitable<void> SupervisorStrategy::on_start() {
  restarts_.clear();
  // Restarting a supervisor restarts what it supervises (they are not reset with it).
  for (const ServicePtr& s : services())
    if (s->crashed() || s->should_stop()) s->service_reset();
  co_return;
}

awaitable<void> SupervisorStrategy::start_dependency(ServicePtr child) {
  // A service that fails to start has crashed and woken us: the loop deals with it.
  try {
    co_await child->maybe_start();
  } catch (...) {
  }
}

awaitable<void> SupervisorStrategy::supervise() {
  for (;;) {
    const WaitResult<void> r = co_await wait(wakeup_);
    // A crash in the same pass as our stop wakes us without "stopped": stopping still wins.
    if (r.stopped || should_stop()) co_return;
    wakeup_.clear();
    std::vector<ServicePtr> to_start;
    std::vector<ServicePtr> to_restart;
    std::vector<ServicePtr> to_drop;
    for (const Entry& e : entries_) {
      if (e.forfeited) continue;
      const ServicePtr s = e.service->shared_from_this();
      if (s->crashed()) {
        (e.type == RestartType::temporary ? to_drop : to_restart).push_back(s);
      } else if (!s->started()) {
        to_start.push_back(s);
      } else if (s->state() == "shutdown") {
        // Stopped normally, by someone else.
        if (e.type == RestartType::permanent)
          to_restart.push_back(s);
        else if (e.type == RestartType::temporary)
          to_drop.push_back(s);
      }
    }
    for (const ServicePtr& s : to_drop) {
      co_await s->stop();
      discard(s);
    }
    co_await start_services(std::move(to_start));
    co_await restart_services(std::move(to_restart));
  }
}

awaitable<void> SupervisorStrategy::run_until_complete() {
  co_await start();
  co_await stop();
}

awaitable<void> SupervisorStrategy::start_services(std::vector<ServicePtr> services) {
  for (const ServicePtr& s : services) co_await start_service(s);
}

awaitable<void> SupervisorStrategy::start_service(ServicePtr s) {
  // A supervisor that is stopping starts nothing: what it starts would outlive its stop.
  if (should_stop()) co_return;
  co_await start_dependency(s);
}

awaitable<void> SupervisorStrategy::stop_services(std::vector<ServicePtr> services) {
  for (auto it = services.rbegin(); it != services.rend(); ++it) {
    try {
      co_await (*it)->stop();
    } catch (...) {
      log_unable_to_stop(**it);
    }
  }
}

awaitable<void> SupervisorStrategy::stop_dependency(ServicePtr child) {
  if (!child->started()) co_return;  // never started: no on_stop, no on_shutdown
  try {
    co_await stop_child(child);
  } catch (...) {
    log_unable_to_stop(*child);
  }
}

void SupervisorStrategy::log_unable_to_stop(const Service& s) const noexcept {
  // A cancellation is a stop that gave up (and said so), not an error of the service.
  const std::exception_ptr e = std::current_exception();
  log.log(is_cancellation(e) ? LogLevel::debug : LogLevel::err, "Unable to stop service {}: {}", s,
          ExceptionRepr{e});
}

void SupervisorStrategy::count_restart() {
  const Clock::time_point now = detail::TimerQueue::of(executor()).now();
  const auto over = options_.over.duration();
  while (!restarts_.empty() && now - restarts_.front() >= over) restarts_.pop_front();
  if (restarts_.size() >= options_.max_restarts) {
    const std::string message =
        fmt::format("more than {} restarts in {}s", options_.max_restarts, options_.over.count());
    const std::exception_ptr e = options_.raises(message);
    ++give_ups_;
    log.warning("Max restarts exceeded: {}", ExceptionRepr{e});
    record(ServiceEventKind::gave_up, 0, "max restarts exceeded");
    std::rethrow_exception(e);
  }
  restarts_.push_back(now);
}

std::size_t SupervisorStrategy::restarts_in_window() const {
  if (!executor()) return 0;  // never started: nothing counted
  const Clock::time_point now = detail::TimerQueue::of(executor()).now();
  const auto over = options_.over.duration();
  return static_cast<std::size_t>(std::count_if(
      restarts_.begin(), restarts_.end(), [&](Clock::time_point t) { return now - t < over; }));
}

double SupervisorStrategy::backoff_delay(Entry& e) {
  const Backoff& b = *options_.backoff;
  const Clock::time_point now = detail::TimerQueue::of(executor()).now();
  // Healthy for reset_after since its last restart: this crash starts the backoff over.
  if (e.last_restart_at && now - *e.last_restart_at >= b.reset_after.duration()) e.next_delay = 0;
  const double delay = e.next_delay > 0 ? e.next_delay : b.min.count();
  e.next_delay = std::min(b.max.count(), delay * b.factor);
  if (b.jitter <= 0) return delay;
  std::uniform_real_distribution<double> spread(1.0 - b.jitter, 1.0 + b.jitter);
  // Under a simulation the jitter comes from its seed, so that a seed replays the same delays.
  if (detail::SimulatedLoop* sim =
          detail::SimulatedLoop::find(asio::query(executor(), asio::execution::context)))
    return delay * spread(sim->rng);
  return delay * spread(jitter_rng_);
}

awaitable<void> SupervisorStrategy::restart_service(ServicePtr s) {
  if (should_stop()) co_return;  // a supervisor that is stopping restarts nothing
  // Daemons leave info out: build the label only for a line that is written. A restart after a
  // crash that was not logged (a storm) is not either; a service on its own thread keeps its
  // events there.
  if (log.enabled(LogLevel::info) &&
      (s->owns_thread() || s->recent_crashes() <= logged_crashes_per_minute)) {
    log.info("Restarting dead {}! Last crash reason: {}", s->label(),
             ExceptionRepr{s->crash_reason()});
  }
  count_restart();
  if (options_.backoff) {
    const double delay = backoff_delay(entry_of(*s));
    if (!s->owns_thread()) s->record(ServiceEventKind::restart_delayed, delay);
    const bool slept = co_await sleep(delay);
    if (!slept || should_stop() || find(*s) == nullptr) co_return;  // stopping, or discarded
  }
  Entry& e = entry_of(*s);
  ++e.stats.restart_count;
  e.last_restart_at = detail::TimerQueue::of(executor()).now();
  if (options_.replacement) {
    const std::size_t index = index_of(*s);
    std::vector<ServicePtr> old{s};
    co_await stop_services(std::move(old));
    if (should_stop()) co_return;
    const ServicePtr fresh = co_await options_.replacement(s, index);
    insert(index, fresh);  // keeps the entry, and with it the stats
    co_await start_service(fresh);
    co_return;
  }
  try {
    co_await s->restart();
  } catch (...) {
    // It crashed again (logged, and it woke us): the next pass restarts it again.
  }
}

awaitable<void> SupervisorStrategy::give_up(std::vector<ServicePtr> services,
                                            std::string_view why) {
  std::vector<std::string> labels;
  for (const ServicePtr& s : services) labels.push_back(s->label());
  log.critical("{} [{}]", why, fmt::join(labels, ", "));
  ++give_ups_;
  for (const ServicePtr& s : services) {
    entry_of(*s).forfeited = true;
    if (!s->owns_thread()) s->record(ServiceEventKind::gave_up, 0, "its supervisor gave up on it");
  }
  co_await stop_services(std::move(services));
}

// Strategies.

awaitable<void> OneForOneSupervisor::restart_services(std::vector<ServicePtr> crashed) {
  for (const ServicePtr& s : crashed) co_await restart_service(s);
}

awaitable<void> OneForAllSupervisor::restart_services(std::vector<ServicePtr> crashed) {
  if (crashed.empty()) co_return;
  const std::vector<ServicePtr> all = services();
  co_await stop_services(all);
  for (const ServicePtr& s : all) co_await restart_service(s);
}

awaitable<void> RestForOneSupervisor::restart_services(std::vector<ServicePtr> crashed) {
  if (crashed.empty()) co_return;
  const std::vector<ServicePtr> all = services();
  const std::vector<ServicePtr> rest(
      all.begin() + static_cast<std::ptrdiff_t>(index_of(*crashed[0])), all.end());
  co_await stop_services(rest);
  for (const ServicePtr& s : rest) co_await restart_service(s);
}

awaitable<void> ForfeitOneForOneSupervisor::restart_services(std::vector<ServicePtr> crashed) {
  if (crashed.empty()) co_return;
  co_await give_up(std::move(crashed), "Giving up on crashed services:");
}

awaitable<void> ForfeitOneForAllSupervisor::restart_services(std::vector<ServicePtr> crashed) {
  if (crashed.empty()) co_return;
  std::vector<std::string> labels;
  for (const ServicePtr& s : crashed) labels.push_back(s->label());
  co_await give_up(services(), fmt::format("Giving up on all services in group because [{}] "
                                           "crashed:",
                                           fmt::join(labels, ", ")));
}

awaitable<void> CrashingSupervisor::restart_services(std::vector<ServicePtr>) { co_return; }

void CrashingSupervisor::wakeup(Service& s) noexcept {
  SupervisorStrategy::wakeup(s);
  if (s.crashed()) crash(s.crash_reason());
}

}  // namespace mode
