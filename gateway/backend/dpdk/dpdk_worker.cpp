#include "gateway/backend/dpdk/dpdk_worker.h"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include <cstdio>
#include <cstring>

#include "gateway/net/checksum.h"
#include "gateway/net/frame_builder.h"
#include "protocol/log.h"

namespace aigw {

namespace {

constexpr size_t kPrefetchAhead = 3;
constexpr size_t kCommandsPerTurn = 64;  // bound control work per loop turn
constexpr size_t kMaxBurst = 512;
constexpr size_t kTxBurst = 32;

const char* const kFrameNames[kFrameStatCount] = {
    "rx_frames", "rx_bytes",
    // parse errors, by net::ParseError (index 0 "ok" unused)
    "parse_ok", "runt", "unsupported_ethertype", "ip_truncated", "ip_bad_version", "ip_bad_header_length",
    "ip_bad_checksum", "ip_fragment", "unsupported_protocol", "udp_truncated", "udp_no_checksum",
    "udp_bad_checksum", "arp_malformed", "icmp_truncated", "icmp_bad_checksum",
    "not_for_us", "unknown_udp_port", "multi_segment", "arp_answered", "arp_ignored", "arp_unsolicited",
    "icmp_echo_answered", "icmp_echo_rate_limited",
    "icmp_ignored", "tx_frames", "tx_dropped", "tx_no_mbuf", "egress_no_neighbour"};

}  // namespace

const char* frame_stat_name(size_t i) { return i < kFrameStatCount ? kFrameNames[i] : "unknown"; }

bool parse_mac(const std::string& text, net::Mac& out) {
  unsigned b[6];
  char tail;
  if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
    return false;
  for (int i = 0; i < 6; ++i) out[static_cast<size_t>(i)] = static_cast<uint8_t>(b[i]);
  return true;
}

DpdkWorker::DpdkWorker(const GatewayConfig& config, std::vector<DpdkPort*> ports, std::vector<DpdkRxQueue> rx,
                       uint16_t tx_queue, const EgressRoutes& routes, NeighbourBoard& board, const KeySource& keys)
    : config_(config),
      ports_(std::move(ports)),
      rx_(std::move(rx)),
      tx_queue_(tx_queue),
      routes_(routes),
      board_(board),
      commands_(1024),
      events_(4096) {
  std::vector<size_t> indices;
  std::vector<uint16_t> udp_ports;
  for (const DpdkRxQueue& q : rx_) {
    indices.push_back(ports_[q.port]->config_index);
    udp_ports.push_back(ports_[q.port]->udp_port);
  }
  PipelineConfig pc = make_pipeline_config(config, indices, udp_ports);
  pc.envelopes_not_before = envelope_counter_start() - kMaxClockSkewNs;
  // Without transmit checksum offload egress fills UDP checksums itself: from the sums
  // taken at ingest, so forwarded payload is read once, by the copy.
  for (const DpdkPort* p : ports_) pc.receiver.keep_payload_sums |= !p->tx_udp_cksum_offload;
  for (size_t k = 0; k < rx_.size(); ++k) {
    // The port's memory is split over its queues; queue 0 reports its streams.
    pc.data_ports[k].memory_budget_bytes /= ports_[rx_[k].port]->rx_queues;
    pc.data_ports[k].counts_streams = rx_[k].queue == 0;
  }
  EgressOut& eg = *this;
  pipeline_ = std::make_unique<Pipeline>(pc, events_, eg, keys);
  have_static_mac_ = !config.dpdk_next_hop_mac.empty() && parse_mac(config.dpdk_next_hop_mac, static_mac_);
  tx_.resize(ports_.size());
  for (auto& q : tx_) q.mbufs.resize(2 * kMaxBurst);
  stash_.resize(ports_.size());
  counters_.resize(ports_.size());
  for (auto& c : counters_) c.fill(0);
  published_ = std::make_unique<PublishedFrameStats[]>(ports_.size());
}

DpdkWorker::~DpdkWorker() {
  for (auto& q : tx_)
    for (size_t i = 0; i < q.count; ++i) rte_pktmbuf_free(q.mbufs[i]);
  for (auto& st : stash_)
    if (st.count > 0) rte_pktmbuf_free_bulk(st.mbufs.data(), st.count);
}

void DpdkWorker::run() {
  const uint16_t burst = static_cast<uint16_t>(std::min<size_t>(config_.dpdk_burst, kMaxBurst));
  rte_mbuf* rx[kMaxBurst];
  rte_mbuf* dead[kMaxBurst];
  int64_t next_deadline = 0;
  uint64_t busy = 0, total = 0;
  log::info("dpdk_worker_started", "lcore={} rx_queues={} tx_queue={}", rte_lcore_id(), rx_.size(), tx_queue_);
  while (!stop_.load(std::memory_order_relaxed)) {
    const uint64_t t0 = rte_rdtsc();
    bool work = false;
    now_ns_ = log::steady_now_ns();
    for (size_t i = 0; i < kCommandsPerTurn; ++i) {
      const StreamCommand* cmd = commands_.front();
      if (cmd == nullptr) break;
      pipeline_->apply(*cmd, now_ns_);
      commands_.pop();
      work = true;
    }
    for (size_t k = 0; k < rx_.size(); ++k) {
      const uint16_t n = rte_eth_rx_burst(ports_[rx_[k].port]->port_id, rx_[k].queue, rx, burst);
      if (n == 0) continue;
      work = true;
      for (size_t i = 0; i < n && i < kPrefetchAhead; ++i) rte_prefetch0(rte_pktmbuf_mtod(rx[i], void*));
      size_t ndead = 0;
      for (size_t i = 0; i < n; ++i) {
        if (i + kPrefetchAhead < n) rte_prefetch0(rte_pktmbuf_mtod(rx[i + kPrefetchAhead], void*));
        if (!handle(k, rx[i], now_ns_)) dead[ndead++] = rx[i];
      }
      // Payloads were copied into units: free the whole burst at once.
      if (ndead > 0) rte_pktmbuf_free_bulk(dead, static_cast<unsigned>(ndead));
    }
    if (work || now_ns_ >= next_deadline) {
      pipeline_->poll(now_ns_);
      next_deadline = pipeline_->next_deadline_ns();
    }
    for (size_t g = 0; g < ports_.size(); ++g) flush_port(g);
    if (events_.take_pushed() && notify_) notify_();
    const uint64_t dt = rte_rdtsc() - t0;
    total += dt;
    if (work) busy += dt;
    busy_cycles_.store(busy, std::memory_order_relaxed);
    total_cycles_.store(total, std::memory_order_relaxed);
    if (work) {
      for (size_t g = 0; g < ports_.size(); ++g) published_[g].store(counters_[g].data());
    }
  }
  pipeline_->publish();
  for (size_t g = 0; g < ports_.size(); ++g) published_[g].store(counters_[g].data());
}

bool DpdkWorker::handle(size_t k, rte_mbuf* m, int64_t now_ns) {
  const size_t g = rx_[k].port;
  DpdkPort& port = *ports_[g];
  bump(g, FrameStat::rx_frames);
  bump(g, FrameStat::rx_bytes, rte_pktmbuf_pkt_len(m));
  if (m->nb_segs != 1) {
    bump(g, FrameStat::multi_segment);
    return false;
  }
  net::UdpChecksum mode = net::UdpChecksum::software;
  if (port.checksum == ChecksumPolicy::none) {
    mode = net::UdpChecksum::skip;
  } else if (port.checksum == ChecksumPolicy::automatic && port.rx_udp_cksum_offload) {
    const uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
      counters_[g][static_cast<size_t>(FrameStat::parse_error_first) +
                   static_cast<size_t>(net::ParseError::udp_bad_checksum)]++;
      return false;
    }
    if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD) mode = net::UdpChecksum::skip;
  }
  uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
  net::Frame f;
  const net::ParseError e = net::parse_frame(data, rte_pktmbuf_data_len(m), mode, f);
  if (e != net::ParseError::ok) {
    counters_[g][static_cast<size_t>(FrameStat::parse_error_first) + static_cast<size_t>(e)]++;
    return false;
  }
  switch (f.kind) {
    case net::FrameKind::udp:
      if (f.dst_ip != port.ip) {
        bump(g, FrameStat::not_for_us);
        return false;
      }
      if (f.dst_port == port.udp_port) {
        pipeline_->on_datagram(k, Ipv4Endpoint{f.src_ip, f.src_port}, f.payload, f.payload_len, now_ns,
                               f.udp_payload_sum);
      } else if (f.dst_port == config_.dpdk_egress_udp_port) {
        pipeline_->on_egress_datagram(Ipv4Endpoint{f.src_ip, f.src_port}, f.payload, f.payload_len, now_ns);
      } else {
        bump(g, FrameStat::unknown_udp_port);
      }
      return false;
    case net::FrameKind::arp:
      return handle_arp(g, m, f, now_ns);
    case net::FrameKind::icmp:
      if (f.dst_ip == port.ip && !echo_budget_.take(now_ns)) {
        bump(g, FrameStat::icmp_echo_rate_limited);
        return false;
      }
      if (f.dst_ip == port.ip && net::make_echo_reply_in_place(data, f)) {
        bump(g, FrameStat::icmp_echo_answered);
        return queue_tx(g, m);
      }
      bump(g, FrameStat::icmp_ignored);
      return false;
  }
  return false;
}

