// AVX-512 (F + BW + VL + DQ) kernels, compiled with the AVX-512 flags and run only after
// dispatch.cc has checked the CPU and the OS's ZMM/opmask support. Same structure as
// kernels_avx2.cc (see the reasons there), with 16 lanes per register and tails handled by
// zero-masked loads, which never touch the masked-out bytes. Everything lives in an anonymous
// namespace so no function built with these flags can leak into code run on older CPUs.
// GCC 12's own AVX-512 headers trip -W(maybe-)uninitialized inside their _mm512_undefined_*()
// helpers once inlined (GCC bug 105593, fixed in GCC 13). The pragmas cover only locations in
// the header; this file's code is still checked.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif

#include <cstddef>
#include <cstdint>

#include "simd/cpu_features.h"
#include "simd/kernel_tables.h"
#include "simd/kernels.h"

namespace vecdex::simd {
namespace {

constexpr size_t kWidth = 16;  // floats per __m512

enum class Op { kL2, kDot, kCosine };

// The first n lanes (n < 16, or n < 32 for bytes).
__mmask16 TailMask16(size_t n) { return static_cast<__mmask16>((1u << n) - 1); }
__mmask32 TailMask32(size_t n) { return static_cast<__mmask32>((1u << n) - 1); }

// How 16 row components become 16 floats, for rows stored as float32 or float16.
struct F32Rows {
  using T = float;
  static __m512 Load(const float* p) { return _mm512_loadu_ps(p); }
  static __m512 LoadTail(const float* p, size_t n) { return _mm512_maskz_loadu_ps(TailMask16(n), p); }
};

struct F16Rows {
  using T = Half;
  static __m512 Load(const Half* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static __m512 LoadTail(const Half* p, size_t n) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(TailMask16(n), p));
  }
};

// Running sums: `main` (l2 or dot) and, for cosine, the squared norms (the query norm only when
// kWithQueryNorm; batch forms compute it once per call).
template <Op op, bool kWithQueryNorm>
struct FloatSums {
  __m512 main = _mm512_setzero_ps();
  __m512 qq = _mm512_setzero_ps();
  __m512 xx = _mm512_setzero_ps();

  void Add(__m512 q, __m512 x) {
    if constexpr (op == Op::kL2) {
      const __m512 diff = _mm512_sub_ps(q, x);
      main = _mm512_fmadd_ps(diff, diff, main);
    } else {
      main = _mm512_fmadd_ps(q, x, main);
    }
    if constexpr (op == Op::kCosine) {
      if constexpr (kWithQueryNorm) qq = _mm512_fmadd_ps(q, q, qq);
      xx = _mm512_fmadd_ps(x, x, xx);
    }
  }
  void Merge(const FloatSums& other) {
    main = _mm512_add_ps(main, other.main);
    qq = _mm512_add_ps(qq, other.qq);
    xx = _mm512_add_ps(xx, other.xx);
  }
  float Finish(double query_norm) const {
    if constexpr (op == Op::kCosine) {
      const double qn = kWithQueryNorm ? _mm512_reduce_add_ps(qq) : query_norm;
      return CosineDistanceFromSums(_mm512_reduce_add_ps(main), qn, _mm512_reduce_add_ps(xx));
    } else {
      return _mm512_reduce_add_ps(main);
    }
  }
};

template <Op op, class Rows>
float PairFloat(const float* q, const typename Rows::T* x, size_t d) {
  FloatSums<op, true> s0, s1, s2, s3;
  size_t i = 0;
  for (; i + 4 * kWidth <= d; i += 4 * kWidth) {
    s0.Add(_mm512_loadu_ps(q + i), Rows::Load(x + i));
    s1.Add(_mm512_loadu_ps(q + i + kWidth), Rows::Load(x + i + kWidth));
    s2.Add(_mm512_loadu_ps(q + i + 2 * kWidth), Rows::Load(x + i + 2 * kWidth));
    s3.Add(_mm512_loadu_ps(q + i + 3 * kWidth), Rows::Load(x + i + 3 * kWidth));
  }
  for (; i + kWidth <= d; i += kWidth) s0.Add(_mm512_loadu_ps(q + i), Rows::Load(x + i));
  if (i < d) s1.Add(_mm512_maskz_loadu_ps(TailMask16(d - i), q + i), Rows::LoadTail(x + i, d - i));
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
  constexpr size_t kUnroll = op == Op::kCosine ? 1 : 2;  // 8 FMA chains over 4 rows
  // Components per iteration: 2 vectors (f32: 2 cache lines of each row, f16: 1).
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
        const __m512 qv = _mm512_loadu_ps(q + k + v * kWidth);  // one query load, 4 rows
        for (size_t j = 0; j < kBatchRows; ++j) {
          sums[j][v % kUnroll].Add(qv, Rows::Load(r[j] + k + v * kWidth));
        }
      }
    }
    for (; k + kWidth <= d; k += kWidth) {
      const __m512 qv = _mm512_loadu_ps(q + k);
      for (size_t j = 0; j < kBatchRows; ++j) sums[j][0].Add(qv, Rows::Load(r[j] + k));
    }
    if (k < d) {
      const __m512 qv = _mm512_maskz_loadu_ps(TailMask16(d - k), q + k);
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
// int8: 32 codes per step, sign-extended to int16, multiplied pairwise into 16 int32 lanes with
// madd (l2 subtracts in int16 first: |a - b| <= 255 fits). A step adds at most
// 2 * 255^2 = 130050 to a lane and a lane sees at most ceil(d / 32) steps, so the lanes cannot
// overflow for d <= 16512 * 32 = 528384 (covering the documented d <= 65536). Lane totals are
// widened to int64 before the final reduction.

constexpr size_t kBytes = 32;  // int8 codes per step (one 256-bit load)

__m512i LoadI8(const int8_t* p) {
  return _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
__m512i LoadI8Tail(const int8_t* p, size_t n) {
  return _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(TailMask32(n), p));
}

int64_t HorizontalSum(__m512i v) {
  const __m512i lo = _mm512_cvtepi32_epi64(_mm512_castsi512_si256(v));
  const __m512i hi = _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(v, 1));
  return _mm512_reduce_add_epi64(_mm512_add_epi64(lo, hi));
}

