// The Worker under systemd: a real worker process sends sd_notify messages to a NOTIFY_SOCKET
// datagram socket of the test's own; the deployment unit passes `systemd-analyze verify`.
#include "subprocess.hpp"
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using mode::testing::Subprocess;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

constexpr std::size_t npos = std::string::npos;

// A service manager's end of the notify protocol: an AF_UNIX datagram socket in a fresh
// directory, whose path goes to the worker as NOTIFY_SOCKET. Keeps every line received, in order.
class NotifySocket {
 public:
  NotifySocket() {
    char dir[] = "/tmp/mode-notify-XXXXXX";
    if (::mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    path_ = dir_ + "/notify";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (fd_ < 0 || path_.size() >= sizeof addr.sun_path) throw std::runtime_error("socket failed");
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error(std::string("bind failed: ") + std::strerror(errno));
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }

  std::string env() const { return "NOTIFY_SOCKET=" + path_; }

  /// Receives until a line equal to `line` has arrived; false past the deadline.
  bool wait_for(std::string_view line, std::chrono::milliseconds deadline = 10s) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (find(line) == npos) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      receive(left);
    }
    return true;
  }

  /// Receives whatever arrives for `duration` (0: what has already arrived).
  void collect(std::chrono::milliseconds duration) {
    const auto until = std::chrono::steady_clock::now() + duration;
    for (;;) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (!receive(std::max(left, 0ms)) && left.count() <= 0) return;
    }
  }

  /// Index of the first line at or after `from` that starts with `prefix`, or npos.
  std::size_t find(std::string_view prefix, std::size_t from = 0) const {
    for (std::size_t i = from; i < lines_.size(); ++i)
      if (lines_[i].starts_with(prefix)) return i;
    return npos;
  }
  std::size_t count(std::string_view prefix, std::size_t from = 0) const {
    std::size_t n = 0;
    for (std::size_t i = from; i < lines_.size(); ++i) n += lines_[i].starts_with(prefix) ? 1 : 0;
    return n;
  }
  const std::vector<std::string>& lines() const noexcept { return lines_; }
  std::string text() const {
    std::string out;
    for (const std::string& l : lines_) out += l + "\n";
    return out;
  }

 private:
  // One datagram, split into its `KEY=value` lines; false if none came within `timeout`.
  bool receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    std::istringstream in(std::string(buf, static_cast<std::size_t>(n)));
    for (std::string line; std::getline(in, line);) lines_.push_back(line);
    return true;
  }

  std::string dir_;
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> lines_;
};

Subprocess worker(const NotifySocket& notify, std::vector<std::string> args = {},
                  std::vector<std::string> env = {}) {
  args.insert(args.begin(), MODE_TEST_WORKER);
  env.push_back(notify.env());
  return Subprocess(std::move(args), std::move(env));
}

// Each of `expected` (line prefixes) arrived, in this order.
void expect_in_order(const NotifySocket& notify, std::initializer_list<std::string_view> expected) {
  std::size_t at = 0;
  for (const std::string_view line : expected) {
    const std::size_t i = notify.find(line, at);
    ASSERT_NE(i, npos) << "missing or out of order: " << line << "\n" << notify.text();
    at = i + 1;
  }
}

TEST(Systemd, ReadyOnceStartedThenStatusThenStoppingOnSigterm) {
  NotifySocket notify;
  Subprocess p = worker(notify);
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.text() << p.output();
  // Readiness means the whole tree has started: the App's on_started logged before READY=1.
  EXPECT_TRUE(p.wait_for_output("[^-App]: ready", 1s)) << p.output();
  p.kill(SIGTERM);
  ASSERT_TRUE(notify.wait_for("STOPPING=1")) << notify.text() << p.output();
  EXPECT_EQ(p.wait(), 0) << p.output();
  notify.collect(0ms);
  expect_in_order(notify, {"STATUS=Starting...", "READY=1", "STATUS=Running 2 services",
                           "STOPPING=1", "STATUS=Stopping..."});
  EXPECT_EQ(notify.count("READY=1"), 1u) << notify.text();
  // No watchdog was asked for, and a clean stop is no failure.
  EXPECT_EQ(notify.count("WATCHDOG="), 0u) << notify.text();
  EXPECT_EQ(notify.count("ERRNO="), 0u) << notify.text();
}

