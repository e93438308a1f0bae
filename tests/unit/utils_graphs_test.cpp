// Tests of mode/utils/graphs.hpp: DependencyGraph, GraphFormatter and the graphviz renderer.
#include <mode/utils/graphs.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

using mode::DependencyGraph;
using mode::GraphFormatter;
using mode::GraphFormatterOptions;
using Strings = std::vector<std::string>;

struct Labelled {
  std::string name;
  std::string label() const { return name; }
};

struct WithShortlabel {
  std::string label() const { return "Long"; }
  std::string shortlabel() const { return "Short"; }
};

}  // namespace

namespace custom {
struct Widget {
  int id;
};
std::string mode_graph_label(const Widget& widget) { return "widget-" + std::to_string(widget.id); }
}  // namespace custom

namespace {

Strings vertices(const DependencyGraph<std::string>& graph) { return {graph.begin(), graph.end()}; }

std::string dot_of(const DependencyGraph<std::string>& graph,
                   const GraphFormatter<std::string>* formatter = nullptr) {
  std::ostringstream out;
  graph.to_dot(out, formatter);
  return out.str();
}

DependencyGraph<std::string> a_to_b() {
  DependencyGraph<std::string> graph;
  graph.add_arc("a");
  graph.add_edge("a", "b");
  graph.add_arc("b");
  return graph;
}

bool dot_installed() {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path == nullptr ? "" : path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::error_code ec;
    const auto candidate = std::filesystem::path(dir.empty() ? "." : dir) / "dot";
    if (std::filesystem::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) {
      return true;
    }
  }
  return false;
}

TEST(GraphLabel, StringsNumbersAndObjects) {
  EXPECT_EQ(mode::graph_label(std::string("abc")), "abc");
  EXPECT_EQ(mode::graph_label("lit"), "lit");
  EXPECT_EQ(mode::graph_label(std::string_view("view")), "view");
  EXPECT_EQ(mode::graph_label(303), "303");
  EXPECT_EQ(mode::graph_label(0.7), "0.7");
  const Labelled object{"Obj"};
  EXPECT_EQ(mode::graph_label(object), "Obj");
  EXPECT_EQ(mode::graph_label(&object), "Obj");
  EXPECT_EQ(mode::graph_label(std::make_shared<Labelled>(Labelled{"Shared"})), "Shared");
  EXPECT_EQ(mode::graph_label(std::make_unique<Labelled>(Labelled{"Unique"})), "Unique");
  EXPECT_EQ(mode::graph_label(static_cast<const Labelled*>(nullptr)), "NoneType");
  EXPECT_EQ(mode::graph_label(custom::Widget{7}), "widget-7");
}

TEST(GraphLabel, ShortlabelFallsBackToLabel) {
  const WithShortlabel object;
  EXPECT_EQ(mode::graph_label(object), "Long");
  EXPECT_EQ(mode::graph_shortlabel(object), "Short");
  EXPECT_EQ(mode::graph_shortlabel(&object), "Short");
  EXPECT_EQ(mode::graph_shortlabel(Labelled{"Only"}), "Only");
  EXPECT_EQ(mode::graph_shortlabel(808), "808");
  EXPECT_EQ(mode::graph_shortlabel(static_cast<const WithShortlabel*>(nullptr)), "NoneType");
}

TEST(GraphLabel, ConceptRejectsUnlabelledTypes) {
  struct Opaque {};
  static_assert(mode::GraphLabelable<int>);
  static_assert(mode::GraphLabelable<Labelled*>);
  static_assert(mode::GraphLabelable<std::shared_ptr<Labelled>>);
  static_assert(!mode::GraphLabelable<Opaque>);
  static_assert(!mode::GraphLabelable<Opaque*>);
  static_assert(!mode::GraphLabelable<void*>);
}

TEST(DependencyGraph, ArcsAndEdgesKeepInsertionOrder) {
  DependencyGraph<std::string> graph;
  EXPECT_TRUE(graph.empty());
  graph.add_arc("z");
  graph.add_arc("a");
  graph.add_arc("z");  // already a vertex: no-op
  graph.add_edge("z", "b");
  graph.add_edge("z", "a");
  graph.add_edge("z", "b");  // duplicates are kept, as in Mode
  EXPECT_EQ(vertices(graph), (Strings{"z", "a"}));
  EXPECT_EQ(graph.size(), 2U);
  EXPECT_TRUE(graph.contains("z"));
  EXPECT_FALSE(graph.contains("b"));  // a successor need not be a vertex
  EXPECT_EQ(graph.at("z"), (Strings{"b", "a", "b"}));
  EXPECT_EQ(graph.edges(), (Strings{"z"}));
  ASSERT_EQ(graph.items().size(), 2U);
  EXPECT_EQ(graph.items()[1].first, "a");
  EXPECT_TRUE(graph.items()[1].second.empty());
}

