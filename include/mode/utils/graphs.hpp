// mode/utils/graphs.hpp: DependencyGraph, its DOT form (GraphFormatter) and graphviz rendering.
// Port of mode.utils.graphs: every output format is Mode's, except where a comment says why.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace mode {

/// Raised by DependencyGraph::valency_of (and the text form) when the graph has a cycle.
///
/// Mode declares this error but never raises it: its valency_of recurses forever on a cycle.
class CycleError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

// Poison pill: mode_graph_label is found by argument-dependent lookup only.
void mode_graph_label() = delete;

template <class U>
concept HasLabelMember = requires(const U& u) {
  std::string(u.label());
};

template <class U>
concept HasShortlabelMember = requires(const U& u) {
  std::string(u.shortlabel());
};

template <class U>
concept HasAdlGraphLabel = requires(const U& u) {
  std::string(mode_graph_label(u));
};

// Raw pointers (except void*) and smart pointers, that can be dereferenced.
template <class U>
concept PointerLike = ((std::is_pointer_v<U> && !std::is_void_v<std::remove_pointer_t<U>>) ||
                       requires(const U& p) {
                         typename U::element_type;
                         p.get();
                       }) &&
                      requires(const U& p) {
  *p;
};

template <class U>
using pointee_t = std::remove_cvref_t<decltype(*std::declval<const U&>())>;

template <class U>
const auto* pointee(const U& p) noexcept {
  if constexpr (std::is_pointer_v<U>) {
    return p;
  } else {
    return p.get();
  }
}

enum class LabelKind : std::uint8_t { none, string, number, member, pointer, adl };

template <class U>
consteval LabelKind label_kind() {
  if constexpr (std::is_convertible_v<const U&, std::string_view>) {
    return LabelKind::string;
  } else if constexpr (std::is_arithmetic_v<U>) {
    return LabelKind::number;
  } else if constexpr (HasLabelMember<U>) {
    return LabelKind::member;
  } else if constexpr (PointerLike<U>) {
    if constexpr (label_kind<pointee_t<U>>() != LabelKind::none) {
      return LabelKind::pointer;
    } else if constexpr (HasAdlGraphLabel<U>) {
      return LabelKind::adl;
    } else {
      return LabelKind::none;
    }
  } else if constexpr (HasAdlGraphLabel<U>) {
    return LabelKind::adl;
  } else {
    return LabelKind::none;
  }
}

}  // namespace detail

/// Types graph_label() can name: strings, numbers, objects with `label()`, pointers (raw or
/// smart) to any of these, and types with a `mode_graph_label(const T&)` found by ADL.
template <class T>
concept GraphLabelable = (detail::label_kind<T>() != detail::LabelKind::none);

/// The label of an object in graphs (Mode's `label()`), in this order: strings as they are,
/// numbers as text, `obj.label()`, `obj->label()` (a null pointer is "NoneType", like Python's
/// None), else the user's `mode_graph_label(obj)` found by argument-dependent lookup.
template <GraphLabelable T>
std::string graph_label(const T& obj) {
  constexpr auto kind = detail::label_kind<T>();
  if constexpr (kind == detail::LabelKind::string) {
    return std::string(std::string_view(obj));
  } else if constexpr (kind == detail::LabelKind::number) {
    return fmt::to_string(obj);
  } else if constexpr (kind == detail::LabelKind::member) {
    return std::string(obj.label());
  } else if constexpr (kind == detail::LabelKind::pointer) {
    const auto* target = detail::pointee(obj);
    return target == nullptr ? std::string("NoneType") : graph_label(*target);
  } else {
    return std::string(mode_graph_label(obj));
  }
}

/// The short label of an object (Mode's `shortlabel()`): `obj.shortlabel()` or
/// `obj->shortlabel()` when the object has one, else graph_label(obj). Used by Node::path().
template <GraphLabelable T>
std::string graph_shortlabel(const T& obj) {
  if constexpr (detail::HasShortlabelMember<T>) {
    return std::string(obj.shortlabel());
  } else if constexpr (detail::PointerLike<T>) {
    if constexpr (detail::HasShortlabelMember<detail::pointee_t<T>>) {
      const auto* target = detail::pointee(obj);
      return target == nullptr ? std::string("NoneType") : std::string(target->shortlabel());
    } else {
      return graph_label(obj);
    }
  } else {
    return graph_label(obj);
  }
}

