// The library's guarantees checked over random service trees, random faults and random
// stop/restart requests, each run a seeded Simulation (mode/testing/simulation.hpp, faults.hpp).
//
// MODE_SIM_SEEDS=N runs seeds 1..N (default 200); MODE_SIM_SEED=S runs seed S alone, and
// MODE_SIM_SHRINK=K its K-th shrunk form (a failure says which).
#include <mode/event_ring.hpp>
#include <mode/service.hpp>
#include <mode/supervisors.hpp>
#include <mode/testing/faults.hpp>
#include <mode/testing/simulation.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using mode::awaitable;
using mode::Service;
using mode::ServiceEventKind;
using mode::testing::Fault;
using mode::testing::FaultInjector;
using mode::testing::FaultPoint;
using mode::testing::FaultyService;
using mode::testing::Simulation;
using Ptr = Service::ServicePtr;

/// How big a generated run may be; each shrink step makes it smaller.
struct Scale {
  int depth = 5;       // levels below the root
  int width = 10;      // children per service at most
  int services = 30;   // services in the tree at most
  double rate = 0.02;  // chance of a fault per call of user code
  int requests = 8;    // random stop/restart/crash/add requests
};

const std::vector<Scale> kShrinks = {
    {5, 10, 30, 0.02, 8}, {4, 6, 16, 0.02, 6}, {3, 4, 8, 0.02, 4}, {3, 3, 6, 0.01, 3},
    {2, 3, 4, 0.01, 2},   {2, 2, 3, 0.01, 1},  {1, 2, 2, 0.01, 0}, {1, 1, 1, 0.005, 0},
};

/// A FaultyService that may set its shutdown flag in on_stop (for wait_for_shutdown).
class Node : public FaultyService {
 public:
  Node(FaultInjector& f, std::string name, Options o, bool sets_shutdown)
      : FaultyService(f, std::move(name), o), sets_shutdown_(sets_shutdown) {}

 protected:
  awaitable<void> on_stop() override {
    if (sets_shutdown_) set_shutdown();
    co_await FaultyService::on_stop();
  }

 private:
  bool sets_shutdown_;
};

struct Member {
  Ptr service;
  std::shared_ptr<Node> node;  // null for a supervisor
  std::shared_ptr<mode::SupervisorStrategy> supervisor;
  Service* parent = nullptr;
  bool temporary = false;  // supervised as RestartType::temporary
};

/// One generated run: its tree, its faults, its requests, and what went wrong.
class GeneratedRun {
 public:
  GeneratedRun(std::uint64_t seed, const Scale& scale)
      : scale_(scale), faults_(seed ^ 0x9e3779b97f4a7c15ULL), sim_(seed), rng_(seed) {}

  /// The first guarantee that did not hold, if any.
  std::optional<std::string> go() {
    build();
    faults_.rate = scale_.rate;
    auto started = sim_.spawn(root_->start());
    requests_.push_back(started);
    // Running: faults and requests at random moments, during starts too.
    for (int i = 0; i < scale_.requests; ++i) {
      sim_.run_for(uniform(0.0, 20.0));
      request();
    }
    sim_.run_for(uniform(0.0, 30.0));
    // Settling: no new faults; what crashed is restarted or given up on.
    faults_.rate = 0;
    sim_.run_for(300.0);
    if (auto e = check_supervision()) return e;
    // Stopping, with faults again.
    faults_.rate = scale_.rate;
    const auto stop_began = sim_.now();
    auto stopped = sim_.spawn(root_->stop());
    requests_.push_back(stopped);  // what it throws is delivered, not lost
    const double budget = root_->shutdown_timeout.count();
    sim_.run_until([&] { return stopped->finished; }, budget + 1.0);
    if (!stopped->finished)
      return fail("the root's stop() did not return within its budget:" + describe());
    const double took = std::chrono::duration<double>(sim_.now() - stop_began).count();
    // Nanoseconds on the clock, seconds as doubles: equal to within a microsecond.
    if (took > budget + 1e-6)
      return fail(fmt::format("stop() took {} s, more than its {} s", took, budget));
    if (took > budget - 1e-6) {
      // It gave up: the log must say on what.
      if (!traced("Stop did not finish within")) return fail("a stop gave up without a log line");
    }
    faults_.rate = 0;
    // Known open (docs/testing.md): once a stop gave up on a hung step, what that stop left
    // (its zombie body, services a restart started meanwhile) is not yet guaranteed to end.
    // Only the bound of the stop and its log line are checked then.
    if (traced("Stop did not finish within") && std::getenv("MODE_SIM_STRICT") == nullptr)
      return std::nullopt;
    // Nothing of the tree may run after its stop returned (but what hangs in user code).
    sim_.run_for(3600.0);
    const std::size_t lines = sim_.trace_lines().size();
    sim_.run_for(3600.0);
    if (sim_.trace_lines().size() != lines) return fail("log lines after the stop: still running");
    if (auto e = check_stopped()) return e;
    if (auto e = check_errors_logged()) return e;
    if (auto e = check_order()) return e;
    // Hangs that end late must not start anything either.
    const bool requests_done =
        std::all_of(requests_.begin(), requests_.end(), [](const auto& r) { return r->finished; });
    faults_.release_hangs();
    sim_.run_for(3600.0);
    if (requests_done) {
      if (auto e = check_stopped()) return e;
    }
    return std::nullopt;
  }

