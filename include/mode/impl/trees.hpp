// The bodies of utils/trees.hpp's templates.
#pragma once

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

template <class T>
Node<T>::~Node() {
  // Tear down sole-owned descendants iteratively: a deep chain would otherwise recurse once
  // per level and could overflow the stack. Other owners' nodes are left alone.
  try {
    std::vector<Entry> pending = std::move(children_);
    while (!pending.empty()) {
      Entry entry = std::move(pending.back());
      pending.pop_back();
      if (Ptr* node = std::get_if<Ptr>(&entry); node != nullptr && node->use_count() == 1) {
        auto& grandchildren = (*node)->children_;
        pending.insert(pending.end(), std::make_move_iterator(grandchildren.begin()),
                       std::make_move_iterator(grandchildren.end()));
        grandchildren.clear();
      }
    }
  } catch (...) {
    // Out of memory for the work list: what is left is destroyed recursively instead.
  }
}

template <class T>
typename Node<T>::Ptr Node<T>::reattach(const Ptr& parent) {
  if (!parent) {
    throw std::invalid_argument("Parent node cannot be null.");
  }
  Ptr new_root = parent->root();
  if (!new_root) {
    new_root = parent;
  }
  if (new_root.get() == this) {
    throw std::invalid_argument("Root node cannot be itself.");
  }
  if (parent.get() == this) {
    throw std::invalid_argument("Parent node cannot be itself.");
  }
  check_not_above(parent);
  Ptr self = shared_self();
  const Ptr old_parent = parent_.lock();
  if (old_parent && old_parent != parent) {
    old_parent->remove_child_node(this);
  }
  const bool root_changed = root_.lock() != new_root;
  parent_ = parent;
  root_ = new_root;
  // Only a node that already had this parent can be among its children: new ones are appended
  // without a search, so that attaching N children stays linear.
  auto& siblings = parent->children_;
  if (old_parent != parent ||
      std::find_if(siblings.rbegin(), siblings.rend(), is_node(this)) == siblings.rend()) {
    siblings.emplace_back(self);
  }
  if (root_changed) {
    set_descendant_roots(root_);
  }
  return self;
}

template <class T>
typename Node<T>::Ptr Node<T>::detach() {
  Ptr self = shared_self();
  if (const Ptr parent = parent_.lock()) {
    parent->remove_child_node(this);
  }
  // A root link that expired still means the nodes below point at a dead root.
  const bool had_root =
      root_.owner_before(std::weak_ptr<Node>{}) || std::weak_ptr<Node>{}.owner_before(root_);
  parent_.reset();
  root_.reset();
  if (had_root) {
    set_descendant_roots(self);
  }
  return self;
}

template <class T>
std::vector<typename Node<T>::Entry> Node<T>::traverse() const {
  std::vector<Entry> result;
  std::vector<Ptr> queue{shared_self()};
  for (std::size_t i = 0; i < queue.size(); ++i) {
    const Ptr node = queue[i];
    result.emplace_back(node);
    for (const Entry& child : node->children_) {
      if (const Ptr* child_node = std::get_if<Ptr>(&child)) {
        if (*child_node) {
          queue.push_back(*child_node);
        }
      } else {
        result.push_back(child);
      }
    }
  }
  return result;
}

template <class T>
std::vector<typename Node<T>::Ptr> Node<T>::walk() const {
  std::vector<Ptr> result{shared_self()};
  for (Ptr node = parent_.lock(); node; node = node->parent_.lock()) {
    result.push_back(node);
  }
  return result;
}

template <class T>
std::string Node<T>::path() const {
  const std::vector<Ptr> nodes = walk();
  std::string result;
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) {
    if (it != nodes.rbegin()) {
      result += '/';
    }
    result += graph_shortlabel((*it)->data_);
  }
  return result;
}

template <class T>
DependencyGraph<T> Node<T>::as_graph() const {
  DependencyGraph<T> graph;
  std::vector<const Node*> queue{this};
  for (std::size_t i = 0; i < queue.size(); ++i) {
    const Node& node = *queue[i];
    for (const Entry& child : node.children_) {
      graph.add_arc(node.data_);
      if (const Ptr* child_node = std::get_if<Ptr>(&child)) {
        if (*child_node) {
          queue.push_back(child_node->get());
          graph.add_edge(node.data_, (*child_node)->data_);
        }
      } else {
        graph.add_edge(node.data_, std::get<T>(child));
      }
    }
  }
  return graph;
}

}  // namespace mode
