// Writes a RunReport as files: summary.json, gateways.csv and cluster.csv (time
// series), and the plots load.svg (load degree per gateway over time), lsd.svg,
// dpr.svg (packet-loss rate per gateway) and admission.svg (response time per
// admission algorithm).
#pragma once

#include <string>
#include <vector>

#include "sim/report/run_report.h"

namespace aigw::sim {

struct ReportFiles {
  std::string summary_json;
  std::string gateways_csv;
  std::string cluster_csv;
  std::vector<std::string> plots;
};

/// Creates `dir` if needed and writes every file. Returns "" or the first I/O error.
std::string write_report(const RunReport& report, const std::string& dir, ReportFiles& files);

/// The CSV texts, exposed for tests and for writers of aggregated experiments.
std::string gateways_csv(const RunReport& report);
std::string cluster_csv(const RunReport& report);

/// Writes `text` to `path` (replacing it). "" or the error.
std::string write_text_file(const std::string& path, const std::string& text);

}  // namespace aigw::sim
