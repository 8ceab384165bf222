// vecdex: the command-line tool. Each subcommand lives in its own file and registers itself here.
#include <CLI/CLI.hpp>

#include "bench_command.h"

int main(int argc, char** argv) {
  CLI::App app("vecdex: a vector search engine");
  app.require_subcommand(1);
  int exit_code = 0;
  vecdex::cli::AddBenchCommand(app, &exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
