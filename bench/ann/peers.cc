// The peer registry: which peer libraries this bench binary was built with. Bench-only: each
// peer is compiled in only when its Debian package is installed (VECDEX_HAVE_FAISS,
// VECDEX_HAVE_HNSWLIB), and the engine never links them.
#include <string>
#include <vector>

#include "ann/peer_util.h"

namespace vecdex::bench {

std::vector<std::string> AvailablePeers() {
  std::vector<std::string> peers;
#ifdef VECDEX_HAVE_FAISS
  peers.push_back("faiss");
#endif
#ifdef VECDEX_HAVE_HNSWLIB
  peers.push_back("hnswlib");
#endif
  return peers;
}

Result<std::unique_ptr<Searcher>> MakePeerSearcher(const std::string& name, const IndexConfig& config,
                                                   size_t dim) {
  if (name == "faiss") {
#ifdef VECDEX_HAVE_FAISS
    if (config.kind != "flat") return Status::InvalidArgument("the faiss peer runs only --index flat");
    return MakeFaissFlat(config.metric, dim);
#else
    return Status::NotFound("peer faiss is not compiled in (install libfaiss-dev and rebuild)");
#endif
  }
  if (name == "hnswlib") {
#ifdef VECDEX_HAVE_HNSWLIB
    if (config.kind != "hnsw") return Status::InvalidArgument("the hnswlib peer runs only --index hnsw");
    return MakeHnswlib(config, dim);
#else
    return Status::NotFound("peer hnswlib is not compiled in (install libhnswlib-dev and rebuild)");
#endif
  }
  return Status::InvalidArgument("unknown peer '" + name + "' (known: faiss, hnswlib)");
}

}  // namespace vecdex::bench
