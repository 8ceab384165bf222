// AVX2 + FMA + F16C kernels (compiled with -mavx2 -mfma -mf16c; run only after dispatch.cc has
// checked the CPU and OS). Everything here lives in an anonymous namespace so that no function
// compiled with these flags can be merged by the linker into code that runs on older CPUs.
//
// Why the loops look the way they do:
//   - Pair kernels keep 4 independent accumulators of 8 lanes (32 floats per iteration): an FMA
//     has ~4 cycles of latency, so one accumulator would run at a quarter of the FMA rate.
//   - Batch kernels score 4 rows per pass: each query block is loaded once and feeds 4 FMAs,
//     which cuts loads per FMA from 2 to 1.25 (loads, not FMAs, bound a dot product in L1).
//     Two accumulators per row (8 chains) cover the FMA latency. They prefetch the start of the
//     next 4 rows (see PrefetchNextRows for why only the start).
//   - Tails are handled with masked loads (which never touch the masked-out bytes) or a copy
//     into a zeroed local buffer, so no kernel reads past the end of its inputs.
//   - Reductions across lanes happen once, at the end.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "simd/kernel_tables.h"
#include "simd/kernels.h"

namespace vecdex::simd {
namespace {

constexpr size_t kWidth = 8;  // floats per __m256

enum class Op { kL2, kDot, kCosine };

// kTailMask + 8 - n: the first n int32 lanes all-ones, the rest zero (for _mm256_maskload_ps).
alignas(64) constexpr int32_t kTailMask[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                               0,  0,  0,  0,  0,  0,  0,  0};

// Requires 0 < n < kWidth.
__m256i TailMask(size_t n) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTailMask + kWidth - n));
}

float HorizontalSum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

// Sum of 8 int32 lanes, widened to int64 so the total cannot overflow.
int64_t HorizontalSum(__m256i v) {
  const __m256i wide = _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(v)),
                                        _mm256_cvtepi32_epi64(_mm256_extracti128_si256(v, 1)));
  const __m128i s = _mm_add_epi64(_mm256_castsi256_si128(wide), _mm256_extracti128_si256(wide, 1));
  return _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
}

// How 8 row components become 8 floats, for rows stored as float32 or float16.
struct F32Rows {
  using T = float;
  static __m256 Load(const float* p) { return _mm256_loadu_ps(p); }
  // 0 < n < 8 components; the rest are zero.
  static __m256 LoadTail(const float* p, size_t n) { return _mm256_maskload_ps(p, TailMask(n)); }
};

struct F16Rows {
  using T = Half;
  static __m256 Load(const Half* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  // There is no 16-bit masked load in AVX2: copy the tail into a zeroed buffer (+0.0 halves).
  static __m256 LoadTail(const Half* p, size_t n) {
    alignas(16) Half buffer[kWidth] = {};
    std::memcpy(buffer, p, n * sizeof(Half));
    return _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(buffer)));
  }
};

// Running sums of one kernel: `main` (l2 or dot), and for cosine the squared norms. The query
// norm is skipped when kWithQueryNorm is false (batch forms compute it once per call).
template <Op op, bool kWithQueryNorm>
struct FloatSums {
  __m256 main = _mm256_setzero_ps();
  __m256 qq = _mm256_setzero_ps();
  __m256 xx = _mm256_setzero_ps();

  void Add(__m256 q, __m256 x) {
    if constexpr (op == Op::kL2) {
      const __m256 diff = _mm256_sub_ps(q, x);
      main = _mm256_fmadd_ps(diff, diff, main);
    } else {
      main = _mm256_fmadd_ps(q, x, main);
    }
    if constexpr (op == Op::kCosine) {
      if constexpr (kWithQueryNorm) qq = _mm256_fmadd_ps(q, q, qq);
      xx = _mm256_fmadd_ps(x, x, xx);
    }
  }
  void Merge(const FloatSums& other) {
    main = _mm256_add_ps(main, other.main);
    qq = _mm256_add_ps(qq, other.qq);
    xx = _mm256_add_ps(xx, other.xx);
  }
  // `query_norm` is used only when kWithQueryNorm is false.
  float Finish(double query_norm) const {
    if constexpr (op == Op::kCosine) {
      const double qn = kWithQueryNorm ? HorizontalSum(qq) : query_norm;
      return CosineDistanceFromSums(HorizontalSum(main), qn, HorizontalSum(xx));
    } else {
      return HorizontalSum(main);
    }
  }
};

