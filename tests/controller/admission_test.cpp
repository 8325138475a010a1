#include "controller/admission/admission.h"

#include <gtest/gtest.h>

#include <random>

namespace aigw::controller {
namespace {

const char* const kAll[] = {"lc", "adga", "iadga", "balanced"};

std::unique_ptr<AdmissionAlgorithm> make(const char* name) { return make_admission(name, AdmissionOptions{}); }

AdmissionTarget target(uint32_t gw, double bw, double mem, double load = 0, uint32_t streams = 0) {
  AdmissionTarget t;
  t.gateway_id = gw;
  t.bw_remaining = bw;
  t.mem_remaining = mem;
  t.bw_capacity = 10e9;
  t.mem_capacity = 1e9;
  t.load = load;
  t.streams = streams;
  return t;
}

struct Instance {
  std::vector<AdmissionTarget> targets;
  std::vector<AdmissionDemand> requests;
};

Instance random_instance(std::mt19937& rng, size_t n, size_t m, bool uniform) {
  Instance in;
  std::uniform_real_distribution<double> cap(2e8, 2e9), mem(1e7, 1e8), load(0, 0.4), dem(2e6, 2e7);
  for (size_t i = 0; i < n; ++i) in.targets.push_back(target(uint32_t(i + 1), cap(rng), mem(rng), load(rng)));
  for (size_t r = 0; r < m; ++r) {
    const double b = uniform ? 5.4e6 : dem(rng);
    in.requests.push_back({b, b / 8 * 2});
  }
  return in;
}

void expect_capacity_respected(const Instance& in, const std::vector<int32_t>& out) {
  ASSERT_EQ(out.size(), in.requests.size());
  std::vector<double> bw(in.targets.size()), mem(in.targets.size());
  for (size_t r = 0; r < out.size(); ++r) {
    if (out[r] == kRejected) continue;
    ASSERT_GE(out[r], 0);
    ASSERT_LT(size_t(out[r]), in.targets.size());
    bw[size_t(out[r])] += in.requests[r].bandwidth_bps;
    mem[size_t(out[r])] += in.requests[r].memory_bytes;
  }
  for (size_t t = 0; t < in.targets.size(); ++t) {
    EXPECT_LE(bw[t], in.targets[t].bw_remaining * (1 + 1e-12)) << "target " << t;
    EXPECT_LE(mem[t], in.targets[t].mem_remaining * (1 + 1e-12)) << "target " << t;
  }
}

// Maximal: no rejected request would still fit any target after the decision.
void expect_maximal(const Instance& in, const std::vector<int32_t>& out) {
  std::vector<double> bw, mem;
  for (const auto& t : in.targets) {
    bw.push_back(t.bw_remaining);
    mem.push_back(t.mem_remaining);
  }
  for (size_t r = 0; r < out.size(); ++r) {
    if (out[r] == kRejected) continue;
    bw[size_t(out[r])] -= in.requests[r].bandwidth_bps;
    mem[size_t(out[r])] -= in.requests[r].memory_bytes;
  }
  for (size_t r = 0; r < out.size(); ++r) {
    if (out[r] != kRejected) continue;
    for (size_t t = 0; t < bw.size(); ++t)
      EXPECT_FALSE(fits(bw[t], mem[t], in.requests[r])) << "request " << r << " fits target " << t;
  }
}

TEST(Admission, FactoryKnowsEveryName) {
  for (const char* n : kAll) {
    auto a = make(n);
    ASSERT_NE(a, nullptr) << n;
    EXPECT_EQ(a->name(), n);
    EXPECT_TRUE(is_admission_name(n));
  }
  EXPECT_EQ(make_admission("roundrobin", {}), nullptr);
}

TEST(Admission, CapacityNeverExceededAndMatchingMaximal) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 30; ++trial) {
    for (bool uniform : {true, false}) {
      // Overloaded on purpose: more demand than capacity.
      Instance in = random_instance(rng, 1 + trial % 7, 50 + 37 * size_t(trial), uniform);
      for (const char* n : kAll) {
        std::vector<int32_t> out;
        make(n)->decide(in.targets, in.requests, out);
        SCOPED_TRACE(n);
        expect_capacity_respected(in, out);
        expect_maximal(in, out);
      }
    }
  }
}

TEST(Admission, UniformDemandAdmitsTheMaximumNumber) {
  // 3 ports with room for 2, 5 and 1 requests: every algorithm places exactly 8 of 12.
  Instance in;
  in.targets = {target(1, 2.5, 100), target(2, 5.5, 100), target(3, 1.2, 100)};
  in.requests.assign(12, AdmissionDemand{1, 1});
  for (const char* n : kAll) {
    std::vector<int32_t> out;
    make(n)->decide(in.targets, in.requests, out);
    EXPECT_EQ(std::count_if(out.begin(), out.end(), [](int32_t t) { return t != kRejected; }), 8) << n;
  }
}

TEST(Admission, LeastConnectionsPicksFewestStreamsFirstOnTies) {
  Instance in;
  in.targets = {target(1, 100, 100, 0, 3), target(2, 100, 100, 0, 1), target(3, 100, 100, 0, 1)};
  in.requests.assign(4, AdmissionDemand{1, 1});
  std::vector<int32_t> out;
  make("lc")->decide(in.targets, in.requests, out);
  // conns 3,1,1 -> port 1 (first of the ties); 3,2,1 -> port 2; 3,2,2 -> port 1; 3,3,2 -> port 2.
  EXPECT_EQ(out, (std::vector<int32_t>{1, 2, 1, 2}));
}

