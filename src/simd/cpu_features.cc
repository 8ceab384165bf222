// cpuid/xgetbv probing. Compiled without any -m flag: this file runs on every x86-64 CPU, so it
// may only use baseline instructions (xgetbv is emitted as raw inline asm, not the intrinsic,
// which would need -mxsave).
#include "simd/cpu_features.h"

#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define VECDEX_X86 1
#endif

namespace vecdex::simd {

#if VECDEX_X86
namespace {

struct CpuidRegs {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
};

// Returns false when the leaf is above the CPU's maximum (the registers are then left at 0).
bool Cpuid(unsigned leaf, unsigned subleaf, CpuidRegs* r) {
  return __get_cpuid_count(leaf, subleaf, &r->eax, &r->ebx, &r->ecx, &r->edx) != 0;
}

// XCR0: which register states the OS saves. Only valid when CPUID.1:ECX.OSXSAVE is set.
uint64_t ReadXcr0() {
  uint32_t lo = 0, hi = 0;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

constexpr bool Bit(unsigned reg, int bit) { return ((reg >> bit) & 1u) != 0; }

}  // namespace

CpuFeatureSet DetectCpuFeatures() {
  CpuFeatureSet out;
  CpuidRegs leaf1, leaf7;
  if (!Cpuid(1, 0, &leaf1)) return out;
  const bool osxsave = Bit(leaf1.ecx, 27);
  const bool avx = Bit(leaf1.ecx, 28);
  const bool fma = Bit(leaf1.ecx, 12);
  const bool f16c = Bit(leaf1.ecx, 29);
  if (!osxsave || !avx) return out;  // without OSXSAVE, xgetbv itself would fault

  const uint64_t xcr0 = ReadXcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;        // SSE (bit 1) + AVX upper halves (bit 2)
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;      // + opmask (5), ZMM_Hi256 (6), Hi16_ZMM (7)

  Cpuid(7, 0, &leaf7);  // leaf 7 may be missing on old CPUs: registers then stay 0
  const bool avx2 = Bit(leaf7.ebx, 5);
  const bool avx512f = Bit(leaf7.ebx, 16);
  const bool avx512dq = Bit(leaf7.ebx, 17);
  const bool avx512bw = Bit(leaf7.ebx, 30);
  const bool avx512vl = Bit(leaf7.ebx, 31);
  const bool avx512vnni = Bit(leaf7.ecx, 11);

  out.avx2_fma_f16c = os_ymm && avx2 && fma && f16c;
  out.avx512 = out.avx2_fma_f16c && os_zmm && avx512f && avx512dq && avx512bw && avx512vl;
  out.avx512_vnni = out.avx512 && avx512vnni;
  return out;
}

#else  // not x86: only the portable kernels exist

CpuFeatureSet DetectCpuFeatures() { return {}; }

#endif

const CpuFeatureSet& CpuFeatures() {
  static const CpuFeatureSet features = DetectCpuFeatures();
  return features;
}

}  // namespace vecdex::simd
