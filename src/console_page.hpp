// The page the Console answers `GET /` with, and which answer a GET gets (private to the
// library; the routing is pure, so that it is tested and fuzzed without a socket).
#pragma once

#include <string_view>

namespace mode::detail {

/// A whole HTML document, its style and script inline: it follows `/stream` and draws
/// `/graph.svg`, and fetches nothing from anywhere else.
std::string_view console_page() noexcept;

/// The answers of the Console (see mode::Console).
enum class ConsoleAnswer { page, tree, events, stream, graph, graph_svg, health, not_found };

/// The answer to a GET of `target` (a path without its query) with that `Accept` header: `/`
/// is the page unless `accept` names JSON before HTML (a script), then the tree.
ConsoleAnswer console_answer_for(std::string_view target, std::string_view accept) noexcept;

}  // namespace mode::detail
