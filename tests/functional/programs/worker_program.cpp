// A Worker program the functional tests run as a subprocess; `--scenario` picks its behaviour.
#include <mode/operations.hpp>
#include <mode/supervisors.hpp>
#include <mode/utils/queues.hpp>
#include <mode/worker.hpp>

#include <CLI/CLI.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>

#include <cerrno>
#include <chrono>
#include <iostream>
#include <new>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace program {

mode::Worker* the_worker = nullptr;  // set by main

// Blocks the loop thread; the blocking detector must name it (the binary is linked -rdynamic).
__attribute__((noinline)) void block_the_loop(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

// Never gives the loop back, without any of the library's waits: sleeping, or burning the CPU.
[[noreturn]] void hold_the_loop_forever(bool busy) {
  static volatile unsigned long spins = 0;
  for (;;) {
    if (busy)
      spins = spins + 1;
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

class Child : public mode::Service {
 public:
  Child() { task(&Child::tick, "tick"); }

 private:
  mode::awaitable<void> tick() {
    for (;;) {
      const bool slept = co_await sleep(0.05);
      if (!slept) co_return;
    }
  }
};

// Crashes 0.2 s after each start while it has crashes left, then runs until stopped.
class Flaky : public mode::Service {
 public:
  explicit Flaky(int crashes) : crashes_left_(crashes) { task(&Flaky::work, "work"); }

 private:
  mode::awaitable<void> work() {
    const bool slept = co_await sleep(0.2);
    if (!slept) co_return;
    if (crashes_left_ > 0) {
      --crashes_left_;
      throw std::runtime_error("flaky service crashed");
    }
    const bool stopped = co_await wait_for_stopped(std::nullopt);
    (void)stopped;
  }
  int crashes_left_;
};

class App : public mode::Service {
 public:
  explicit App(const std::string* scenario) : scenario_(scenario) { task(&App::work, "work"); }

 protected:
  std::vector<ServicePtr> on_init_dependencies() override {
    std::vector<ServicePtr> deps{std::make_shared<Child>()};
    // Restarted once by its supervisor, or given up on (it then stays crashed).
    if (*scenario_ == "supervised_crash") {
      deps.push_back(std::make_shared<mode::OneForOneSupervisor>(
          std::vector<ServicePtr>{std::make_shared<Flaky>(1)}));
    } else if (*scenario_ == "forfeit") {
      deps.push_back(std::make_shared<mode::ForfeitOneForOneSupervisor>(
          std::vector<ServicePtr>{std::make_shared<Flaky>(1)}));
    }
    return deps;
  }
  mode::awaitable<void> on_start() override {
    if (*scenario_ == "start_fail") throw std::runtime_error("cannot start");
    if (*scenario_ == "start_cancelled")
      throw boost::system::system_error(boost::asio::error::operation_aborted);
    if (*scenario_ == "slow_start") {
      log.info("starting slowly");
      const bool slept = co_await sleep(2.5);
      (void)slept;
    }
  }
  mode::awaitable<void> on_started() override {
    // A queue for /metrics to show: 3 items of 100.
    if (*scenario_ == "supervised_crash" && the_worker->options().web_port) {
      the_worker->operations_endpoint()->watch(jobs_, "jobs");
      for (int i = 0; i < 3; ++i) jobs_.put_nowait(i);
    }
    log.info("ready");
    std::cout << "printed to stdout" << std::endl;
    co_return;
  }
  mode::awaitable<void> on_stop() override {
    if (*scenario_ != "hang_on_stop" && *scenario_ != "slow_stop") co_return;
    const bool hang = *scenario_ == "hang_on_stop";
    log.info("{}", hang ? "hanging in on_stop" : "stopping slowly");
    // Not the service's own sleep: that one ends at once in a stopping service.
    const auto ex = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer t(ex, hang ? std::chrono::hours(1) : std::chrono::milliseconds(2500));
    co_await t.async_wait(mode::use_awaitable);
  }

 private:
  mode::awaitable<void> work() {
    if (*scenario_ == "spin_on_stop" || *scenario_ == "busy_on_stop") {
      const bool stopped = co_await wait_for_stopped(std::nullopt);
      (void)stopped;
      log.info("holding the loop while stopping");
      hold_the_loop_forever(*scenario_ == "busy_on_stop");
    }
    const bool slept = co_await sleep(0.2);
    if (!slept) co_return;
    if (*scenario_ == "crash") throw std::logic_error("task exploded");
    if (*scenario_ == "out_of_memory") throw std::bad_alloc();
    if (*scenario_ == "crash_errno")
      throw std::system_error(ENOSPC, std::generic_category(), "cannot write the journal");
    if (*scenario_ == "block") block_the_loop(1.5);
    if (*scenario_ == "spin") {
      log.info("holding the loop");
      hold_the_loop_forever(false);
    }
    const bool stopped = co_await wait_for_stopped(std::nullopt);
    (void)stopped;
  }
  const std::string* scenario_;
  mode::FlowControlQueue<int> jobs_{100};
};

}  // namespace program

int main(int argc, char** argv) {
  std::string scenario = "clean";
  mode::WorkerOptions options;
  options.loglevel = "info";
  mode::Worker worker(std::make_shared<program::App>(&scenario), options);
  program::the_worker = &worker;
  CLI::App& cli = worker.cli();
  cli.add_option("--scenario", scenario,
                 "clean, crash, crash_errno, out_of_memory, start_fail, start_cancelled, "
                 "slow_start, hang_on_stop, slow_stop, block, spin, spin_on_stop, busy_on_stop, "
                 "supervised_crash, forfeit");
  cli.add_flag_callback(
      "--no-daemon", [&] { worker.options().daemon = false; }, "Stop once started");
  return worker.execute_from_commandline(argc, argv);
}