template <Op op, bool kWithQueryNorm>
struct IntSums {
  __m512i main = _mm512_setzero_si512();
  __m512i qq = _mm512_setzero_si512();
  __m512i xx = _mm512_setzero_si512();

  void Add(__m512i q, __m512i x) {
    if constexpr (op == Op::kL2) {
      const __m512i diff = _mm512_sub_epi16(q, x);
      main = _mm512_add_epi32(main, _mm512_madd_epi16(diff, diff));
    } else {
      main = _mm512_add_epi32(main, _mm512_madd_epi16(q, x));
    }
    if constexpr (op == Op::kCosine) {
      if constexpr (kWithQueryNorm) qq = _mm512_add_epi32(qq, _mm512_madd_epi16(q, q));
      xx = _mm512_add_epi32(xx, _mm512_madd_epi16(x, x));
    }
  }
  void Merge(const IntSums& other) {
    main = _mm512_add_epi32(main, other.main);
    qq = _mm512_add_epi32(qq, other.qq);
    xx = _mm512_add_epi32(xx, other.xx);
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
  IntSums<op, kWithQueryNorm> s0, s1;  // two chains hide the madd latency
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
  constexpr size_t kStep = kCacheLine;  // 2 steps per iteration, to amortize the loop overhead
  size_t i = 0;
  for (; i + kBatchRows <= n; i += kBatchRows) {
    const int8_t* r[kBatchRows];
    for (size_t j = 0; j < kBatchRows; ++j) r[j] = rows + (i + j) * stride;
    PrefetchNextRows(rows, stride, n, i);

    IntSums<op, false> sums[kBatchRows];
    size_t k = 0;
    for (; k + kStep <= d; k += kStep) {
      for (size_t v = 0; v < kStep; v += kBytes) {
        const __m512i qv = LoadI8(q + k + v);
        for (size_t j = 0; j < kBatchRows; ++j) sums[j].Add(qv, LoadI8(r[j] + k + v));
      }
    }
    for (; k + kBytes <= d; k += kBytes) {
      const __m512i qv = LoadI8(q + k);
      for (size_t j = 0; j < kBatchRows; ++j) sums[j].Add(qv, LoadI8(r[j] + k));
    }
    if (k < d) {
      const __m512i qv = LoadI8Tail(q + k, d - k);
      for (size_t j = 0; j < kBatchRows; ++j) sums[j].Add(qv, LoadI8Tail(r[j] + k, d - k));
    }
    for (size_t j = 0; j < kBatchRows; ++j) out[i + j] = sums[j].Finish(query_norm);
  }
  for (; i < n; ++i) out[i] = PairI8<op>(q, rows + i * stride, d);
}

// ---------------------------------------------------------------------------------------------
// int8 dot with AVX512_VNNI (Ice Lake, Zen 4 and later; chosen at run time, see Avx512Kernels).
// vpdpbusd multiplies unsigned by signed bytes and adds groups of 4 products into int32 lanes:
// 64 codes per instruction instead of 32 codes per widen + madd + add. The signed row codes are
// made unsigned by flipping their sign bit (x + 128), and the excess 128 * sum(q) is taken off
// with a second vpdpbusd of the constant 128 against the query, so the result stays the exact
// integer dot. Bounds: a step adds at most 4 * 255 * 128 = 130560 to a lane, so lanes cannot
// overflow for d <= 16448 * 64 (covering the documented d <= 65536). Masked tail bytes load as
// 0 in the query, so the flipped row bytes (128) there multiply 0.

#define VECDEX_VNNI __attribute__((target("avx512vnni")))

VECDEX_VNNI inline __m512i FlipSign(__m512i x) { return _mm512_xor_si512(x, _mm512_set1_epi8(-128)); }

VECDEX_VNNI inline int64_t FinishVnni(__m512i sum, __m512i excess) {
  return HorizontalSum(_mm512_sub_epi32(sum, excess));
}

VECDEX_VNNI float PairDotI8Vnni(const int8_t* a, const int8_t* b, size_t d) {
  const __m512i bias = _mm512_set1_epi8(-128);  // 0x80 = 128 as the unsigned operand
  __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
  __m512i e0 = _mm512_setzero_si512(), e1 = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 2 * kCacheLine <= d; i += 2 * kCacheLine) {
    const __m512i q0 = _mm512_loadu_si512(a + i), q1 = _mm512_loadu_si512(a + i + kCacheLine);
    s0 = _mm512_dpbusd_epi32(s0, FlipSign(_mm512_loadu_si512(b + i)), q0);
    s1 = _mm512_dpbusd_epi32(s1, FlipSign(_mm512_loadu_si512(b + i + kCacheLine)), q1);
    e0 = _mm512_dpbusd_epi32(e0, bias, q0);
    e1 = _mm512_dpbusd_epi32(e1, bias, q1);
  }
  for (; i + kCacheLine <= d; i += kCacheLine) {
    const __m512i q = _mm512_loadu_si512(a + i);
    s0 = _mm512_dpbusd_epi32(s0, FlipSign(_mm512_loadu_si512(b + i)), q);
    e0 = _mm512_dpbusd_epi32(e0, bias, q);
  }
  if (i < d) {
    const __mmask64 mask = _cvtu64_mask64((uint64_t{1} << (d - i)) - 1);  // d - i < 64
    const __m512i q = _mm512_maskz_loadu_epi8(mask, a + i);
    s1 = _mm512_dpbusd_epi32(s1, FlipSign(_mm512_maskz_loadu_epi8(mask, b + i)), q);
    e1 = _mm512_dpbusd_epi32(e1, bias, q);
  }
  return static_cast<float>(FinishVnni(_mm512_add_epi32(s0, s1), _mm512_add_epi32(e0, e1)));
}

