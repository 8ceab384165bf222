#include "ann/filter_bench.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "io/npy_io.h"
#include "io/synthetic.h"
#include "io/vecs_io.h"

namespace vecdex::bench {

uint64_t HashWord(std::string_view word, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ull ^ (seed * 0x9E3779B97F4A7C15ull);
  for (const char c : word) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

namespace {

// The label column of the first `rows` lines of a "id\tsource_row\tlabel" file; ids must be 0, 1,
// 2, ... in order (they are the base row numbers).
Result<std::vector<std::string>> ReadWords(const std::string& path, size_t rows) {
  std::ifstream file(path);
  if (!file) return Status::IOError(path + ": cannot open");
  std::string line;
  if (!std::getline(file, line) || line.rfind("id\t", 0) != 0) {
    return Status::InvalidArgument(path + ": expected a header line \"id\\tsource_row\\tlabel\"");
  }
  std::vector<std::string> words;
  words.reserve(rows);
  while (words.size() < rows && std::getline(file, line)) {
    const size_t first_tab = line.find('\t');
    const size_t second_tab = first_tab == std::string::npos ? first_tab : line.find('\t', first_tab + 1);
    if (second_tab == std::string::npos || line.substr(0, first_tab) != std::to_string(words.size())) {
      return Status::InvalidArgument(path + ":" + std::to_string(words.size() + 2) + ": expected \"" +
                                     std::to_string(words.size()) + "\\t<source_row>\\t<label>\"");
    }
    words.push_back(line.substr(second_tab + 1));
  }
  if (words.size() < rows) {
    return Status::InvalidArgument(path + ": " + std::to_string(words.size()) + " labels for " +
                                   std::to_string(rows) + " base vectors");
  }
  return words;
}

Result<io::FloatDataset> ReadVectors(const std::string& path, size_t max_rows) {
  const std::string extension = std::filesystem::path(path).extension().string();
  if (extension == ".fvecs") return io::ReadFvecs(path, max_rows);
  if (extension == ".bvecs") return io::ReadBvecs(path, max_rows);
  if (extension == ".npy") return io::ReadNpy(path, max_rows);
  return Status::InvalidArgument(path + ": unknown vector file type '" + extension +
                                 "' (expected .fvecs, .bvecs or .npy)");
}

}  // namespace

Result<LabelledData> LoadLabelledData(const LabelledDataSpec& spec) {
  LabelledData data;
  if (spec.synthetic_rows > 0) {
    io::SyntheticSpec synthetic;
    synthetic.rows = spec.limit != 0 ? std::min(spec.limit, spec.synthetic_rows) : spec.synthetic_rows;
    synthetic.dim = spec.synthetic_dim;
    synthetic.seed = spec.seed;
    VECDEX_ASSIGN_OR_RETURN(io::SyntheticPair pair, io::GenerateClusteredGaussianPair(synthetic, spec.queries));
    data.base = std::move(pair.base);
    data.queries = std::move(pair.queries);
    data.words.reserve(data.base.rows);
    for (size_t i = 0; i < data.base.rows; ++i) {
      std::string word = "w";  // (not "w" + ...: GCC 12 warns falsely about that)
      word += std::to_string(i);
      data.words.push_back(std::move(word));
    }
    data.name = "synthetic " + std::to_string(synthetic.rows) + " x " + std::to_string(synthetic.dim) + " (seed " +
                std::to_string(spec.seed) + ")";
    return data;
  }
  if (spec.base_path.empty() || spec.query_path.empty() || spec.meta_path.empty()) {
    return Status::InvalidArgument("give base, query and label files, or a synthetic size");
  }
  VECDEX_ASSIGN_OR_RETURN(data.base, ReadVectors(spec.base_path, spec.limit));
  VECDEX_ASSIGN_OR_RETURN(data.queries, ReadVectors(spec.query_path, spec.queries));
  if (data.base.dim != data.queries.dim) {
    return Status::InvalidArgument(spec.query_path + ": dimension " + std::to_string(data.queries.dim) + ", but " +
                                   spec.base_path + " has " + std::to_string(data.base.dim));
  }
  VECDEX_ASSIGN_OR_RETURN(data.words, ReadWords(spec.meta_path, data.base.rows));
  data.name = spec.base_path;
  return data;
}

WordLabels LabelsOfWord(std::string_view word) {
  WordLabels labels;
  labels.b1000 = static_cast<uint16_t>(HashWord(word, 1) % 1000);
  labels.b100 = static_cast<uint16_t>(HashWord(word, 2) % 100);
  labels.b10 = static_cast<uint16_t>(HashWord(word, 3) % 10);
  labels.b2 = static_cast<uint16_t>(HashWord(word, 4) % 2);
  labels.tag = static_cast<uint16_t>(HashWord(word, 5) % 20);
  return labels;
}

std::string PayloadJsonOf(std::string_view word, const WordLabels& labels) {
  nlohmann::json payload = nlohmann::json::object();
  payload["word"] = std::string(word);
  payload["b1000"] = labels.b1000;
  payload["b100"] = labels.b100;
  payload["b10"] = labels.b10;
  payload["b2"] = labels.b2;
  std::string tag = "t";
  tag += std::to_string(labels.tag);
  payload["tag"] = tag;
  return payload.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const std::vector<BenchFilter>& StandardBenchFilters() {
  static const std::vector<BenchFilter> filters = {
      {"none", "no filter", 1.0, "", [](const WordLabels&) { return true; }},
      {"b1000", "b1000 == 0", 0.001, R"({"must":[{"key":"b1000","match":{"value":0}}]})",
       [](const WordLabels& l) { return l.b1000 == 0; }},
      {"b100", "b100 == 0", 0.01, R"({"must":[{"key":"b100","match":{"value":0}}]})",
       [](const WordLabels& l) { return l.b100 == 0; }},
      {"b10", "b10 == 0", 0.1, R"({"must":[{"key":"b10","match":{"value":0}}]})",
       [](const WordLabels& l) { return l.b10 == 0; }},
      {"b2", "b2 == 0", 0.5, R"({"must":[{"key":"b2","match":{"value":0}}]})",
       [](const WordLabels& l) { return l.b2 == 0; }},
      {"b10+tag", "b10 == 0 AND tag in {t0,t1}", 0.01,
       R"({"must":[{"key":"b10","match":{"value":0}},{"key":"tag","match":{"any":["t0","t1"]}}]})",
       [](const WordLabels& l) { return l.b10 == 0 && l.tag <= 1; }},
      {"b2+b100", "b2 == 0 AND b100 < 10", 0.05,
       R"({"must":[{"key":"b2","match":{"value":0}},{"key":"b100","range":{"lt":10}}]})",
       [](const WordLabels& l) { return l.b2 == 0 && l.b100 < 10; }},
  };
  return filters;
}

namespace {

// Queries per work unit: each streams the base once, so the base is read from memory
// rows / kQueryBlock times instead of once per query.
constexpr size_t kQueryBlock = 16;

// Row `row` of `m` in double; cosine rows normalised (a zero row stays zero).
void RowToDouble(MatrixView m, size_t row, bool normalise, double* out) {
  const float* x = m.row(row);
  double norm = 0;
  for (size_t j = 0; j < m.dim; ++j) {
    out[j] = x[j];
    norm += out[j] * out[j];
  }
  if (!normalise) return;
  const double scale = norm > 0 ? 1.0 / std::sqrt(norm) : 0.0;
  for (size_t j = 0; j < m.dim; ++j) out[j] *= scale;
}

// Four independent sums keep the adds from waiting on each other.
double Dot(const double* a, const double* b, size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    s0 += a[j] * b[j];
    s1 += a[j + 1] * b[j + 1];
    s2 += a[j + 2] * b[j + 2];
    s3 += a[j + 3] * b[j + 3];
  }
  for (; j < n; ++j) s0 += a[j] * b[j];
  return (s0 + s1) + (s2 + s3);
}

double SquaredL2(const double* a, const double* b, size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const double d0 = a[j] - b[j], d1 = a[j + 1] - b[j + 1], d2 = a[j + 2] - b[j + 2], d3 = a[j + 3] - b[j + 3];
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; j < n; ++j) s0 += (a[j] - b[j]) * (a[j] - b[j]);
  return (s0 + s1) + (s2 + s3);
}

using Candidate = std::pair<double, uint32_t>;  // (distance, row): pairs order by distance, then row

// Keeps the k smallest candidates in a max-heap.
void Offer(std::vector<Candidate>& heap, size_t k, Candidate c) {
  if (heap.size() < k) {
    heap.push_back(c);
    std::push_heap(heap.begin(), heap.end());
  } else if (c < heap.front()) {
    std::pop_heap(heap.begin(), heap.end());
    heap.back() = c;
    std::push_heap(heap.begin(), heap.end());
  }
}

// Fills truth[f][q] for the queries [first, last).
void SolveBlock(MatrixView base, MatrixView queries, Metric metric, std::span<const uint32_t> masks,
                size_t num_filters, size_t k, size_t first, size_t last, FilteredTruth* truth) {
  const size_t dim = base.dim;
  const bool cosine = metric == Metric::kCosine;
  const size_t count = last - first;
  std::vector<double> q(count * dim);
  for (size_t i = 0; i < count; ++i) RowToDouble(queries, first + i, cosine, q.data() + i * dim);
  std::vector<double> x(dim);
  std::vector<double> distance(count);
  std::vector<std::vector<Candidate>> heaps(count * num_filters);  // [query][filter]
  for (auto& heap : heaps) heap.reserve(k);
  for (size_t row = 0; row < base.rows; ++row) {
    const uint32_t mask = masks[row];
    if (mask == 0) continue;
    RowToDouble(base, row, cosine, x.data());
    for (size_t i = 0; i < count; ++i) {
      const double* qi = q.data() + i * dim;
      switch (metric) {
        case Metric::kCosine:
          distance[i] = 1.0 - Dot(qi, x.data(), dim);
          break;
        case Metric::kInnerProduct:
          distance[i] = -Dot(qi, x.data(), dim);
          break;
        case Metric::kL2:
          distance[i] = SquaredL2(qi, x.data(), dim);
          break;
      }
    }
    for (uint32_t bits = mask; bits != 0; bits &= bits - 1) {
      const size_t f = static_cast<size_t>(std::countr_zero(bits));
      for (size_t i = 0; i < count; ++i) {
        Offer(heaps[i * num_filters + f], k, {distance[i], static_cast<uint32_t>(row)});
      }
    }
  }
  for (size_t i = 0; i < count; ++i) {
    for (size_t f = 0; f < num_filters; ++f) {
      std::vector<Candidate>& heap = heaps[i * num_filters + f];
      std::sort(heap.begin(), heap.end());
      std::vector<uint32_t>& ids = (*truth)[f][first + i];
      ids.clear();
      for (const Candidate& c : heap) ids.push_back(c.second);
    }
  }
}

}  // namespace

Result<FilteredTruth> ExactFilteredTopK(MatrixView base, MatrixView queries, Metric metric,
                                        std::span<const uint32_t> masks, size_t num_filters, size_t k,
                                        size_t threads) {
  if (base.dim != queries.dim) return Status::InvalidArgument("ground truth: base and queries differ in dimension");
  if (masks.size() != base.rows) return Status::InvalidArgument("ground truth: one mask per base row expected");
  if (num_filters == 0 || num_filters > 32) return Status::InvalidArgument("ground truth: 1 to 32 filters");
  if (k == 0) return Status::InvalidArgument("ground truth: k must be positive");
  if (base.rows > UINT32_MAX) return Status::InvalidArgument("ground truth: more than 2^32 base rows");
  FilteredTruth truth(num_filters, std::vector<std::vector<uint32_t>>(queries.rows));
  const size_t blocks = (queries.rows + kQueryBlock - 1) / kQueryBlock;
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t b = next.fetch_add(1); b < blocks; b = next.fetch_add(1)) {
      const size_t first = b * kQueryBlock;
      SolveBlock(base, queries, metric, masks, num_filters, k, first, std::min(queries.rows, first + kQueryBlock),
                 &truth);
    }
  };
  std::vector<std::thread> workers;
  for (size_t t = 1; t < std::max<size_t>(1, threads); ++t) workers.emplace_back(work);
  work();
  for (std::thread& worker : workers) worker.join();
  return truth;
}

std::optional<double> CurveQpsAtRecall(std::span<const CurvePoint> curve, double recall) {
  const CurvePoint* above = nullptr;  // the fastest point at or above `recall`
  const CurvePoint* below = nullptr;  // the point with the highest recall under it
  for (const CurvePoint& p : curve) {
    if (p.recall >= recall) {
      if (above == nullptr || p.qps > above->qps) above = &p;
    } else if (below == nullptr || p.recall > below->recall) {
      below = &p;
    }
  }
  if (above == nullptr) return std::nullopt;
  if (below == nullptr || below->qps <= above->qps || above->recall <= below->recall) return above->qps;
  const double t = (recall - below->recall) / (above->recall - below->recall);
  return below->qps + t * (above->qps - below->qps);
}

}  // namespace vecdex::bench