  Simulation& sim() { return sim_; }

 private:
  double uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng_);
  }
  int upto(int n) { return std::uniform_int_distribution<int>(0, n)(rng_); }
  bool chance(double p) { return uniform(0.0, 1.0) < p; }

  std::shared_ptr<Node> make_node() {
    FaultyService::Options o;
    o.timer = chance(0.5) ? uniform(1.0, 10.0) : 0;
    o.task = chance(0.5) ? uniform(1.0, 10.0) : 0;
    o.start_delay = chance(0.3) ? uniform(0.1, 5.0) : 0;
    auto n = std::make_shared<Node>(faults_, fmt::format("S{}", members_.size()), o, chance(0.5));
    n->wait_for_shutdown = chance(0.1);
    n->shutdown_timeout = uniform(1.0, 60.0);
    return n;
  }

  std::shared_ptr<mode::SupervisorStrategy> make_supervisor() {
    mode::SupervisorOptions o;
    o.max_restarts = static_cast<std::size_t>(1 + upto(9));
    o.over = uniform(1.0, 30.0);
    if (chance(0.5)) {
      o.backoff = mode::Backoff{.min = uniform(0.05, 1.0),
                                .max = uniform(1.0, 10.0),
                                .factor = uniform(1.0, 3.0),
                                .jitter = uniform(0.0, 0.5),
                                .reset_after = uniform(5.0, 60.0)};
    }
    std::shared_ptr<mode::SupervisorStrategy> s;
    switch (upto(5)) {
      case 0:
        s = std::make_shared<mode::OneForOneSupervisor>(std::vector<Ptr>{}, o);
        break;
      case 1:
        s = std::make_shared<mode::OneForAllSupervisor>(std::vector<Ptr>{}, o);
        break;
      case 2:
        s = std::make_shared<mode::RestForOneSupervisor>(std::vector<Ptr>{}, o);
        break;
      case 3:
        s = std::make_shared<mode::ForfeitOneForOneSupervisor>(std::vector<Ptr>{}, o);
        break;
      case 4:
        s = std::make_shared<mode::ForfeitOneForAllSupervisor>(std::vector<Ptr>{}, o);
        break;
      default:
        s = std::make_shared<mode::CrashingSupervisor>(std::vector<Ptr>{}, o);
        break;
    }
    s->shutdown_timeout = uniform(1.0, 60.0);
    return s;
  }

  /// Adds a new member under `parent` (null for the root); returns it.
  Member& add_member(Member* parent, bool allow_supervisor) {
    Member m;
    if (allow_supervisor && chance(0.25)) {
      m.supervisor = make_supervisor();
      m.service = m.supervisor;
    } else {
      m.node = make_node();
      m.service = m.node;
    }
    if (parent != nullptr) {
      m.parent = parent->service.get();
      if (parent->supervisor) {
        const int t = upto(2);
        m.temporary = t == 2;
        parent->supervisor->add(m.service, t == 0   ? mode::RestartType::permanent
                                           : t == 1 ? mode::RestartType::transient
                                                    : mode::RestartType::temporary);
      } else {
        parent->service->add_dependency(m.service);
      }
    }
    members_.push_back(m);
    return members_.back();
  }

  void grow(std::size_t index, int depth) {
    if (depth >= scale_.depth) return;
    const int n = upto(std::max(0, scale_.width - depth * 2));
    for (int i = 0; i < n && static_cast<int>(members_.size()) < scale_.services; ++i) {
      add_member(&members_[index], true);
      grow(members_.size() - 1, depth + 1);
    }
  }

  void build() {
    members_.reserve(static_cast<std::size_t>(scale_.services) + 64);
    root_ = add_member(nullptr, false).service;
    grow(0, 0);
  }

  /// A user's request at a random moment: stop, restart or crash a service, or add a child.
  void request() {
    if (members_.size() < 2) return;
    Member& m = members_[1 + static_cast<std::size_t>(upto(static_cast<int>(members_.size()) - 2))];
    // As a program would: on a service that runs (or starts) in a tree that runs. A restart of
    // a service whose parent never started starts it outside its tree's lifecycle.
    if (m.service->state() != "running" || m.parent == nullptr || m.parent->state() != "running")
      return;
    // Nor on a temporary one: its supervisor drops it once stopped, and a restart would run it
    // outside any tree.
    if (m.temporary || m.service->beacon().parent().get() != &m.parent->beacon()) return;
    switch (upto(3)) {
      case 0:
        sim_.note(fmt::format("request: stop {}", m.service->label()));
        requests_.push_back(sim_.spawn(m.service->stop()));
        break;
      case 1:
        sim_.note(fmt::format("request: restart {}", m.service->label()));
        requests_.push_back(sim_.spawn(m.service->restart()));
        break;
      case 2:
        sim_.note(fmt::format("request: crash {}", m.service->label()));
        m.service->crash(std::make_exception_ptr(std::runtime_error("requested crash")));
        break;
      default: {
        if (members_.size() >= members_.capacity()) return;
        Member& child = add_member(nullptr, false);
        child.parent = m.service.get();
        if (m.supervisor) {
          m.supervisor->add(child.service);
        } else {
          requests_.push_back(sim_.spawn(add_runtime(m.service, child.service)));
        }
        break;
      }
    }
  }

  static awaitable<void> add_runtime(Ptr parent, Ptr child) {
    co_await parent->add_runtime_dependency(child);
  }

  bool traced(std::string_view text) const {
    for (const std::string& l : sim_.trace_lines())
      if (l.find(text) != std::string::npos) return true;
    return false;
  }

  std::optional<std::string> fail(std::string what) const {
    if (traced("Stop did not finish within")) what += " [a stop gave up]";
    return what;
  }

  /// Services in whose subtree (or in whose ancestors' stop) user code hung.
  std::set<const Service*> hung_services() const {
    std::set<const Service*> out;
    std::set<std::string> names;
    for (const auto& in : faults_.injections())
      if (in.fault == Fault::hang) names.insert(in.service);
    for (const Member& m : members_) {
      if (!names.count(m.service->label())) continue;
      // The service and its ancestors: their stops may wait on it.
      out.insert(m.service.get());
      for (auto n = m.service->beacon().parent(); n; n = n->parent())
        if (n->data() != nullptr) out.insert(n->data());
    }
    return out;
  }

  /// Each service's state, tasks and waits: what a failure to stop leaves behind.
  std::string describe() const {
    std::string out;
    for (const Member& m : members_) {
      out += fmt::format("\n  {} {} tasks [{}] waits [{}]", m.service->label(), m.service->state(),
                         fmt::join(m.service->task_names(), ", "),
                         fmt::join(m.service->suspensions(), "; "));
    }
    return out;
  }

  std::optional<std::string> check_stopped() const {
    if (sim_.next_deadline())
      return fail("a deadline is still pending after the stop (a sleep, timer or wait):" +
                  describe());
    std::size_t hung_tasks = 0;
    for (const Member& m : members_) {
      const std::string_view st = m.service->state();
      if (st == "running")
        return fail(fmt::format("{} is still running after the root stopped", m.service->label()));
      hung_tasks += m.service->task_names().size();
    }
    if (hung_tasks > faults_.hanging())
      return fail(fmt::format("{} tasks left running after the stop, {} of them hung", hung_tasks,
                              faults_.hanging()));
    return std::nullopt;
  }

  /// No error lost: each thrown error is in the log, or recorded as its service's crash while
  /// crash lines were rate-limited (a restart storm).
  std::optional<std::string> check_errors_logged() const {
    for (const auto& in : faults_.injections()) {
      if (!in.error) continue;
      if (traced(in.text)) continue;
      if (std::any_of(requests_.begin(), requests_.end(),
                      [&](const auto& r) { return r->error == in.error; }))
        continue;  // thrown to the caller of stop() or restart()
      const Member* m = find(in.service);
      bool recorded = false;
      if (m != nullptr) {
        for (const mode::ServiceEvent& e : m->service->events())
          if (e.kind == ServiceEventKind::crashed && e.reason == in.error) recorded = true;
      }
      if (recorded) continue;  // its line was left out of a restart storm's log
      return fail(fmt::format("error lost: '{}' ({}) has no log line and no crash event", in.text,
                              to_string(in.fault)));
    }
    return std::nullopt;
  }

  const Member* find(const std::string& label) const {
    for (const Member& m : members_)
      if (m.service->label() == label) return &m;
    return nullptr;
  }

  /// Callbacks in the manual's order, and only legal state transitions (from the event ring).
  std::optional<std::string> check_order() const {
    const std::set<const Service*> hung = hung_services();
    for (const Member& m : members_) {
      if (hung.count(m.service.get()) || under_slow_stop(*m.service)) continue;
      if (m.node) {
        if (auto e = check_callbacks(*m.node)) return e;
      }
      if (auto e = check_transitions(*m.service)) return e;
    }
    return std::nullopt;
  }

  /// True if `s` or an ancestor had a stop that overran its bound: that stop may finish (or
  /// never run its callbacks) during a later life, so the order of its lives is not checked.
  static bool under_slow_stop(const Service& s) {
    auto slow = [](const Service& x) {
      const std::vector<mode::ServiceEvent> events = x.events();
      return std::any_of(events.begin(), events.end(), [](const mode::ServiceEvent& e) {
        return e.kind == ServiceEventKind::slow_stop;
      });
    };
    if (slow(s)) return true;
    for (auto n = s.beacon().parent(); n; n = n->parent())
      if (n->data() != nullptr && slow(*n->data())) return true;
    return false;
  }

  std::optional<std::string> check_callbacks(const FaultyService& s) const {
    const std::vector<std::string>& cb = s.callbacks();
    int first_starts = 0;
    std::string last;  // the last of on_init, on_start, on_stop in this life
    for (const std::string& c : cb) {
      if (c == "on_first_start" && ++first_starts > 1)
        return fail(fmt::format("{}: on_first_start twice", s.label()));
      if (c == "on_started" && last != "on_start")
        return fail(fmt::format("{}: on_started after {}", s.label(), last));
      if (c == "on_shutdown" && last != "on_stop")
        return fail(fmt::format("{}: on_shutdown after {}", s.label(), last));
      if (c == "on_start" && last == "on_start")
        return fail(fmt::format("{}: on_start twice in one life", s.label()));
      if (c == "on_init" || c == "on_start" || c == "on_stop") last = c;
    }
    return std::nullopt;
  }

  std::optional<std::string> check_transitions(const Service& s) const {
    std::optional<ServiceEventKind> last;  // starting, started, stopping or stopped
    bool crashed_since = false;
    for (const mode::ServiceEvent& e : s.events()) {
      const ServiceEventKind k = e.kind;
      if (k == ServiceEventKind::crashed) crashed_since = true;
      if (k != ServiceEventKind::starting && k != ServiceEventKind::started &&
          k != ServiceEventKind::stopping && k != ServiceEventKind::stopped)
        continue;
      const bool ok = (k == ServiceEventKind::started && last == ServiceEventKind::starting &&
                       !crashed_since) ||
                      (k == ServiceEventKind::stopped && last == ServiceEventKind::stopping) ||
                      (k == ServiceEventKind::starting &&
                       (!last || last == ServiceEventKind::stopped || crashed_since)) ||
                      (k == ServiceEventKind::stopping && last != ServiceEventKind::stopping);
      if (!ok) {
        return fail(fmt::format("{}: {} after {}{}", s.label(), to_string(k),
                                last ? to_string(*last) : "nothing",
                                crashed_since ? " (crashed since)" : ""));
      }
      if (k == ServiceEventKind::starting || k == ServiceEventKind::stopping) crashed_since = false;
      last = k;
    }
    return std::nullopt;
  }

  /// After the settling time, every crash of a supervised service was answered: restarted,
  /// given up on, dropped (temporary), or escalated (the supervisor crashed).
  std::optional<std::string> check_supervision() const {
    const std::set<const Service*> hung = hung_services();
    for (const Member& m : members_) {
      auto* sup = dynamic_cast<mode::SupervisorStrategy*>(m.parent);
      if (sup == nullptr || m.service->supervisor() != sup) continue;
      if (hung.count(sup) || !m.service->crashed()) continue;
      if (sup->crashed() || sup->should_stop() || sup->give_ups() > 0) continue;
      if (dynamic_cast<mode::CrashingSupervisor*>(sup) != nullptr) continue;
      return fail(fmt::format("{} is still crashed 300 s later, its supervisor {} running",
                              m.service->label(), sup->Service::label()));
    }
    return std::nullopt;
  }

  Scale scale_;
  FaultInjector faults_;  // before the simulation: what hangs in it must not outlive it
  Simulation sim_;
  std::mt19937_64 rng_;
  std::vector<Member> members_;  // reserved: never reallocated (requests hold references)
  Ptr root_;
  std::vector<std::shared_ptr<mode::testing::Outcome<void>>> requests_;
};

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::stoull(v) : fallback;
}

