#include "common/durable_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vecdex {
namespace {

Status ErrnoError(const std::string& kind, const std::string& path, const std::string& what, int error) {
  return Status::IOError(kind + " " + path + ": " + what + ": " + std::strerror(error));
}

}  // namespace

DurableFileWriter::~DurableFileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

Status DurableFileWriter::Open() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  return fd_ < 0 ? Error("cannot create") : Status::Ok();
}

Status DurableFileWriter::WriteAt(uint64_t offset, const void* data, size_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    // Chunks of 1 GiB: Linux writes at most ~2 GiB per call anyway.
    const ssize_t w = ::pwrite(fd_, p, std::min<size_t>(n, size_t{1} << 30), static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Error("write failed");
    p += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return Status::Ok();
}

Status DurableFileWriter::Truncate(uint64_t size) {
  return ::ftruncate(fd_, static_cast<off_t>(size)) == 0 ? Status::Ok() : Error("truncate failed");
}

Status DurableFileWriter::SyncAndClose() {
  if (::fsync(fd_) != 0) return Error("fsync failed");
  const int fd = fd_;
  fd_ = -1;
  // close() can report a deferred write error (NFS, quota), so its result matters.
  if (::close(fd) != 0) return Error("close failed");
  return Status::Ok();
}

Status DurableFileWriter::Error(const char* what) const { return ErrnoError(kind_, path_, what, errno); }

Status PublishFile(const std::string& kind, const std::string& temp, const std::string& path) {
  if (::rename(temp.c_str(), path.c_str()) != 0) return ErrnoError(kind, path, "rename failed", errno);
  return SyncDirectoryOf(kind, path);
}

Status SyncDirectoryOf(const std::string& kind, const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(kind, path, "cannot open directory " + dir, errno);
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError(kind, path, "cannot sync directory " + dir, error);
  return Status::Ok();
}

FileMapping::~FileMapping() {
  if (data != nullptr) ::munmap(const_cast<uint8_t*>(data), size);
}

Result<std::shared_ptr<FileMapping>> MapFile(const std::string& kind, const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(kind, path, "cannot open", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    return ErrnoError(kind, path, "cannot stat", error);
  }
  // A directory or a pipe has no meaningful size, and every reader trusts the size.
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::IOError(kind + " " + path + ": not a regular file");
  }
  auto m = std::make_shared<FileMapping>();
  if (st.st_size > 0) {
    void* data = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
    const int error = errno;
    if (data == MAP_FAILED) {
      ::close(fd);
      return ErrnoError(kind, path, "cannot map", error);
    }
    m->data = static_cast<const uint8_t*>(data);
    m->size = static_cast<size_t>(st.st_size);
  }
  ::close(fd);
  return m;
}

}  // namespace vecdex
