// File plumbing of the index formats: a writer for atomic, durable publication (write
// "<path>.tmp", fsync, rename over <path>, fsync the directory) and a read-only mapping of a
// whole file. Every error is an IOError that starts with "<kind> <path>: " (kind e.g.
// "hnsw file") and carries the system's reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "vecdex/status.h"

namespace vecdex {

// Writes one file at explicit offsets. Owns the descriptor; not copyable; not thread-safe.
// Dropping it without SyncAndClose closes the descriptor and leaves the file as written.
class DurableFileWriter {
 public:
  DurableFileWriter(std::string kind, std::string path) : kind_(std::move(kind)), path_(std::move(path)) {}
  ~DurableFileWriter();
  DurableFileWriter(const DurableFileWriter&) = delete;
  DurableFileWriter& operator=(const DurableFileWriter&) = delete;

  Status Open();  // creates or truncates the file
  Status WriteAt(uint64_t offset, const void* data, size_t n);
  Status Truncate(uint64_t size);
  Status SyncAndClose();  // fsync then close: the bytes are on disk when it returns OK

 private:
  Status Error(const char* what) const;
  std::string kind_;
  std::string path_;
  int fd_ = -1;
};

// Renames `temp` over `path`, then fsyncs the directory of `path` so the rename itself survives
// a crash.
Status PublishFile(const std::string& kind, const std::string& temp, const std::string& path);

// Fsyncs the directory that holds `path` (its entries, e.g. after a rename).
Status SyncDirectoryOf(const std::string& kind, const std::string& path);

// A whole file mapped read-only (MAP_SHARED). data is null for an empty file.
struct FileMapping {
  const uint8_t* data = nullptr;
  size_t size = 0;
  FileMapping() = default;
  FileMapping(const FileMapping&) = delete;
  FileMapping& operator=(const FileMapping&) = delete;
  ~FileMapping();
};

// Maps `path`. Errors: IOError (cannot open, stat or map; not a regular file).
Result<std::shared_ptr<FileMapping>> MapFile(const std::string& kind, const std::string& path);

}  // namespace vecdex
