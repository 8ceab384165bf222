// What a collection persists about itself: its configuration (a JSON entry in its store's
// metadata, written once at creation) and its snapshot manifest (the CURRENT file naming the
// durable index snapshot). Formats: docs/format/database.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vecdex/database.h"
#include "vecdex/status.h"
#include "vecdex/types.h"

namespace vecdex::db {

// Store metadata key of the configuration.
inline constexpr std::string_view kConfigMetaKey = "collection.config";

// The configuration plus the collection's identity: a random id drawn at creation, recorded in
// every snapshot manifest, so that a snapshot is never applied to another collection's store
// (say, one dropped and re-created under the same name).
// `generation` numbers the index generations: 1 at creation, +1 each time a rebuild swaps a new
// index in; config.index_spec is the active generation's spec. Both change together, in one
// store transaction (docs/format/database.md, "Rebuilds").
struct StoredConfig {
  CollectionConfig config;
  std::string uuid;
  uint64_t generation = 1;  // absent in configurations written before rebuilds existed: 1
};

// Validates `config` and normalises its index spec to the index's own spec string.
// Errors: InvalidArgument (dimension, spec, sync interval).
[[nodiscard]] Result<CollectionConfig> NormalizeConfig(const CollectionConfig& config);
std::string EncodeConfig(const StoredConfig& stored);
// Errors: Corruption naming `where` when the JSON is malformed or incomplete.
[[nodiscard]] Result<StoredConfig> DecodeConfig(std::string_view json, const std::string& where);
// 32 lowercase hex digits from the OS's random source.
std::string NewCollectionUuid();

// The index kind of a spec ("hnsw" of "hnsw:m=16"): also the snapshot file's extension.
std::string IndexKindOf(std::string_view spec);

// CURRENT: which snapshot file holds the index, up to which change-log sequence, built how.
struct SnapshotManifest {
  std::string index_file;  // a file name in the collection directory
  uint64_t sequence = 0;   // the snapshot holds every change up to here, none after
  std::string index_spec;
  uint64_t dim = 0;
  Metric metric = Metric::kL2;
  std::string collection_uuid;
  uint64_t file_bytes = 0;  // size of index_file
  uint64_t generation = 1;  // the index generation the snapshot belongs to (absent: 1)
};

inline constexpr uint32_t kManifestFormatVersion = 1;

// A JSON line and a CRC-32C line (docs/format/database.md).
std::string EncodeManifest(const SnapshotManifest& manifest);
// Errors: Corruption naming `path` (checksum, malformed), FailedPrecondition (unknown version).
[[nodiscard]] Result<SnapshotManifest> DecodeManifest(std::string_view text, const std::string& path);

// "index-<20-digit sequence>.<kind>" for generation 1, "index-<20-digit sequence>.g<generation>.<kind>"
// after: a rebuild's snapshot never takes the name of the snapshot it replaces.
std::string SnapshotFileName(uint64_t sequence, std::string_view kind, uint64_t generation = 1);
// Whether `name` looks like a snapshot file (or its temp file) this layer wrote.
bool IsSnapshotFileName(std::string_view name);

}  // namespace vecdex::db