/// Ordered DOT attributes (name, value); a later entry with the same name overrides in place.
using GraphAttrs = std::vector<std::pair<std::string, std::string>>;

/// Options of a GraphFormatter, Mode's constructor arguments
/// `GraphFormatter(root=None, type=None, id=None, indent=0, inw='    ', **scheme)`.
struct GraphFormatterOptions {
  /// Label of the graph's root (the `root` graph attribute); unset is "NoneType", as in Mode.
  /// For an object use `mode::graph_label(obj)`.
  std::optional<std::string> root = std::nullopt;
  /// "digraph" (edges `->`) or "graph" (edges `--`); empty means "digraph".
  std::string type = "digraph";
  /// Graph id; empty means "dependencies".
  std::string id = "dependencies";
  /// Indentation level of the whole graph, in units of `inw`.
  std::size_t indent = 0;
  /// One indentation unit.
  std::string inw = "    ";
  /// Extra attributes for every element: they override the base scheme (shape, arrowhead,
  /// style, fontname) in place, new names are appended.
  GraphAttrs scheme = {};
};

/// The part of GraphFormatter that does not depend on the vertex type: schemes, head, tail and
/// the DOT text of nodes and edges given their labels (Mode's GraphFormatter).
///
/// Labels and values are written between double quotes as they are, except that a `"` inside
/// is escaped as `\"` (Mode writes it raw, producing invalid DOT).
class GraphFormatterBase {
 public:
  /// Throws std::invalid_argument when `type` is neither "graph" nor "digraph".
  explicit GraphFormatterBase(GraphFormatterOptions options = {});
  virtual ~GraphFormatterBase();
  GraphFormatterBase(const GraphFormatterBase&) = default;
  GraphFormatterBase& operator=(const GraphFormatterBase&) = default;
  GraphFormatterBase(GraphFormatterBase&&) noexcept = default;
  GraphFormatterBase& operator=(GraphFormatterBase&&) noexcept = default;

  /// The two head lines: `IN type id {` and `INp graph [attrs]` (graph scheme + `attrs`).
  virtual std::string head(const GraphAttrs& attrs = {}) const;
  /// The closing line `IN}`.
  virtual std::string tail() const;

  /// `name="value"`.
  std::string attr(std::string_view name, std::string_view value) const;
  /// Base scheme overlaid by `scheme`, then by `d`, as `name="value"` joined by ", ".
  std::string attrs(const GraphAttrs& d, const GraphAttrs& scheme = {}) const;
  /// `INp"label" [attrs]` with the base scheme overlaid by `scheme`, then `attrs`.
  std::string draw_node(std::string_view label, const GraphAttrs& scheme,
                        const GraphAttrs& attrs = {}) const;
  /// `INp"a" -> "b" [attrs]` (`--` for undirected graphs) with the edge scheme, then `attrs`.
  std::string draw_edge(std::string_view a, std::string_view b, const GraphAttrs& attrs = {}) const;

  const std::string& type() const noexcept { return type_; }
  const std::string& id() const noexcept { return id_; }
  /// Base scheme, including the options' extra attributes.
  const GraphAttrs& scheme() const noexcept { return scheme_; }
  const GraphAttrs& node_scheme() const noexcept { return node_scheme_; }
  const GraphAttrs& term_scheme() const noexcept { return term_scheme_; }
  const GraphAttrs& edge_scheme() const noexcept { return edge_scheme_; }
  /// Graph scheme: bgcolor and root.
  const GraphAttrs& graph_scheme() const noexcept { return graph_scheme_; }

 protected:
  std::string type_;
  std::string id_;
  std::string direction_;
  std::string in_;
  std::string in_plus_;
  GraphAttrs scheme_;
  GraphAttrs node_scheme_;
  GraphAttrs term_scheme_;
  GraphAttrs edge_scheme_;
  GraphAttrs graph_scheme_;
};

/// Formats the DOT text of a DependencyGraph<T>; Mode's GraphFormatter.
///
/// Subclass it and override label() (or the element functions) to change how vertices are
/// drawn; DependencyGraph::to_dot calls them through the vtable. T must be GraphLabelable.
template <class T>
class GraphFormatter : public GraphFormatterBase {
 public:
  using GraphFormatterBase::GraphFormatterBase;