bool DpdkWorker::handle_arp(size_t g, rte_mbuf* m, const net::Frame& f, int64_t now_ns) {
  DpdkPort& port = *ports_[g];
  if (f.arp.op == 2) {
    if (!arp_.learn_solicited(f.arp.sender_ip, f.arp.sender_mac, now_ns) &&
        !arp_.learn_announced(f.arp.sender_ip, f.arp.sender_mac, now_ns)) {
      bump(g, FrameStat::arp_unsolicited);
      return false;
    }
    // Other lcores may send to this neighbour through this port: tell them.
    board_.post(f.arp.sender_ip, f.arp.sender_mac, now_ns);
    bump(g, FrameStat::arp_ignored);  // learned; nothing to answer
    return false;
  }
  if (f.arp.op != 1 || f.arp.target_ip != port.ip) {
    bump(g, FrameStat::arp_ignored);
    return false;
  }
  // Answer in the request's own mbuf (a reply is never longer than the minimum frame).
  uint8_t reply[net::kMinFrameSize];
  const size_t len = net::build_arp_reply(f.arp, port.mac, port.ip, reply);
  rte_pktmbuf_reset(m);
  uint8_t* out = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)));
  if (out == nullptr) return false;
  std::memcpy(out, reply, len);
  bump(g, FrameStat::arp_answered);
  return queue_tx(g, m);
}

