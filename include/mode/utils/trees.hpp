// mode/utils/trees.hpp: Node, the tree that links each service to its parent (its "beacon").
// Port of mode.utils.trees, with the same walks and orders.
#pragma once

#include <mode/utils/graphs.hpp>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace mode {

/// A tree node: some data, ordered children that are either nodes or raw values of T, and
/// links to its parent and to the top of its tree (`root`, none for a top-level node).
///
/// Ownership: nodes live in std::shared_ptr (create them with make() or new_child()); a node
/// owns its node children, while parent and root are weak links. A node whose parent died sees
/// no parent (depth 1) and can still be detached. A node is one allocation (node and control
/// block) plus its children vector; `Node<Service*>` is 80 bytes on 64-bit targets, a child
/// entry 24.
///
/// Differences from Mode, so that a tree stays a tree:
/// - reattach() moves the node: it is removed from its previous parent's children, and it
///   refuses a parent below the node itself (std::invalid_argument);
/// - reattach() and detach() update the root link of every node below, so root() is always
///   the top of the tree as built by new_child/reattach/detach;
/// - detach() takes no argument (Mode ignores it);
/// - set_parent() and add() refuse a link that would close a cycle (std::invalid_argument), so
///   that every walk of the tree (depth, path, walk, traverse) ends. Mode allows the cycle and
///   then loops, or warns `Recursive loop in beacon` when a crash walks it.
/// add(), set_parent() and set_root() are otherwise raw operations, as in Mode: they link
/// nothing else.
///
/// Not thread-safe: a tree is read and changed from one thread (a service tree's executor).
template <class T>
class Node : public std::enable_shared_from_this<Node<T>> {
  struct Private {
    explicit Private() = default;
  };

 public:
  using Ptr = std::shared_ptr<Node>;
  /// A child: a node, or a raw value.
  using Entry = std::variant<Ptr, T>;

  /// A top-level node: no parent, no root, no children (Mode's `Node(data)`).
  static Ptr make(T data) { return std::make_shared<Node>(Private{}, std::move(data)); }

  /// Use make().
  Node(Private, T data) : data_(std::move(data)) {}
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();

  const T& data() const noexcept { return data_; }
  void set_data(T data) { data_ = std::move(data); }
  const std::vector<Entry>& children() const noexcept { return children_; }

  /// The parent, or null for a top-level node (or when the parent no longer exists).
  Ptr parent() const noexcept { return parent_.lock(); }
  /// The top of the tree, or null for a top-level node.
  Ptr root() const noexcept { return root_.lock(); }
  /// Sets the parent link only; std::invalid_argument "Parent node cannot be itself." or
  /// "Cannot attach a node below itself." if `parent` is below this node (a cycle).
  void set_parent(const Ptr& parent) {
    if (parent.get() == this) {
      throw std::invalid_argument("Parent node cannot be itself.");
    }
    check_not_above(parent);
    parent_ = parent;
  }
  /// Sets the root link only; std::invalid_argument "Root node cannot be itself.".
  void set_root(const Ptr& root) {
    if (root.get() == this) {
      throw std::invalid_argument("Root node cannot be itself.");
    }
    root_ = root;
  }

  /// Appends a new child node with `data` (Mode's `new`); its root is this node's root, or
  /// this node if it is top-level.
  Ptr new_child(T data) {
    Ptr child = make(std::move(data));
    child->parent_ = this->weak_from_this();
    child->root_ = root_.expired() ? this->weak_from_this() : root_;
    children_.push_back(child);
    return child;
  }

  /// Moves this node under `parent` (appended to its children unless already there) and
  /// returns it. std::invalid_argument if `parent` is null, this node, or below this node.
  Ptr reattach(const Ptr& parent);

  /// Removes this node from its parent's children (if it has a live parent), clears its
  /// parent and root links, makes it the root of the nodes below, and returns it. Costs a
  /// search of the siblings (from the last) plus a walk of the nodes below; throws nothing
  /// but std::bad_alloc.
  Ptr detach();

  /// Appends a child (duplicates allowed); links nothing. std::invalid_argument if the child
  /// is a node that has this node below it (a cycle).
  void add(Entry child) {
    check_child(child);
    children_.push_back(std::move(child));
  }
  /// Appends a child unless an equal one is already there.
  void add_deduplicate(Entry child) {
    if (std::find(children_.begin(), children_.end(), child) == children_.end()) {
      check_child(child);
      children_.push_back(std::move(child));
    }
  }
  /// Removes the first child equal to `child`, if any.
  void discard(const Entry& child) {
    const auto found = std::find(children_.begin(), children_.end(), child);
    if (found != children_.end()) {
      children_.erase(found);
    }
  }

