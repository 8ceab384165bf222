// vecdex: the command-line tool. Each subcommand lives in its own file and registers itself here.
//
// Exit codes: 0 success, 1 the command failed (its message is on stderr), 2 a usage error (bad or
// missing options; CLI11 prints what is wrong).
#include <CLI/CLI.hpp>

#include "bench_command.h"
#include "bench_filter_command.h"
#include "bench_restart_command.h"
#include "import_command.h"
#include "info_command.h"
#include "rebuild_command.h"
#include "search_command.h"
#include "serve_command.h"
#include "verify_command.h"

int main(int argc, char** argv) {
  CLI::App app("vecdex: a vector search engine");
  app.require_subcommand(1);
  int exit_code = 0;
  vecdex::cli::AddBenchCommand(app, &exit_code);
  vecdex::cli::AddBenchFilterCommand(app, &exit_code);
  vecdex::cli::AddBenchRestartCommand(app, &exit_code);
  vecdex::cli::AddImportCommand(app, &exit_code);
  vecdex::cli::AddInfoCommand(app, &exit_code);
  vecdex::cli::AddRebuildCommand(app, &exit_code);
  vecdex::cli::AddSearchCommand(app, &exit_code);
  vecdex::cli::AddServeCommand(app, &exit_code);
  vecdex::cli::AddBenchServeInprocessCommand(app, &exit_code);
  vecdex::cli::AddVerifyCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11's own codes are 100+; the usual convention for a usage error is 2. --help is 0.
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}