class SimulationProperties : public ::testing::Test {
 protected:
  SimulationProperties() { mode::set_event_ring_size(4096); }
  ~SimulationProperties() override { mode::set_event_ring_size(64); }

  static std::string filter() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return fmt::format("{}.{}", info->test_suite_name(), info->name());
  }

  /// The failure of `seed` at shrink level `level`, with its trace's tail.
  static std::optional<std::string> run_one(std::uint64_t seed, std::size_t level,
                                            std::string* trace = nullptr) {
    GeneratedRun run(seed, kShrinks[level]);
    std::optional<std::string> failure;
    try {
      failure = run.go();
    } catch (const std::exception& e) {
      failure = fmt::format("exception: {}", e.what());
    }
    if (failure && trace != nullptr) *trace = run.sim().trace();
    return failure;
  }
};

TEST_F(SimulationProperties, HoldOverRandomTreesFaultsAndRequests) {
  const std::uint64_t only = env_number("MODE_SIM_SEED", 0);
  const std::uint64_t seeds = only != 0 ? 1 : env_number("MODE_SIM_SEEDS", 200);
  const auto only_level = static_cast<std::size_t>(env_number("MODE_SIM_SHRINK", 0));
  for (std::uint64_t i = 1; i <= seeds; ++i) {
    const std::uint64_t seed = only != 0 ? only : i;
    const std::size_t first = only != 0 ? std::min(only_level, kShrinks.size() - 1) : 0;
    std::optional<std::string> failure = run_one(seed, first);
    if (!failure) continue;
    if (std::getenv("MODE_SIM_SURVEY") != nullptr) {
      // Every failing seed, unshrunk, one line each (with the trace when one seed is replayed).
      std::string trace;
      if (only != 0) run_one(seed, first, &trace);
      std::printf("seed %llu: %s\n%s", static_cast<unsigned long long>(seed), failure->c_str(),
                  trace.c_str());
      continue;
    }
    // Shrink: the smallest form of this seed that still fails.
    std::size_t level = first;
    for (std::size_t l = first + 1; l < kShrinks.size(); ++l) {
      if (std::optional<std::string> f = run_one(seed, l)) {
        failure = std::move(f);
        level = l;
      }
    }
    std::string trace;
    run_one(seed, level, &trace);
    const Scale& s = kShrinks[level];
    ADD_FAILURE() << "seed " << seed << " fails: " << *failure << "\nshrunk to depth " << s.depth
                  << ", width " << s.width << ", " << s.services << " services, fault rate "
                  << s.rate << ", " << s.requests << " requests\nreplay: MODE_SIM_SEED=" << seed
                  << " MODE_SIM_SHRINK=" << level << " " << program_invocation_name
                  << " --gtest_filter=" << filter() << "\ntrace:\n"
                  << trace;
    return;  // one failure, shrunk, is enough to read
  }
}

}  // namespace
