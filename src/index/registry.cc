// CreateIndex: the one place that maps a spec's kind to the index that implements it.
#include "index/flat/flat_index.h"
#include "index/index_spec.h"
#include "vecdex/index.h"

#if __has_include("index/hnsw/hnsw_index.h")
#include "index/hnsw/hnsw_index.h"
#define VECDEX_HAVE_HNSW 1
#endif

namespace vecdex {

Result<std::unique_ptr<Index>> CreateIndex(std::string_view spec_text, size_t dim, Metric metric) {
  VECDEX_ASSIGN_OR_RETURN(IndexSpec spec, IndexSpec::Parse(spec_text));
  if (dim == 0 || dim > kMaxDimension) {
    return Status::InvalidArgument("dimension " + std::to_string(dim) + " is outside [1, " +
                                   std::to_string(kMaxDimension) + "]");
  }
  if (spec.kind() == "flat") return CreateFlatIndex(spec, dim, metric);
#ifdef VECDEX_HAVE_HNSW
  if (spec.kind() == "hnsw") return CreateHnswIndex(spec, dim, metric);
#endif
  return Status::InvalidArgument("unknown index kind '" + spec.kind() + "' (known: flat" +
#ifdef VECDEX_HAVE_HNSW
                                 std::string(", hnsw") +
#endif
                                 ")");
}

}  // namespace vecdex
