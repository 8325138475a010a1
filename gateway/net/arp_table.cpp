#include "gateway/net/arp_table.h"

namespace aigw {

ArpTable::Entry* ArpTable::find(uint32_t ip) {
  for (auto& e : entries_)
    if (e.ip == ip && (e.valid || e.requested_ns > INT64_MIN / 2)) return &e;
  return nullptr;
}

ArpTable::Entry& ArpTable::slot_for(uint32_t ip) {
  if (Entry* e = find(ip)) return *e;
  Entry* oldest = &entries_[0];
  for (auto& e : entries_) {
    if (!e.valid && e.requested_ns <= INT64_MIN / 2) return e;
    if (e.updated_ns < oldest->updated_ns) oldest = &e;
  }
  *oldest = Entry{};
  return *oldest;
}

void ArpTable::learn(uint32_t ip, const net::Mac& mac, int64_t now_ns) {
  if (ip == 0) return;
  Entry& e = slot_for(ip);
  e.ip = ip;
  e.mac = mac;
  e.valid = true;
  e.updated_ns = now_ns;
}

bool ArpTable::learn_solicited(uint32_t ip, const net::Mac& mac, int64_t now_ns) {
  Entry* e = find(ip);
  if (e == nullptr || now_ns - e->requested_ns > solicit_window_ns) return false;
  learn(ip, mac, now_ns);
  e->requested_ns = INT64_MIN / 2 + 1;  // one answer per request: a second reply is unsolicited
  return true;
}

bool ArpTable::learn_announced(uint32_t ip, const net::Mac& mac, int64_t now_ns) {
  if (ip == 0 || lookup(ip, now_ns) != nullptr) return false;
  Entry* e = find(ip);
  for (auto& f : entries_) {
    if (e != nullptr) break;
    if (!f.valid && f.requested_ns <= INT64_MIN / 2) e = &f;
    if (f.valid && now_ns - f.updated_ns > max_age_ns) e = &f;  // expired: free
  }
  if (e == nullptr) return false;
  e->ip = ip;
  e->mac = mac;
  e->valid = true;
  e->updated_ns = now_ns;
  return true;
}

const net::Mac* ArpTable::lookup(uint32_t ip, int64_t now_ns) const {
  for (const auto& e : entries_)
    if (e.valid && e.ip == ip) return now_ns - e.updated_ns <= max_age_ns ? &e.mac : nullptr;
  return nullptr;
}

bool ArpTable::should_request(uint32_t ip, int64_t now_ns) {
  Entry& e = slot_for(ip);
  if (e.ip == ip && now_ns - e.requested_ns < request_interval_ns) return false;
  if (e.ip != ip) {
    e.ip = ip;
    e.updated_ns = now_ns;
  }
  e.requested_ns = now_ns;
  return true;
}

}  // namespace aigw
