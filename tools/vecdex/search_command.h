// `vecdex search`: nearest neighbours of one vector (--vector) or of every row of a vector file
// (--queries) in a collection, printed as JSON, one line per query.
#pragma once

#include <CLI/CLI.hpp>

namespace vecdex::cli {

// Adds the `search` subcommand to `app`; its callback runs the searches and sets `*exit_code`.
void AddSearchCommand(CLI::App& app, int* exit_code);

}  // namespace vecdex::cli
