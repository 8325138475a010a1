#include "sim/report/svg_chart.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/sim/xml_wellformed.h"

namespace aigw::sim {
namespace {

using test::xml_wellformed;

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(XmlWellformed, CatchesWhatItMustCatch) {
  EXPECT_EQ(xml_wellformed("<svg><g a=\"1\"/></svg>"), "");
  EXPECT_NE(xml_wellformed("<svg><g></svg>"), "");
  EXPECT_NE(xml_wellformed("<svg a=1></svg>"), "");
  EXPECT_NE(xml_wellformed("<svg>a & b</svg>"), "");
  EXPECT_NE(xml_wellformed("<svg a=\"x<y\"></svg>"), "");
  EXPECT_NE(xml_wellformed("<svg></svg><svg></svg>"), "");
  EXPECT_NE(xml_wellformed("<svg a=\"1\" a=\"2\"></svg>"), "");
  EXPECT_NE(xml_wellformed(""), "");
}

TEST(NiceTicks, StepsAreOneTwoFiveAndCoverTheRange) {
  auto t = nice_ticks(0, 1);
  ASSERT_GE(t.size(), 3u);
  EXPECT_DOUBLE_EQ(t.front(), 0);
  EXPECT_GE(t.back(), 1);
  EXPECT_NEAR(t[1] - t[0], 0.2, 1e-12);
  t = nice_ticks(3, 947, 6);
  EXPECT_LE(t.front(), 3);
  EXPECT_GE(t.back(), 947);
  EXPECT_NEAR(t[1] - t[0], 200, 1e-9);
  t = nice_ticks(5, 5);  // degenerate range still yields an axis
  EXPECT_GE(t.size(), 2u);
}

TEST(SvgChart, LineChartIsWellFormedWithOnePolylinePerSeriesAndEscapedText) {
  LineChart c;
  c.title = "load <A&B> \"quoted\"";
  c.x_label = "time (s)";
  c.y_label = "L";
  for (int g = 0; g < 4; ++g) {
    Series s{"gateway " + std::to_string(g), {}, g == 3};
    for (int t = 0; t < 100; ++t) s.points.emplace_back(t, 0.1 * g + 0.001 * t);
    c.series.push_back(s);
  }
  c.series[0].points.emplace_back(101, NAN);  // skipped, not written as "nan"
  const std::string svg = render_svg(c);
  EXPECT_EQ(xml_wellformed(svg), "");
  EXPECT_EQ(count(svg, "<polyline"), 4u);
  EXPECT_EQ(count(svg, "stroke-dasharray"), 2u);  // the dashed series and its legend entry
  EXPECT_NE(svg.find("load &lt;A&amp;B&gt; &quot;quoted&quot;"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

TEST(SvgChart, EmptyLineChartIsStillAValidDocument) {
  LineChart c;
  c.title = "nothing yet";
  EXPECT_EQ(xml_wellformed(render_svg(c)), "");
}

TEST(SvgChart, BarChartDrawsOneBarPerValueScaledToTheAxis) {
  BarChart c;
  c.title = "admission";
  c.series = {"p50", "p99"};
  c.categories = {"lc", "adga", "improved_adga"};
  c.values = {{1, 2}, {3, 4}, {5, NAN}};
  const std::string svg = render_svg(c);
  EXPECT_EQ(xml_wellformed(svg), "");
  EXPECT_EQ(count(svg, "<rect x="), 5u);  // the NaN bar is left out
  EXPECT_NE(svg.find("improved_adga / p50: 5"), std::string::npos);
}

}  // namespace
}  // namespace aigw::sim
