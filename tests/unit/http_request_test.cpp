// Tests of src/detail/http_request.hpp and of the Console's routes (src/console_page.hpp):
// requests read from bytes, without a socket.
#include "detail/http_request.hpp"

#include "console_page.hpp"
#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace {

using mode::detail::console_answer_for;
using mode::detail::ConsoleAnswer;
using mode::detail::read_request;

TEST(HttpRequest, AGetGivesItsPathItsQueryAndItsAccept) {
  const auto r = read_request("GET /tree?depth=2 HTTP/1.1\r\nAccept: application/json\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->refusal, 0u);
  EXPECT_EQ(r->target, "/tree");
  EXPECT_EQ(r->query, "depth=2");
  EXPECT_EQ(r->accept, "application/json");
}

TEST(HttpRequest, OtherMethodsAreRefusedWith405) {
  const auto r = read_request("POST /health HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->refusal, 405u);
}

TEST(HttpRequest, WhatIsNotHttpOrIsCutShortIsRefusedWith400) {
  EXPECT_EQ(read_request("hello\r\n\r\n")->refusal, 400u);
  EXPECT_EQ(read_request("GET / HTTP/1.1\r\nAccept: text")->refusal, 400u);
}

TEST(HttpRequest, ARequestBeyondTheBoundIsRefusedWith400) {
  const std::string header(mode::detail::kMaxRequest, 'x');
  const auto r = read_request("GET / HTTP/1.1\r\nX-Big: " + header + "\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->refusal, 400u);
}

TEST(HttpRequest, AClientThatSentNothingGetsNoAnswer) { EXPECT_EQ(read_request(""), std::nullopt); }

TEST(ConsoleRoutes, EachPathHasItsAnswer) {
  EXPECT_EQ(console_answer_for("/", ""), ConsoleAnswer::page);
  EXPECT_EQ(console_answer_for("/tree", ""), ConsoleAnswer::tree);
  EXPECT_EQ(console_answer_for("/events", ""), ConsoleAnswer::events);
  EXPECT_EQ(console_answer_for("/stream", ""), ConsoleAnswer::stream);
  EXPECT_EQ(console_answer_for("/graph", ""), ConsoleAnswer::graph);
  EXPECT_EQ(console_answer_for("/graph.svg", ""), ConsoleAnswer::graph_svg);
  EXPECT_EQ(console_answer_for("/health", ""), ConsoleAnswer::health);
  EXPECT_EQ(console_answer_for("/tree/", ""), ConsoleAnswer::not_found);
  EXPECT_EQ(console_answer_for("", ""), ConsoleAnswer::not_found);
}

TEST(ConsoleRoutes, TheRootIsTheTreeForAScriptThatNamesJsonFirst) {
  EXPECT_EQ(console_answer_for("/", "application/json"), ConsoleAnswer::tree);
  EXPECT_EQ(console_answer_for("/", "application/json, text/html"), ConsoleAnswer::tree);
  EXPECT_EQ(console_answer_for("/", "text/html, application/json"), ConsoleAnswer::page);
  EXPECT_EQ(console_answer_for("/health", "application/json"), ConsoleAnswer::health);
}

}  // namespace
