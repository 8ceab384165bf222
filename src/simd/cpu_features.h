// Run-time CPU feature detection for kernel dispatch (x86-64: cpuid + xgetbv).
//
// A feature counts as present only when the CPU implements it AND the operating system saves
// the registers it needs across context switches (XCR0): a CPU with AVX-512 under an OS or
// hypervisor that does not enable ZMM state must not run AVX-512 code.
// Thread safety: DetectCpuFeatures() is pure (it reads the CPU each call); CpuFeatures() caches
// the answer in a function-local static.
#pragma once

namespace vecdex::simd {

struct CpuFeatureSet {
  bool avx2_fma_f16c = false;  // AVX2 + FMA3 + F16C, with YMM state enabled by the OS
  bool avx512 = false;         // AVX-512 F + BW + VL + DQ (+ the above), with ZMM/opmask state
  bool avx512_vnni = false;    // avx512 + AVX512_VNNI (vpdpbusd: int8 dot products)
};

CpuFeatureSet DetectCpuFeatures();
const CpuFeatureSet& CpuFeatures();

}  // namespace vecdex::simd
