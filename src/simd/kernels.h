// Distance kernels: the inner loops every index runs, one implementation per instruction set.
//
// A KernelTable holds function pointers for one ISA. The active table is chosen once per
// process (first call to Kernels()) from the CPU's features and the OS's register support:
// AVX-512 (F+BW+VL) when present (with AVX512-VNNI int8 dot kernels when the CPU also has VNNI),
// else AVX2+FMA+F16C, else portable scalar code. The environment variable
// VECDEX_SIMD=scalar|avx2|avx512 forces a level; asking for one the CPU lacks falls back to the
// best supported level below it (with a warning on stderr).
// Indexes copy the pointers they need at construction, so no dispatch happens per call.
//
// Conventions for every kernel:
//   - pointers may have any alignment; `d` may be any length >= 0 (d == 0 gives 0 / distance 1);
//   - l2_* return the squared euclidean distance; dot_* return the plain inner product (not
//     negated); cosine_* return 1 - cos(a, b), and exactly 1 when either vector is all zeros;
//   - f16 kernels score a float32 query against a float16 row (IEEE binary16 bits in uint16_t);
//   - int8 kernels score int8 codes against int8 codes with exact integer arithmetic (int32
//     accumulators: exact for d <= 65536), returned as float in code units;
//   - batch forms score `n` rows against one query: row i starts at rows + i * stride (stride in
//     elements, >= d) and its result goes to out[i]. They interleave 4 rows so each query load
//     feeds 4 FMAs: fastest for rows in cache or scattered (graph neighbours). To stream
//     contiguous rows from DRAM, call the pair kernel row after row instead: one ascending
//     stream is what the hardware prefetcher follows (measured 22 vs 11 GB/s at 1M x 128).
// Thread safety: tables are immutable after selection; every kernel is reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace vecdex::simd {

using Half = uint16_t;  // IEEE 754 binary16 bits

enum class Isa : uint8_t {
  kScalar = 0,
  kAvx2 = 1,    // AVX2 + FMA + F16C
  kAvx512 = 2,  // AVX-512 F + BW + VL (+ F16C)
};

std::string_view IsaName(Isa isa);

using F32Pair = float (*)(const float* a, const float* b, size_t d);
using F16Pair = float (*)(const float* q, const Half* x, size_t d);
using I8Pair = float (*)(const int8_t* a, const int8_t* b, size_t d);
using F32Batch = void (*)(const float* q, const float* rows, size_t stride, size_t n, size_t d, float* out);
using F16Batch = void (*)(const float* q, const Half* rows, size_t stride, size_t n, size_t d, float* out);
using I8Batch = void (*)(const int8_t* q, const int8_t* rows, size_t stride, size_t n, size_t d, float* out);

struct KernelTable {
  Isa isa;

  F32Pair l2_f32;
  F32Pair dot_f32;
  F32Pair cosine_f32;
  F16Pair l2_f16;
  F16Pair dot_f16;
  F16Pair cosine_f16;
  I8Pair l2_i8;
  I8Pair dot_i8;
  I8Pair cosine_i8;

  F32Batch l2_f32_batch;
  F32Batch dot_f32_batch;
  F32Batch cosine_f32_batch;
  F16Batch l2_f16_batch;
  F16Batch dot_f16_batch;
  F16Batch cosine_f16_batch;
  I8Batch l2_i8_batch;
  I8Batch dot_i8_batch;
  I8Batch cosine_i8_batch;

  // Conversions; f32 -> f16 rounds to nearest even, overflows to +-inf, keeps NaN a NaN.
  void (*f32_to_f16)(const float* in, size_t n, Half* out);
  void (*f16_to_f32)(const Half* in, size_t n, float* out);
};

// The table chosen for this process (see the file comment). Never null.
const KernelTable& Kernels();

// The table of one ISA, or nullptr when it was not compiled in or this CPU/OS cannot run it.
// For tests and benchmarks that compare every path.
const KernelTable* KernelsFor(Isa isa);

// Every ISA this process can run, lowest first (always starts with kScalar).
std::vector<Isa> SupportedIsas();

}  // namespace vecdex::simd
