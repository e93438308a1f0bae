// Names of types for labels and logs (Mode's qualname / shortname), and exception text.
#pragma once

#include <exception>
#include <string>
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

}  // namespace mode
