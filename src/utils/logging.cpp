// Named loggers, level names, CompositeLogger.
#include <mode/utils/logging.hpp>
#include <mode/utils/objects.hpp>

#include "log_record.hpp"
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>

namespace mode {

std::shared_ptr<spdlog::logger> get_logger(std::string_view name) {
  static std::mutex mutex;
  const std::lock_guard lock(mutex);
  const std::string key(name);
  if (auto existing = spdlog::get(key)) return existing;
  auto base = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(key, base->sinks().begin(), base->sinks().end());
  logger->set_level(base->level());
  spdlog::register_logger(logger);
  return logger;
}

LogLevel level_number(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  struct Entry {
    std::string_view name;
    LogLevel level;
  };
  static constexpr Entry table[] = {
      {"debug", LogLevel::debug},   {"10", LogLevel::debug},          {"info", LogLevel::info},
      {"20", LogLevel::info},       {"warn", LogLevel::warn},         {"warning", LogLevel::warn},
      {"30", LogLevel::warn},       {"error", LogLevel::err},         {"40", LogLevel::err},
      {"crit", LogLevel::critical}, {"critical", LogLevel::critical}, {"fatal", LogLevel::critical},
      {"50", LogLevel::critical},   {"trace", LogLevel::trace},       {"off", LogLevel::off},
  };
  for (const Entry& e : table)
    if (e.name == lower) return e.level;
  throw std::invalid_argument("unknown log level '" + std::string(name) +
                              "' (expected debug, info, warning, error or critical)");
}

std::string_view level_name(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::trace:
      return "TRACE";
    case LogLevel::debug:
      return "DEBUG";
    case LogLevel::info:
      return "INFO";
    case LogLevel::warn:
      return "WARNING";
    case LogLevel::err:
      return "ERROR";
    case LogLevel::critical:
      return "CRITICAL";
    default:
      return "NOTSET";
  }
}

bool CompositeLogger::devlog_enabled() noexcept {
  static const bool enabled = [] {
    const char* v = std::getenv("DEVLOG");
    return v != nullptr && *v != '\0';
  }();
  return enabled;
}

void CompositeLogger::append_current_exception(fmt::memory_buffer& buf) {
  const std::exception_ptr e = std::current_exception();
  if (!e) return;
  const std::string repr = exception_repr(e);
  buf.append(std::string_view(": "));
  buf.append(repr);
}

namespace {
thread_local const detail::LogRecord* current_record = nullptr;
}  // namespace

const detail::LogRecord* detail::current_log_record() noexcept { return current_record; }

void CompositeLogger::write(LogLevel level, const fmt::memory_buffer& buf, std::size_t prefix,
                            std::initializer_list<LogField> fields) const {
  const detail::LogRecord record{owner_, buf.data(), prefix, fields};
  struct Current {  // a record logged while formatting this one nests
    const detail::LogRecord* outer;
    ~Current() { current_record = outer; }
  } current{std::exchange(current_record, &record)};
  owner_->logger().log(level, std::string_view(buf.data(), buf.size()));
}

std::string logger_name_of(const std::type_info& type) {
  std::string ns = namespace_of(type);
  return ns.empty() ? "main" : ns;
}

void format_service_log_prefix(fmt::memory_buffer& out, std::size_t depth, std::string_view label) {
  out.append(std::string_view("[^"));
  for (; depth > 1; --depth) out.push_back('-');
  out.append(label);
  out.append(std::string_view("]: "));
}

}  // namespace mode