TEST(Systemd, SlowStartIsExtendedAndReadyComesAfterIt) {
  NotifySocket notify;
  Subprocess p = worker(notify, {"--scenario", "slow_start"});
  ASSERT_TRUE(notify.wait_for("READY=1", 20s)) << notify.text() << p.output();
  // Not at the call of start(): the App's on_started (after its 2.5 s on_start) logged first.
  EXPECT_TRUE(p.wait_for_output("[^-App]: ready", 1s)) << p.output();
  expect_in_order(notify, {"STATUS=Starting...", "EXTEND_TIMEOUT_USEC=30000000", "READY=1"});
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();
}

TEST(Systemd, SlowStopIsExtended) {
  NotifySocket notify;
  Subprocess p = worker(notify, {"--scenario", "slow_stop"});
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.text() << p.output();
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(20s), 0) << p.output();
  EXPECT_THAT(p.err(), HasSubstr("[^-App]: stopping slowly"));
  notify.collect(0ms);
  expect_in_order(notify, {"READY=1", "STOPPING=1", "EXTEND_TIMEOUT_USEC=30000000"});
  // Running is not a start or a stop: nothing is extended between them.
  EXPECT_EQ(notify.find("EXTEND_TIMEOUT_USEC=", notify.find("READY=1")),
            notify.find("EXTEND_TIMEOUT_USEC=", notify.find("STOPPING=1")))
      << notify.text();
}

TEST(Systemd, WatchdogPingsWhileTheLoopRuns) {
  NotifySocket notify;
  // 0.2 s: a ping every 0.1 s.
  Subprocess p = worker(notify, {}, {"WATCHDOG_USEC=200000"});
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.text() << p.output();
  const std::size_t from = notify.lines().size();
  notify.collect(2s);
  // About 20; far fewer only on a machine too slow to run the test.
  EXPECT_GE(notify.count("WATCHDOG=1", from), 5u) << notify.text();
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();
}

TEST(Systemd, NoWatchdogPingsForAnotherProcess) {
  NotifySocket notify;
  // WATCHDOG_PID names the process systemd watches: inherited by another one, it is not ours.
  Subprocess p = worker(notify, {}, {"WATCHDOG_USEC=100000", "WATCHDOG_PID=1"});
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.text() << p.output();
  notify.collect(1s);
  EXPECT_EQ(notify.count("WATCHDOG="), 0u) << notify.text();
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();
}

TEST(Systemd, BlockedLoopStopsTheWatchdogPings) {
  NotifySocket notify;
  Subprocess p = worker(notify, {"--scenario", "spin"}, {"WATCHDOG_USEC=200000"});
  ASSERT_TRUE(p.wait_for_output("[^-App]: holding the loop")) << p.output();
  // Pings sent before the loop was held arrived before that log line was written.
  notify.collect(0ms);
  EXPECT_GE(notify.count("WATCHDOG=1"), 1u) << notify.text();
  const std::size_t from = notify.lines().size();
  notify.collect(2s);  // twenty ping intervals
  EXPECT_EQ(notify.count("WATCHDOG=1", from), 0u) << notify.text();
}  // the held worker is killed (SIGKILL) here

TEST(Systemd, CrashSendsTheReasonAndEnotrecoverable) {
  NotifySocket notify;
  Subprocess p = worker(notify, {"--scenario", "crash"});
  EXPECT_EQ(p.wait(), 1) << p.output();
  notify.collect(0ms);
  expect_in_order(notify, {"READY=1", "STOPPING=1", "STATUS=Crashed: ", "ERRNO="});
  const std::size_t status = notify.find("STATUS=Crashed: ");
  ASSERT_NE(status, npos) << notify.text();
  EXPECT_THAT(notify.lines()[status], HasSubstr("task exploded"));
  // A logic_error carries no errno: the state is not recoverable.
  EXPECT_EQ(notify.lines()[notify.find("ERRNO=")], "ERRNO=" + std::to_string(ENOTRECOVERABLE));
}