  /// Breadth-first from this node: each node when dequeued, and the raw children of a node
  /// right when that node is processed (Mode's order).
  std::vector<Entry> traverse() const;

  /// This node, its parent, grandparent, ... up to the top.
  std::vector<Ptr> walk() const;

  /// Number of nodes walk() yields (1 for a top-level node).
  std::size_t depth() const noexcept {
    std::size_t depth = 1;
    for (Ptr node = parent_.lock(); node; node = node->parent_.lock()) {
      ++depth;
    }
    return depth;
  }

  /// The short labels (graph_shortlabel) of walk()'s nodes' data, top first, joined by "/":
  /// e.g. "303/808/909", "Root/B/C".
  std::string path() const;

  /// The tree as a graph, breadth-first: an edge from each node's data to each child's data
  /// (or raw value). Leaves only appear as edge targets, not as vertices.
  DependencyGraph<T> as_graph() const;

 private:
  Ptr shared_self() const { return std::const_pointer_cast<Node>(this->shared_from_this()); }

  // Matches the child entry holding `node` (T needs no operator== for this).
  static auto is_node(const Node* node) {
    return [node](const Entry& entry) {
      const Ptr* held = std::get_if<Ptr>(&entry);
      return held != nullptr && held->get() == node;
    };
  }

  // Refuses `above` as a parent if this node is on its parent chain: that would close a
  // cycle. The chain has none (every link that makes one is refused), so the search ends.
  void check_not_above(const Ptr& above) const {
    for (Ptr n = above; n; n = n->parent_.lock()) {
      if (n.get() == this) {
        throw std::invalid_argument("Cannot attach a node below itself.");
      }
    }
  }

  // A node child must not have this node below it, nor be this node or above it.
  void check_child(const Entry& child) const {
    const Ptr* node = std::get_if<Ptr>(&child);
    if (node == nullptr || !*node) {
      return;
    }
    if (node->get() == this || reaches(**node, this)) {
      throw std::invalid_argument("Cannot add a node above itself as its child.");
    }
    for (Ptr n = parent_.lock(); n; n = n->parent_.lock()) {
      if (n == *node) {
        throw std::invalid_argument("Cannot add a node above itself as its child.");
      }
    }
  }

  // Whether `target` is among the node children below `from` (breadth-first).
  static bool reaches(const Node& from, const Node* target) {
    if (target == nullptr || from.children_.empty()) {
      return false;
    }
    std::vector<const Node*> queue{&from};
    for (std::size_t i = 0; i < queue.size(); ++i) {
      for (const Entry& child : queue[i]->children_) {
        if (const Ptr* node = std::get_if<Ptr>(&child); node != nullptr && *node) {
          if (node->get() == target) {
            return true;
          }
          queue.push_back(node->get());
        }
      }
    }
    return false;
  }

  // Searches from the back, so that detaching the children of a wide node last-first (the
  // stop order) costs O(1) each; a node is a child of its parent once.
  void remove_child_node(const Node* node) {
    const auto found = std::find_if(children_.rbegin(), children_.rend(), is_node(node));
    if (found != children_.rend()) {
      children_.erase(std::next(found).base());
    }
  }

  // Points the root link of every node below this one at `root`.
  void set_descendant_roots(const std::weak_ptr<Node>& root) {
    if (children_.empty()) {
      return;
    }
    std::vector<Node*> queue{this};
    for (std::size_t i = 0; i < queue.size(); ++i) {
      for (const Entry& child : queue[i]->children_) {
        if (const Ptr* node = std::get_if<Ptr>(&child); node != nullptr && *node) {
          (*node)->root_ = root;
          queue.push_back(node->get());
        }
      }
    }
  }

  T data_;
  std::weak_ptr<Node> parent_;
  std::weak_ptr<Node> root_;
  std::vector<Entry> children_;
};

/// Writes `Node: <path>` (Mode's repr).
template <class T>
std::ostream& operator<<(std::ostream& out, const Node<T>& node) {
  return out << "Node: " << node.path();
}

}  // namespace mode

#include <mode/impl/trees.hpp>
