#include "ann/report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>

namespace vecdex::bench {

std::string FormatSeconds(double seconds) {
  char buf[32];
  if (seconds < 1) {
    std::snprintf(buf, sizeof buf, "%.1f ms", seconds * 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.2f s", seconds);
  }
  return buf;
}

std::string FormatBytes(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

void PrintTable(const std::vector<BenchRow>& rows, std::ostream& out) {
  char line[320];
  std::snprintf(line, sizeof line, "\n%-8s %-6s %-7s %-28s %5s %8s %10s %10s %9s %12s\n", "library", "index",
                "storage", "params", "ef", "recall@k", "qps_1t", "qps_nt", "build", "memory");
  out << line;
  for (const BenchRow& r : rows) {
    const std::string ef = r.ef == 0 ? "-" : std::to_string(r.ef);
    std::snprintf(line, sizeof line, "%-8s %-6s %-7s %-28s %5s %8.4f %10.1f %10.1f %9s %12s\n", r.library.c_str(),
                  r.index.c_str(), r.storage.c_str(), r.params.empty() ? "-" : r.params.c_str(), ef.c_str(),
                  r.recall, r.qps_1t, r.qps_nt, FormatSeconds(r.build_s).c_str(),
                  FormatBytes(r.memory_bytes).c_str());
    out << line;
  }
  if (!rows.empty()) {
    out << "(k=" << rows.front().k << "; qps_nt with " << rows.front().threads
        << " threads; recall@k against exact ground truth)\n";
  }
}

std::optional<double> QpsAtRecall(const std::vector<BenchRow>& rows, const std::string& library, double recall,
                                  bool single_thread) {
  std::vector<std::pair<double, double>> curve;  // (recall, qps)
  for (const BenchRow& r : rows) {
    if (r.library == library && r.main_sweep) curve.push_back({r.recall, single_thread ? r.qps_1t : r.qps_nt});
  }
  std::sort(curve.begin(), curve.end());
  for (size_t i = 0; i < curve.size(); ++i) {
    if (curve[i].first < recall) continue;
    if (curve[i].first == recall || i == 0) return i == 0 && curve[i].first > recall ? std::nullopt
                                                                                      : std::optional(curve[i].second);
    const auto [r0, q0] = curve[i - 1];
    const auto [r1, q1] = curve[i];
    return q0 + (q1 - q0) * (recall - r0) / (r1 - r0);
  }
  return std::nullopt;
}

namespace {

const BenchRow* FirstOf(const std::vector<BenchRow>& rows, const std::string& library) {
  for (const BenchRow& r : rows) {
    if (r.library == library && r.main_sweep) return &r;
  }
  return nullptr;
}

void PrintRatio(std::ostream& out, const char* what, double ours, double theirs) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "  %-28s %.2fx\n", what, theirs > 0 ? ours / theirs : 0.0);
  out << buf;
}

}  // namespace

void PrintPeerRatios(const std::vector<BenchRow>& rows, std::ostream& out) {
  std::set<std::string> peers;
  for (const BenchRow& r : rows) {
    if (r.library != "vecdex") peers.insert(r.library);
  }
  const BenchRow* ours = FirstOf(rows, "vecdex");
  if (ours == nullptr) return;
  for (const std::string& peer : peers) {
    const BenchRow* theirs = FirstOf(rows, peer);
    out << "\nvecdex / " << peer << " (higher is better for qps; lower for build time and memory):\n";
    if (ours->ef == 0 && theirs->ef == 0) {
      PrintRatio(out, "qps_1t", ours->qps_1t, theirs->qps_1t);
      PrintRatio(out, ("qps_nt (" + std::to_string(ours->threads) + " threads)").c_str(), ours->qps_nt,
                 theirs->qps_nt);
    } else {
      for (double target : {0.90, 0.95, 0.99}) {
        const auto a = QpsAtRecall(rows, "vecdex", target, true);
        const auto b = QpsAtRecall(rows, peer, target, true);
        char what[64];
        std::snprintf(what, sizeof what, "qps_1t at recall %.2f", target);
        if (a && b) {
          char buf[160];
          std::snprintf(buf, sizeof buf, "  %-28s %.2fx  (%.0f vs %.0f)\n", what, *a / *b, *a, *b);
          out << buf;
        } else {
          out << "  " << what << ": not reached by " << (a ? peer : std::string("vecdex")) << "\n";
        }
      }
    }
    PrintRatio(out, "build time", ours->build_s, theirs->build_s);
    PrintRatio(out, "memory", static_cast<double>(ours->memory_bytes), static_cast<double>(theirs->memory_bytes));
  }
}

Status WriteCsv(const std::vector<BenchRow>& rows, const std::string& path) {
  std::ofstream file(path);
  if (!file) return Status::IOError(path + ": cannot open for writing");
  file << "library,index,storage,params,k,ef,recall,qps_1t,qps_nt,threads,build_s,memory_bytes\n";
  for (const BenchRow& r : rows) {
    char line[512];
    std::snprintf(line, sizeof line, "%s,%s,%s,%s,%zu,%s,%.6f,%.3f,%.3f,%zu,%.4f,%zu\n", r.library.c_str(),
                  r.index.c_str(), r.storage.c_str(), r.params.c_str(), r.k,
                  r.ef == 0 ? "" : std::to_string(r.ef).c_str(), r.recall, r.qps_1t, r.qps_nt, r.threads, r.build_s,
                  r.memory_bytes);
    file << line;
  }
  file.close();
  if (!file) return Status::IOError(path + ": write failed");
  return Status::Ok();
}

}  // namespace vecdex::bench
