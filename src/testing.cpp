// LogCapture.
#include <mode/testing.hpp>

#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace mode::testing {

void RecordingSink::add(std::string line) {
  const std::lock_guard lock(mutex_);
  lines_.push_back(std::move(line));
}

std::vector<std::string> RecordingSink::lines() {
  const std::lock_guard lock(mutex_);
  return lines_;
}

void RecordingSink::clear() {
  const std::lock_guard lock(mutex_);
  lines_.clear();
}

// base_sink calls this with its mutex held.
void RecordingSink::sink_it_(const spdlog::details::log_msg& msg) {
  std::string line;
  if (prefix_.logger) line.append(msg.logger_name.data(), msg.logger_name.size()).append("|");
  if (prefix_.level) line.append(level_name(msg.level)).append("|");
  line.append(msg.payload.data(), msg.payload.size());
  lines_.push_back(std::move(line));
}

LogCapture::LogCapture(LogLevel level) : sink_(std::make_shared<RecordingSink>()) {
  auto attach = [&](const std::shared_ptr<spdlog::logger>& logger) {
    saved_levels_.emplace_back(logger, logger->level());
    logger->sinks().push_back(sink_);
    logger->set_level(level);
  };
  // The registry's lock is held inside apply_all: ask for the default logger outside it.
  const auto def = spdlog::default_logger();
  attach(def);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    if (l != def) attach(l);
  });
}

LogCapture::~LogCapture() {
  const auto def = spdlog::default_logger();
  auto detach = [&](const std::shared_ptr<spdlog::logger>& l) { std::erase(l->sinks(), sink_); };
  detach(def);
  spdlog::apply_all(detach);
  for (auto& [logger, level] : saved_levels_) logger->set_level(level);
  // Loggers created during the capture took its level: give them the default's back.
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    if (std::none_of(saved_levels_.begin(), saved_levels_.end(),
                     [&](const auto& s) { return s.first == l; }))
      l->set_level(def->level());
  });
}

bool is_cancellation(const std::exception_ptr& e) noexcept {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const boost::system::system_error& err) {
    return err.code() == boost::asio::error::operation_aborted;
  } catch (...) {
  }
  return false;
}

void LogCapture::record(std::string event) { sink_->add(std::move(event)); }

std::vector<std::string> LogCapture::lines() const { return sink_->lines(); }

std::vector<std::string> LogCapture::matching(std::string_view needle) const {
  std::vector<std::string> out;
  for (std::string& l : sink_->lines())
    if (l.find(needle) != std::string::npos) out.push_back(std::move(l));
  return out;
}

void LogCapture::clear() { sink_->clear(); }

}  // namespace mode::testing
