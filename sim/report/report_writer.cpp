#include "sim/report/report_writer.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

#include <fmt/format.h>

#include "sim/report/svg_chart.h"

namespace aigw::sim {

std::string write_text_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return fmt::format("{}: {}", path, std::strerror(errno));
  f << text;
  f.close();
  if (!f) return fmt::format("{}: write failed", path);
  return {};
}

std::string gateways_csv(const RunReport& r) {
  fmt::memory_buffer b;
  auto out = std::back_inserter(b);
  fmt::format_to(out, "t_s,gateway,alive,load,predicted,cpu,memory,net,streams,fragments_expected,"
                      "fragments_missing,dpr\n");
  for (const auto& s : r.gateway_series) {
    const double dpr = s.fragments_expected
                           ? static_cast<double>(s.fragments_missing) / static_cast<double>(s.fragments_expected)
                           : 0;
    fmt::format_to(out, "{:.3f},{},{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{},{},{},{:.6g}\n", s.t_s,
                   s.gateway_id, s.alive ? 1 : 0, s.load, s.predicted, s.cpu, s.memory, s.net, s.streams,
                   s.fragments_expected, s.fragments_missing, dpr);
  }
  return fmt::to_string(b);
}

std::string cluster_csv(const RunReport& r) {
  fmt::memory_buffer b;
  auto out = std::back_inserter(b);
  fmt::format_to(out, "t_s,lsd,streams_active,migrations,units_delivered,units_lost\n");
  for (const auto& c : r.cluster_series)
    fmt::format_to(out, "{:.3f},{:.6f},{},{},{},{}\n", c.t_s, c.lsd, c.streams_active, c.migrations,
                   c.units_delivered, c.units_lost);
  return fmt::to_string(b);
}

namespace {

std::string scale_note(const RunReport& r) {
  return fmt::format("{} ({} mode, scale {:g})", r.scenario, r.mode, r.scale);
}

LineChart load_chart(const RunReport& r) {
  LineChart c;
  c.title = "Load degree per gateway: " + scale_note(r);
  c.x_label = "time (s)";
  c.y_label = "load degree L";
  c.y_min = 0;
  c.y_max = 1;
  std::map<uint32_t, Series> by_gw;
  for (const auto& s : r.gateway_series) {
    Series& ser = by_gw[s.gateway_id];
    ser.name = fmt::format("gateway {}", s.gateway_id);
    if (s.alive) ser.points.emplace_back(s.t_s, s.load);
  }
  for (auto& [id, s] : by_gw) c.series.push_back(std::move(s));
  return c;
}

LineChart lsd_chart(const RunReport& r) {
  LineChart c;
  c.title = "Load standard deviation: " + scale_note(r);
  c.x_label = "time (s)";
  c.y_label = "LSD";
  Series s{"LSD", {}, false};
  for (const auto& p : r.cluster_series) s.points.emplace_back(p.t_s, p.lsd);
  c.series.push_back(std::move(s));
  return c;
}

BarChart dpr_chart(const RunReport& r) {
  BarChart c;
  c.title = "Packet-loss rate per gateway: " + scale_note(r);
  c.x_label = "gateway";
  c.y_label = "DPR (fragments missing / expected)";
  c.series = {"DPR"};
  for (const auto& g : r.gateways) {
    c.categories.push_back(fmt::format("{}{}", g.id, g.failed ? " (failed)" : ""));
    c.values.push_back({g.dpr()});
  }
  return c;
}

BarChart admission_chart(const RunReport& r) {
  BarChart c;
  c.title = "Admission response time: " + scale_note(r);
  c.x_label = "algorithm";
  c.y_label = "ms";
  c.series = {"mean", "p50", "p95", "p99"};
  for (const auto& a : r.admission_latency) {
    c.categories.push_back(a.algorithm);
    c.values.push_back({a.mean_ms, a.p50_ms, a.p95_ms, a.p99_ms});
  }
  return c;
}

}  // namespace

std::string write_report(const RunReport& r, const std::string& dir, ReportFiles& files) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fmt::format("{}: {}", dir, ec.message());
  const std::filesystem::path d(dir);
  files = {};
  files.summary_json = (d / "summary.json").string();
  files.gateways_csv = (d / "gateways.csv").string();
  files.cluster_csv = (d / "cluster.csv").string();
  const std::pair<std::string, std::string> texts[] = {
      {files.summary_json, to_json(r).dump(2) + "\n"},
      {files.gateways_csv, gateways_csv(r)},
      {files.cluster_csv, cluster_csv(r)},
      {(d / "load.svg").string(), render_svg(load_chart(r))},
      {(d / "lsd.svg").string(), render_svg(lsd_chart(r))},
      {(d / "dpr.svg").string(), render_svg(dpr_chart(r))},
      {(d / "admission.svg").string(), render_svg(admission_chart(r))},
  };
  for (const auto& [path, text] : texts) {
    if (auto e = write_text_file(path, text); !e.empty()) return e;
    if (path.ends_with(".svg")) files.plots.push_back(path);
  }
  return {};
}

}  // namespace aigw::sim