template <Op op, class Rows>
float PairFloat(const float* q, const typename Rows::T* x, size_t d) {
  FloatSums<op, true> s0, s1, s2, s3;
  size_t i = 0;
  for (; i + 4 * kWidth <= d; i += 4 * kWidth) {
    s0.Add(_mm256_loadu_ps(q + i), Rows::Load(x + i));
    s1.Add(_mm256_loadu_ps(q + i + kWidth), Rows::Load(x + i + kWidth));
    s2.Add(_mm256_loadu_ps(q + i + 2 * kWidth), Rows::Load(x + i + 2 * kWidth));
    s3.Add(_mm256_loadu_ps(q + i + 3 * kWidth), Rows::Load(x + i + 3 * kWidth));
  }
  for (; i + kWidth <= d; i += kWidth) s0.Add(_mm256_loadu_ps(q + i), Rows::Load(x + i));
  if (i < d) s1.Add(_mm256_maskload_ps(q + i, TailMask(d - i)), Rows::LoadTail(x + i, d - i));
  s0.Merge(s1);
  s2.Merge(s3);
  s0.Merge(s2);
  return s0.Finish(0.0);
}

constexpr size_t kBatchRows = 4;
constexpr size_t kCacheLine = 64;

// Prefetches the first cache line of each row of the next group (clamped to the last row, so
// the address always lies inside the buffer). One prefetch per row, not per line: measured on
// Zen 4 (dot_f32_batch, d = 768), prefetching every line of the next rows cost 15-25% in L1/L2
// (prefetches compete with loads for the load ports) and did not beat the hardware stream
// prefetcher from DRAM, while touching only the row starts - where a strided stream jumps and
// the hardware prefetcher loses track when stride > d - was as fast as no prefetch in L1 and the
// fastest from L3/DRAM (e.g. 18 vs 13.5 GB/s for 100 MB of rows).
template <class T>
void PrefetchNextRows(const T* rows, size_t stride, size_t n, size_t first) {
  for (size_t j = 0; j < kBatchRows; ++j) {
    const size_t r = first + kBatchRows + j < n ? first + kBatchRows + j : n - 1;
    _mm_prefetch(reinterpret_cast<const char*>(rows + r * stride), _MM_HINT_T0);
  }
}

template <Op op, class Rows>
void BatchFloat(const float* q, const typename Rows::T* rows, size_t stride, size_t n, size_t d,
                float* out) {
  using T = typename Rows::T;
  // Cosine keeps 2 sums per row, l2/dot 2 accumulators per row: 8 FMA chains either way.
  constexpr size_t kUnroll = op == Op::kCosine ? 1 : 2;
  // Components per iteration: a cache line of each row (f32: 16, f16: 32), i.e. 2-4 vectors,
  // which amortizes the loop overhead.
  constexpr size_t kStep = kCacheLine / sizeof(T) > kUnroll * kWidth ? kCacheLine / sizeof(T)
                                                                      : kUnroll * kWidth;
  const double query_norm =
      op == Op::kCosine ? static_cast<double>(PairFloat<Op::kDot, F32Rows>(q, q, d)) : 0.0;

  size_t i = 0;
  for (; i + kBatchRows <= n; i += kBatchRows) {
    const T* r[kBatchRows];
    for (size_t j = 0; j < kBatchRows; ++j) r[j] = rows + (i + j) * stride;
    PrefetchNextRows(rows, stride, n, i);

    FloatSums<op, false> sums[kBatchRows][kUnroll];
    size_t k = 0;
    for (; k + kStep <= d; k += kStep) {
      for (size_t v = 0; v < kStep / kWidth; ++v) {
        const __m256 qv = _mm256_loadu_ps(q + k + v * kWidth);  // one query load, 4 rows
        for (size_t j = 0; j < kBatchRows; ++j) {
          sums[j][v % kUnroll].Add(qv, Rows::Load(r[j] + k + v * kWidth));
        }
      }
    }
    for (; k + kWidth <= d; k += kWidth) {
      const __m256 qv = _mm256_loadu_ps(q + k);
      for (size_t j = 0; j < kBatchRows; ++j) sums[j][0].Add(qv, Rows::Load(r[j] + k));
    }
    if (k < d) {
      const __m256 qv = _mm256_maskload_ps(q + k, TailMask(d - k));
      for (size_t j = 0; j < kBatchRows; ++j) sums[j][0].Add(qv, Rows::LoadTail(r[j] + k, d - k));
    }
    for (size_t j = 0; j < kBatchRows; ++j) {
      for (size_t u = 1; u < kUnroll; ++u) sums[j][0].Merge(sums[j][u]);
      out[i + j] = sums[j][0].Finish(query_norm);
    }
  }
  for (; i < n; ++i) out[i] = PairFloat<op, Rows>(q, rows + i * stride, d);
}

