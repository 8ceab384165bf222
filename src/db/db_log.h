// Where the database layer's progress and recovery messages go: DatabaseOptions::log, or stderr
// when it is empty.
#pragma once

#include <cstdio>
#include <string>

#include "vecdex/database.h"

namespace vecdex::db {

inline void LogMessage(const DatabaseOptions& options, const std::string& message) {
  if (options.log) {
    options.log(message);
  } else {
    std::fprintf(stderr, "vecdex: %s\n", message.c_str());
  }
}

}  // namespace vecdex::db
