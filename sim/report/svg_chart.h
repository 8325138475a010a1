// Small SVG line and bar charts for simulator reports: axes with "nice" ticks, a
// legend, XML-escaped text. Self-contained files that any browser opens.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace aigw::sim {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  ///< (x, y); non-finite points are skipped
  bool dashed = false;
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
  /// Fixed y range when min < max (e.g. load degree 0..1); else from the data.
  double y_min = 0;
  double y_max = 0;
  int width = 800;
  int height = 450;
};

struct BarChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<std::string> series;      ///< one bar per series in each category
  std::vector<std::string> categories;
  std::vector<std::vector<double>> values;  ///< values[category][series]
  int width = 800;
  int height = 450;
};

/// Renders the chart as a complete SVG document.
std::string render_svg(const LineChart& chart);
std::string render_svg(const BarChart& chart);

/// Escapes &, <, >, " and ' for XML text and attribute values.
std::string xml_escape(const std::string& text);

/// Tick positions covering [lo, hi] with a 1/2/5 x 10^k step, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

}  // namespace aigw::sim
