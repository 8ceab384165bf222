// `vecdex bench-filter`: filtered search at every selectivity (issue 5's bench). Loads a labelled
// data set (glove-100-angular's words, or --synthetic words "w<i>") into a collection with
// payload fields hashed from each word (b1000, b100, b10, b2, tag: 0.1% / 1% / 10% / 50% / 5%
// per value), creates payload indexes on them, then sweeps ef for each filter (0.1% to 100%,
// and two ANDs of two fields) measuring recall@k against exact filtered ground truth (brute force
// over the labels, independent of vecdex), QPS and latency, and checks the search contract:
// min(k, matches) results, nearest first, all matching. Prints a table per filter and the issue's
// three targets with PASS/FAIL; a contract violation makes the exit code 1.
#pragma once

#include <CLI/CLI.hpp>

namespace vecdex::cli {

// Adds the `bench-filter` subcommand to `app`; its callback runs the bench and sets `*exit_code`.
void AddBenchFilterCommand(CLI::App& app, int* exit_code);

}  // namespace vecdex::cli
