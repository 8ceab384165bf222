// `vecdex bench-restart`: how long a database takes to come back after a restart. Loads N
// synthetic vectors into a fresh database, closes it cleanly (which writes the index snapshot),
// then times opening it and answering the first search three ways: (a) mapping the snapshot,
// (b) reading it, (c) without it (the index is rebuilt from the store).
#pragma once

#include <CLI/CLI.hpp>

namespace vecdex::cli {

// Adds the `bench-restart` subcommand to `app`; its callback runs the measurement and sets
// `*exit_code`.
void AddBenchRestartCommand(CLI::App& app, int* exit_code);

}  // namespace vecdex::cli
