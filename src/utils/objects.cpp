// Demangled type names and exception text.
#include <mode/utils/objects.hpp>

#include "detail/asio_internals.hpp"
#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

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
  if (inserted) it->second = detail::runtime::demangle(type.name());
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
    // Without a rethrow where the runtime allows (a rethrow unwinds, for microseconds: crash
    // logs read every crash).
    if (detail::runtime::Thrown thrown; detail::runtime::inspect(e, thrown))
      return repr(*thrown.type, thrown.exception, thrown.object);
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      return repr(typeid(ex), &ex, nullptr);
    } catch (...) {
      std::optional<std::string> value = caught_value_repr(e, ValueTypes{});
      if (value) return std::move(*value);
      if (const std::type_info* t = detail::runtime::current_exception_type())
        return repr(*t, nullptr, nullptr);
    }
  } catch (...) {
  }
  return "unknown exception";
}

bool holds_exception_of(const std::exception_ptr& e, const std::type_info& base) noexcept {
  if (!e) return false;
  detail::runtime::Thrown thrown;
  if (!detail::runtime::inspect(e, thrown)) {
    // Only the runtime's ABI reads the type without a rethrow, and the bases of a type_info.
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      if (base == typeid(std::exception)) return true;
      thrown.type = &typeid(ex);
    } catch (...) {
      thrown.type = detail::runtime::current_exception_type();
    }
  }
  return thrown.type != nullptr && detail::runtime::derives(*thrown.type, base);
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
