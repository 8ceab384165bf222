// `vecdex info`: what each collection of a database holds (configuration, status, counts,
// sequences, file sizes, memory) and which collections failed to open; a table or JSON.
#pragma once

#include <CLI/CLI.hpp>

namespace vecdex::cli {

// Adds the `info` subcommand to `app`; its callback prints the report and sets `*exit_code`.
void AddInfoCommand(CLI::App& app, int* exit_code);

}  // namespace vecdex::cli