  /// graph_label(obj).
  virtual std::string label(const T& obj) const { return graph_label(obj); }
  /// Line of a vertex that has successors (node scheme).
  virtual std::string node(const T& obj, const GraphAttrs& attrs = {}) const {
    return draw_node(label(obj), node_scheme_, attrs);
  }
  /// Line of a vertex without successors (terminal scheme).
  virtual std::string terminal_node(const T& obj, const GraphAttrs& attrs = {}) const {
    return draw_node(label(obj), term_scheme_, attrs);
  }
  /// Line of the edge a → b (edge scheme).
  virtual std::string edge(const T& a, const T& b, const GraphAttrs& attrs = {}) const {
    return draw_edge(label(a), label(b), attrs);
  }
};

/// A directed graph of objects and their dependencies (edge A → B: "A depends on B"): an
/// insertion-ordered mapping of vertex → ordered list of successors. Mode's DependencyGraph.
///
/// T must be copyable, hashable with std::hash and equality comparable; the text form and
/// to_dot() also need it GraphLabelable. Successors need not be vertices themselves.
/// Differences from Mode: topsort() works (Mode's always fails) and also
/// accepts successors that are not vertices; valency_of() throws CycleError instead of
/// recursing forever and counts in linear time; connect() copies the lists (Mode shares them).
/// Not thread-safe.
template <class T>
class DependencyGraph {
 public:
  using value_type = T;
  using Successors = std::vector<T>;
  using Items = std::vector<std::pair<T, Successors>>;

  DependencyGraph() = default;
  /// A graph drawn by `formatter` when to_dot() is given none.
  explicit DependencyGraph(std::shared_ptr<const GraphFormatter<T>> formatter)
      : formatter_(std::move(formatter)) {}
  /// A graph built from (obj, dependencies) pairs, as by update().
  DependencyGraph(std::initializer_list<std::pair<T, Successors>> pairs,
                  std::shared_ptr<const GraphFormatter<T>> formatter = nullptr)
      : formatter_(std::move(formatter)) {
    update(pairs);
  }

  /// Adds `obj` as a vertex without successors; nothing happens if it is one already.
  void add_arc(const T& obj) {
    if (!index_.contains(obj)) {
      index_.emplace(obj, items_.size());
      items_.emplace_back(obj, Successors{});
    }
  }

  /// Appends the edge a → b. `a` must be a vertex (else std::out_of_range); `b` need not be.
  void add_edge(const T& a, const T& b) { successors_of(a).push_back(b); }

  /// Copies every vertex and successor list of `other` in: an existing vertex keeps its place
  /// and gets `other`'s list.
  void connect(const DependencyGraph& other) {
    for (const auto& [obj, successors] : other.items_) {
      add_arc(obj);
      successors_of(obj) = successors;
    }
  }

  /// Adds (obj, dependencies) pairs: first every obj as a vertex, then each edge in order.
  template <class R>
  void update(const R& pairs) {
    for (const auto& [obj, deps] : pairs) {
      add_arc(obj);
    }
    for (const auto& [obj, deps] : pairs) {
      for (const auto& dep : deps) {
        add_edge(obj, dep);
      }
    }
  }
  void update(std::initializer_list<std::pair<T, Successors>> pairs) {
    update<std::initializer_list<std::pair<T, Successors>>>(pairs);
  }

  /// Vertices with at least one successor, in order.
  std::vector<T> edges() const {
    std::vector<T> result;
    for (const auto& [obj, successors] : items_) {
      if (!successors.empty()) {
        result.push_back(obj);
      }
    }
    return result;
  }

  /// Number of paths of length ≥ 1 starting at `obj` (its successors, plus theirs, and so on):
  /// 0 when `obj` is not a vertex. Throws CycleError if a cycle is reachable from `obj`.
  std::size_t valency_of(const T& obj) const {
    const auto found = index_.find(obj);
    if (found == index_.end()) {
      return 0;
    }
    std::vector<std::size_t> memo(items_.size(), kUnknown);
    return valency_at(found->second, memo);
  }

