#include "server/write_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace vecdex::server {
namespace {

constexpr int kWriteNiceness = 10;

pid_t ThreadId() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// Whether this process may take a thread's niceness from `from` back down to `to`.
bool MayRestore(int from, int to) {
  if (to >= from) return true;
  if (::geteuid() == 0) return true;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NICE, &limit) != 0) return false;
  // RLIMIT_NICE r allows niceness down to 20 - r.
  return limit.rlim_cur != RLIM_INFINITY ? 20 - static_cast<int>(limit.rlim_cur) <= to : true;
}

}  // namespace

ScopedWritePriority::ScopedWritePriority() {
  errno = 0;
  const int current = ::getpriority(PRIO_PROCESS, static_cast<id_t>(ThreadId()));
  if (errno != 0) return;
  const int lowered = current + kWriteNiceness > 19 ? 19 : current + kWriteNiceness;
  if (lowered == current || !MayRestore(lowered, current)) return;
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(ThreadId()), lowered) != 0) return;
  previous_ = current;
  changed_ = true;
}

ScopedWritePriority::~ScopedWritePriority() {
  if (changed_) ::setpriority(PRIO_PROCESS, static_cast<id_t>(ThreadId()), previous_);
}

}  // namespace vecdex::server