TEST(DependencyGraph, EdgeFromUnknownVertexThrows) {
  DependencyGraph<std::string> graph;
  graph.add_arc("a");
  EXPECT_THROW(graph.add_edge("nope", "a"), std::out_of_range);
  EXPECT_THROW((void)graph.at("nope"), std::out_of_range);
  EXPECT_EQ(vertices(graph), (Strings{"a"}));
  EXPECT_TRUE(graph.at("a").empty());
}

TEST(DependencyGraph, UpdateRegistersEveryVertexFirst) {
  DependencyGraph<std::string> graph;
  // "b" is an edge target before it is a vertex: update adds all vertices first.
  graph.update({{"a", {"b"}}, {"b", {"c"}}});
  EXPECT_EQ(vertices(graph), (Strings{"a", "b"}));
  EXPECT_EQ(graph.at("a"), (Strings{"b"}));
  EXPECT_EQ(graph.at("b"), (Strings{"c"}));

  const std::vector<std::pair<std::string, Strings>> more{{"c", {}}, {"a", {"c"}}};
  graph.update(more);
  EXPECT_EQ(vertices(graph), (Strings{"a", "b", "c"}));
  EXPECT_EQ(graph.at("a"), (Strings{"b", "c"}));
}

TEST(DependencyGraph, ConstructFromPairs) {
  const DependencyGraph<int> graph{{1, {2, 3}}, {2, {3}}, {3, {}}};
  EXPECT_EQ((std::vector<int>{graph.begin(), graph.end()}), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(graph.valency_of(1), 3U);
}

TEST(DependencyGraph, ConnectCopiesListsAndKeepsPositions) {
  DependencyGraph<std::string> graph{{"a", {"x"}}, {"b", {}}};
  DependencyGraph<std::string> other{{"c", {"a"}}, {"a", {"y", "z"}}};
  graph.connect(other);
  EXPECT_EQ(vertices(graph), (Strings{"a", "b", "c"}));
  EXPECT_EQ(graph.at("a"), (Strings{"y", "z"}));
  EXPECT_EQ(graph.at("c"), (Strings{"a"}));
  other.add_edge("a", "w");  // lists are copied, not shared
  EXPECT_EQ(graph.at("a"), (Strings{"y", "z"}));
}

TEST(DependencyGraph, ValencyCountsPaths) {
  const DependencyGraph<std::string> graph{
      {"a", {"b", "c"}}, {"b", {"d"}}, {"c", {"d"}}, {"d", {}}};
  EXPECT_EQ(graph.valency_of("d"), 0U);
  EXPECT_EQ(graph.valency_of("b"), 1U);
  EXPECT_EQ(graph.valency_of("c"), 1U);
  EXPECT_EQ(graph.valency_of("a"), 4U);  // 2 + valency(b) + valency(c)
  EXPECT_EQ(graph.valency_of("unknown"), 0U);
}

TEST(DependencyGraph, ValencyOfCycleThrowsCycleError) {
  const DependencyGraph<std::string> graph{{"a", {"b"}}, {"b", {"a"}}, {"c", {}}};
  EXPECT_THROW((void)graph.valency_of("a"), mode::CycleError);
  EXPECT_EQ(graph.valency_of("c"), 0U);
  EXPECT_THROW((void)graph.to_string(), mode::CycleError);

  const DependencyGraph<std::string> self_loop{{"s", {"s"}}};
  EXPECT_THROW((void)self_loop.valency_of("s"), mode::CycleError);
}

TEST(DependencyGraph, ValencyOfDeepChainDoesNotRecurse) {
  constexpr int n = 100'000;
  DependencyGraph<int> graph;
  for (int i = 0; i < n; ++i) {
    graph.add_arc(i);
  }
  for (int i = 0; i + 1 < n; ++i) {
    graph.add_edge(i, i + 1);
  }
  EXPECT_EQ(graph.valency_of(0), static_cast<std::size_t>(n - 1));
  EXPECT_EQ(graph.topsort().front(), n - 1);
}

TEST(DependencyGraph, TextFormMatchesMode) {
  // BEHAVIOUR.md §2.17: the graph of the tree 303 -> {808 -> {909}, 11}.
  const DependencyGraph<int> graph{{303, {808, 11}}, {808, {909}}};
  const std::string expected =
      "303(3)\n"
      "     808(1)\n"
      "          909(0)\n"
      "     11(0)\n"
      "808(1)\n"
      "     909(0)";
  EXPECT_EQ(graph.to_string(), expected);
  std::ostringstream out;
  out << graph;
  EXPECT_EQ(out.str(), expected);
  EXPECT_EQ(DependencyGraph<int>{}.to_string(), "");
}

TEST(DependencyGraph, TopsortIntendedResults) {
  const DependencyGraph<std::string> chain{{"a", {"b"}}, {"b", {"c"}}, {"c", {}}};
  EXPECT_EQ(chain.topsort(), (Strings{"c", "b", "a"}));

  const DependencyGraph<std::string> app{{"app", {"db", "cache"}}, {"cache", {"db"}}, {"db", {}}};
  EXPECT_EQ(app.topsort(), (Strings{"db", "cache", "app"}));

  const DependencyGraph<std::string> isolated{{"x", {}}, {"y", {}}, {"z", {}}};
  EXPECT_EQ(isolated.topsort(), (Strings{"x", "y", "z"}));

  const DependencyGraph<std::string> diamond{
      {"a", {"b", "c"}}, {"b", {"d"}}, {"c", {"d"}}, {"d", {}}};
  EXPECT_EQ(diamond.topsort(), (Strings{"d", "b", "c", "a"}));

  const DependencyGraph<std::string> cycle{{"a", {"b"}}, {"b", {"a"}}, {"c", {"a"}}};
  EXPECT_EQ(cycle.topsort(), (Strings{"a", "c"}));

  EXPECT_TRUE(DependencyGraph<std::string>{}.topsort().empty());
}

TEST(DependencyGraph, TopsortHandlesSelfLoopsAndLeaves) {
  const DependencyGraph<std::string> self_loop{{"a", {"a", "b"}}, {"b", {}}};
  EXPECT_EQ(self_loop.topsort(), (Strings{"b", "a"}));

  // Mode raises a key error when a successor is not a vertex; here it sorts like one that
  // was added last, so the graph of a tree (whose leaves are not vertices) sorts too.
  const DependencyGraph<std::string> leaves{{"a", {"b"}}};
  const DependencyGraph<std::string> explicit_leaves{{"a", {"b"}}, {"b", {}}};
  EXPECT_EQ(leaves.topsort(), (Strings{"b", "a"}));
  EXPECT_EQ(leaves.topsort(), explicit_leaves.topsort());
}

TEST(GraphFormatter, DefaultDotIsByteExact) {
  const std::string expected =
      "digraph dependencies {\n"
      "        graph [shape=\"box\", arrowhead=\"vee\", style=\"filled\", "
      "fontname=\"HelveticaNeue\", bgcolor=\"mintcream\", root=\"NoneType\"]\n"
      "    \"a\" [shape=\"box\", arrowhead=\"vee\", style=\"filled\", "
      "fontname=\"HelveticaNeue\", fillcolor=\"palegreen3\", color=\"palegreen4\"]\n"
      "    \"a\" -> \"b\" [shape=\"box\", arrowhead=\"vee\", style=\"filled\", "
      "fontname=\"HelveticaNeue\", color=\"darkseagreen4\", arrowcolor=\"black\", "
      "arrowsize=\"0.7\"]\n"
      "    \"b\" [shape=\"box\", arrowhead=\"vee\", style=\"filled\", "
      "fontname=\"HelveticaNeue\", fillcolor=\"palegreen1\", color=\"palegreen2\"]\n"
      "}\n";
  EXPECT_EQ(dot_of(a_to_b()), expected);
}

TEST(GraphFormatter, OptionsVariantIsByteExact) {
  const GraphFormatter<std::string> formatter(GraphFormatterOptions{
      .root = "R", .type = "graph", .id = "G", .indent = 1, .scheme = {{"shape", "ellipse"}}});
  const std::string expected =
      "    graph G {\n"
      "            graph [shape=\"ellipse\", arrowhead=\"vee\", style=\"filled\", "
      "fontname=\"HelveticaNeue\", bgcolor=\"mintcream\", root=\"R\"]\n"
      "        \"a\" [shape=\"ellipse\", arrowhead=\"vee\", style=\"filled\", "
      "fontname=\"HelveticaNeue\", fillcolor=\"palegreen3\", color=\"palegreen4\"]\n"
      "        \"a\" -- \"b\" [shape=\"ellipse\", arrowhead=\"vee\", style=\"filled\", "
      "fontname=\"HelveticaNeue\", color=\"darkseagreen4\", arrowcolor=\"black\", "
      "arrowsize=\"0.7\"]\n"
      "        \"b\" [shape=\"ellipse\", arrowhead=\"vee\", style=\"filled\", "
      "fontname=\"HelveticaNeue\", fillcolor=\"palegreen1\", color=\"palegreen2\"]\n"
      "    }\n";
  EXPECT_EQ(dot_of(a_to_b(), &formatter), expected);

  // The graph's own formatter is used when to_dot is given none.
  DependencyGraph<std::string> graph = a_to_b();
  graph.set_formatter(std::make_shared<GraphFormatter<std::string>>(formatter));
  EXPECT_EQ(dot_of(graph), expected);
}

TEST(GraphFormatter, ElementsAndAttributes) {
  const GraphFormatter<std::string> formatter(
      GraphFormatterOptions{.scheme = {{"rankdir", "LR"}, {"style", "rounded"}}});
  EXPECT_EQ(formatter.type(), "digraph");
  EXPECT_EQ(formatter.id(), "dependencies");
  EXPECT_EQ(formatter.attr("color", "red"), "color=\"red\"");
  // Base scheme, overridden in place; new names appended; per-call attributes last.
  EXPECT_EQ(formatter.attrs({{"color", "blue"}, {"shape", "circle"}}, {{"color", "green"}}),
            "shape=\"circle\", arrowhead=\"vee\", style=\"rounded\", "
            "fontname=\"HelveticaNeue\", rankdir=\"LR\", color=\"blue\"");
  EXPECT_EQ(formatter.node("x", {{"fillcolor", "red"}}),
            "    \"x\" [shape=\"box\", arrowhead=\"vee\", style=\"rounded\", "
            "fontname=\"HelveticaNeue\", rankdir=\"LR\", fillcolor=\"red\", "
            "color=\"palegreen4\"]");
  EXPECT_EQ(formatter.terminal_node("x"),
            "    \"x\" [shape=\"box\", arrowhead=\"vee\", style=\"rounded\", "
            "fontname=\"HelveticaNeue\", rankdir=\"LR\", fillcolor=\"palegreen1\", "
            "color=\"palegreen2\"]");
  EXPECT_EQ(formatter.edge("x", "y", {{"arrowsize", "1"}}),
            "    \"x\" -> \"y\" [shape=\"box\", arrowhead=\"vee\", style=\"rounded\", "
            "fontname=\"HelveticaNeue\", rankdir=\"LR\", color=\"darkseagreen4\", "
            "arrowcolor=\"black\", arrowsize=\"1\"]");
  EXPECT_EQ(formatter.head({{"bgcolor", "white"}}),
            "digraph dependencies {\n        graph [shape=\"box\", arrowhead=\"vee\", "
            "style=\"rounded\", fontname=\"HelveticaNeue\", rankdir=\"LR\", bgcolor=\"white\", "
            "root=\"NoneType\"]");
  EXPECT_EQ(formatter.tail(), "}");
  EXPECT_EQ(formatter.label("x"), "x");
  // Quotes inside labels are escaped so the DOT stays valid.
  EXPECT_EQ(formatter.draw_node("say \"hi\"", {}),
            "    \"say \\\"hi\\\"\" [shape=\"box\", "
            "arrowhead=\"vee\", style=\"rounded\", "
            "fontname=\"HelveticaNeue\", rankdir=\"LR\"]");
}

TEST(GraphFormatter, EmptyTypeAndIdMeanDefaultsAndBadTypeThrows) {
  const GraphFormatter<int> formatter(GraphFormatterOptions{.type = "", .id = ""});
  EXPECT_EQ(formatter.head().substr(0, 23), "digraph dependencies {\n");
  EXPECT_THROW(GraphFormatter<int>(GraphFormatterOptions{.type = "tree"}), std::invalid_argument);
}

TEST(GraphFormatter, NodeLinesOncePerLabelAndNoneForNonVertices) {
  // Two distinct objects with one label are drawn as one node.
  const Labelled first{"Same"};
  const Labelled second{"Same"};
  const Labelled leaf{"Leaf"};
  DependencyGraph<const Labelled*> graph;
  graph.add_arc(&first);
  graph.add_arc(&second);
  graph.add_edge(&first, &leaf);
  graph.add_edge(&second, &leaf);
  std::ostringstream out;
  graph.to_dot(out);
  const std::string dot = out.str();
  const auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = dot.find(needle); pos != std::string::npos; pos = dot.find(needle, pos + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count("    \"Same\" ["), 1U);
  EXPECT_EQ(count("\"Same\" -> \"Leaf\""), 2U);
  EXPECT_EQ(count("    \"Leaf\" ["), 0U);
}

TEST(GraphFormatter, SubclassOverridesLabel) {
  struct Upper : GraphFormatter<std::string> {
    std::string label(const std::string& obj) const override { return "<" + obj + ">"; }
  };
  const Upper formatter;
  const std::string dot = dot_of(a_to_b(), &formatter);
  EXPECT_NE(dot.find("    \"<a>\" -> \"<b>\" ["), std::string::npos);
  EXPECT_NE(dot.find("    \"<b>\" [shape"), std::string::npos);
}

TEST(RenderGraph, MissingProgramGivesClearError) {
  try {
    (void)mode::render_graph(dot_of(a_to_b()), "svg", "mode-no-such-graphviz-program");
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(),
                 "graphviz 'mode-no-such-graphviz-program' not found: install the graphviz "
                 "package");
  }
}

