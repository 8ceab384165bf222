// Distance kernel micro-benchmarks: every supported ISA x kernel x dimension, on data that sits
// in L1 (plus the batch forms over 256 rows, the shape of a flat scan block).
//
// items/s counts vector components processed; "GFLOP/s" counts 2 flops per component for l2 and
// dot and 6 for cosine (float kernels only). After the Google Benchmark run, main re-measures
// the f32 l2/dot kernels at dim 768 with a plain timed loop and prints them against the measured
// single-core AVX2 FMA peak, so the target "AVX2 f32 kernels reach >= 50% of FMA peak at dim 768
// in L1" can be read off one line per kernel.
//
// Usage: kernel_bench [--benchmark_filter=REGEX] [other Google Benchmark flags]
//        e.g. --benchmark_filter='avx2/.*f32.*/768'
#include <benchmark/benchmark.h>

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "simd/kernels.h"
#include "simd/quantize.h"

double MeasureFmaPeakGflopsAvx2();  // bench/fma_peak_avx2.cc

namespace vecdex::simd {
namespace {

constexpr int64_t kDims[] = {96, 128, 384, 768, 1536};
constexpr int64_t kScanRows = 256;
// Bytes of rows for the "in L1" batch variant: with the query, under a 32 KB L1D.
constexpr size_t kL1Budget = 24 * 1024;

// Rows of `d` floats that fit kL1Budget, rounded down to whole groups of 4 (at least one group).
int64_t L1Rows(int64_t d) {
  const int64_t rows = static_cast<int64_t>(kL1Budget / sizeof(float)) / d / 4 * 4;
  return std::max<int64_t>(4, rows);
}

// A 64-byte aligned array (rows in an index are aligned; this is the common case to measure).
template <class T>
class AlignedArray {
 public:
  explicit AlignedArray(size_t n)
      : data_(static_cast<T*>(::operator new(n * sizeof(T) + 64, std::align_val_t{64}))), size_(n) {}
  ~AlignedArray() { ::operator delete(data_, std::align_val_t{64}); }
  AlignedArray(const AlignedArray&) = delete;
  AlignedArray& operator=(const AlignedArray&) = delete;
  T* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  T* data_;
  size_t size_;
};

// One set of inputs in every storage format.
struct Inputs {
  explicit Inputs(size_t n) : f32(n), f16(n), i8(n) {
    std::mt19937_64 rng(n);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> codes(-127, 127);
    for (size_t i = 0; i < n; ++i) {
      f32.data()[i] = normal(rng);
      f16.data()[i] = FloatToHalf(f32.data()[i]);
      i8.data()[i] = static_cast<int8_t>(codes(rng));
    }
  }
  AlignedArray<float> f32;
  AlignedArray<Half> f16;
  AlignedArray<int8_t> i8;
};

enum class Op { kL2, kDot, kCosine };
enum class Format { kF32, kF16, kI8 };

const char* OpName(Op op) { return op == Op::kL2 ? "l2" : op == Op::kDot ? "dot" : "cosine"; }
const char* FormatName(Format f) { return f == Format::kF32 ? "f32" : f == Format::kF16 ? "f16" : "i8"; }
double FlopsPerComponent(Op op) { return op == Op::kCosine ? 6.0 : 2.0; }

void SetCounters(benchmark::State& state, Op op, Format format, double components_per_call) {
  const double components = components_per_call * static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(components));
  if (format != Format::kI8) {
    state.counters["GFLOP/s"] =
        benchmark::Counter(components * FlopsPerComponent(op) / 1e9, benchmark::Counter::kIsRate);
  }
}

void BenchPair(benchmark::State& state, const KernelTable* table, Op op, Format format) {
  const size_t d = static_cast<size_t>(state.range(0));
  const Inputs a(d), b(d);
  float result = 0;
  switch (format) {
    case Format::kF32: {
      const F32Pair f = op == Op::kL2 ? table->l2_f32 : op == Op::kDot ? table->dot_f32 : table->cosine_f32;
      for (auto _ : state) {
        result = f(a.f32.data(), b.f32.data(), d);
        benchmark::DoNotOptimize(result);
      }
      break;
    }
    case Format::kF16: {
      const F16Pair f = op == Op::kL2 ? table->l2_f16 : op == Op::kDot ? table->dot_f16 : table->cosine_f16;
      for (auto _ : state) {
        result = f(a.f32.data(), b.f16.data(), d);
        benchmark::DoNotOptimize(result);
      }
      break;
    }
    case Format::kI8: {
      const I8Pair f = op == Op::kL2 ? table->l2_i8 : op == Op::kDot ? table->dot_i8 : table->cosine_i8;
      for (auto _ : state) {
        result = f(a.i8.data(), b.i8.data(), d);
        benchmark::DoNotOptimize(result);
      }
      break;
    }
  }
  SetCounters(state, op, format, static_cast<double>(d));
}

void BenchBatchF32(benchmark::State& state, const KernelTable* table, Op op) {
  const size_t d = static_cast<size_t>(state.range(0));
  const size_t rows = static_cast<size_t>(state.range(1));
  const Inputs q(d), base(rows * d);
  std::vector<float> out(rows);
  const F32Batch f = op == Op::kL2    ? table->l2_f32_batch
                     : op == Op::kDot ? table->dot_f32_batch
                                      : table->cosine_f32_batch;
  for (auto _ : state) {
    f(q.f32.data(), base.f32.data(), d, rows, d, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, op, Format::kF32, static_cast<double>(d * rows));
}

void RegisterAll() {
  for (Isa isa : SupportedIsas()) {
    const KernelTable* table = KernelsFor(isa);
    const std::string prefix = std::string(IsaName(isa)) + "/";
    for (Format format : {Format::kF32, Format::kF16, Format::kI8}) {
      for (Op op : {Op::kL2, Op::kDot, Op::kCosine}) {
        const std::string name = prefix + OpName(op) + "_" + FormatName(format);
        auto* b = benchmark::RegisterBenchmark(name.c_str(), BenchPair, table, op, format);
        for (int64_t d : kDims) b->Arg(d);
        b->ArgName("dim")->MinTime(0.1);
      }
    }
    for (Op op : {Op::kL2, Op::kDot, Op::kCosine}) {
      const std::string name = prefix + OpName(op) + "_f32_batch";
      auto* b = benchmark::RegisterBenchmark(name.c_str(), BenchBatchF32, table, op);
      for (int64_t d : kDims) {
        b->Args({d, L1Rows(d)});
        b->Args({d, kScanRows});
      }
      b->ArgNames({"dim", "rows"})->MinTime(0.1);
    }
  }
}

// Thread CPU time: the machine may be shared, and wall time would charge other processes' time
// slices to the kernel (Google Benchmark reports both; its "CPU" column is the comparable one).
double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Best-of-5 throughput of one f32 kernel in GFLOP/s, by a plain timed loop (~0.1 s per run).
double TimedGflops(const KernelTable& table, Op op, size_t d, size_t rows) {
  const Inputs q(d), base(rows * d);
  std::vector<float> out(rows);
  const F32Pair pair = op == Op::kL2 ? table.l2_f32 : table.dot_f32;
  const F32Batch batch = op == Op::kL2 ? table.l2_f32_batch : table.dot_f32_batch;
  auto run = [&](int64_t calls) {
    float sink = 0;
    for (int64_t i = 0; i < calls; ++i) {
      if (rows == 1) {
        sink += pair(q.f32.data(), base.f32.data(), d);
      } else {
        batch(q.f32.data(), base.f32.data(), d, rows, d, out.data());
        sink += out[0];
      }
    }
    benchmark::DoNotOptimize(sink);
  };
  int64_t calls = 1000;
  for (;;) {
    const double start = CpuSeconds();
    run(calls);
    if (CpuSeconds() - start > 0.02) break;
    calls *= 2;
  }
  calls *= 5;
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const double start = CpuSeconds();
    run(calls);
    const double seconds = CpuSeconds() - start;
    best = std::max(best, FlopsPerComponent(op) * static_cast<double>(d * rows * calls) / seconds / 1e9);
  }
  return best;
}

void PrintSummary() {
  if (KernelsFor(Isa::kAvx2) == nullptr) {
    std::printf("\nsummary: no AVX2+FMA on this CPU, FMA peak not measured\n");
    return;
  }
  constexpr size_t d = 768;
  const size_t l1_rows = static_cast<size_t>(L1Rows(static_cast<int64_t>(d)));
  struct Line {
    std::string label;
    double gflops;
  };
  std::vector<Line> lines;
  // The peak is measured before and after the kernels (best of both), so one busy moment on a
  // shared machine cannot deflate it and flatter the percentages.
  double peak = MeasureFmaPeakGflopsAvx2();
  for (Isa isa : SupportedIsas()) {
    const KernelTable& table = *KernelsFor(isa);
    const std::string name(IsaName(isa));
    for (Op op : {Op::kL2, Op::kDot}) {
      lines.push_back({name + " " + OpName(op) + "_f32 dim=" + std::to_string(d),
                       TimedGflops(table, op, d, 1)});
    }
    for (Op op : {Op::kL2, Op::kDot}) {
      lines.push_back({name + " " + OpName(op) + "_f32_batch dim=" + std::to_string(d) +
                           " rows=" + std::to_string(l1_rows),
                       TimedGflops(table, op, d, l1_rows)});
    }
  }
  peak = std::max(peak, MeasureFmaPeakGflopsAvx2());
  std::printf("\nsummary (data in L1, best of 5, thread CPU time; peak = 256-bit FMA, 1 core):\n");
  for (const Line& line : lines) {
    std::printf("%s: %.1f GFLOP/s = %.0f%% of FMA peak %.1f GFLOP/s\n", line.label.c_str(), line.gflops,
                100 * line.gflops / peak, peak);
  }
}

}  // namespace
}  // namespace vecdex::simd

int main(int argc, char** argv) {
  vecdex::simd::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  vecdex::simd::PrintSummary();
  return 0;
}