TEST(Admission, LeastConnectionsSkipsPortsWithoutRoom) {
  Instance in;
  in.targets = {target(1, 0.5, 100), target(2, 100, 100, 0, 9)};
  in.requests.assign(1, AdmissionDemand{1, 1});
  std::vector<int32_t> out;
  make("lc")->decide(in.targets, in.requests, out);
  EXPECT_EQ(out, (std::vector<int32_t>{1}));
}

TEST(Admission, AdgaUsesAugmentingPathsForAPerfectMatching) {
  // Port 0 takes either request, port 1 only the small one. Greedy order would give
  // port 0 the small request and strand the big one; the augmenting path fixes it.
  Instance in;
  in.targets = {target(1, 10, 100), target(2, 1, 100)};
  in.requests = {{1, 1}, {5, 1}};
  std::vector<int32_t> out;
  make("adga")->decide(in.targets, in.requests, out);
  EXPECT_EQ(out, (std::vector<int32_t>{1, 0}));
}

TEST(Admission, AdgaSpreadsOneRequestPerPortPerRound) {
  Instance in;
  in.targets = {target(1, 100, 100), target(2, 100, 100), target(3, 100, 100)};
  in.requests.assign(7, AdmissionDemand{1, 1});
  std::vector<int32_t> out;
  make("adga")->decide(in.targets, in.requests, out);
  std::vector<int> count(3);
  for (int32_t t : out) ++count[size_t(t)];
  EXPECT_EQ(count, (std::vector<int>{3, 2, 2}));
}

TEST(Admission, ImprovedAdgaGroupsInProportionToCapacity) {
  // Room for 30, 10 and 20 requests: 12 requests split 6/2/4.
  Instance in;
  in.targets = {target(1, 30, 100), target(2, 10, 100), target(3, 20, 100)};
  in.requests.assign(12, AdmissionDemand{1, 1});
  std::vector<int32_t> out;
  make("iadga")->decide(in.targets, in.requests, out);
  std::vector<int> count(3);
  for (int32_t t : out) ++count[size_t(t)];
  EXPECT_EQ(count, (std::vector<int>{6, 2, 4}));
  // Groups are contiguous runs of the arrival order.
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[6], 1);
  EXPECT_EQ(out[8], 2);
}

TEST(Admission, ImprovedAdgaEvenPolicy) {
  Instance in;
  in.targets = {target(1, 30, 100), target(2, 10, 100), target(3, 20, 100)};
  in.requests.assign(12, AdmissionDemand{1, 1});
  AdmissionOptions o;
  o.group_policy = GroupPolicy::even;
  std::vector<int32_t> out;
  make_admission("iadga", o)->decide(in.targets, in.requests, out);
  std::vector<int> count(3);
  for (int32_t t : out) ++count[size_t(t)];
  EXPECT_EQ(count, (std::vector<int>{4, 4, 4}));
}

TEST(Admission, BalancedFillsTheLeastLoadedFirst) {
  // Loads 0.5, 0.1, 0.35 with increments of 0.1 per request (1 Gb/s of 10 Gb/s, net
  // weight 1). Marginal costs d*(2L+d): port 1 takes three (0.03, 0.05, 0.07 < 0.08),
  // then port 2 (0.08 < 0.09). Final loads 0.5, 0.4, 0.45.
  Instance in;
  in.targets = {target(1, 1e10, 1e9, 0.5), target(2, 1e10, 1e9, 0.1), target(3, 1e10, 1e9, 0.35)};
  in.requests.assign(4, AdmissionDemand{1e9, 0});
  AdmissionOptions o;
  o.increment = {1.0, 0.0};
  std::vector<int32_t> out;
  make_admission("balanced", o)->decide(in.targets, in.requests, out);
  std::vector<int> count(3);
  for (int32_t t : out) ++count[size_t(t)];
  EXPECT_EQ(count, (std::vector<int>{0, 3, 1}));
  const BalanceQuality q = balance_quality(in.targets, in.requests, out, o.increment);
  EXPECT_NEAR(q.max_over_mean, 0.5 / 0.45, 1e-9);
}

TEST(Admission, BalancedIsWithinFivePercentOnALargeCluster) {
  std::mt19937 rng(11);
  Instance in;
  std::uniform_real_distribution<double> load(0, 0.05);
  for (uint32_t i = 0; i < 100; ++i) in.targets.push_back(target(i + 1, 8e9, 8e9, load(rng)));
  in.requests.assign(10000, AdmissionDemand{5.4e6, 1.3e6});
  std::vector<int32_t> out;
  LoadIncrement inc;
  make("balanced")->decide(in.targets, in.requests, out);
  const BalanceQuality q = balance_quality(in.targets, in.requests, out, inc);
  EXPECT_EQ(q.admitted, 10000u);
  EXPECT_LE(q.max_over_mean, 1.05);
}

TEST(Admission, EmptyInputsRejectEverything) {
  for (const char* n : kAll) {
    std::vector<int32_t> out;
    std::vector<AdmissionDemand> req(3, AdmissionDemand{1, 1});
    make(n)->decide({}, req, out);
    EXPECT_EQ(out, (std::vector<int32_t>(3, kRejected))) << n;
    make(n)->decide({}, {}, out);
    EXPECT_TRUE(out.empty()) << n;
  }
}

TEST(Admission, GroupPolicyNames) {
  GroupPolicy p;
  for (const char* s : {"capacity", "even", "fixed"}) {
    ASSERT_TRUE(parse_group_policy(s, p));
    EXPECT_STREQ(to_string(p), s);
  }
  EXPECT_FALSE(parse_group_policy("bogus", p));
}

}  // namespace
}  // namespace aigw::controller
