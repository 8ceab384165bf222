// File-system steps the database layer composes into crash-safe updates, on top of
// common/durable_file.h: small files replaced atomically, durable renames of directories,
// whole-file reads, directory listing and removal, and an exclusive lock file. Every error names
// the path and the system's reason.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vecdex/status.h"

namespace vecdex::db {

// Replaces `path` with `contents` so that a crash leaves either the old or the new file, never a
// mix: writes "<path>.tmp", fsyncs it, renames it over `path`, fsyncs the directory.
[[nodiscard]] Status WriteFileAtomically(const std::string& path, std::string_view contents);

// The whole file. NotFound when it does not exist, IOError otherwise.
[[nodiscard]] Result<std::string> ReadWholeFile(const std::string& path);

// Creates `dir` and its missing parents.
[[nodiscard]] Status CreateDirectories(const std::string& dir);

// Removes a file or a directory tree; a missing path is fine.
[[nodiscard]] Status RemoveTree(const std::string& path);

// Names of the entries of `dir` (not "." or ".."), sorted.
[[nodiscard]] Result<std::vector<std::string>> ListDirectory(const std::string& dir);

// Renames and fsyncs the directory holding both (they must share it).
[[nodiscard]] Status RenameDurably(const std::string& from, const std::string& to);

// An exclusive flock on a file, held until destruction. Unavailable when another holder (this
// process or another) has it.
class FileLock {
 public:
  [[nodiscard]] static Result<FileLock> Acquire(const std::string& path);
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&&) = delete;
  FileLock(const FileLock&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace vecdex::db
