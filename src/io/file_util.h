// File plumbing shared by the dataset readers and writers (vecs_io.cc, npy_io.cc): positional
// reads of a regular file, write-to-temp-then-rename output, and allocation that reports
// failure as a Status. Every error names the path and carries the system's reason (strerror).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vecdex/status.h"

namespace vecdex::io {

namespace internal {

inline Status ErrnoError(const std::string& path, std::string_view what, int error) {
  std::string msg = path;
  msg += ": ";
  msg += what;
  msg += ": ";
  msg += std::strerror(error);
  return Status::IOError(std::move(msg));
}

// A regular file opened for positional reads. Owns the descriptor; movable, not copyable.
// Not thread-safe (nothing here needs it to be).
class InputFile {
 public:
  // Errors: IOError (cannot open or stat, or not a regular file).
  static Result<InputFile> Open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError(path, "cannot open for reading", errno);
    InputFile file(fd, path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return ErrnoError(path, "cannot stat", errno);
    // Sizes of pipes and directories are meaningless, and every reader trusts the size.
    if (!S_ISREG(st.st_mode)) return Status::IOError(path + ": not a regular file");
    file.size_ = static_cast<uint64_t>(st.st_size);
    return file;
  }

  InputFile(InputFile&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)), size_(other.size_), path_(std::move(other.path_)) {}
  InputFile& operator=(InputFile&&) = delete;
  InputFile(const InputFile&) = delete;
  ~InputFile() {
    if (fd_ >= 0) ::close(fd_);
  }

  uint64_t size() const { return size_; }

  // Reads exactly `n` bytes at `offset` into `dst`. The callers only ask for bytes that fstat
  // said exist, so hitting the end means the file shrank under us: IOError, like a failed read.
  Status ReadAt(uint64_t offset, void* dst, size_t n) const {
    auto* out = static_cast<uint8_t*>(dst);
    while (n > 0) {
      const ssize_t got = ::pread(fd_, out, n, static_cast<off_t>(offset));
      if (got < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(path_, "read failed at byte " + std::to_string(offset), errno);
      }
      if (got == 0) {
        return Status::IOError(path_ + ": unexpected end of file at byte " + std::to_string(offset) +
                               " (did the file change while being read?)");
      }
      out += got;
      offset += static_cast<uint64_t>(got);
      n -= static_cast<size_t>(got);
    }
    return Status::Ok();
  }

 private:
  InputFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
};

// Writes `path` atomically: bytes go to "<path>.tmp", and Commit() renames it over `path`, so a
// failed or interrupted write never leaves a half-written file under the final name. Dropping
// the object without Commit() removes the temp file. No fsync: these files are benchmark inputs
// that can be regenerated, and syncing hundreds of megabytes would dominate the write time.
// Movable, not copyable; not thread-safe.
class OutputFile {
 public:
  // Errors: IOError (cannot create the temp file).
  static Result<OutputFile> Create(const std::string& path) {
    std::string temp = path + ".tmp";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return ErrnoError(temp, "cannot create", errno);
    return OutputFile(fd, path, std::move(temp));
  }

  OutputFile(OutputFile&& other) noexcept
      : fd_(std::exchange(other.fd_, -1)),
        path_(std::move(other.path_)),
        temp_(std::move(other.temp_)) {}
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  ~OutputFile() {
    if (fd_ >= 0) {
      ::close(fd_);
      ::unlink(temp_.c_str());
    }
  }

  // Errors: IOError (e.g. disk full).
  Status Append(const void* data, size_t n) {
    const auto* in = static_cast<const uint8_t*>(data);
    while (n > 0) {
      const ssize_t put = ::write(fd_, in, n);
      if (put < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(temp_, "write failed", errno);
      }
      in += put;
      n -= static_cast<size_t>(put);
    }
    return Status::Ok();
  }

  // Closes the temp file and renames it to the final path. Errors: IOError.
  Status Commit() {
    const int fd = std::exchange(fd_, -1);
    // close() can report a deferred write error (NFS, quota), so its result matters.
    if (::close(fd) != 0) {
      const int error = errno;
      ::unlink(temp_.c_str());
      return ErrnoError(temp_, "close failed", error);
    }
    if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
      const int error = errno;
      ::unlink(temp_.c_str());
      return ErrnoError(path_, "cannot rename " + temp_ + " to it", error);
    }
    return Status::Ok();
  }

 private:
  OutputFile(int fd, std::string path, std::string temp)
      : fd_(fd), path_(std::move(path)), temp_(std::move(temp)) {}
  int fd_ = -1;  // -1 once committed or moved from
  std::string path_;
  std::string temp_;
};

// Resizes `values` to `count` elements, turning allocation failure into ResourceExhausted rather
// than letting std::bad_alloc escape the API.
template <typename T>
Status AllocateValues(std::string_view name, size_t count, std::vector<T>& values) {
  try {
    values.resize(count);
  } catch (const std::exception&) {  // std::bad_alloc or std::length_error
    return Status::ResourceExhausted(std::string(name) + ": cannot allocate " +
                                     std::to_string(count) + " values of " +
                                     std::to_string(sizeof(T)) + " bytes");
  }
  return Status::Ok();
}

}  // namespace internal
}  // namespace vecdex::io