TEST(Systemd, CrashWithASystemErrorSendsItsErrno) {
  NotifySocket notify;
  Subprocess p = worker(notify, {"--scenario", "crash_errno"});
  EXPECT_EQ(p.wait(), 1) << p.output();
  notify.collect(0ms);
  const std::size_t status = notify.find("STATUS=Crashed: ");
  ASSERT_NE(status, npos) << notify.text();
  EXPECT_THAT(notify.lines()[status], HasSubstr("cannot write the journal"));
  ASSERT_NE(notify.find("ERRNO="), npos) << notify.text();
  EXPECT_EQ(notify.lines()[notify.find("ERRNO=")], "ERRNO=" + std::to_string(ENOSPC));
}

TEST(Systemd, FailedStartIsNeverReady) {
  NotifySocket notify;
  Subprocess p = worker(notify, {"--scenario", "start_fail"});
  EXPECT_EQ(p.wait(), 1) << p.output();
  notify.collect(0ms);
  expect_in_order(notify, {"STATUS=Starting...", "STOPPING=1", "STATUS=Crashed: ", "ERRNO="});
  EXPECT_EQ(notify.count("READY=1"), 0u) << notify.text();
  EXPECT_THAT(notify.lines()[notify.find("STATUS=Crashed: ")], HasSubstr("cannot start"));
}

TEST(Systemd, UnusableNotifySocketIsLoggedOnce) {
  // Not an absolute path nor an abstract socket: sd_notify refuses it (EINVAL).
  Subprocess p({MODE_TEST_WORKER, "--no-daemon"},
               {"NOTIFY_SOCKET=relative/notify", "WATCHDOG_USEC=20000"});
  EXPECT_EQ(p.wait(), 0) << p.output();
  const std::string error =
      "Cannot notify systemd at NOTIFY_SOCKET=relative/notify: Invalid argument";
  EXPECT_EQ(mode::testing::lines_with(p.err(), error).size(), 1u) << p.output();
}

TEST(Systemd, BadWatchdogSettingsAreLoggedAndNoPingsSent) {
  NotifySocket notify;
  Subprocess p = worker(notify, {}, {"WATCHDOG_USEC=soon"});
  ASSERT_TRUE(notify.wait_for("READY=1")) << notify.text() << p.output();
  notify.collect(500ms);
  EXPECT_EQ(notify.count("WATCHDOG="), 0u) << notify.text();
  p.kill(SIGTERM);
  EXPECT_EQ(p.wait(), 0) << p.output();
  EXPECT_THAT(p.err(),
              HasSubstr("Bad watchdog settings (WATCHDOG_USEC=soon, WATCHDOG_PID=(unset)): "
                        "Invalid argument; sending no watchdog pings"));
}

// The deployment example is a unit systemd accepts as it is, its ExecStart aside: that names
// where the unit expects the program installed, so the check runs a copy naming the built one.
TEST(Systemd, TutorialUnitPassesSystemdAnalyzeVerify) {
#ifndef MODE_SYSTEMD_ANALYZE
  GTEST_SKIP() << "systemd-analyze not found (Debian's systemd package; scripts/install-deps.sh)";
#else
#ifdef MODE_TUTORIAL
  const std::string program = MODE_TUTORIAL;
#else
  const std::string program = MODE_TEST_WORKER;  // any executable: the tutorial is not built
#endif
  std::ifstream in(MODE_TUTORIAL_UNIT);
  ASSERT_TRUE(in) << MODE_TUTORIAL_UNIT;
  std::stringstream unit;
  unit << in.rdbuf();
  std::string text = unit.str();
  for (const char* line :
       {"\nType=notify\n", "\nWatchdogSec=", "\nTimeoutStopSec=", "\nRestart=on-failure\n"})
    EXPECT_THAT(text, HasSubstr(line));
  const std::string installed = "ExecStart=/usr/local/bin/tutorial ";
  const std::size_t at = text.find(installed);
  ASSERT_NE(at, npos) << text;
  text.replace(at, installed.size(), "ExecStart=" + program + " ");

  char dir[] = "/tmp/mode-unit-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/tutorial.service";
  std::ofstream(path) << text;
  Subprocess verify({MODE_SYSTEMD_ANALYZE, "verify", "--man=no", path});
  const std::optional<int> status = verify.wait(60s);
  std::remove(path.c_str());
  ::rmdir(dir);
  EXPECT_EQ(status, 0) << verify.output();
  // Unknown keys and bad values are only warnings: they must not be there either.
  EXPECT_EQ(verify.output(), "");
#endif
}

}  // namespace
