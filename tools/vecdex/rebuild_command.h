// `vecdex rebuild`: rebuilds a collection's index (new parameters or kind, or a compaction) in the
// background of an open database, with a progress bar, and reports the validation result.
#pragma once

#include <CLI/CLI.hpp>

namespace vecdex::cli {

// Adds the `rebuild` subcommand to `app`; its callback runs the rebuild and sets `*exit_code`
// (1 when the rebuild was rejected by validation or failed).
void AddRebuildCommand(CLI::App& app, int* exit_code);

}  // namespace vecdex::cli
