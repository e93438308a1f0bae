// Demangled type names and exception text.
#include <mode/utils/objects.hpp>

#include <cxxabi.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <typeindex>
#include <unordered_map>

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
  // Demangling is slow, and a crash log names its exception's type every time.
  thread_local std::unordered_map<std::type_index, std::string> cache;
  auto [it, inserted] = cache.try_emplace(std::type_index(type));
  if (inserted) {
    int status = 0;
    std::unique_ptr<char, void (*)(void*)> out(
        abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
    it->second = status == 0 && out ? std::string(out.get()) : std::string(type.name());
  }
  return it->second;
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

namespace {

// "Type('what')", or "Type()" for an exception that is not a std::exception.
std::string repr(const std::type_info& type, const std::exception* ex) {
  return ex != nullptr ? qualname(type) + "('" + ex->what() + "')" : qualname(type) + "()";
}

}  // namespace

std::string exception_repr(const std::exception_ptr& e) noexcept {
  if (!e) return "none";
  try {
#if defined(__GLIBCXX__)
    // Found as a catch clause finds it, but without a rethrow (which unwinds, for microseconds:
    // crash logs read every crash). libstdc++'s exception_ptr holds the thrown object's address.
    static_assert(sizeof(std::exception_ptr) == sizeof(void*));
    if (const std::type_info* type = e.__cxa_exception_type()) {
      void* object = nullptr;
      std::memcpy(&object, &e, sizeof object);
      const bool is_exception = typeid(std::exception).__do_catch(type, &object, 1);
      return repr(*type, is_exception ? static_cast<const std::exception*>(object) : nullptr);
    }
#endif
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      return repr(typeid(ex), &ex);
    } catch (...) {
      if (const std::type_info* t = abi::__cxa_current_exception_type()) return repr(*t, nullptr);
    }
  } catch (...) {
  }
  return "unknown exception";
}

namespace {

// Walks the class hierarchy that the C++ ABI records beside each class's type_info.
bool derives(const std::type_info& type, const std::type_info& base) noexcept {
  if (type == base) return true;
  if (const auto* si = dynamic_cast<const abi::__si_class_type_info*>(&type))
    return derives(*si->__base_type, base);
  if (const auto* vmi = dynamic_cast<const abi::__vmi_class_type_info*>(&type)) {
    for (unsigned i = 0; i < vmi->__base_count; ++i)
      if (derives(*vmi->__base_info[i].__base_type, base)) return true;
  }
  return false;
}

}  // namespace

bool holds_exception_of(const std::exception_ptr& e, const std::type_info& base) noexcept {
  if (!e) return false;
#if defined(__GLIBCXX__)
  const std::type_info* type = e.__cxa_exception_type();
#else
  // Other standard libraries cannot read the type without a rethrow.
  const std::type_info* type = nullptr;
  try {
    std::rethrow_exception(e);
  } catch (...) {
    type = abi::__cxa_current_exception_type();
  }
#endif
  return type != nullptr && derives(*type, base);
}

}  // namespace mode
