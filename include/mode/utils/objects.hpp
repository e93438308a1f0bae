// Names of types for labels and logs (Mode's qualname / shortname), and exception text.
#pragma once

#include <fmt/format.h>

#include <exception>
#include <string>
#include <string_view>
#include <typeinfo>

namespace mode {

/// Demangled, fully qualified name: `app::PageViewCache`.
std::string qualname(const std::type_info& type);
/// The qualified name without its namespaces: `PageViewCache` (template arguments kept).
std::string shortname(const std::type_info& type);
/// The namespace part of the qualified name (`app` for `app::PageViewCache`, "" at top level).
std::string namespace_of(const std::type_info& type);

template <class T>
std::string qualname() {
  return qualname(typeid(T));
}
template <class T>
std::string shortname() {
  return shortname(typeid(T));
}

/// Type and message of an exception, as Mode prints an exception's repr: `std::runtime_error('x')`.
/// Never throws; a null pointer gives "none".
std::string exception_repr(const std::exception_ptr& e) noexcept;

/// A log argument formatted as exception_repr(e), computed only if the line is written: reading
/// an exception's message means rethrowing it, which costs microseconds.
struct ExceptionRepr {
  std::exception_ptr e;
};

/// Whether the exception `e` holds is a `Base` or derives from it, read from its type alone
/// (with libstdc++, no rethrow). False for a null pointer.
bool holds_exception_of(const std::exception_ptr& e, const std::type_info& base) noexcept;

/// Whether `e` holds Asio's `operation_aborted` (how a cancellation surfaces). Other
/// exceptions are told apart by their type alone, without a rethrow. False for a null pointer.
bool is_cancellation(const std::exception_ptr& e) noexcept;

}  // namespace mode

template <>
struct fmt::formatter<mode::ExceptionRepr> : fmt::formatter<std::string_view> {
  template <class Context>
  auto format(const mode::ExceptionRepr& r, Context& ctx) const {
    return fmt::formatter<std::string_view>::format(mode::exception_repr(r.e), ctx);
  }
};
