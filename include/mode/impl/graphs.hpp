// The bodies of utils/graphs.hpp's templates.
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

template <class T>
std::size_t DependencyGraph<T>::valency_at(std::size_t start,
                                           std::vector<std::size_t>& memo) const {
  if (memo[start] != kUnknown && memo[start] != kVisiting) {
    return memo[start];
  }
  struct Frame {
    std::size_t vertex;
    std::size_t next = 0;
  };
  std::vector<Frame> stack{{start}};
  memo[start] = kVisiting;
  while (!stack.empty()) {
    Frame& frame = stack.back();
    const Successors& successors = items_[frame.vertex].second;
    if (frame.next < successors.size()) {
      const auto found = index_.find(successors[frame.next++]);
      if (found == index_.end()) {
        continue;
      }
      const std::size_t next = found->second;
      if (memo[next] == kVisiting) {
        throw CycleError("DependencyGraph: cycle through " + describe(items_[next].first));
      }
      if (memo[next] == kUnknown) {
        memo[next] = kVisiting;
        stack.push_back({next});
      }
      continue;
    }
    std::size_t total = successors.size();
    for (const T& successor : successors) {
      const auto found = index_.find(successor);
      if (found != index_.end()) {
        total += memo[found->second];
      }
    }
    memo[frame.vertex] = total;
    stack.pop_back();
  }
  return memo[start];
}

template <class T>
std::vector<T> DependencyGraph<T>::topsort() const {
  // Number every vertex, then the successors that are not vertices, in first-seen order.
  std::vector<const T*> objects;
  objects.reserve(items_.size());
  std::unordered_map<T, std::size_t> extra;
  for (const auto& item : items_) {
    objects.push_back(&item.first);
  }
  std::vector<std::vector<std::size_t>> adjacent(items_.size());
  for (std::size_t v = 0; v < items_.size(); ++v) {
    for (const T& successor : items_[v].second) {
      std::size_t s = 0;
      if (const auto found = index_.find(successor); found != index_.end()) {
        s = found->second;
      } else if (const auto seen = extra.find(successor); seen != extra.end()) {
        s = seen->second;
      } else {
        s = objects.size();
        extra.emplace(successor, s);
        objects.push_back(&successor);
        adjacent.emplace_back();
      }
      adjacent[v].push_back(s);
    }
  }
  const std::size_t n = objects.size();

  // Tarjan (1972): components in completion order, members in stack order.
  constexpr std::size_t unvisited = kUnknown;
  std::vector<std::size_t> low(n, unvisited);
  std::vector<std::size_t> component_of(n, unvisited);
  std::vector<std::vector<std::size_t>> components;
  std::vector<std::size_t> stack;
  struct Frame {
    std::size_t vertex;
    std::size_t num;
    std::size_t stack_pos;
    std::size_t next = 0;
  };
  std::vector<Frame> frames;
  std::size_t visited = 0;
  const auto enter = [&](std::size_t v) {
    low[v] = visited;
    frames.push_back({v, visited, stack.size()});
    ++visited;
    stack.push_back(v);
  };
  for (std::size_t root = 0; root < n; ++root) {
    if (low[root] != unvisited) {
      continue;
    }
    enter(root);
    while (!frames.empty()) {
      Frame& frame = frames.back();
      const std::size_t v = frame.vertex;
      if (frame.next < adjacent[v].size()) {
        const std::size_t s = adjacent[v][frame.next++];
        if (low[s] == unvisited) {
          enter(s);
        } else {
          low[v] = std::min(low[v], low[s]);
        }
        continue;
      }
      if (frame.num == low[v]) {
        std::vector<std::size_t> component(
            stack.begin() + static_cast<std::ptrdiff_t>(frame.stack_pos), stack.end());
        stack.resize(frame.stack_pos);
        for (const std::size_t member : component) {
          low[member] = n;  // finished: never lowers another vertex's link again
          component_of[member] = components.size();
        }
        components.push_back(std::move(component));
      }
      frames.pop_back();
      if (!frames.empty()) {
        const std::size_t parent = frames.back().vertex;
        low[parent] = std::min(low[parent], low[v]);
      }
    }
  }

  // Kahn (1962) over the graph of components; duplicate edges count once per occurrence.
  const std::size_t c = components.size();
  std::vector<std::vector<std::size_t>> component_edges(c);
  std::vector<std::size_t> incoming(c, 0);
  for (std::size_t v = 0; v < n; ++v) {
    for (const std::size_t s : adjacent[v]) {
      if (component_of[v] != component_of[s]) {
        component_edges[component_of[v]].push_back(component_of[s]);
        ++incoming[component_of[s]];
      }
    }
  }
  std::vector<std::size_t> ready;
  for (std::size_t k = 0; k < c; ++k) {
    if (incoming[k] == 0) {
      ready.push_back(k);
    }
  }
  std::vector<T> result;
  result.reserve(c);
  while (!ready.empty()) {
    const std::size_t k = ready.back();
    ready.pop_back();
    result.push_back(*objects[components[k].front()]);
    for (const std::size_t successor : component_edges[k]) {
      if (--incoming[successor] == 0) {
        ready.push_back(successor);
      }
    }
  }
  return {result.rbegin(), result.rend()};
}

template <class T>
std::string DependencyGraph<T>::to_string() const {
  std::vector<std::size_t> memo(items_.size(), kUnknown);
  const auto valency = [&](const T& obj) -> std::size_t {
    const auto found = index_.find(obj);
    return found == index_.end() ? 0 : valency_at(found->second, memo);
  };
  std::string out;
  struct Pending {
    const T* obj;
    std::size_t level;
  };
  std::vector<Pending> stack;
  const auto push_successors = [&](const T& obj, std::size_t level) {
    const auto found = index_.find(obj);
    if (found == index_.end()) {
      return;
    }
    const Successors& successors = items_[found->second].second;
    for (auto it = successors.rbegin(); it != successors.rend(); ++it) {
      stack.push_back({&*it, level});
    }
  };
  for (const auto& [obj, successors] : items_) {
    if (&obj != &items_.front().first) {
      out += '\n';
    }
    out += fmt::format("{}({})", graph_label(obj), valency(obj));
    push_successors(obj, 1);
    while (!stack.empty()) {
      const Pending pending = stack.back();
      stack.pop_back();
      out += '\n';
      out.append(5 * pending.level, ' ');
      out += fmt::format("{}({})", graph_label(*pending.obj), valency(*pending.obj));
      push_successors(*pending.obj, pending.level + 1);
    }
  }
  return out;
}

template <class T>
void DependencyGraph<T>::to_dot(std::ostream& out, const GraphFormatter<T>* formatter) const {
  const GraphFormatter<T> fallback;
  const GraphFormatter<T>& draw = formatter != nullptr ? *formatter
                                  : formatter_         ? *formatter_
                                                       : fallback;
  std::unordered_set<std::string> seen;
  const auto once = [&](const T& obj, bool terminal) {
    if (seen.insert(draw.label(obj)).second) {
      out << (terminal ? draw.terminal_node(obj) : draw.node(obj)) << '\n';
    }
  };
  out << draw.head() << '\n';
  for (const auto& [obj, successors] : items_) {
    if (successors.empty()) {
      once(obj, true);
    }
    for (const T& successor : successors) {
      once(obj, false);
      out << draw.edge(obj, successor) << '\n';
    }
  }
  out << draw.tail() << '\n';
}

}  // namespace mode