VECDEX_VNNI void BatchDotI8Vnni(const int8_t* q, const int8_t* rows, size_t stride, size_t n, size_t d,
                                float* out) {
  const __m512i bias = _mm512_set1_epi8(-128);
  const size_t tail = d % kCacheLine;
  const __mmask64 mask = _cvtu64_mask64(tail == 0 ? 0 : (uint64_t{1} << tail) - 1);
  // The excess 128 * sum(q) is the same for every row: once per call.
  __m512i excess = _mm512_setzero_si512();
  size_t k = 0;
  for (; k + kCacheLine <= d; k += kCacheLine) excess = _mm512_dpbusd_epi32(excess, bias, _mm512_loadu_si512(q + k));
  if (tail != 0) excess = _mm512_dpbusd_epi32(excess, bias, _mm512_maskz_loadu_epi8(mask, q + k));
  const int64_t excess_sum = HorizontalSum(excess);

  size_t i = 0;
  for (; i + kBatchRows <= n; i += kBatchRows) {
    const int8_t* r[kBatchRows];
    for (size_t j = 0; j < kBatchRows; ++j) r[j] = rows + (i + j) * stride;
    PrefetchNextRows(rows, stride, n, i);
    __m512i sums[kBatchRows];
    for (size_t j = 0; j < kBatchRows; ++j) sums[j] = _mm512_setzero_si512();
    for (k = 0; k + kCacheLine <= d; k += kCacheLine) {
      const __m512i qv = _mm512_loadu_si512(q + k);
      for (size_t j = 0; j < kBatchRows; ++j) {
        sums[j] = _mm512_dpbusd_epi32(sums[j], FlipSign(_mm512_loadu_si512(r[j] + k)), qv);
      }
    }
    if (tail != 0) {
      const __m512i qv = _mm512_maskz_loadu_epi8(mask, q + k);
      for (size_t j = 0; j < kBatchRows; ++j) {
        sums[j] = _mm512_dpbusd_epi32(sums[j], FlipSign(_mm512_maskz_loadu_epi8(mask, r[j] + k)), qv);
      }
    }
    for (size_t j = 0; j < kBatchRows; ++j) out[i + j] = static_cast<float>(HorizontalSum(sums[j]) - excess_sum);
  }
  for (; i < n; ++i) out[i] = PairDotI8Vnni(q, rows + i * stride, d);
}