// ---------------------------------------------------------------------------------------------
// int8: 16 codes per step are sign-extended to int16 and multiplied pairwise into int32 lanes
// with madd (l2 subtracts in int16 first: |a - b| <= 255 fits). Each step adds at most
// 2 * 255^2 = 130050 to a lane, and a lane sees at most ceil(d / 16) steps, so the int32 lanes
// cannot overflow for d <= 16512 * 16 = 264192 (covering the documented d <= 65536). Lane totals
// are widened to int64 before the final horizontal add.

constexpr size_t kBytes = 16;  // int8 codes per step (one 128-bit load)

__m256i LoadI8(const int8_t* p) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// 0 < n < 16 codes; the rest read as zero.
__m256i LoadI8Tail(const int8_t* p, size_t n) {
  alignas(16) int8_t buffer[kBytes] = {};
  std::memcpy(buffer, p, n);
  return _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(buffer)));
}

template <Op op, bool kWithQueryNorm>
struct IntSums {
  __m256i main = _mm256_setzero_si256();
  __m256i qq = _mm256_setzero_si256();
  __m256i xx = _mm256_setzero_si256();

  void Add(__m256i q, __m256i x) {
    if constexpr (op == Op::kL2) {
      const __m256i diff = _mm256_sub_epi16(q, x);
      main = _mm256_add_epi32(main, _mm256_madd_epi16(diff, diff));
    } else {
      main = _mm256_add_epi32(main, _mm256_madd_epi16(q, x));
    }
    if constexpr (op == Op::kCosine) {
      if constexpr (kWithQueryNorm) qq = _mm256_add_epi32(qq, _mm256_madd_epi16(q, q));
      xx = _mm256_add_epi32(xx, _mm256_madd_epi16(x, x));
    }
  }
  void Merge(const IntSums& other) {
    main = _mm256_add_epi32(main, other.main);
    qq = _mm256_add_epi32(qq, other.qq);
    xx = _mm256_add_epi32(xx, other.xx);
  }
  float Finish(int64_t query_norm) const {
    if constexpr (op == Op::kCosine) {
      const int64_t qn = kWithQueryNorm ? HorizontalSum(qq) : query_norm;
      return CosineDistanceFromSums(static_cast<double>(HorizontalSum(main)), static_cast<double>(qn),
                                    static_cast<double>(HorizontalSum(xx)));
    } else {
      return static_cast<float>(HorizontalSum(main));  // exact integer, rounded once
    }
  }
};

template <Op op, bool kWithQueryNorm>
IntSums<op, kWithQueryNorm> SumI8(const int8_t* a, const int8_t* b, size_t d) {
  // Two accumulators: integer adds are 1-cycle, but madd is ~3-5 cycles deep.
  IntSums<op, kWithQueryNorm> s0, s1;
  size_t i = 0;
  for (; i + 2 * kBytes <= d; i += 2 * kBytes) {
    s0.Add(LoadI8(a + i), LoadI8(b + i));
    s1.Add(LoadI8(a + i + kBytes), LoadI8(b + i + kBytes));
  }
  if (i + kBytes <= d) {
    s0.Add(LoadI8(a + i), LoadI8(b + i));
    i += kBytes;
  }
  if (i < d) s1.Add(LoadI8Tail(a + i, d - i), LoadI8Tail(b + i, d - i));
  s0.Merge(s1);
  return s0;
}

