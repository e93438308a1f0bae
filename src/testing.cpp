// LogCapture.
#include <mode/testing.hpp>

#include <boost/system/system_error.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <ostream>
#include <string_view>

namespace mode::testing {

std::ostream& operator<<(std::ostream& out, const LogLine& line) {
  const std::string_view level = line.level == LogLevel::off ? "-" : level_name(line.level);
  return out << level << '|' << line.logger << '|' << line.text;
}

void RecordingSink::add(std::string line) {
  const std::lock_guard lock(mutex_);
  lines_.push_back(LogLine{LogLevel::off, {}, std::move(line)});
}

std::vector<std::string> RecordingSink::lines() {
  const std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  out.reserve(lines_.size());
  for (const LogLine& l : lines_) out.push_back(render(l));
  return out;
}

std::vector<LogLine> RecordingSink::records() {
  const std::lock_guard lock(mutex_);
  return lines_;
}

void RecordingSink::clear() {
  const std::lock_guard lock(mutex_);
  lines_.clear();
}

// A test's own line is rendered as given, without prefixes.
std::string RecordingSink::render(const LogLine& line) const {
  if (line.level == LogLevel::off) return line.text;
  std::string out;
  if (prefix_.logger) out.append(line.logger).append("|");
  if (prefix_.level) out.append(level_name(line.level)).append("|");
  out.append(line.text);
  return out;
}

// base_sink calls this with its mutex held.
void RecordingSink::sink_it_(const spdlog::details::log_msg& msg) {
  lines_.push_back(LogLine{msg.level, std::string(msg.logger_name.data(), msg.logger_name.size()),
                           std::string(msg.payload.data(), msg.payload.size())});
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

void LogCapture::record(std::string event) { sink_->add(std::move(event)); }

std::vector<std::string> LogCapture::lines() const { return sink_->lines(); }

std::vector<std::string> LogCapture::lines(LogLevel level) const {
  std::vector<std::string> out;
  for (LogLine& l : sink_->records())
    if (l.level == level) out.push_back(std::move(l.text));
  return out;
}

std::vector<LogLine> LogCapture::records() const { return sink_->records(); }

std::vector<std::string> LogCapture::matching(std::string_view needle) const {
  std::vector<std::string> out;
  for (std::string& l : sink_->lines())
    if (l.find(needle) != std::string::npos) out.push_back(std::move(l));
  return out;
}

void LogCapture::clear() { sink_->clear(); }

}  // namespace mode::testing
