// Kernel table selection: once per process, from CPU features and VECDEX_SIMD.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "simd/cpu_features.h"
#include "simd/kernel_tables.h"
#include "simd/kernels.h"

namespace vecdex::simd {
namespace {

// True when `isa` is compiled in and this CPU/OS can execute it.
bool Runnable(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return ScalarKernels() != nullptr;
    case Isa::kAvx2: return Avx2Kernels() != nullptr && CpuFeatures().avx2_fma_f16c;
    case Isa::kAvx512: return Avx512Kernels() != nullptr && CpuFeatures().avx512;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

const KernelTable& SelectTable() {
  std::string warning;
  const Isa isa = ChooseIsa(std::getenv("VECDEX_SIMD"), SupportedIsas(), &warning);
  if (!warning.empty()) std::fprintf(stderr, "vecdex: %s\n", warning.c_str());
  return *KernelsFor(isa);
}

}  // namespace

std::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "unknown";
}

Isa ChooseIsa(const char* env, const std::vector<Isa>& supported, std::string* warning) {
  if (warning != nullptr) warning->clear();
  // Invariant: `supported` is sorted ascending and non-empty (SupportedIsas guarantees both).
  const Isa best = supported.empty() ? Isa::kScalar : supported.back();
  const std::string_view request = Trim(env == nullptr ? std::string_view() : std::string_view(env));
  if (request.empty()) return best;

  Isa wanted = best;
  bool known = false;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (request == IsaName(isa)) {
      wanted = isa;
      known = true;
    }
  }
  // The best supported level at or below the request (kScalar is always there).
  Isa chosen = Isa::kScalar;
  for (Isa isa : supported) {
    if (isa <= wanted) chosen = isa;
  }
  if (warning != nullptr) {
    if (!known) {
      *warning = "VECDEX_SIMD=" + std::string(request) +
                 " is not one of scalar|avx2|avx512; using " + std::string(IsaName(chosen));
    } else if (chosen != wanted) {
      *warning = "VECDEX_SIMD=" + std::string(request) + " is not supported by this CPU; using " +
                 std::string(IsaName(chosen));
    }
  }
  return chosen;
}

std::vector<Isa> SupportedIsas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (Runnable(isa)) out.push_back(isa);
  }
  return out;
}

const KernelTable* KernelsFor(Isa isa) {
  if (!Runnable(isa)) return nullptr;
  switch (isa) {
    case Isa::kScalar: return ScalarKernels();
    case Isa::kAvx2: return Avx2Kernels();
    case Isa::kAvx512: return Avx512Kernels();
  }
  return nullptr;
}

const KernelTable& Kernels() {
  // Function-local static: initialized exactly once, thread-safe (C++11 magic statics).
  static const KernelTable& table = SelectTable();
  return table;
}

}  // namespace vecdex::simd