template <Op op>
float PairI8(const int8_t* a, const int8_t* b, size_t d) {
  return SumI8<op, true>(a, b, d).Finish(0);
}

template <Op op>
void BatchI8(const int8_t* q, const int8_t* rows, size_t stride, size_t n, size_t d, float* out) {
  const int64_t query_norm =
      op == Op::kCosine ? HorizontalSum(SumI8<Op::kDot, true>(q, q, d).main) : 0;
  constexpr size_t kStep = kCacheLine;  // 4 steps per iteration, to amortize the loop overhead
  size_t i = 0;
  for (; i + kBatchRows <= n; i += kBatchRows) {
    const int8_t* r[kBatchRows];
    for (size_t j = 0; j < kBatchRows; ++j) r[j] = rows + (i + j) * stride;
    PrefetchNextRows(rows, stride, n, i);

    IntSums<op, false> sums[kBatchRows];
    size_t k = 0;
    for (; k + kStep <= d; k += kStep) {
      for (size_t v = 0; v < kStep; v += kBytes) {
        const __m256i qv = LoadI8(q + k + v);
        for (size_t j = 0; j < kBatchRows; ++j) sums[j].Add(qv, LoadI8(r[j] + k + v));
      }
    }
    for (; k + kBytes <= d; k += kBytes) {
      const __m256i qv = LoadI8(q + k);
      for (size_t j = 0; j < kBatchRows; ++j) sums[j].Add(qv, LoadI8(r[j] + k));
    }
    if (k < d) {
      const __m256i qv = LoadI8Tail(q + k, d - k);
      for (size_t j = 0; j < kBatchRows; ++j) sums[j].Add(qv, LoadI8Tail(r[j] + k, d - k));
    }
    for (size_t j = 0; j < kBatchRows; ++j) out[i + j] = sums[j].Finish(query_norm);
  }
  for (; i < n; ++i) out[i] = PairI8<op>(q, rows + i * stride, d);
}

// ---------------------------------------------------------------------------------------------
// Conversions. vcvtps2ph with immediate rounding (not MXCSR) = round to nearest even; it keeps
// NaNs NaN and overflows to infinity, which is exactly FloatToHalf (tests check every half).

void F32ToF16(const float* in, size_t n, Half* out) {
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  if (i < n) {
    alignas(16) Half buffer[kWidth];
    const __m256 x = _mm256_maskload_ps(in + i, TailMask(n - i));
    _mm_store_si128(reinterpret_cast<__m128i*>(buffer), _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
    std::memcpy(out + i, buffer, (n - i) * sizeof(Half));
  }
}

void F16ToF32(const Half* in, size_t n, float* out) {
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) _mm256_storeu_ps(out + i, F16Rows::Load(in + i));
  if (i < n) _mm256_maskstore_ps(out + i, TailMask(n - i), F16Rows::LoadTail(in + i, n - i));
}

constexpr KernelTable kAvx2Table = {
    Isa::kAvx2,
    PairFloat<Op::kL2, F32Rows>, PairFloat<Op::kDot, F32Rows>, PairFloat<Op::kCosine, F32Rows>,
    PairFloat<Op::kL2, F16Rows>, PairFloat<Op::kDot, F16Rows>, PairFloat<Op::kCosine, F16Rows>,
    PairI8<Op::kL2>, PairI8<Op::kDot>, PairI8<Op::kCosine>,
    BatchFloat<Op::kL2, F32Rows>, BatchFloat<Op::kDot, F32Rows>, BatchFloat<Op::kCosine, F32Rows>,
    BatchFloat<Op::kL2, F16Rows>, BatchFloat<Op::kDot, F16Rows>, BatchFloat<Op::kCosine, F16Rows>,
    BatchI8<Op::kL2>, BatchI8<Op::kDot>, BatchI8<Op::kCosine>,
    F32ToF16, F16ToF32,
};

}  // namespace

const KernelTable* Avx2Kernels() { return &kAvx2Table; }

}  // namespace vecdex::simd
