// Demangled type names and exception text.
#include <mode/utils/objects.hpp>

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>
#include <cxxabi.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <utility>

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

// The thrown values whose text exception_repr shows (`throw 42`, `throw "boom"`).
template <class... Ts>
struct TypeList {};
using ValueTypes = TypeList<bool, char, signed char, unsigned char, short, unsigned short, int,
                            unsigned, long, unsigned long, long long, unsigned long long, float,
                            double, long double, const char*, char*, std::string, std::string_view>;

template <class T>
std::string value_repr(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "bool(true)" : "bool(false)";
  } else if constexpr (std::is_same_v<T, char>) {
    return fmt::format("char('{}')", v);
  } else if constexpr (std::is_arithmetic_v<T>) {
    return fmt::format("{}({})", qualname(typeid(T)), +v);  // +: a signed char as a number
  } else if constexpr (std::is_pointer_v<T>) {
    const char* type = std::is_const_v<std::remove_pointer_t<T>> ? "const char*" : "char*";
    return v != nullptr ? fmt::format("{}('{}')", type, v) : fmt::format("{}(nullptr)", type);
  } else {
    return fmt::format("{}('{}')",
                       std::is_same_v<T, std::string> ? "std::string" : "std::string_view",
                       std::string_view(v));
  }
}

// `Type(value)` if `object`, of type `type`, is one of ValueTypes.
template <class... Ts>
std::optional<std::string> known_value_repr(const std::type_info& type, const void* object,
                                            TypeList<Ts...> /*types*/) {
  std::optional<std::string> out;
  static_cast<void>(
      ((type == typeid(Ts) && (out = value_repr(*static_cast<const Ts*>(object)), true)) || ...));
  return out;
}

// The same, found by rethrowing `e` (where the thrown object's address cannot be read).
template <class... Ts>
std::optional<std::string> caught_value_repr(const std::exception_ptr& e,
                                             TypeList<Ts...> /*types*/) {
  std::optional<std::string> out;
  auto try_one = [&](auto tag) {
    using T = typename decltype(tag)::type;
    try {
      std::rethrow_exception(e);
    } catch (const T& v) {
      out = value_repr(v);
    } catch (...) {
    }
    return out.has_value();
  };
  static_cast<void>((try_one(std::type_identity<Ts>{}) || ...));
  return out;
}

// "Type('what')" for a std::exception; "Type(value)" for a thrown integral, floating or string
// value; "Type()" for anything else.
std::string repr(const std::type_info& type, const std::exception* ex, const void* object) {
  if (ex != nullptr) return qualname(type) + "('" + ex->what() + "')";
  if (object != nullptr) {
    std::optional<std::string> value = known_value_repr(type, object, ValueTypes{});
    if (value) return std::move(*value);
  }
  return qualname(type) + "()";
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
      void* thrown = nullptr;
      std::memcpy(&thrown, &e, sizeof thrown);
      void* object = thrown;  // __do_catch moves it to the std::exception base
      const bool is_exception = typeid(std::exception).__do_catch(type, &object, 1);
      return repr(*type, is_exception ? static_cast<const std::exception*>(object) : nullptr,
                  thrown);
    }
#endif
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      return repr(typeid(ex), &ex, nullptr);
    } catch (...) {
      std::optional<std::string> value = caught_value_repr(e, ValueTypes{});
      if (value) return std::move(*value);
      if (const std::type_info* t = abi::__cxa_current_exception_type())
        return repr(*t, nullptr, nullptr);
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

bool is_cancellation(const std::exception_ptr& e) noexcept {
  if (!holds_exception_of(e, typeid(boost::system::system_error))) return false;
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& err) {
    return err.code() == boost::asio::error::operation_aborted;
  } catch (...) {
  }
  return false;
}

}  // namespace mode