bool DpdkWorker::queue_tx(size_t g, rte_mbuf* m) {
  TxQueue& q = tx_[g];
  if (q.count == q.mbufs.size()) flush_port(g);
  if (q.count == q.mbufs.size()) {
    bump(g, FrameStat::tx_dropped);
    return false;  // caller frees it
  }
  q.mbufs[q.count++] = m;
  return true;
}

void DpdkWorker::flush_port(size_t g) {
  TxQueue& q = tx_[g];
  if (q.count == 0) return;
  const uint16_t sent = rte_eth_tx_burst(ports_[g]->port_id, tx_queue_, q.mbufs.data(), static_cast<uint16_t>(q.count));
  bump(g, FrameStat::tx_frames, sent);
  // Keep what the queue did not take for the next turn (egress back-pressure).
  std::memmove(q.mbufs.data(), q.mbufs.data() + sent, (q.count - sent) * sizeof(rte_mbuf*));
  q.count -= sent;
}

rte_mbuf* DpdkWorker::take_mbuf(size_t g) {
  MbufStash& st = stash_[g];
  if (st.count == 0) {
    // One bulk get per kStashSize fragments instead of a mempool call per fragment.
    if (rte_pktmbuf_alloc_bulk(ports_[g]->pool, st.mbufs.data(), kStashSize) != 0)
      return rte_pktmbuf_alloc(ports_[g]->pool);
    st.count = kStashSize;
  }
  return st.mbufs[--st.count];
}

