#include "sim/report/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

namespace aigw::sim {

namespace {

// Colour-blind-friendly palette (Okabe–Ito), cycled.
constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#F0E442", "#000000"};
const char* colour(size_t i) { return kPalette[i % std::size(kPalette)]; }

// Plot-area margins: room for the title, tick labels, axis labels and the legend.
constexpr double kLeft = 70, kRight = 160, kTop = 40, kBottom = 55;

std::string num(double v) {
  if (std::fabs(v) < 1e-12) return "0";
  return fmt::format("{:.6g}", v);
}

struct Frame {
  double x0, x1, y0, y1;  // data ranges
  double w, h;            // plot area size
  double px(double x) const { return kLeft + (x1 > x0 ? (x - x0) / (x1 - x0) : 0.5) * w; }
  double py(double y) const { return kTop + h - (y1 > y0 ? (y - y0) / (y1 - y0) : 0.5) * h; }
};

void header(fmt::memory_buffer& b, int width, int height, const std::string& title) {
  fmt::format_to(std::back_inserter(b),
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
                 "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\">\n"
                 "<rect width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n"
                 "<text x=\"{2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{3}</text>\n",
                 width, height, width / 2.0, xml_escape(title));
}

// Axes, grid, y ticks and axis labels. x ticks are drawn by the caller (numeric or
// categorical).
void axes(fmt::memory_buffer& b, const Frame& f, const std::vector<double>& yticks,
          const std::string& x_label, const std::string& y_label) {
  auto out = std::back_inserter(b);
  for (double t : yticks) {
    fmt::format_to(out,
                   "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#e0e0e0\"/>\n"
                   "<text x=\"{3}\" y=\"{4}\" text-anchor=\"end\">{5}</text>\n",
                   num(kLeft), num(f.py(t)), num(kLeft + f.w), num(kLeft - 6), num(f.py(t) + 4),
                   xml_escape(num(t)));
  }
  fmt::format_to(out,
                 "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#333333\"/>\n"
                 "<line x1=\"{0}\" y1=\"{2}\" x2=\"{3}\" y2=\"{2}\" stroke=\"#333333\"/>\n",
                 num(kLeft), num(kTop), num(kTop + f.h), num(kLeft + f.w));
  fmt::format_to(out, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                 num(kLeft + f.w / 2), num(kTop + f.h + 40), xml_escape(x_label));
  fmt::format_to(out,
                 "<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" transform=\"rotate(-90 {0} {1})\">{2}</text>\n",
                 num(18), num(kTop + f.h / 2), xml_escape(y_label));
}

void legend(fmt::memory_buffer& b, const Frame& f, const std::vector<std::string>& names,
            const std::vector<bool>& dashed) {
  auto out = std::back_inserter(b);
  const double x = kLeft + f.w + 15;
  for (size_t i = 0; i < names.size(); ++i) {
    const double y = kTop + 10 + 18 * static_cast<double>(i);
    fmt::format_to(out,
                   "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"3\"{4}/>\n"
                   "<text x=\"{5}\" y=\"{6}\">{7}</text>\n",
                   num(x), num(y), num(x + 20), colour(i),
                   i < dashed.size() && dashed[i] ? " stroke-dasharray=\"6 4\"" : "", num(x + 26),
                   num(y + 4), xml_escape(names[i]));
  }
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters are not allowed in XML 1.0.
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n') out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (hi < lo) std::swap(lo, hi);
  if (hi == lo) {
    hi = lo + (lo == 0 ? 1 : std::fabs(lo) * 0.1);
  }
  const double raw = (hi - lo) / std::max(1, target);
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::floor(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0 : t);
    if (ticks.size() > 50) break;
  }
  if (ticks.back() < hi - step * 1e-9) ticks.push_back(ticks.back() + step);
  return ticks;
}

std::string render_svg(const LineChart& c) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : c.series)
    for (auto [x, y] : s.points)
      if (std::isfinite(x) && std::isfinite(y)) {
        x0 = std::min(x0, x), x1 = std::max(x1, x);
        y0 = std::min(y0, y), y1 = std::max(y1, y);
      }
  if (x0 > x1) x0 = 0, x1 = 1, y0 = 0, y1 = 1;  // no data: an empty frame
  if (c.y_min < c.y_max) y0 = c.y_min, y1 = std::max(c.y_max, y1);
  else y0 = std::min(0.0, y0);
  const std::vector<double> yt = nice_ticks(y0, y1);
  const std::vector<double> xt = nice_ticks(x0, x1, 8);
  Frame f{xt.front(), xt.back(), yt.front(), yt.back(), c.width - kLeft - kRight,
          c.height - kTop - kBottom};
  fmt::memory_buffer b;
  auto out = std::back_inserter(b);
  header(b, c.width, c.height, c.title);
  axes(b, f, yt, c.x_label, c.y_label);
  for (double t : xt)
    fmt::format_to(out, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", num(f.px(t)),
                   num(kTop + f.h + 18), xml_escape(num(t)));
  std::vector<std::string> names;
  std::vector<bool> dashed;
  for (size_t i = 0; i < c.series.size(); ++i) {
    const Series& s = c.series[i];
    names.push_back(s.name);
    dashed.push_back(s.dashed);
    std::string pts;
    for (auto [x, y] : s.points)
      if (std::isfinite(x) && std::isfinite(y)) pts += fmt::format("{},{} ", num(f.px(x)), num(f.py(y)));
    if (pts.empty()) continue;
    pts.pop_back();
    fmt::format_to(out, "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{} points=\"{}\"/>\n",
                   colour(i), s.dashed ? " stroke-dasharray=\"6 4\"" : "", pts);
  }
  legend(b, f, names, dashed);
  fmt::format_to(out, "</svg>\n");
  return fmt::to_string(b);
}

std::string render_svg(const BarChart& c) {
  double y1 = 0;
  for (const auto& row : c.values)
    for (double v : row)
      if (std::isfinite(v)) y1 = std::max(y1, v);
  const std::vector<double> yt = nice_ticks(0, y1 > 0 ? y1 : 1);
  Frame f{0, 1, yt.front(), yt.back(), c.width - kLeft - kRight, c.height - kTop - kBottom};
  fmt::memory_buffer b;
  auto out = std::back_inserter(b);
  header(b, c.width, c.height, c.title);
  axes(b, f, yt, c.x_label, c.y_label);
  const size_t ncat = std::max<size_t>(1, c.categories.size());
  const size_t nser = std::max<size_t>(1, c.series.size());
  const double slot = f.w / static_cast<double>(ncat);
  const double bar = slot * 0.8 / static_cast<double>(nser);
  for (size_t k = 0; k < c.categories.size(); ++k) {
    const double left = kLeft + slot * static_cast<double>(k) + slot * 0.1;
    fmt::format_to(out, "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                   num(left + slot * 0.4), num(kTop + f.h + 18), xml_escape(c.categories[k]));
    for (size_t s = 0; s < c.series.size(); ++s) {
      const double v = k < c.values.size() && s < c.values[k].size() ? c.values[k][s] : NAN;
      if (!std::isfinite(v)) continue;
      const double top = f.py(std::max(0.0, v));
      fmt::format_to(out,
                     "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>\n",
                     num(left + bar * static_cast<double>(s)), num(top), num(bar * 0.92),
                     num(kTop + f.h - top), colour(s),
                     xml_escape(fmt::format("{} / {}: {}", c.categories[k], c.series[s], num(v))));
    }
  }
  legend(b, f, c.series, {});
  fmt::format_to(out, "</svg>\n");
  return fmt::to_string(b);
}

}  // namespace aigw::sim