  /// Vertices in an order where each comes after its successors (dependencies first).
  ///
  /// Mode's intended algorithm: Tarjan's strongly connected components,
  /// then Kahn's sort of the components; each component (cycle) is represented by its first
  /// member. Successors that are not vertices are sorted as vertices without successors,
  /// added after the real ones in the order they are first met. Never throws on cycles.
  std::vector<T> topsort() const;

  /// The successors of `obj` (Python's `graph[obj]`); std::out_of_range if not a vertex.
  const Successors& at(const T& obj) const { return items_.at(index_at(obj)).second; }
  bool contains(const T& obj) const { return index_.contains(obj); }
  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }
  /// (vertex, successors) pairs in insertion order.
  const Items& items() const noexcept { return items_; }

  /// Forward iterator over the vertices, in insertion order.
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;

    const_iterator() = default;
    reference operator*() const { return it_->first; }
    pointer operator->() const { return &it_->first; }
    const_iterator& operator++() {
      ++it_;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator before = *this;
      ++it_;
      return before;
    }
    bool operator==(const const_iterator&) const = default;

   private:
    friend class DependencyGraph;
    explicit const_iterator(typename Items::const_iterator it) : it_(it) {}
    typename Items::const_iterator it_;
  };

  /// Iteration yields the vertices in insertion order.
  const_iterator begin() const { return const_iterator(items_.begin()); }
  const_iterator end() const { return const_iterator(items_.end()); }

  /// The formatter to_dot() uses when given none (null: a default GraphFormatter<T>).
  const std::shared_ptr<const GraphFormatter<T>>& formatter() const noexcept { return formatter_; }
  void set_formatter(std::shared_ptr<const GraphFormatter<T>> formatter) noexcept {
    formatter_ = std::move(formatter);
  }

  /// Mode's text form: for each vertex `label(valency)`, then each successor on its own line,
  /// indented 5 spaces per level, followed by its own successors one level deeper. Throws
  /// CycleError on a cycle.
  std::string to_string() const;

  /// Writes the graph in DOT, as Mode does: head; per vertex, its terminal-node line
  /// if it has no successors, else its node line and one edge line per successor (node lines
  /// once per label); tail. Each line ends with '\n'.
  void to_dot(std::ostream& out, const GraphFormatter<T>* formatter = nullptr) const;

 private:
  static constexpr std::size_t kUnknown = static_cast<std::size_t>(-1);
  static constexpr std::size_t kVisiting = static_cast<std::size_t>(-2);

  std::size_t index_at(const T& obj) const {
    const auto found = index_.find(obj);
    if (found == index_.end()) {
      throw std::out_of_range("DependencyGraph: not a vertex: " + describe(obj));
    }
    return found->second;
  }

  Successors& successors_of(const T& obj) { return items_[index_at(obj)].second; }

  static std::string describe(const T& obj) {
    if constexpr (GraphLabelable<T>) {
      return graph_label(obj);
    } else {
      return "(unlabelled vertex)";
    }
  }

  // Iterative depth-first count with memoisation: linear in the reachable part of the graph,
  // and a deep chain cannot overflow the stack.
  std::size_t valency_at(std::size_t start, std::vector<std::size_t>& memo) const;

  Items items_;
  std::unordered_map<T, std::size_t> index_;
  std::shared_ptr<const GraphFormatter<T>> formatter_;
};

/// Writes DependencyGraph::to_string().
template <class T>
std::ostream& operator<<(std::ostream& out, const DependencyGraph<T>& graph) {
  return out << graph.to_string();
}

/// Renders DOT text with graphviz (`<program> -T<format>`, e.g. format "svg" or "png") and
/// returns the output bytes.
///
/// Runs the program as a child process (no shell) found on PATH and waits for it. Throws
/// std::runtime_error "graphviz 'dot' not found: install the graphviz package" when the
/// program is not installed, std::runtime_error with graphviz's message when it fails (e.g.
/// unknown format), std::system_error on other OS errors.
std::string render_graph(std::string_view dot, std::string_view format = "svg",
                         std::string_view program = "dot");

/// render_graph(), written to the file `path`; throws std::runtime_error if it cannot write.
void render_graph_file(const std::filesystem::path& path, std::string_view dot,
                       std::string_view format = "svg", std::string_view program = "dot");

}  // namespace mode

#include <mode/impl/graphs.hpp>
