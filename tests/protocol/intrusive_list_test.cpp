#include "protocol/intrusive_list.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

namespace aigw {
namespace {

struct Node {
  int value = 0;
  ListLink a;
  ListLink b;
};
using ListA = IntrusiveList<Node, &Node::a>;
using ListB = IntrusiveList<Node, &Node::b>;

template <class List>
std::vector<uint32_t> slots(const List& l, const std::vector<Node>& nodes) {
  std::vector<uint32_t> out;
  for (uint32_t i = l.front(); i != List::kEnd; i = List::next(nodes, i)) out.push_back(i);
  return out;
}

template <class List>
void push_all(List& l, std::vector<Node>& nodes, std::initializer_list<uint32_t> order) {
  for (uint32_t i : order) l.push_back(nodes, i);
}

TEST(IntrusiveList, StartsEmpty) {
  std::vector<Node> nodes(3);
  ListA l;
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.front(), ListA::kEnd);
  EXPECT_EQ(l.back(), ListA::kEnd);
  EXPECT_FALSE(l.contains(nodes, 0));
}

TEST(IntrusiveList, PushBackKeepsOrder) {
  std::vector<Node> nodes(4);
  ListA l;
  push_all(l, nodes, {2, 0, 3});
  EXPECT_EQ(slots(l, nodes), (std::vector<uint32_t>{2, 0, 3}));
  EXPECT_EQ(l.front(), 2u);
  EXPECT_EQ(l.back(), 3u);
  EXPECT_TRUE(l.contains(nodes, 0));
  EXPECT_FALSE(l.contains(nodes, 1));
}

TEST(IntrusiveList, EraseFrontMiddleBackAndOnly) {
  std::vector<Node> nodes(4);
  ListA l;
  for (uint32_t i = 0; i < 4; ++i) l.push_back(nodes, i);
  l.erase(nodes, 1);  // middle
  EXPECT_EQ(slots(l, nodes), (std::vector<uint32_t>{0, 2, 3}));
  l.erase(nodes, 0);  // front
  EXPECT_EQ(slots(l, nodes), (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(l.front(), 2u);
  l.erase(nodes, 3);  // back
  EXPECT_EQ(slots(l, nodes), (std::vector<uint32_t>{2}));
  EXPECT_EQ(l.back(), 2u);
  l.erase(nodes, 2);  // only
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.back(), ListA::kEnd);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_FALSE(l.contains(nodes, i));
}

TEST(IntrusiveList, AnErasedNodeCanBeLinkedAgain) {
  std::vector<Node> nodes(2);
  ListA l;
  push_all(l, nodes, {0, 1});
  l.erase(nodes, 0);
  l.push_back(nodes, 0);
  EXPECT_EQ(slots(l, nodes), (std::vector<uint32_t>{1, 0}));
}

TEST(IntrusiveList, ANodeSitsInOneListPerLink) {
  std::vector<Node> nodes(3);
  ListA a;
  ListB b;
  ListA other;
  a.push_back(nodes, 0);
  a.push_back(nodes, 1);
  b.push_back(nodes, 1);
  b.push_back(nodes, 2);
  other.push_back(nodes, 2);
  EXPECT_EQ(slots(a, nodes), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(slots(b, nodes), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(slots(other, nodes), (std::vector<uint32_t>{2}));
  a.erase(nodes, 1);
  EXPECT_EQ(slots(b, nodes), (std::vector<uint32_t>{1, 2}));
  EXPECT_TRUE(b.contains(nodes, 1));
}

#ifndef NDEBUG
using IntrusiveListDeathTest = ::testing::Test;

TEST(IntrusiveListDeathTest, LinkingANodeTwiceFails) {
  std::vector<Node> nodes(2);
  ListA l;
  l.push_back(nodes, 0);
  EXPECT_DEATH(l.push_back(nodes, 0), "already linked");
  ListA other;
  EXPECT_DEATH(other.push_back(nodes, 0), "already linked");
}

TEST(IntrusiveListDeathTest, ErasingANodeOfAnotherListFails) {
  std::vector<Node> nodes(2);
  ListA l;
  ListA other;
  l.push_back(nodes, 0);
  EXPECT_DEATH(other.erase(nodes, 0), "not in this list");
  EXPECT_DEATH(l.erase(nodes, 1), "not in this list");
}
#endif

}  // namespace
}  // namespace aigw
