// Intrusive doubly linked list over a table of nodes addressed by 32-bit slot numbers,
// for the engines' unit tables (the receiver's age and per-stream lists, the sender's
// age and send lists). The links live in the nodes, so push and erase are O(1) and never
// allocate; a node may sit in several lists at once through several ListLink members.
//
// Invariants, checked by assert in builds without NDEBUG: a node is in at most one list
// per link member (push_back of a linked node fails), and erase names a node of this
// very list. Release builds carry no bookkeeping beyond prev/next.
#pragma once

#include <atomic>
#include <cassert>
#include <cstdint>

namespace aigw {

/// One node's place in one list; kEnd when the node has no neighbour on that side.
struct ListLink {
  static constexpr uint32_t kEnd = UINT32_MAX;
  uint32_t prev = kEnd;
  uint32_t next = kEnd;
#ifndef NDEBUG
  uint32_t list = 0;  ///< id of the list holding the node; 0 while unlinked
#endif
};

/// A list of the nodes of one table, linked through their member `Link`. `Nodes` is
/// anything whose operator[](uint32_t) yields a Node& (a std::vector<Node>).
template <class Node, ListLink Node::*Link>
class IntrusiveList {
 public:
  static constexpr uint32_t kEnd = ListLink::kEnd;

  uint32_t front() const { return head_; }
  uint32_t back() const { return tail_; }
  bool empty() const { return head_ == kEnd; }

  /// The slot after `i` in its list, or kEnd.
  template <class Nodes>
  static uint32_t next(const Nodes& nodes, uint32_t i) {
    return (nodes[i].*Link).next;
  }

  /// Whether `i` is in this list, for a link member that only this list uses (O(1): an
  /// unlinked node has no prev and is not the head).
  template <class Nodes>
  bool contains(const Nodes& nodes, uint32_t i) const {
    const ListLink& l = nodes[i].*Link;
    const bool in = l.prev != kEnd || head_ == i;
#ifndef NDEBUG
    assert(!in || l.list == id_);
#endif
    return in;
  }

  template <class Nodes>
  void push_back(Nodes& nodes, uint32_t i) {
    ListLink& l = nodes[i].*Link;
#ifndef NDEBUG
    assert(l.list == 0 && "node already linked");
    l.list = id_;
#endif
    l.prev = tail_;
    l.next = kEnd;
    if (tail_ != kEnd) (nodes[tail_].*Link).next = i; else head_ = i;
    tail_ = i;
  }

  template <class Nodes>
  void erase(Nodes& nodes, uint32_t i) {
    ListLink& l = nodes[i].*Link;
#ifndef NDEBUG
    assert(l.list == id_ && "node not in this list");
    l.list = 0;
#endif
    if (l.prev != kEnd) (nodes[l.prev].*Link).next = l.next; else head_ = l.next;
    if (l.next != kEnd) (nodes[l.next].*Link).prev = l.prev; else tail_ = l.prev;
    l.prev = kEnd;
    l.next = kEnd;
  }

 private:
  uint32_t head_ = kEnd;
  uint32_t tail_ = kEnd;
#ifndef NDEBUG
  static uint32_t new_id() {
    static std::atomic<uint32_t> last{0};
    uint32_t id = last.fetch_add(1, std::memory_order_relaxed) + 1;
    if (id == 0) id = last.fetch_add(1, std::memory_order_relaxed) + 1;  // 0 means unlinked
    return id;
  }
  uint32_t id_ = new_id();
#endif
};

}  // namespace aigw
