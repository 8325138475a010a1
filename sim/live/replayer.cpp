#include "sim/live/replayer.h"

#include "protocol/node_keys.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <aigw/edge.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "protocol/log.h"
#include "sim/common/mono_clock.h"
#include "sim/live/cluster_config.h"
#include "sim/scenario/unit_size.h"

namespace aigw::sim {

namespace {
// What the SDK's event callback counts for one stream.
struct EventCounters {
  std::atomic<uint64_t> migrations{0};
  std::atomic<uint64_t> unrecoverable{0};
};
}  // namespace

struct Replayer::Stream {
  ReplayStreamResult result;  // guarded by Replayer::mu_ once the threads run
  const StreamGroup* group = nullptr;
  UnitSizeSampler sizes;
  aigw_edge* edge = nullptr;
  int64_t start_ns = 0;
  int64_t stop_ns = 0;
  int64_t period_ns = 0;
  int64_t next_unit_ns = 0;
  uint32_t next_period = 0;
  bool open = false;
  bool done = false;  // admission failed or stopped
  uint64_t last_sent = 0, last_resent = 0;
  EventCounters events;

  ControlKey key{};  // the device's node key
  Stream(const StreamGroup& g, uint64_t seed) : group(&g), sizes(g, seed) {}
};

struct Replayer::Worker {
  std::vector<Stream*> streams;
  std::vector<uint8_t> buffer;
  int epoll_fd = -1;  // the epoll set of this worker's open handles
};

namespace {

void on_sdk_event(void* user, const aigw_event* ev) {
  auto* counters = static_cast<EventCounters*>(user);
  if (ev->type == AIGW_EVENT_MIGRATED) ++counters->migrations;
  if (ev->type == AIGW_EVENT_UNIT_UNRECOVERABLE) ++counters->unrecoverable;
}

void on_sdk_log(void*, int level, const char* event, const char* fields) {
  const auto l = static_cast<log::Level>(level);
  if (log::enabled(l)) log::write_line(l, std::string("sdk_") + event, fields);
}

// Unit content: cheap, deterministic per (stream, seq) bytes; the digest the SDK
// appends is what the GPU side verifies.
void fill_unit(uint8_t* p, size_t n, uint64_t seed) {
  uint64_t x = seed | 1;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::memcpy(p + i, &x, 8);
  }
  for (; i < n; ++i) p[i] = static_cast<uint8_t>(x >> (8 * (i & 7)));
}

}  // namespace

Replayer::Replayer(const Scenario& scaled, const ReplayConfig& config) : scenario_(scaled), config_(config) {
  uint32_t index = 0;
  for (const auto& g : scenario_.streams) {
    const int64_t period_ns = int64_t{g.period_ms ? g.period_ms : scenario_.period_ms} * 1'000'000;
    for (uint32_t k = 0; k < g.count; ++k, ++index) {
      auto s = std::make_unique<Stream>(g, mix_seed(scenario_.seed, index));
      s->result.index = index;
      s->result.device_id = config_.first_device_id + index;
      s->result.group = g.name;
      s->period_ns = period_ns;
      // Starts spread evenly over the spread window, offset within the period so the
      // streams do not all send at the same instant.
      const double spread = g.start_spread_periods ? double(k) / g.count * g.start_spread_periods : 0;
      const double phase = double(mix_seed(scenario_.seed ^ 0xA5A5, index) % 1000) / 1000.0;
      s->start_ns = config_.t0_ns + int64_t((g.start_period + spread + phase) * double(period_ns));
      const uint32_t stop = g.stop_period ? g.stop_period : scenario_.duration_periods;
      s->stop_ns = config_.t0_ns + int64_t{stop} * period_ns;
      streams_.push_back(std::move(s));
    }
  }
  const unsigned n = std::max(1u, config_.threads);
  for (unsigned i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>());
  for (size_t i = 0; i < streams_.size(); ++i) workers_[i % n]->streams.push_back(streams_[i].get());
}

Replayer::~Replayer() {
  abort();
  join();
}

void Replayer::start() {
  for (auto& w : workers_) threads_.emplace_back([this, &w] { run_worker(*w); });
}

void Replayer::abort() { abort_ = true; }