TEST(RenderGraph, MissingDotGivesClearError) {
  if (dot_installed()) {
    GTEST_SKIP() << "graphviz is installed: the not-found branch cannot run here";
  }
  try {
    (void)mode::render_graph(dot_of(a_to_b()), "svg");
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "graphviz 'dot' not found: install the graphviz package");
  }
}

TEST(RenderGraph, FailingProgramReportsItsStatusWithoutSigpipe) {
  // `false` exits without reading its input: a large input must give an error, not SIGPIPE.
  const std::string big(4 << 20, 'x');
  try {
    (void)mode::render_graph(big, "svg", "false");
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& error) {
    EXPECT_STREQ(error.what(), "graphviz 'false' failed (exit status 1)");
  }
}

TEST(RenderGraph, RendersSvgPngAndFiles) {
  if (!dot_installed()) {
    GTEST_SKIP() << "graphviz 'dot' is not installed";
  }
  const std::string svg = mode::render_graph(dot_of(a_to_b()), "svg");
  ASSERT_FALSE(svg.empty());
  EXPECT_TRUE(svg.starts_with("<?xml") || svg.starts_with("<svg")) << svg.substr(0, 40);
  EXPECT_NE(svg.find("<svg"), std::string::npos);

  const std::string png = mode::render_graph(dot_of(a_to_b()), "png");
  EXPECT_TRUE(png.starts_with("\x89PNG")) << png.size();

  const auto path = std::filesystem::temp_directory_path() /
                    ("mode-graphs-test-" + std::to_string(::getpid()) + ".svg");
  mode::render_graph_file(path, dot_of(a_to_b()), "svg");
  std::ifstream file(path, std::ios::binary);
  const std::string written((std::istreambuf_iterator<char>(file)),
                            std::istreambuf_iterator<char>());
  EXPECT_EQ(written, svg);
  std::filesystem::remove(path);
}

TEST(RenderGraph, LargeGraphAndBadFormat) {
  if (!dot_installed()) {
    GTEST_SKIP() << "graphviz 'dot' is not installed";
  }
  DependencyGraph<int> chain;
  for (int i = 0; i < 2000; ++i) {
    chain.add_arc(i);
    chain.add_edge(i, i + 1);
  }
  std::ostringstream dot;
  chain.to_dot(dot);
  // Output larger than a pipe buffer must not deadlock.
  const std::string svg = mode::render_graph(dot.str(), "svg");
  EXPECT_GT(svg.size(), 65536U);

  try {
    (void)mode::render_graph(dot.str(), "no-such-format");
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& error) {
    const std::string what = error.what();
    EXPECT_TRUE(what.starts_with("graphviz 'dot' failed (exit status 1): ")) << what;
    EXPECT_NE(what.find("no-such-format"), std::string::npos) << what;
  }
}

}  // namespace
