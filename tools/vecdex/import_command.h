// `vecdex import`: loads vectors (.fvecs, .npy) or points (JSON Lines) into a collection,
// optionally creating it, in batches, with a progress display on stderr.
#pragma once

#include <CLI/CLI.hpp>

namespace vecdex::cli {

// Adds the `import` subcommand to `app`; its callback runs the import and sets `*exit_code`.
void AddImportCommand(CLI::App& app, int* exit_code);

}  // namespace vecdex::cli
