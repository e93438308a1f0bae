// Non-template parts of mode/utils/graphs.hpp: the DOT text of GraphFormatterBase and the
// graphviz renderer (a child process fed through a socket so an early exit cannot SIGPIPE us).
#include <mode/utils/graphs.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <fstream>
#include <system_error>

extern char** environ;  // POSIX leaves this declaration to the application

namespace mode {
namespace {

void overlay(GraphAttrs& into, const GraphAttrs& from) {
  for (const auto& [name, value] : from) {
    auto it = into.begin();
    while (it != into.end() && it->first != name) {
      ++it;
    }
    if (it == into.end()) {
      into.emplace_back(name, value);
    } else {
      it->second = value;
    }
  }
}

std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (const char ch : text) {
    if (ch == '"') {
      out += '\\';
    }
    out += ch;
  }
  out += '"';
  return out;
}

[[noreturn]] void throw_errno(std::string_view what) {
  throw std::system_error(errno, std::generic_category(), std::string(what));
}

// Owns a file descriptor.
class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const noexcept { return fd_; }
  void reset() noexcept {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

 private:
  int fd_ = -1;
};

// Kills and reaps the child unless it was waited for, so no exit path leaves a zombie.
class Child {
 public:
  explicit Child(pid_t pid) noexcept : pid_(pid) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }
  int wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR) {
        pid_ = -1;
        throw_errno("waitpid on graphviz");
      }
    }
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_;
};

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    throw_errno("fcntl");
  }
}

// Reads what is available; false at end of file.
bool drain(int fd, std::string& into) {
  std::array<char, 65536> buffer{};
  for (;;) {
    const ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got > 0) {
      into.append(buffer.data(), static_cast<std::size_t>(got));
    } else if (got == 0) {
      return false;
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return true;
    } else {
      throw_errno("reading from graphviz");
    }
  }
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) {
    return fmt::format("exit status {}", WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return fmt::format("killed by signal {}", WTERMSIG(status));
  }
  return fmt::format("wait status {}", status);
}

}  // namespace

GraphFormatterBase::GraphFormatterBase(GraphFormatterOptions options)
    : type_(options.type.empty() ? "digraph" : std::move(options.type)),
      id_(options.id.empty() ? "dependencies" : std::move(options.id)),
      scheme_{{"shape", "box"},
              {"arrowhead", "vee"},
              {"style", "filled"},
              {"fontname", "HelveticaNeue"}},
      node_scheme_{{"fillcolor", "palegreen3"}, {"color", "palegreen4"}},
      term_scheme_{{"fillcolor", "palegreen1"}, {"color", "palegreen2"}},
      edge_scheme_{{"color", "darkseagreen4"}, {"arrowcolor", "black"}, {"arrowsize", "0.7"}},
      graph_scheme_{{"bgcolor", "mintcream"}, {"root", options.root.value_or("NoneType")}} {
  if (type_ == "digraph") {
    direction_ = "->";
  } else if (type_ == "graph") {
    direction_ = "--";
  } else {
    throw std::invalid_argument(
        fmt::format("GraphFormatter: type must be \"graph\" or \"digraph\", not \"{}\"", type_));
  }
  for (std::size_t i = 0; i < options.indent; ++i) {
    in_ += options.inw;
  }
  in_plus_ = in_ + options.inw;
  overlay(scheme_, options.scheme);
}

GraphFormatterBase::~GraphFormatterBase() = default;

std::string GraphFormatterBase::head(const GraphAttrs& attrs) const {
  return fmt::format("{}{} {} {{\n    {}graph [{}]", in_, type_, id_, in_plus_,
                     this->attrs(attrs, graph_scheme_));
}

std::string GraphFormatterBase::tail() const { return in_ + "}"; }

std::string GraphFormatterBase::attr(std::string_view name, std::string_view value) const {
  return fmt::format("{}={}", name, quoted(value));
}

std::string GraphFormatterBase::attrs(const GraphAttrs& d, const GraphAttrs& scheme) const {
  GraphAttrs merged = scheme_;
  overlay(merged, scheme);
  overlay(merged, d);
  std::string out;
  for (const auto& [name, value] : merged) {
    if (!out.empty()) {
      out += ", ";
    }
    out += attr(name, value);
  }
  return out;
}

std::string GraphFormatterBase::draw_node(std::string_view label, const GraphAttrs& scheme,
                                          const GraphAttrs& attrs) const {
  return fmt::format("{}{} [{}]", in_plus_, quoted(label), this->attrs(attrs, scheme));
}

