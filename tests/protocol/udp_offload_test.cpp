// How queued datagrams are grouped into GSO sends: the kernel cuts every segment at the
// first datagram's length, so a run is equal lengths to one destination, only its last
// datagram shorter, within the kernel's segment and byte limits.
#include "protocol/udp_offload.h"

#include <gtest/gtest.h>

#include <vector>

namespace aigw {
namespace {

struct Queued {
  size_t len;
  int to;
};

size_t run_at(const std::vector<Queued>& q, size_t first) {
  return gso_run(
      first, q.size(), [&](size_t k) { return q[k].len; }, [&](size_t a, size_t b) { return q[a].to == q[b].to; });
}

TEST(GsoRun, EqualFragmentsToOneDestinationGoTogetherWithAShorterLast) {
  const std::vector<Queued> q = {{760, 1}, {760, 1}, {760, 1}, {300, 1}, {760, 1}};
  EXPECT_EQ(run_at(q, 0), 4u);  // the short one ends the run: nothing may follow it
  EXPECT_EQ(run_at(q, 4), 1u);
}

TEST(GsoRun, ALongerDatagramOrAnotherDestinationStartsANewRun) {
  const std::vector<Queued> longer = {{500, 1}, {500, 1}, {760, 1}};
  EXPECT_EQ(run_at(longer, 0), 2u);
  const std::vector<Queued> other = {{760, 1}, {760, 2}, {760, 2}};
  EXPECT_EQ(run_at(other, 0), 1u);
  EXPECT_EQ(run_at(other, 1), 2u);
}

TEST(GsoRun, StaysWithinTheKernelsSegmentAndByteLimits) {
  const std::vector<Queued> small(100, Queued{100, 1});
  EXPECT_EQ(run_at(small, 0), kGsoMaxSegments);
  const std::vector<Queued> big(100, Queued{1400, 1});
  EXPECT_EQ(run_at(big, 0), kGsoMaxBytes / 1400);
}

TEST(GroSegments, ACoalescedReceiveSplitsAtTheSegmentSizeAndAPlainOneStaysWhole) {
  std::vector<uint8_t> buf(2000);
  std::vector<size_t> lens;
  EXPECT_EQ(for_each_gro_segment(buf.data(), buf.size(), 760, [&](const uint8_t*, size_t n) { lens.push_back(n); }),
            3u);
  EXPECT_EQ(lens, (std::vector<size_t>{760, 760, 480}));
  lens.clear();
  EXPECT_EQ(for_each_gro_segment(buf.data(), buf.size(), 0, [&](const uint8_t*, size_t n) { lens.push_back(n); }), 1u);
  EXPECT_EQ(lens, (std::vector<size_t>{2000}));
}

}  // namespace
}  // namespace aigw
