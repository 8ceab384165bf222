// Store::Backup: a consistent copy of the database file through SQLite's VACUUM INTO, published
// atomically (temp file, fsync, rename that never replaces, directory fsync).
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "common/durable_file.h"
#include "store/sqlite.h"
#include "store/store.h"

namespace vecdex::store {
namespace {

Status Errno(const std::string& path, const char* what) {
  return Status::IOError(path + ": " + what + ": " + std::strerror(errno));
}

Status FsyncFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno(path, "open for fsync");
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  return rc == 0 ? Status::Ok() : Errno(path, "fsync");
}

// Renames `from` to `to` unless `to` exists (atomically: a file appearing meanwhile is kept).
Status RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return Status::Ok();
  if (errno == EEXIST) return Status::AlreadyExists(to + ": already exists");
  if (errno != EINVAL && errno != ENOSYS) return Errno(to, "rename backup into place");
  // A file system without RENAME_NOREPLACE: a hard link fails the same way when `to` exists.
  if (::link(from.c_str(), to.c_str()) != 0) {
    if (errno == EEXIST) return Status::AlreadyExists(to + ": already exists");
    return Errno(to, "link backup into place");
  }
  ::unlink(from.c_str());
  return Status::Ok();
}

}  // namespace

Status Store::Backup(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("backup: the path is empty");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) return Status::AlreadyExists(path + ": already exists");
  if (errno != ENOENT) return Errno(path, "stat");
  const std::string temp = path + ".tmp";
  // VACUUM INTO refuses an existing non-empty file: a leftover of an interrupted backup goes.
  if (::unlink(temp.c_str()) != 0 && errno != ENOENT) return Errno(temp, "remove stale temp file");

  {
    // A connection of its own: the pool's readers are query_only, which VACUUM INTO refuses
    // (it writes the target). It reads the source through one snapshot, like any reader, so
    // writers go on meanwhile and the copy holds exactly the transactions committed before it.
    VECDEX_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, Connection::Open(path_, /*create=*/false, label_));
    VECDEX_RETURN_IF_ERROR(conn->Exec("PRAGMA wal_autocheckpoint=0;"));
    VECDEX_ASSIGN_OR_RETURN(Statement vacuum, conn->Prepare("VACUUM INTO ?1"));
    vacuum.BindText(1, temp);
    if (Status s = vacuum.Run(); !s.ok()) {
      ::unlink(temp.c_str());
      return s.WithContext("backup to " + path);
    }
  }
  Status s = FsyncFile(temp);
  if (s.ok()) s = RenameNoReplace(temp, path);
  if (!s.ok()) {
    ::unlink(temp.c_str());
    return s;
  }
  return SyncDirectoryOf("store backup", path);
}

}  // namespace vecdex::store
