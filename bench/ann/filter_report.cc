#include "ann/filter_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <optional>

namespace vecdex::bench {
namespace {

std::string Latency(double seconds) {
  char text[32];
  if (seconds < 1e-3) {
    std::snprintf(text, sizeof text, "%.0f us", seconds * 1e6);
  } else if (seconds < 1) {
    std::snprintf(text, sizeof text, "%.2f ms", seconds * 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.2f s", seconds);
  }
  return text;
}

std::string Count(uint64_t value) {
  const std::string digits = std::to_string(value);
  std::string text;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) text.push_back(',');
    text.push_back(digits[i]);
  }
  return text;
}

std::string Percent(double share) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f%%", 100.0 * share);
  return text;
}

std::vector<CurvePoint> CurveOf(const FilterReport& report, size_t filter) {
  std::vector<CurvePoint> curve;
  for (const FilterSweepRow& row : report.rows) {
    if (row.filter == filter) curve.push_back({row.recall, row.qps});
  }
  return curve;
}

const FilterSweepRow* RowAt(const FilterReport& report, size_t filter, size_t ef) {
  for (const FilterSweepRow& row : report.rows) {
    if (row.filter == filter && row.ef == ef) return &row;
  }
  return nullptr;
}

// The fastest row of `filter` with recall >= target; when none reaches it, its highest-recall row
// (and *reached = false).
const FilterSweepRow* OperatingPoint(const FilterReport& report, size_t filter, bool* reached) {
  const FilterSweepRow* best = nullptr;
  const FilterSweepRow* highest = nullptr;
  for (const FilterSweepRow& row : report.rows) {
    if (row.filter != filter) continue;
    if (row.recall >= report.target_recall && (best == nullptr || row.qps > best->qps)) best = &row;
    if (highest == nullptr || row.recall > highest->recall) highest = &row;
  }
  *reached = best != nullptr;
  return best != nullptr ? best : highest;
}

std::string Ratio(std::optional<double> numerator, std::optional<double> denominator, bool lower_bound = false) {
  if (!numerator || !denominator || *denominator <= 0) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%s%.2fx", lower_bound ? ">" : "", *numerator / *denominator);
  return text;
}

// The unfiltered QPS at `recall`. Beyond the unfiltered curve's best recall: the QPS of that best
// point, a bound (reaching the higher recall would be slower still), flagged in *bound.
std::optional<double> UnfilteredQpsAt(const FilterReport& report, double recall, bool* bound) {
  const std::vector<CurvePoint> curve = CurveOf(report, 0);
  *bound = false;
  if (std::optional<double> qps = CurveQpsAtRecall(curve, recall)) return qps;
  const auto best = std::max_element(curve.begin(), curve.end(),
                                     [](const CurvePoint& a, const CurvePoint& b) { return a.recall < b.recall; });
  if (best == curve.end()) return std::nullopt;
  *bound = true;
  return best->qps;
}

const char* Verdict(bool pass) { return pass ? "PASS" : "FAIL"; }

}  // namespace

void PrintFilterTables(const FilterReport& report) {
  for (size_t f = 0; f < report.filters.size(); ++f) {
    const BenchFilter& filter = *report.filters[f];
    std::printf("\nfilter %s: %s; %s of %s points match (%s)\n", filter.name.c_str(), filter.description.c_str(),
                Count(report.matches[f]).c_str(), Count(report.points).c_str(),
                Percent(static_cast<double>(report.matches[f]) / report.points).c_str());
    std::printf("  %5s %10s %11s %10s %10s %10s %15s %11s %10s\n", "ef", ("recall@" + std::to_string(report.k)).c_str(),
                "QPS", "mean lat", "p99 lat", "max lat", "QPS/unf@recall", "p99/unf@ef", "violations");
    for (const FilterSweepRow& row : report.rows) {
      if (row.filter != f) continue;
      const FilterSweepRow* base = RowAt(report, 0, row.ef);
      bool bound = false;
      const std::optional<double> unfiltered = UnfilteredQpsAt(report, row.recall, &bound);
      std::printf("  %5zu %10.4f %11.1f %10s %10s %10s %15s %11s %10s%s\n", row.ef, row.recall, row.qps,
                  Latency(row.mean_s).c_str(), Latency(row.p99_s).c_str(), Latency(row.max_s).c_str(),
                  Ratio(row.qps, unfiltered, bound).c_str(),
                  Ratio(row.p99_s, base ? std::optional<double>(base->p99_s) : std::nullopt).c_str(),
                  Count(row.violations).c_str(),
                  row.queries < report.queries
                      ? ("  (" + Count(row.queries) + " of " + Count(report.queries) + " queries: time budget)").c_str()
                      : "");
    }
  }
  std::printf("\nQPS/unf@recall = QPS over the unfiltered QPS at the recall this row reached (interpolated between ef "
              "points; '>' = beyond the unfiltered sweep's best recall, compared with that point, so a lower bound); "
              "p99/unf@ef = p99 latency over the unfiltered p99 at the same ef\n");
}

