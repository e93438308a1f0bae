// setup_logging, Mode's line format, stdout/stderr redirection.
#include <mode/utils/logging_setup.hpp>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ansicolor_sink.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <functional>
#include <iostream>

namespace mode {

namespace {

// `%N`: the level as Mode (Python's logging) names it.
class LevelNameFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const std::string_view name = level_name(msg.level);
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelNameFlag>();
  }
};

void apply_everywhere(const std::function<void(const std::shared_ptr<spdlog::logger>&)>& fn) {
  // The registry's lock is held inside apply_all: ask for the default logger outside it.
  const auto def = spdlog::default_logger();
  fn(def);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    if (l != def) fn(l);
  });
}

}  // namespace

std::string mode_log_pattern(bool pid) {
  if (pid) return "[%Y-%m-%d %H:%M:%S,%e] [%P] [%^%N%$]: %v";
  return "[%Y-%m-%d %H:%M:%S,%e: %^%N%$]: %v";
}

std::unique_ptr<spdlog::formatter> make_mode_formatter(const std::string& pattern) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<LevelNameFlag>('N');
  f->set_pattern(pattern);
  return f;
}

LogLevel setup_logging(const LoggingOptions& options) {
  const LogLevel level = options.level.value_or(LogLevel::warn);
  std::vector<spdlog::sink_ptr> sinks;
  if (!options.config.merge && !options.config.sinks.empty()) {
    sinks = options.config.sinks;
  } else {
    if (!options.logfile.empty()) {
      sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.logfile));
    } else {
      const auto mode = options.color == ColorMode::always  ? spdlog::color_mode::always
                        : options.color == ColorMode::never ? spdlog::color_mode::never
                                                            : spdlog::color_mode::automatic;
      auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(mode);
      // Mode's colours: DEBUG blue, INFO white, WARNING yellow, ERROR red, CRITICAL bold red.
      sink->set_color(LogLevel::debug, sink->blue);
      sink->set_color(LogLevel::info, sink->white);
      sink->set_color(LogLevel::warn, sink->yellow);
      sink->set_color(LogLevel::err, sink->red);
      sink->set_color(LogLevel::critical, sink->red_bold);
      sinks.push_back(std::move(sink));
    }
    sinks.insert(sinks.end(), options.config.sinks.begin(), options.config.sinks.end());
  }
  const std::string pattern = options.config.pattern.value_or(mode_log_pattern(options.pid));
  for (const spdlog::sink_ptr& s : sinks) {
    s->set_formatter(options.format == LogFormat::json ? make_json_formatter()
                                                       : make_mode_formatter(pattern));
  }
  apply_everywhere([&](const std::shared_ptr<spdlog::logger>& l) {
    l->sinks() = sinks;
    l->set_level(level);
    // A daemon's log is read as it happens (and by tests through a pipe): never hold lines back.
    l->flush_on(LogLevel::trace);
  });
  for (const auto& [name, lvl] : options.config.levels) get_logger(name)->set_level(lvl);
  return level;
}

void set_all_levels(LogLevel level) noexcept {
  try {
    apply_everywhere([&](const std::shared_ptr<spdlog::logger>& l) { l->set_level(level); });
  } catch (...) {
  }
}

// LogStreamBuf.

namespace {
thread_local bool in_redirected_write = false;
}  // namespace

LogStreamBuf::LogStreamBuf(std::shared_ptr<spdlog::logger> logger, LogLevel level)
    : logger_(std::move(logger)), level_(level) {}

LogStreamBuf::~LogStreamBuf() { emit(); }

LogStreamBuf::int_type LogStreamBuf::overflow(int_type ch) {
  if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
  const char c = traits_type::to_char_type(ch);
  if (c == '\n')
    emit();
  else
    line_.push_back(c);
  return ch;
}

std::streamsize LogStreamBuf::xsputn(const char* s, std::streamsize n) {
  for (std::streamsize i = 0; i < n; ++i) overflow(traits_type::to_int_type(s[i]));
  return n;
}

int LogStreamBuf::sync() {
  emit();
  return 0;
}

void LogStreamBuf::emit() noexcept {
  std::string line;
  line.swap(line_);
  if (in_redirected_write) return;  // logging output that itself writes here: drop it
  std::size_t b = 0;
  std::size_t e = line.size();
  while (b < e && std::isspace(static_cast<unsigned char>(line[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(line[e - 1]))) --e;
  if (b == e) return;
  in_redirected_write = true;
  try {
    logger_->log(level_, std::string_view(line).substr(b, e - b));
  } catch (...) {
  }
  in_redirected_write = false;
}

// RedirectStdouts.

RedirectStdouts::RedirectStdouts(LogLevel level, bool stdout_too, bool stderr_too) {
  auto logger = get_logger("mode.redirect");
  if (stdout_too) {
    std::cout.flush();
    out_buf_ = std::make_unique<LogStreamBuf>(logger, level);
    old_out_ = std::cout.rdbuf(out_buf_.get());
  }
  if (stderr_too) {
    std::cerr.flush();
    err_buf_ = std::make_unique<LogStreamBuf>(logger, level);
    old_err_ = std::cerr.rdbuf(err_buf_.get());
  }
}

RedirectStdouts::~RedirectStdouts() {
  if (old_out_ != nullptr) {
    std::cout.flush();
    std::cout.rdbuf(old_out_);
  }
  if (old_err_ != nullptr) {
    std::cerr.flush();
    std::cerr.rdbuf(old_err_);
  }
}

}  // namespace mode
