// Internal to src/simd: how dispatch.cc reaches the per-ISA kernel tables, and the pure selection
// logic it uses (exposed so tests can exercise VECDEX_SIMD parsing without setenv before the
// process-wide table is chosen).
#pragma once

#include <string>
#include <vector>

#include "simd/kernels.h"

namespace vecdex::simd {

// One function per translation unit, each compiled with its own -m flags. A table is returned
// even when this CPU cannot run it: calling through it is only safe after cpu_features.h says
// the ISA is usable (dispatch.cc checks). nullptr means the ISA was not compiled in.
const KernelTable* ScalarKernels();
const KernelTable* Avx2Kernels();
const KernelTable* Avx512Kernels();  // with the VNNI int8 dot kernels when the CPU has VNNI
// The AVX-512 table without the VNNI kernels (tests: keeps that path covered on VNNI CPUs).
const KernelTable* Avx512KernelsWithoutVnni();

// Picks the ISA for a process. `env` is the value of VECDEX_SIMD (nullptr or "" = not set);
// `supported` lists the ISAs this process can run, lowest first, and always holds kScalar.
// With no request: the best supported ISA. With a request: that ISA if supported, else the best
// supported ISA below it; an unknown name counts as a request for the best ISA. `warning`, when
// not null, receives a one-line message whenever the request could not be honoured as written
// (empty otherwise).
Isa ChooseIsa(const char* env, const std::vector<Isa>& supported, std::string* warning = nullptr);

namespace {

// 1 - cos from the three sums of a cosine kernel; exactly 1 when either vector is zero (types.h).
// In an anonymous namespace on purpose: every ISA translation unit gets its own copy compiled
// with its own flags, so the linker can never hand the scalar path a copy built with AVX-512
// (the ODR trap of inline functions shared between TUs with different -m flags).
inline float CosineDistanceFromSums(double dot, double norm_a, double norm_b) {
  if (!(norm_a > 0.0) || !(norm_b > 0.0)) return 1.0f;
  return static_cast<float>(1.0 - dot / __builtin_sqrt(norm_a * norm_b));
}

}  // namespace

}  // namespace vecdex::simd