void PrintFilterSummary(const FilterReport& report) {
  const double target = report.target_recall;
  const std::optional<double> unfiltered_qps = CurveQpsAtRecall(CurveOf(report, 0), target);
  bool unfiltered_reached = false;
  const FilterSweepRow* unfiltered_op = OperatingPoint(report, 0, &unfiltered_reached);
  char at[16];
  std::snprintf(at, sizeof at, "QPS@%.2f", target);
  std::printf("\nsummary: %s points, k=%zu, %s queries, %zu search thread(s), payload indexes %s; op = the fastest ef "
              "with recall@%zu >= %.2f ('*': none reaches it, then the highest-recall ef)\n",
              Count(report.points).c_str(), report.k, Count(report.queries).c_str(), report.threads,
              report.payload_index ? "on" : "off", report.k, target);
  std::printf("  %-8s %9s %11s %10s %7s %6s %10s %10s %7s %10s %7s\n", "filter", "share", "best recall", at, "/unf",
              "op ef", "op recall", "mean lat", "/unf", "p99 lat", "/unf");
  double worst_recall = 2, worst_mean = 0, worst_p99 = 0, worst_max = 0;
  std::string worst_recall_name, worst_mean_name, worst_p99_name, one_percent;
  bool one_percent_pass = true;
  for (size_t f = 0; f < report.filters.size(); ++f) {
    const BenchFilter& filter = *report.filters[f];
    double best_recall = 0;
    for (const FilterSweepRow& row : report.rows) {
      if (row.filter == f) best_recall = std::max(best_recall, row.recall);
    }
    if (best_recall < worst_recall) worst_recall = best_recall, worst_recall_name = filter.name;
    const std::optional<double> qps = CurveQpsAtRecall(CurveOf(report, f), target);
    bool reached = false;
    const FilterSweepRow* op = OperatingPoint(report, f, &reached);
    const double mean_ratio = op->mean_s / unfiltered_op->mean_s;
    const double p99_ratio = op->p99_s / unfiltered_op->p99_s;
    std::printf("  %-8s %9s %11.4f %10s %7s %5zu%s %10.4f %10s %6.2fx %10s %6.2fx\n", filter.name.c_str(),
                Percent(static_cast<double>(report.matches[f]) / report.points).c_str(), best_recall,
                qps ? std::to_string(std::llround(*qps)).c_str() : "-", Ratio(qps, unfiltered_qps).c_str(), op->ef,
                reached ? " " : "*", op->recall, Latency(op->mean_s).c_str(), mean_ratio, Latency(op->p99_s).c_str(),
                p99_ratio);
    if (f == 0) continue;
    if (filter.nominal == 0.01) {
      one_percent_pass = one_percent_pass && qps && unfiltered_qps && *qps >= 0.5 * *unfiltered_qps;
      one_percent += (one_percent.empty() ? "" : ", ") + filter.name + " " + Ratio(qps, unfiltered_qps);
    }
    if (mean_ratio > worst_mean) worst_mean = mean_ratio, worst_mean_name = filter.name;
    if (p99_ratio > worst_p99) worst_p99 = p99_ratio, worst_p99_name = filter.name;
    worst_max = std::max(worst_max, op->max_s / unfiltered_op->max_s);
  }
  std::printf("\ntarget 1 [%s] recall@%zu >= %.2f reachable at every selectivity: lowest best recall %.4f (%s)\n",
              Verdict(worst_recall >= target), report.k, target, worst_recall, worst_recall_name.c_str());
  if (one_percent.empty()) {
    std::printf("target 2 [n/a ] QPS at 1%% >= 0.5x unfiltered at recall %.2f: no 1%% filter measured\n", target);
  } else {
    std::printf("target 2 [%s] QPS at 1%% >= 0.5x unfiltered at recall %.2f (both interpolated at it): %s\n",
                Verdict(one_percent_pass), target, one_percent.c_str());
  }
  if (report.filters.size() > 1) {
    std::printf("target 3 [%s] no filtered query slower than 10x unfiltered (at the ops): worst mean latency %.2fx "
                "(%s), worst p99 %.2fx (%s); worst max %.2fx (not judged: a single query)\n",
                Verdict(worst_mean <= 10 && worst_p99 <= 10), worst_mean,
                worst_mean_name.c_str(), worst_p99, worst_p99_name.c_str(), worst_max);
  }
}

Status WriteFilterCsv(const FilterReport& report, const std::string& path) {
  std::ofstream file(path);
  if (!file) return Status::IOError(path + ": cannot open for writing");
  file << "filter,description,nominal,selectivity,matches,ef,k,queries,recall,qps,mean_latency_s,p99_latency_s,"
          "max_latency_s,threads,payload_index,violations,qps_over_unfiltered_at_recall\n";
  for (const FilterSweepRow& row : report.rows) {
    const BenchFilter& filter = *report.filters[row.filter];
    const std::optional<double> base = CurveQpsAtRecall(CurveOf(report, 0), row.recall);
    char line[512];
    std::snprintf(line, sizeof line, "%s,\"%s\",%g,%.6f,%llu,%zu,%zu,%zu,%.6f,%.3f,%.9f,%.9f,%.9f,%zu,%d,%llu,%s\n",
                  filter.name.c_str(), filter.description.c_str(), filter.nominal,
                  static_cast<double>(report.matches[row.filter]) / report.points,
                  static_cast<unsigned long long>(report.matches[row.filter]), row.ef, report.k, row.queries,
                  row.recall, row.qps, row.mean_s, row.p99_s, row.max_s, report.threads, report.payload_index ? 1 : 0,
                  static_cast<unsigned long long>(row.violations),
                  base && *base > 0 ? std::to_string(row.qps / *base).c_str() : "");
    file << line;
  }
  file.close();
  if (!file) return Status::IOError(path + ": write failed");
  return Status::Ok();
}

}  // namespace vecdex::bench
