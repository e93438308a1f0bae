// The page the Console answers `GET /` with (private to the library).
#pragma once

#include <string_view>

namespace mode::detail {

/// A whole HTML document, its style and script inline: it follows `/stream` and draws
/// `/graph.svg`, and fetches nothing from anywhere else.
std::string_view console_page() noexcept;

}  // namespace mode::detail
