// Single-core FMA peak with 256-bit registers: the yardstick kernel_bench reports the AVX2 f32
// kernels against. Compiled with -mavx2 -mfma; call only when the CPU supports them.
//
// Twelve independent accumulator chains: an FMA has 4-5 cycles of latency and modern cores
// issue two per cycle, so at least 8-10 chains are needed to keep both units busy every cycle.
// Only C functions are used here (no std:: templates): an inline template instantiated in this
// AVX2-compiled file could be picked by the linker for the rest of the program.
#include <immintrin.h>
#include <time.h>

#include <cstdint>

namespace {

constexpr int kChains = 12;
constexpr double kFlopsPerIteration = kChains * 8 * 2;  // chains x lanes x (mul + add)

// CPU time of this thread, not wall time: on a shared machine another process on the same core
// would otherwise be counted against the FMA units.
double NowSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Runs `iterations` rounds of kChains independent FMAs; returns a value that depends on all of
// them so the compiler cannot drop any.
__attribute__((noinline)) float FmaChains(int64_t iterations) {
  // acc = acc * m + a converges to a / (1 - m) = 1: the values stay normal forever.
  const __m256 m = _mm256_set1_ps(0.999f), a = _mm256_set1_ps(0.001f);
  __m256 c0 = _mm256_set1_ps(0.1f), c1 = _mm256_set1_ps(0.2f), c2 = _mm256_set1_ps(0.3f);
  __m256 c3 = _mm256_set1_ps(0.4f), c4 = _mm256_set1_ps(0.5f), c5 = _mm256_set1_ps(0.6f);
  __m256 c6 = _mm256_set1_ps(0.7f), c7 = _mm256_set1_ps(0.8f), c8 = _mm256_set1_ps(0.9f);
  __m256 c9 = _mm256_set1_ps(1.1f), c10 = _mm256_set1_ps(1.2f), c11 = _mm256_set1_ps(1.3f);
  for (int64_t i = 0; i < iterations; ++i) {
    c0 = _mm256_fmadd_ps(c0, m, a);
    c1 = _mm256_fmadd_ps(c1, m, a);
    c2 = _mm256_fmadd_ps(c2, m, a);
    c3 = _mm256_fmadd_ps(c3, m, a);
    c4 = _mm256_fmadd_ps(c4, m, a);
    c5 = _mm256_fmadd_ps(c5, m, a);
    c6 = _mm256_fmadd_ps(c6, m, a);
    c7 = _mm256_fmadd_ps(c7, m, a);
    c8 = _mm256_fmadd_ps(c8, m, a);
    c9 = _mm256_fmadd_ps(c9, m, a);
    c10 = _mm256_fmadd_ps(c10, m, a);
    c11 = _mm256_fmadd_ps(c11, m, a);
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                           _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
  return _mm256_cvtss_f32(s);
}

}  // namespace

// Best of several ~50 ms runs, in GFLOP/s (an FMA counts as 2 flops).
double MeasureFmaPeakGflopsAvx2() {
  volatile float sink = 0;
  int64_t iterations = 1 << 16;
  // Grow the run until it lasts long enough for the clock to be precise.
  for (;;) {
    const double start = NowSeconds();
    sink = sink + FmaChains(iterations);
    if (NowSeconds() - start > 0.02) break;
    iterations *= 2;
  }
  iterations *= 2;
  double best = 0;
  for (int run = 0; run < 5; ++run) {
    const double start = NowSeconds();
    sink = sink + FmaChains(iterations);
    const double gflops = kFlopsPerIteration * static_cast<double>(iterations) / (NowSeconds() - start) / 1e9;
    best = gflops > best ? gflops : best;
  }
  return best;
}
