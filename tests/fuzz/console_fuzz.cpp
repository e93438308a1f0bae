// libFuzzer target for the console's request handling (src/detail/http_request.hpp,
// src/console_page.hpp): whatever bytes a client sends, the endpoint reads them into a GET to
// answer or a refusal (400, 405), never anything else, and a GET's path goes to one answer.
#include "console_page.hpp"
#include "detail/http_request.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

using mode::detail::ConsoleAnswer;

// The routes as the console's documentation lists them: an oracle written apart from the code.
struct Route {
  std::string_view path;
  ConsoleAnswer answer;
};
constexpr Route kRoutes[] = {
    {"/", ConsoleAnswer::page},         {"/tree", ConsoleAnswer::tree},
    {"/events", ConsoleAnswer::events}, {"/stream", ConsoleAnswer::stream},
    {"/graph", ConsoleAnswer::graph},   {"/graph.svg", ConsoleAnswer::graph_svg},
    {"/health", ConsoleAnswer::health},
};

ConsoleAnswer expected_answer(std::string_view target) {
  for (const Route& r : kRoutes)
    if (r.path == target) return r.answer;  // "/" is the page or the tree, by Accept
  return ConsoleAnswer::not_found;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::optional<mode::detail::ReadRequest> read = mode::detail::read_request(bytes);
  // Nothing is answered only to a client that sent nothing.
  if (!read) {
    check(bytes.empty());
    return 0;
  }
  check(read->refusal == 0 || read->refusal == 400 || read->refusal == 405);
  if (read->refusal != 0) return 0;
  check(read->target.find('?') == std::string_view::npos);
  // A GET could only be read whole from fewer bytes than the bound.
  check(bytes.size() > 0 &&
        read->target.size() + read->query.size() + read->accept.size() < bytes.size());
  const ConsoleAnswer answer = mode::detail::console_answer_for(read->target, read->accept);
  const ConsoleAnswer expected = expected_answer(read->target);
  check(answer == expected || (expected == ConsoleAnswer::page && answer == ConsoleAnswer::tree));
  // A path never reaches the tree by its Accept header alone.
  check(read->target == "/" || answer == mode::detail::console_answer_for(read->target, ""));
  return 0;
}
