// Tests of mode/utils/trees.hpp: the beacon tree Node.
#include <mode/utils/trees.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

namespace {

using IntNode = mode::Node<int>;

// Stands in for a service: graphs show its label, paths its short label.
struct FakeService {
  std::string label_;
  std::string shortlabel_;
  std::string label() const { return label_; }
  std::string shortlabel() const { return shortlabel_; }
};

using ServiceNode = mode::Node<FakeService*>;

int value_of(const IntNode::Entry& entry) {
  if (const auto* node = std::get_if<IntNode::Ptr>(&entry)) {
    return (*node)->data();
  }
  return std::get<int>(entry);
}

std::vector<int> values_of(const std::vector<IntNode::Entry>& entries) {
  std::vector<int> values;
  for (const auto& entry : entries) {
    values.push_back(value_of(entry));
  }
  return values;
}

bool is_node(const IntNode::Entry& entry) { return std::holds_alternative<IntNode::Ptr>(entry); }

template <class F>
std::string invalid_argument_of(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "(no exception)";
}

TEST(Node, MakeIsTopLevel) {
  const auto node = IntNode::make(303);
  EXPECT_EQ(node->data(), 303);
  EXPECT_EQ(node->parent(), nullptr);
  EXPECT_EQ(node->root(), nullptr);
  EXPECT_TRUE(node->children().empty());
  EXPECT_EQ(node->depth(), 1U);
  node->set_data(304);
  EXPECT_EQ(node->data(), 304);
}

TEST(Node, NewChildLinksParentAndRoot) {
  const auto root = IntNode::make(303);
  const auto child = root->new_child(808);
  const auto grandchild = child->new_child(909);
  EXPECT_EQ(child->parent(), root);
  EXPECT_EQ(child->root(), root);
  EXPECT_EQ(grandchild->parent(), child);
  EXPECT_EQ(grandchild->root(), root);
  ASSERT_EQ(root->children().size(), 1U);
  EXPECT_EQ(std::get<IntNode::Ptr>(root->children()[0]), child);
}

TEST(Node, PathDepthWalkAndRepr) {
  const auto root = IntNode::make(303);
  const auto child = root->new_child(808);
  const auto grandchild = child->new_child(909);
  EXPECT_EQ(grandchild->path(), "303/808/909");
  EXPECT_EQ(child->path(), "303/808");
  EXPECT_EQ(root->path(), "303");
  EXPECT_EQ(grandchild->depth(), 3U);
  EXPECT_EQ(child->depth(), 2U);
  EXPECT_EQ(grandchild->walk(), (std::vector<IntNode::Ptr>{grandchild, child, root}));
  std::ostringstream out;
  out << *grandchild;
  EXPECT_EQ(out.str(), "Node: 303/808/909");
}

TEST(Node, PathUsesShortlabelOfServices) {
  FakeService root_service{"RootService", "Root"};
  FakeService b{"BService", "B"};
  FakeService c{"CService", "C"};
  const auto root = ServiceNode::make(&root_service);
  const auto node_c = root->new_child(&b)->new_child(&c);
  EXPECT_EQ(node_c->path(), "Root/B/C");
}

TEST(Node, TraverseIsBreadthFirstWithRawChildrenImmediately) {
  // BEHAVIOUR.md §2.17: 303 -> 808 -> 909, 909 has the raw child 10.
  const auto root = IntNode::make(303);
  const auto grandchild = root->new_child(808)->new_child(909);
  grandchild->add(10);
  const auto entries = root->traverse();
  EXPECT_EQ(values_of(entries), (std::vector<int>{303, 808, 909, 10}));
  ASSERT_EQ(entries.size(), 4U);
  EXPECT_EQ(std::get<IntNode::Ptr>(entries[0]), root);
  EXPECT_TRUE(is_node(entries[2]));
  EXPECT_FALSE(is_node(entries[3]));
}

TEST(Node, TraverseYieldsRawChildrenBeforeQueuedNodes) {
  const auto root = IntNode::make(1);
  const auto a = root->new_child(2);
  root->add(3);
  const auto b = root->new_child(4);
  a->add(5);
  a->new_child(6);
  b->add(7);
  EXPECT_EQ(values_of(root->traverse()), (std::vector<int>{1, 3, 2, 5, 4, 7, 6}));
}

TEST(Node, AsGraphTextForm) {
  // BEHAVIOUR.md §2.17: 303 -> {808 -> {909}, raw 11}.
  const auto root = IntNode::make(303);
  root->new_child(808)->new_child(909);
  root->add(11);
  const auto graph = root->as_graph();
  EXPECT_EQ((std::vector<int>{graph.begin(), graph.end()}), (std::vector<int>{303, 808}));
  EXPECT_EQ(graph.at(303), (std::vector<int>{808, 11}));
  EXPECT_EQ(graph.at(808), (std::vector<int>{909}));
  EXPECT_EQ(graph.to_string(),
            "303(3)\n"
            "     808(1)\n"
            "          909(0)\n"
            "     11(0)\n"
            "808(1)\n"
            "     909(0)");
  EXPECT_EQ(graph.topsort(), (std::vector<int>{909, 808, 11, 303}));
}

TEST(Node, ServiceTreeDot) {
  // BEHAVIOUR.md §15.3: Root -> {A, B -> {C}}; only Root and B are vertices.
  FakeService root_service{"Root", "Root"};
  FakeService a{"A", "A"};
  FakeService b{"B", "B"};
  FakeService c{"C", "C"};
  const auto root = ServiceNode::make(&root_service);
  root->new_child(&a);
  root->new_child(&b)->new_child(&c);
  std::ostringstream out;
  root->as_graph().to_dot(out);
  const auto node = [](const std::string& name) {
    return "    \"" + name +
           "\" [shape=\"box\", arrowhead=\"vee\", style=\"filled\", fontname=\"HelveticaNeue\", "
           "fillcolor=\"palegreen3\", color=\"palegreen4\"]\n";
  };
  const auto edge = [](const std::string& from, const std::string& to) {
    return "    \"" + from + "\" -> \"" + to +
           "\" [shape=\"box\", arrowhead=\"vee\", style=\"filled\", fontname=\"HelveticaNeue\", "
           "color=\"darkseagreen4\", arrowcolor=\"black\", arrowsize=\"0.7\"]\n";
  };
  const std::string expected =
      "digraph dependencies {\n"
      "        graph [shape=\"box\", arrowhead=\"vee\", style=\"filled\", "
      "fontname=\"HelveticaNeue\", bgcolor=\"mintcream\", root=\"NoneType\"]\n" +
      node("Root") + edge("Root", "A") + edge("Root", "B") + node("B") + edge("B", "C") + "}\n";
  EXPECT_EQ(out.str(), expected);
}

TEST(Node, AddDeduplicateAndDiscard) {
  const auto root = IntNode::make(0);
  const auto child = IntNode::make(1);
  root->add(5);
  root->add(5);
  root->add_deduplicate(5);
  root->add(child);
  root->add_deduplicate(child);
  root->add_deduplicate(6);
  EXPECT_EQ(values_of(root->children()), (std::vector<int>{5, 5, 1, 6}));
  EXPECT_EQ(child->parent(), nullptr);  // add links nothing, as in Mode
  root->discard(5);
  EXPECT_EQ(values_of(root->children()), (std::vector<int>{5, 1, 6}));
  root->discard(child);
  root->discard(42);  // absent: silently ignored
  EXPECT_EQ(values_of(root->children()), (std::vector<int>{5, 6}));
}

TEST(Node, SelfParentOrRootIsRejected) {
  const auto node = IntNode::make(1);
  const auto other = IntNode::make(2);
  EXPECT_EQ(invalid_argument_of([&] { node->set_parent(node); }), "Parent node cannot be itself.");
  EXPECT_EQ(invalid_argument_of([&] { node->set_root(node); }), "Root node cannot be itself.");
  node->set_parent(other);
  node->set_root(other);
  EXPECT_EQ(node->parent(), other);
  EXPECT_EQ(node->root(), other);
  EXPECT_TRUE(other->children().empty());  // the setters link nothing else
  node->set_parent(nullptr);
  EXPECT_EQ(node->parent(), nullptr);
}

// Mode lets these links close a cycle, and then depth, path and walk loop forever.
TEST(Node, NoLinkMayCloseACycle) {
  const auto a = IntNode::make(1);
  const auto b = IntNode::make(2);
  const auto c = IntNode::make(3);
  b->set_parent(a);
  c->set_parent(b);
  EXPECT_EQ(invalid_argument_of([&] { a->set_parent(c); }), "Cannot attach a node below itself.");
  EXPECT_EQ(invalid_argument_of([&] { a->set_parent(b); }), "Cannot attach a node below itself.");
  EXPECT_EQ(a->depth(), 1u);
  EXPECT_EQ(c->path(), "1/2/3");
  // Through the children: a node above (or below) cannot become a child again.
  const auto top = IntNode::make(10);
  const auto mid = top->new_child(11);
  const auto low = mid->new_child(12);
  EXPECT_EQ(invalid_argument_of([&] { low->add(top); }),
            "Cannot add a node above itself as its child.");
  EXPECT_EQ(invalid_argument_of([&] { low->add(low); }),
            "Cannot add a node above itself as its child.");
  const auto other = IntNode::make(20);
  other->add(top);  // raw child elsewhere: fine
  EXPECT_EQ(invalid_argument_of([&] { low->add_deduplicate(other); }),
            "Cannot add a node above itself as its child.");
  EXPECT_EQ(top->traverse().size(), 3u);
}

TEST(Node, ReattachRejectsItselfAndItsDescendants) {
  const auto top = IntNode::make(1);
  // Top-level: the new root would be the node itself, checked first, as in Mode.
  EXPECT_EQ(invalid_argument_of([&] { top->reattach(top); }), "Root node cannot be itself.");
  const auto child = top->new_child(2);
  EXPECT_EQ(invalid_argument_of([&] { child->reattach(child); }), "Parent node cannot be itself.");
  const auto grandchild = child->new_child(3);
  const auto great = grandchild->new_child(4);
  EXPECT_EQ(invalid_argument_of([&] { child->reattach(great); }),
            "Cannot attach a node below itself.");
  EXPECT_EQ(invalid_argument_of([&] { top->reattach(child); }), "Root node cannot be itself.");
  EXPECT_EQ(invalid_argument_of([&] { child->reattach(nullptr); }), "Parent node cannot be null.");
  EXPECT_EQ(great->path(), "1/2/3/4");  // unchanged
}

TEST(Node, ReattachMovesTheNodeAndUpdatesRoots) {
  const auto old_top = IntNode::make(1);
  const auto moved = old_top->new_child(2);
  const auto below = moved->new_child(3);
  const auto new_top = IntNode::make(10);
  const auto new_parent = new_top->new_child(11);

  EXPECT_EQ(moved->reattach(new_parent), moved);
  EXPECT_EQ(moved->parent(), new_parent);
  EXPECT_EQ(moved->root(), new_top);
  EXPECT_EQ(below->root(), new_top);         // Mode leaves the old root here
  EXPECT_TRUE(old_top->children().empty());  // Mode leaves the node in its old parent too
  EXPECT_EQ(values_of(new_parent->children()), (std::vector<int>{2}));
  EXPECT_EQ(below->path(), "10/11/2/3");

  // Reattaching to the same parent does not duplicate the node.
  moved->reattach(new_parent);
  EXPECT_EQ(new_parent->children().size(), 1U);
}

TEST(Node, ReattachOfTopLevelNodeSetsRootOfItsSubtree) {
  // A service made on its own (its own tree) then added as a dependency of another.
  const auto parent = IntNode::make(1);
  const auto service = IntNode::make(2);
  const auto sub = service->new_child(3);
  EXPECT_EQ(sub->root(), service);
  service->reattach(parent);
  EXPECT_EQ(service->root(), parent);
  EXPECT_EQ(sub->root(), parent);
  EXPECT_EQ(sub->depth(), 3U);
  EXPECT_EQ(values_of(parent->traverse()), (std::vector<int>{1, 2, 3}));
}

TEST(Node, DetachRemovesFromParentAndClearsLinks) {
  const auto top = IntNode::make(1);
  const auto child = top->new_child(2);
  const auto below = child->new_child(3);
  top->add(7);
  EXPECT_EQ(child->detach(), child);
  EXPECT_EQ(child->parent(), nullptr);
  EXPECT_EQ(child->root(), nullptr);
  EXPECT_EQ(values_of(top->children()), (std::vector<int>{7}));
  EXPECT_EQ(below->root(), child);  // the detached node is the top of its own tree now
  EXPECT_EQ(below->path(), "2/3");
  child->detach();  // top-level: nothing to do
  EXPECT_EQ(child->children().size(), 1U);
}

TEST(Node, NodeOutlivingItsParentCanBeDetached) {
  auto top = IntNode::make(1);
  const auto child = top->new_child(2);
  const auto below = child->new_child(3);
  top.reset();  // the parent's owner died; the child is still owned here
  EXPECT_EQ(child->parent(), nullptr);
  EXPECT_EQ(child->root(), nullptr);
  EXPECT_EQ(child->depth(), 1U);
  EXPECT_EQ(below->path(), "2/3");
  EXPECT_EQ(child->detach(), child);
  EXPECT_EQ(below->root(), child);
}

TEST(Node, OwnerThatDiesDetachesItsNode) {
  // How a service uses its beacon: it owns its node, detaches it when destroyed.
  struct Owner {
    mode::Node<Owner*>::Ptr beacon;
    explicit Owner(const mode::Node<Owner*>::Ptr& parent)
        : beacon(parent ? parent->new_child(this) : mode::Node<Owner*>::make(this)) {}
    ~Owner() { beacon->detach(); }
    Owner(const Owner&) = delete;
    Owner& operator=(const Owner&) = delete;
    std::string label() const { return "Owner"; }
  };
  auto parent = std::make_unique<Owner>(nullptr);
  auto child = std::make_unique<Owner>(parent->beacon);
  auto grandchild = std::make_unique<Owner>(child->beacon);
  EXPECT_EQ(grandchild->beacon->depth(), 3U);
  const std::weak_ptr<mode::Node<Owner*>> child_node = child->beacon;
  child.reset();
  EXPECT_TRUE(child_node.expired());  // no one else held it
  EXPECT_TRUE(parent->beacon->children().empty());
  EXPECT_EQ(grandchild->beacon->parent(), nullptr);
  parent.reset();
  grandchild.reset();  // its parent's node is gone: detach is still safe
}

TEST(Node, DeepChainIsDestroyedWithoutRecursion) {
  auto top = IntNode::make(0);
  IntNode::Ptr last = top;
  for (int i = 1; i < 200'000; ++i) {
    last = last->new_child(i);
  }
  EXPECT_EQ(last->depth(), 200'000U);
  last.reset();
  top.reset();
}

TEST(Node, SharedChildSurvivesItsParent) {
  auto top = IntNode::make(0);
  const auto kept = top->new_child(1);
  kept->new_child(2);
  top.reset();
  ASSERT_EQ(kept->children().size(), 1U);
  EXPECT_EQ(values_of(kept->traverse()), (std::vector<int>{1, 2}));
}

TEST(Node, WideNodeDetachesItsChildrenLastFirstInLinearTime) {
  const auto top = IntNode::make(0);
  std::vector<IntNode::Ptr> children;
  for (int i = 1; i <= 100'000; ++i) {
    children.push_back(top->new_child(i));
  }
  for (auto it = children.rbegin(); it != children.rend(); ++it) {
    (*it)->detach();
  }
  EXPECT_TRUE(top->children().empty());
  EXPECT_EQ(children.front()->parent(), nullptr);
}

TEST(Node, StaysSmall) {
  // A service's beacon: data pointer, two weak links, the children vector and the
  // enable_shared_from_this link.
  EXPECT_LE(sizeof(ServiceNode), 80U);
  EXPECT_EQ(sizeof(ServiceNode::Entry), 24U);
}

}  // namespace