std::string GraphFormatterBase::draw_edge(std::string_view a, std::string_view b,
                                          const GraphAttrs& attrs) const {
  return fmt::format("{}{} {} {} [{}]", in_plus_, quoted(a), direction_, quoted(b),
                     this->attrs(attrs, edge_scheme_));
}

std::string render_graph(std::string_view dot, std::string_view format, std::string_view program) {
  // The child's stdin is a socket so that writing after it exited gives EPIPE (MSG_NOSIGNAL)
  // instead of a SIGPIPE that would kill the whole process.
  std::array<int, 2> input{};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, input.data()) < 0) {
    throw_errno("socketpair");
  }
  Fd to_child(input[0]);
  Fd child_stdin(input[1]);
  std::array<int, 2> output{};
  if (::pipe2(output.data(), O_CLOEXEC) < 0) {
    throw_errno("pipe2");
  }
  Fd from_child(output[0]);
  Fd child_stdout(output[1]);
  std::array<int, 2> errors{};
  if (::pipe2(errors.data(), O_CLOEXEC) < 0) {
    throw_errno("pipe2");
  }
  Fd errors_from_child(errors[0]);
  Fd child_stderr(errors[1]);

  posix_spawn_file_actions_t actions;
  if (const int rc = ::posix_spawn_file_actions_init(&actions); rc != 0) {
    throw std::system_error(rc, std::generic_category(), "posix_spawn_file_actions_init");
  }
  ::posix_spawn_file_actions_adddup2(&actions, child_stdin.get(), STDIN_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, child_stdout.get(), STDOUT_FILENO);
  ::posix_spawn_file_actions_adddup2(&actions, child_stderr.get(), STDERR_FILENO);
  std::string name(program);
  std::string type_option = fmt::format("-T{}", format);
  std::array<char*, 3> argv{name.data(), type_option.data(), nullptr};
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, name.c_str(), &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  if (spawned == ENOENT) {
    throw std::runtime_error(
        fmt::format("graphviz '{}' not found: install the graphviz package", program));
  }
  if (spawned != 0) {
    throw std::system_error(spawned, std::generic_category(),
                            fmt::format("cannot run graphviz '{}'", program));
  }
  Child child(pid);
  child_stdin.reset();
  child_stdout.reset();
  child_stderr.reset();
  set_nonblocking(to_child.get());
  set_nonblocking(from_child.get());
  set_nonblocking(errors_from_child.get());

  // One loop feeds the input and collects both outputs, so a large graph cannot deadlock
  // with graphviz blocked on a full output pipe while we block writing its input.
  std::string rendered;
  std::string messages;
  std::size_t written = 0;
  bool reading_output = true;
  bool reading_errors = true;
  if (dot.empty()) {
    to_child.reset();
  }
  while (to_child.get() >= 0 || reading_output || reading_errors) {
    std::array<pollfd, 3> fds{{{to_child.get(), POLLOUT, 0},
                               {reading_output ? from_child.get() : -1, POLLIN, 0},
                               {reading_errors ? errors_from_child.get() : -1, POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("poll");
    }
    if (to_child.get() >= 0 && fds[0].revents != 0) {
      const ssize_t sent = ::send(to_child.get(), dot.data() + written, dot.size() - written,
                                  MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent >= 0) {
        written += static_cast<std::size_t>(sent);
      } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
        written = dot.size();  // graphviz stopped reading (EPIPE): its exit status says why
      }
      if (written == dot.size()) {
        to_child.reset();
      }
    }
    if (reading_output && fds[1].revents != 0) {
      reading_output = drain(from_child.get(), rendered);
    }
    if (reading_errors && fds[2].revents != 0) {
      reading_errors = drain(errors_from_child.get(), messages);
    }
  }
  const int status = child.wait();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!messages.empty() && (messages.back() == '\n' || messages.back() == '\r')) {
      messages.pop_back();
    }
    throw std::runtime_error(fmt::format("graphviz '{}' failed ({}){}{}", program,
                                         describe_status(status), messages.empty() ? "" : ": ",
                                         messages));
  }
  return rendered;
}

void render_graph_file(const std::filesystem::path& path, std::string_view dot,
                       std::string_view format, std::string_view program) {
  const std::string rendered = render_graph(dot, format, program);
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(rendered.data(), static_cast<std::streamsize>(rendered.size()));
  file.close();
  if (!file) {
    throw std::runtime_error(fmt::format("cannot write the graph to {}", path.string()));
  }
}

}  // namespace mode