const DpdkWorker::EgressHop* DpdkWorker::resolve(uint32_t dst) {
  constexpr int64_t kRecheckNs = 1'000'000'000;
  EgressHop& e = egress_cache_[(dst * 0x9E3779B1u) >> 26];
  if (e.dst == dst && now_ns_ < e.until_ns) return &e;
  const EgressRoutes::Hop hop = routes_.lookup(dst);
  const net::Mac* mac = have_static_mac_ ? &static_mac_ : arp_.lookup(hop.next_hop, now_ns_);
  if (mac == nullptr) {
    // Learned by another lcore (the reply arrived on a queue it serves)?
    net::Mac m;
    int64_t learned = 0;
    if (board_.read(hop.next_hop, m, learned) && now_ns_ - learned <= arp_.max_age_ns) {
      arp_.learn(hop.next_hop, m, learned);
      mac = arp_.lookup(hop.next_hop, now_ns_);
    }
  }
  if (mac == nullptr) {
    bump(hop.port, FrameStat::egress_no_neighbour);
    DpdkPort& port = *ports_[hop.port];
    if (arp_.should_request(hop.next_hop, now_ns_)) {
      if (rte_mbuf* m = rte_pktmbuf_alloc(port.pool)) {
        uint8_t* out = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, net::kMinFrameSize));
        net::build_arp_request(port.mac, port.ip, hop.next_hop, out);
        if (!queue_tx(hop.port, m)) rte_pktmbuf_free(m);
      }
    }
    return nullptr;
  }
  e.dst = dst;
  e.port = hop.port;
  e.mac = *mac;
  e.until_ns = now_ns_ + kRecheckNs;
  return &e;
}

bool DpdkWorker::send(const Ipv4Endpoint& to, const uint8_t* header, const uint8_t* payload, size_t payload_len,
                      uint32_t payload_sum) {
  const EgressHop* hop = resolve(to.ip);
  if (hop == nullptr) return false;  // next hop unresolved: the fragment waits
  const size_t g = hop->port;
  DpdkPort& port = *ports_[g];
  TxQueue& q = tx_[g];
  if (q.count == q.mbufs.size()) {
    flush_port(g);
    if (q.count == q.mbufs.size()) return false;
  }
  const size_t udp_payload = kDataHeaderSize + payload_len;
  const size_t len = net::kUdpFrameOverhead + udp_payload;
  rte_mbuf* m = take_mbuf(g);
  if (m == nullptr) {
    bump(g, FrameStat::tx_no_mbuf);
    return false;
  }
  if (len > rte_pktmbuf_tailroom(m)) {
    rte_pktmbuf_free(m);
    bump(g, FrameStat::tx_no_mbuf);
    return true;  // larger than an mbuf: never sendable, do not wedge the sender
  }
  m->data_len = static_cast<uint16_t>(len);
  m->pkt_len = static_cast<uint32_t>(len);
  uint8_t* out = rte_pktmbuf_mtod(m, uint8_t*);
  net::UdpFlow flow;
  flow.src_mac = port.mac;
  flow.dst_mac = hop->mac;
  flow.src_ip = port.ip;
  flow.dst_ip = to.ip;
  flow.src_port = config_.dpdk_egress_udp_port;
  flow.dst_port = to.port;
  net::write_udp_headers(flow, ip_id_++, udp_payload, out);
  uint8_t* body = out + net::kUdpFrameOverhead;
  if (port.tx_udp_cksum_offload) {
    // Plain memcpy: the distribution's rte_memcpy is built for an old CPU baseline.
    std::memcpy(body, header, kDataHeaderSize);
    std::memcpy(body + kDataHeaderSize, payload, payload_len);
    m->l2_len = net::kEthHeaderSize;
    m->l3_len = net::kIpv4HeaderSize;
    m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(out + net::kEthHeaderSize);
    auto* udp = reinterpret_cast<rte_udp_hdr*>(out + net::kEthHeaderSize + net::kIpv4HeaderSize);
    udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
  } else {
    // Headers summed from values; the payload's sum came from ingest when it could, so
    // the payload is read once, by the copy; otherwise it is summed while copied.
    static_assert(kDataHeaderSize == 32);
    std::memcpy(body, header, kDataHeaderSize);
    uint64_t sum = net::checksum_add32(0, header);
    if (payload_sum < kNoPayloadSum) {
      std::memcpy(body + kDataHeaderSize, payload, payload_len);
      sum += payload_sum;
    } else {
      sum = net::checksum_copy(sum, body + kDataHeaderSize, payload, payload_len);
    }
    net::set_udp_checksum(flow, udp_payload, sum, out);
  }
  q.mbufs[q.count++] = m;
  // Hand full bursts to the NIC at once: the mbufs come back to the pool (and to the
  // next fragments) while still in cache, instead of a whole poll's worth being held.
  if (q.count >= kTxBurst) flush_port(g);
  return true;
}

void DpdkWorker::flush() {
  for (size_t g = 0; g < ports_.size(); ++g) flush_port(g);
}

}  // namespace aigw
