// `vecdex bench`: the command-line face of bench/ann.
#pragma once

#include <CLI/CLI.hpp>

namespace vecdex::cli {

// Adds the `bench` subcommand to `app`; its callback runs the bench and sets `*exit_code`.
void AddBenchCommand(CLI::App& app, int* exit_code);

}  // namespace vecdex::cli
