#include "bench_command.h"

#include <iostream>
#include <memory>

#include "ann/ann_bench.h"
#include "vecdex/types.h"

namespace vecdex::cli {
namespace {

struct BenchArgs {
  bench::BenchOptions options;
  std::string synthetic;  // N,DIM,QUERIES
  std::string metric = "l2";
  std::string ef;         // 10,20,40
  std::string filter_selectivity;  // 0.001,0.01
};

Status Finish(BenchArgs& args) {
  bench::BenchOptions& o = args.options;
  if (!args.synthetic.empty()) {
    VECDEX_ASSIGN_OR_RETURN(std::vector<size_t> parts, bench::ParseSizeList(args.synthetic));
    if (parts.size() != 3 || parts[0] == 0 || parts[1] == 0 || parts[2] == 0) {
      return Status::InvalidArgument("--synthetic wants N,DIM,QUERIES (all positive), got '" + args.synthetic + "'");
    }
    o.synthetic_rows = parts[0];
    o.synthetic_dim = parts[1];
    o.synthetic_queries = parts[2];
  }
  const auto metric = ParseMetric(args.metric);
  if (!metric) return Status::InvalidArgument("--metric must be l2, ip or cosine, not '" + args.metric + "'");
  o.index.metric = *metric;
  if (!args.ef.empty()) {
    VECDEX_ASSIGN_OR_RETURN(o.ef, bench::ParseSizeList(args.ef));
  }
  if (!args.filter_selectivity.empty()) {
    VECDEX_ASSIGN_OR_RETURN(o.filter_selectivity, bench::ParseShareList(args.filter_selectivity));
  }
  if (o.churn_fraction < 0 || o.churn_fraction >= 1) {
    return Status::InvalidArgument("--churn wants a share in [0, 1)");
  }
  return Status::Ok();
}

}  // namespace

void AddBenchCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<BenchArgs>();
  bench::BenchOptions& o = args->options;
  CLI::App* cmd = app.add_subcommand(
      "bench", "Measure recall@k, QPS, build time and memory against exact ground truth, next to peer libraries");
  cmd->add_option("--base", o.base_path, "Base vectors (.fvecs, .bvecs or .npy float32)");
  cmd->add_option("--query", o.query_path, "Query vectors (same formats)");
  cmd->add_option("--gt", o.gt_path, "Exact neighbour ids (.ivecs); computed with the flat index when absent");
  cmd->add_option("--max-base", o.max_base_rows, "Use only the first N base vectors (ground truth is then computed)");
  cmd->add_option("--max-queries", o.max_queries, "Use only the first N queries");
  cmd->add_option("--synthetic", args->synthetic, "Generate clustered Gaussian data instead: N,DIM,QUERIES");
  cmd->add_option("--clusters", o.clusters, "Clusters of the synthetic data")->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of the synthetic data and the index RNG")->capture_default_str();
  cmd->add_option("--metric", args->metric, "l2, ip or cosine")->capture_default_str();
  cmd->add_option("--index", o.index.kind, "Index kind: flat, hnsw")->capture_default_str();
  cmd->add_option("--storage", o.index.storage, "Vector storage: f32, f16, int8")->capture_default_str();
  cmd->add_flag("--rerank", o.index.rerank, "Quantized storage: re-rank final candidates with float32");
  cmd->add_option("--m", o.index.m, "HNSW: links per node (2M on layer 0)")->capture_default_str();
  cmd->add_option("--ef-construction", o.index.ef_construction, "HNSW: beam width while building")
      ->capture_default_str();
  cmd->add_option("--patience", o.index.patience,
                  "vecdex HNSW: stop a query once its k nearest have not changed for this percent of ef "
                  "expansions (0 = off)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{1000}));
  cmd->add_option("--slack", o.index.slack,
                  "vecdex HNSW: stop a query once its nearest unexpanded candidate is this percent farther "
                  "(squared distance) than its k-th nearest (0 = off; caps the recall any ef reaches)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{0}, size_t{1000}));
  cmd->add_option("--ef", args->ef, "HNSW: search beam widths to sweep, e.g. 10,20,40,80");
  cmd->add_option("--k", o.k, "Neighbours per query")->capture_default_str();
  cmd->add_option("--threads", o.threads, "Threads for the multi-thread figures (0 = all cores)")
      ->capture_default_str();
  cmd->add_option("--peer", o.peers, "Peer library to run on the same data in the same process (faiss, hnswlib)");
  cmd->add_option("--csv", o.csv_path, "Write one CSV row per measured point");
  cmd->add_option("--filter-selectivity", args->filter_selectivity,
                  "vecdex: also sweep filtered searches admitting these shares of the points, e.g. 0.001,0.01,0.1");
  cmd->add_option("--churn", o.churn_fraction,
                  "vecdex: delete this share of the points, measure, re-insert, measure (e.g. 0.3)");
  cmd->add_option("--max-1t-seconds", o.max_single_thread_seconds,
                  "Time budget of the single-thread loop per point")
      ->capture_default_str();
  cmd->add_option("--rounds", o.rounds,
                  "Single-thread slices per point and library, libraries in turn; the best slice counts")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{100}));
  cmd->callback([args, exit_code] {
    Status status = Finish(*args);
    if (status.ok()) status = bench::RunAnnBench(args->options, std::cout);
    if (!status.ok()) {
      std::cerr << "vecdex bench: " << status.ToString() << "\n";
      *exit_code = 1;
    }
  });
}

}  // namespace vecdex::cli