#undef VECDEX_VNNI

// ---------------------------------------------------------------------------------------------
// Conversions: vcvtps2ph with immediate round-to-nearest-even equals FloatToHalf bit for bit.

void F32ToF16(const float* in, size_t n, Half* out) {
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) {
    const __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), h);
  }
  if (i < n) {
    const __mmask16 mask = TailMask16(n - i);
    const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(mask, in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm256_mask_storeu_epi16(out + i, mask, h);
  }
}

void F16ToF32(const Half* in, size_t n, float* out) {
  size_t i = 0;
  for (; i + kWidth <= n; i += kWidth) _mm512_storeu_ps(out + i, F16Rows::Load(in + i));
  if (i < n) _mm512_mask_storeu_ps(out + i, TailMask16(n - i), F16Rows::LoadTail(in + i, n - i));
}

constexpr KernelTable kAvx512Table = {
    Isa::kAvx512,
    PairFloat<Op::kL2, F32Rows>, PairFloat<Op::kDot, F32Rows>, PairFloat<Op::kCosine, F32Rows>,
    PairFloat<Op::kL2, F16Rows>, PairFloat<Op::kDot, F16Rows>, PairFloat<Op::kCosine, F16Rows>,
    PairI8<Op::kL2>, PairI8<Op::kDot>, PairI8<Op::kCosine>,
    BatchFloat<Op::kL2, F32Rows>, BatchFloat<Op::kDot, F32Rows>, BatchFloat<Op::kCosine, F32Rows>,
    BatchFloat<Op::kL2, F16Rows>, BatchFloat<Op::kDot, F16Rows>, BatchFloat<Op::kCosine, F16Rows>,
    BatchI8<Op::kL2>, BatchI8<Op::kDot>, BatchI8<Op::kCosine>,
    F32ToF16, F16ToF32,
};

// The AVX-512 table with the VNNI int8 dot kernels, for CPUs that have AVX512_VNNI.
constexpr KernelTable WithVnni(KernelTable table) {
  table.dot_i8 = PairDotI8Vnni;
  table.dot_i8_batch = BatchDotI8Vnni;
  return table;
}
constexpr KernelTable kAvx512VnniTable = WithVnni(kAvx512Table);

}  // namespace

// VECDEX_SIMD picks the ISA level; within AVX-512 the VNNI int8 kernels are used whenever the
// CPU has them (they return the same exact integers).
const KernelTable* Avx512Kernels() {
  return CpuFeatures().avx512_vnni ? &kAvx512VnniTable : &kAvx512Table;
}

const KernelTable* Avx512KernelsWithoutVnni() { return &kAvx512Table; }

}  // namespace vecdex::simd
