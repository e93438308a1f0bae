// Demangled type names and exception text.
#include <mode/utils/objects.hpp>

#include <cxxabi.h>

#include <cstdlib>
#include <memory>

namespace mode {
namespace {

// Index one past the last "::" that is not inside template arguments.
std::size_t name_start(const std::string& name) {
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '<' || c == '(') ++depth;
    if (c == '>' || c == ')') --depth;
    if (depth == 0 && c == ':' && i + 1 < name.size() && name[i + 1] == ':') start = i + 2;
  }
  return start;
}

}  // namespace

std::string qualname(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(type.name());
}

std::string shortname(const std::type_info& type) {
  const std::string name = qualname(type);
  return name.substr(name_start(name));
}

std::string namespace_of(const std::type_info& type) {
  const std::string name = qualname(type);
  const std::size_t start = name_start(name);
  return start == 0 ? std::string() : name.substr(0, start - 2);
}

std::string exception_repr(const std::exception_ptr& e) noexcept {
  if (!e) return "none";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    try {
      return qualname(typeid(ex)) + "('" + ex.what() + "')";
    } catch (...) {
    }
  } catch (...) {
    if (const std::type_info* t = abi::__cxa_current_exception_type()) {
      try {
        return qualname(*t) + "()";
      } catch (...) {
      }
    }
  }
  return "unknown exception";
}

}  // namespace mode