void Replayer::join() {
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

std::vector<ReplayStreamResult> Replayer::results() const {
  std::lock_guard lk(mu_);
  std::vector<ReplayStreamResult> out;
  for (const auto& s : streams_) {
    out.push_back(s->result);
    out.back().migrations = s->events.migrations.load();
    out.back().unrecoverable = s->events.unrecoverable.load();
  }
  return out;
}

std::vector<ReplayPeriod> Replayer::periods() const {
  std::lock_guard lk(mu_);
  std::vector<ReplayPeriod> out;
  for (const auto& [p, v] : periods_) out.push_back(v);
  return out;
}

void Replayer::run_worker(Worker& w) {
  w.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  size_t max_unit = 0;
  for (Stream* s : w.streams)
    for (const auto& ph : s->group->unit_size) max_unit = std::max<size_t>(max_unit, size_t(ph.max_bytes));
  w.buffer.resize(std::max<size_t>(max_unit, 64));

  const int64_t period_ns = int64_t{scenario_.period_ms} * 1'000'000;
  int64_t end_ns = config_.t0_ns + int64_t{scenario_.duration_periods} * period_ns;
  int64_t next_sample_ns = config_.t0_ns + period_ns;
  uint32_t sample_period = 0;
  for (;;) {
    int64_t now = mono_now_ns();
    if (abort_ && end_ns > now) end_ns = now;
    if (now >= end_ns + config_.drain_ns) break;
    now = open_and_send(w, now, end_ns);
    if (now >= next_sample_ns && next_sample_ns <= end_ns + period_ns) {
      sample(w, sample_period++);
      next_sample_ns += period_ns;
    }
    // Process handles with traffic, then those whose timers are due.
    const int64_t wake = process_due_timers(w, now, end_ns, std::min(next_sample_ns, end_ns + config_.drain_ns));
    process_traffic(w, wake);
  }
  sample(w, sample_period);
  for (Stream* s : w.streams)
    if (s->edge) {
      aigw_edge_destroy(s->edge);  // closes the stream at the controller
      s->edge = nullptr;
    }
  close(w.epoll_fd);
  ++finished_threads_;
}

// Opens the streams whose start time has come and sends the units that are due; returns
// the time after the last of them.
int64_t Replayer::open_and_send(Worker& w, int64_t now, int64_t end_ns) {
  for (Stream* s : w.streams) {
    if (!s->done && !s->open && now >= s->start_ns && now < std::min(s->stop_ns, end_ns)) open_stream(w, s);
    now = mono_now_ns();
    if (s->open && now >= s->next_unit_ns && now < std::min(s->stop_ns, end_ns)) send_unit(w, s, now);
  }
  return now;
}

// The stream's device handle: AIGW_OK, or the SDK's error.
int Replayer::create_edge(Stream* s) {
  aigw_edge_options o;
  aigw_edge_options_init(&o);
  o.controller = config_.controller.c_str();
  o.device_id = s->result.device_id;
  o.key_id = config_.key_id;
  // The device's own key, derived from the cluster's master as provisioning would.
  s->key = derive_node_key(config_.key, make_sender_id(NodeRole::device, s->result.device_id));
  o.key = s->key.data();
  o.control_bind = "127.0.0.1:0";
  o.data_bind = "127.0.0.1:0";
  o.advertise_address = "127.0.0.1";
  o.mode = AIGW_MODE_EVENT_LOOP;
  o.max_payload = s->group->fragment_payload;
  o.log = on_sdk_log;
  o.log_level = static_cast<int>(log::level());
  o.on_event = on_sdk_event;
  o.event_user = &s->events;
  if (!config_.per_device_addresses) return aigw_edge_create(&o, &s->edge);
  // Explicit, distinct ports: the relay binds the control address with the data
  // port, so the two must differ. A port taken meanwhile: try another pair.
  const std::string announced = device_host(s->result.index, false), data = device_host(s->result.index, true);
  int rc = AIGW_ERR_IO;
  for (int attempt = 0; attempt < 4; ++attempt) {
    const uint16_t control_port = free_loopback_port(true), data_port = free_loopback_port(true);
    if (control_port == data_port) continue;
    const std::string cb = fmt::format("{}:{}", announced, control_port), db = fmt::format("{}:{}", data, data_port);
    o.control_bind = cb.c_str();
    o.data_bind = db.c_str();
    o.advertise_address = announced.c_str();
    rc = aigw_edge_create(&o, &s->edge);
    if (rc == AIGW_OK) break;
  }
  return rc;
}

// Creates the device and asks the controller to admit its stream; an admitted stream
// joins the worker's epoll set, a rejected one is done.
void Replayer::open_stream(Worker& w, Stream* s) {
  int rc = create_edge(s);
  aigw_stream_info info{};
  info.size = sizeof info;
  double ms = 0;
  if (rc == AIGW_OK) {
    aigw_stream_profile p;
    aigw_stream_profile_init(&p);
    // Admission reserves for the largest unit the stream may send.
    double largest = 0;
    for (const auto& ph : s->group->unit_size) largest = std::max(largest, ph.mean_bytes);
    p.unit_bytes = static_cast<uint32_t>(std::min(largest * s->sizes.stream_factor(), 16e6));
    p.period_ms = static_cast<uint32_t>(s->period_ns / 1'000'000);
    p.model = s->group->model.c_str();
    const int64_t t0 = mono_now_ns();
    rc = aigw_edge_open_stream(s->edge, &p, &info);
    ms = static_cast<double>(mono_now_ns() - t0) / 1e6;
  }
  std::lock_guard lk(mu_);
  s->result.admission_ms = ms;
  if (rc != AIGW_OK) {
    s->result.rejected = aigw_strerror(rc);
    s->done = true;
    ++rejected_;
    if (s->edge) aigw_edge_destroy(s->edge);
    s->edge = nullptr;
    return;
  }
  s->open = true;
  s->result.stream_id = info.stream_id;
  s->result.gateway_id = info.gateway_id;
  s->next_unit_ns = mono_now_ns();
  s->next_period = static_cast<uint32_t>((s->next_unit_ns - config_.t0_ns) / s->period_ns);
  ++admitted_;
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.ptr = s;
  epoll_ctl(w.epoll_fd, EPOLL_CTL_ADD, aigw_edge_fd(s->edge), &e);
}

void Replayer::send_unit(Worker& w, Stream* s, int64_t now) {
  const uint32_t bytes = std::min<uint32_t>(s->sizes.next(s->next_period), uint32_t(w.buffer.size()));
  fill_unit(w.buffer.data(), bytes, mix_seed(s->result.index, s->next_period));
  const int rc = aigw_edge_send_unit(s->edge, s->result.stream_id, w.buffer.data(), bytes);
  {
    std::lock_guard lk(mu_);
    if (rc == AIGW_OK) {
      ++s->result.units_sent;
      ++units_sent_;
    } else {
      ++s->result.units_busy;
    }
  }
  s->next_unit_ns += s->period_ns;
  ++s->next_period;
  if (s->next_unit_ns < now) s->next_unit_ns = now;  // after a stall: no burst of catch-up units
}

// Per-period fragment deltas, attributed to each stream's current gateway.
void Replayer::sample(Worker& w, uint32_t period) {
  std::lock_guard lk(mu_);
  ReplayPeriod& rp = periods_[period];
  rp.period = period;
  for (Stream* s : w.streams) {
    if (!s->open) continue;
    aigw_stream_stats st{};
    st.size = sizeof st;
    if (aigw_edge_stream_stats(s->edge, s->result.stream_id, &st) != AIGW_OK) continue;
    s->result.gateway_id = st.gateway_id;
    s->result.fragments_sent = st.fragments_sent;
    s->result.fragments_resent = st.fragments_resent;
    auto it = std::find_if(rp.per_gateway.begin(), rp.per_gateway.end(),
                           [&](const auto& e) { return e.first == st.gateway_id; });
    if (it == rp.per_gateway.end()) it = rp.per_gateway.insert(rp.per_gateway.end(), {st.gateway_id, {0, 0}});
    it->second.first += st.fragments_sent - s->last_sent;
    it->second.second += st.fragments_resent - s->last_resent;
    s->last_sent = st.fragments_sent;
    s->last_resent = st.fragments_resent;
    ++rp.streams_active;
  }
}

// Processes the handles whose timers are due; returns when the worker has to wake next,
// `wake` at the latest: a handle's timer, a stream's next unit or its start.
int64_t Replayer::process_due_timers(Worker& w, int64_t now, int64_t end_ns, int64_t wake) {
  for (Stream* s : w.streams) {
    if (!s->open) continue;
    const int64_t d = aigw_edge_next_deadline(s->edge);
    if (d <= now) aigw_edge_process(s->edge, now);
    wake = std::min(wake, aigw_edge_next_deadline(s->edge));
    if (!s->done && now < std::min(s->stop_ns, end_ns)) wake = std::min(wake, s->next_unit_ns);
  }
  for (Stream* s : w.streams)
    if (!s->done && !s->open && now < end_ns) wake = std::min(wake, s->start_ns);
  return wake;
}

// Waits for traffic until `wake` (at most 100 ms) and processes the handles that have some.
void Replayer::process_traffic(Worker& w, int64_t wake) {
  epoll_event events[64];
  int64_t now = mono_now_ns();
  const int timeout_ms = wake <= now ? 0 : int(std::min<int64_t>((wake - now + 999'999) / 1'000'000, 100));
  const int n = epoll_wait(w.epoll_fd, events, 64, timeout_ms);
  now = mono_now_ns();
  for (int i = 0; i < n; ++i) {
    auto* s = static_cast<Stream*>(events[i].data.ptr);
    aigw_edge_process(s->edge, now);
  }
}

}  // namespace aigw::sim
