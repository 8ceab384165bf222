// `vecdex verify`: runs Collection::Verify (every checksum, SQLite integrity, the snapshot file,
// index vs store) on each collection and prints the problems. Exit code 0 when every collection
// is sound, 1 otherwise (including a collection that failed to open).
#pragma once

#include <CLI/CLI.hpp>

namespace vecdex::cli {

// Adds the `verify` subcommand to `app`; its callback runs the checks and sets `*exit_code`.
void AddVerifyCommand(CLI::App& app, int* exit_code);

}  // namespace vecdex::cli
