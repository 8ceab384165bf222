// `vecdex serve`: the HTTP server (a Qdrant-compatible REST API) on a database directory.
#pragma once

#include <CLI/CLI.hpp>

namespace vecdex::cli {

// Adds the `serve` subcommand to `app`; its callback serves until SIGTERM/SIGINT and sets
// `*exit_code` (0 after a clean shutdown).
void AddServeCommand(CLI::App& app, int* exit_code);
// Adds `bench-serve-inprocess`: the in-process figures bench/server/run.sh compares with.
void AddBenchServeInprocessCommand(CLI::App& app, int* exit_code);

}  // namespace vecdex::cli
