#include "serve_command.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "db_util.h"
#include "server/api.h"
#include "server/http_server.h"
#include "server/server_options.h"
#include "vecdex/database.h"

namespace vecdex::cli {
namespace {

int g_signal_pipe[2] = {-1, -1};

void OnSignal(int signal_number) {
  const unsigned char byte = static_cast<unsigned char>(signal_number);
  [[maybe_unused]] const ssize_t n = write(g_signal_pipe[1], &byte, 1);
}

struct ServeArgs {
  server::ServerOptions options;
  std::string config;
  uint64_t memory_budget = 0;
  // Options given on the command line (they win over the environment and the config file).
  CLI::Option* data = nullptr;
  CLI::Option* host = nullptr;
  CLI::Option* port = nullptr;
  CLI::Option* api_key = nullptr;
  CLI::Option* read_only_api_key = nullptr;
  CLI::Option* max_body = nullptr;
  CLI::Option* max_batch = nullptr;
  CLI::Option* threads = nullptr;
  CLI::Option* search_threads = nullptr;
  CLI::Option* allow_insecure = nullptr;
  CLI::Option* memory = nullptr;
};

// The JSON config file: {"data": ..., "host": ..., "port": ..., "api_key": ..., "read_only_api_key":
// ..., "max_body_bytes": ..., "max_batch": ..., "threads": ..., "search_threads": ..., "allow_insecure": ...,
// "read_timeout_seconds": ..., "write_timeout_seconds": ..., "memory_budget_bytes": ...}.
Status ApplyConfigFile(const std::string& path, ServeArgs& args) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open the config file");
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(path + ": invalid JSON: " + JsonErrorMessage(e));
  }
  if (!config.is_object()) return Status::InvalidArgument(path + ": expected a JSON object");
  server::ServerOptions& o = args.options;
  try {
    for (auto it = config.begin(); it != config.end(); ++it) {
      const std::string& key = it.key();
      const nlohmann::json& v = it.value();
      if (key == "data") o.data_dir = v.get<std::string>();
      else if (key == "host") o.host = v.get<std::string>();
      else if (key == "port") o.port = v.get<int>();
      else if (key == "api_key") o.api_key = v.get<std::string>();
      else if (key == "read_only_api_key") o.read_only_api_key = v.get<std::string>();
      else if (key == "max_body_bytes") o.max_body_bytes = v.get<size_t>();
      else if (key == "max_batch") o.max_batch = v.get<size_t>();
      else if (key == "threads") o.threads = v.get<size_t>();
      else if (key == "search_threads") o.search_threads = v.get<size_t>();
      else if (key == "allow_insecure") o.allow_insecure = v.get<bool>();
      else if (key == "read_timeout_seconds") o.read_timeout_seconds = v.get<double>();
      else if (key == "write_timeout_seconds") o.write_timeout_seconds = v.get<double>();
      else if (key == "memory_budget_bytes") args.memory_budget = v.get<uint64_t>();
      else return Status::InvalidArgument(path + ": unknown setting \"" + key + "\"");
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(path + ": wrong type: " + JsonErrorMessage(e));
  }
  return Status::Ok();
}

// VECDEX_DATA, VECDEX_HOST, VECDEX_PORT, VECDEX_API_KEY, VECDEX_READ_ONLY_API_KEY.
Status ApplyEnvironment(ServeArgs& args) {
  auto env = [](const char* name) -> const char* {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : nullptr;
  };
  server::ServerOptions& o = args.options;
  if (const char* v = env("VECDEX_DATA"); v && !args.data->count()) o.data_dir = v;
  if (const char* v = env("VECDEX_HOST"); v && !args.host->count()) o.host = v;
  if (const char* v = env("VECDEX_PORT"); v && !args.port->count()) {
    char* end = nullptr;
    const long port = std::strtol(v, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535) return Status::InvalidArgument(std::string("VECDEX_PORT: not a port: ") + v);
    o.port = static_cast<int>(port);
  }
  if (const char* v = env("VECDEX_API_KEY"); v && !args.api_key->count()) o.api_key = v;
  if (const char* v = env("VECDEX_READ_ONLY_API_KEY"); v && !args.read_only_api_key->count()) o.read_only_api_key = v;
  return Status::Ok();
}

int RunServe(ServeArgs& args) {
  // Flags were parsed into args.options; the file and the environment fill only what no flag set.
  ServeArgs from_flags = args;
  if (!args.config.empty()) {
    if (Status s = ApplyConfigFile(args.config, args); !s.ok()) {
      std::cerr << "vecdex serve: " << s.ToString() << "\n";
      return 2;
    }
    server::ServerOptions& o = args.options;
    const server::ServerOptions& f = from_flags.options;
    if (args.data->count()) o.data_dir = f.data_dir;
    if (args.host->count()) o.host = f.host;
    if (args.port->count()) o.port = f.port;
    if (args.api_key->count()) o.api_key = f.api_key;
    if (args.read_only_api_key->count()) o.read_only_api_key = f.read_only_api_key;
    if (args.max_body->count()) o.max_body_bytes = f.max_body_bytes;
    if (args.max_batch->count()) o.max_batch = f.max_batch;
    if (args.threads->count()) o.threads = f.threads;
    if (args.search_threads->count()) o.search_threads = f.search_threads;
    if (args.allow_insecure->count()) o.allow_insecure = true;
    if (args.memory->count()) args.memory_budget = from_flags.memory_budget;
  }
  if (Status s = ApplyEnvironment(args); !s.ok()) {
    std::cerr << "vecdex serve: " << s.ToString() << "\n";
    return 2;
  }
  server::ServerOptions& o = args.options;
  if (o.data_dir.empty()) {
    std::cerr << "vecdex serve: no data directory (--data, VECDEX_DATA or \"data\" in --config)\n";
    return 2;
  }
  if (!server::IsLoopbackHost(o.host) && o.api_key.empty() && !o.allow_insecure) {
    std::cerr << "vecdex serve: refusing to serve " << o.host
              << " without an API key (--api-key / VECDEX_API_KEY); --allow-insecure overrides\n";
    return 2;
  }
  if (o.max_body_bytes == 0 || o.max_batch == 0) {
    std::cerr << "vecdex serve: --max-body-bytes and --max-batch must be positive\n";
    return 2;
  }

  // SIGINT/SIGTERM: a handler writes the signal number to a pipe (async-signal-safe, whichever
  // thread it lands on: OpenBLAS starts threads before main), and a watcher thread reads it.
  if (pipe(g_signal_pipe) != 0) {
    std::cerr << "vecdex serve: pipe failed\n";
    return kExitFailure;
  }
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  DatabaseOptions db_options = CliDatabaseOptions();
  db_options.memory_budget_bytes = args.memory_budget;
  Result<std::unique_ptr<Database>> db = Database::Open(o.data_dir, db_options);
  if (!db.ok()) {
    std::cerr << "vecdex serve: " << db.status().ToString() << "\n";
    return kExitFailure;
  }
  for (const auto& [name, status] : (*db)->FailedCollections()) {
    std::cerr << "vecdex serve: collection " << name << " is not served: " << status.ToString() << "\n";
  }
  int exit_code = 0;
  {
    server::Api api(db->get(), o);
    server::HttpServer http(&api, o);
    if (Status s = http.Bind(); !s.ok()) {
      std::cerr << "vecdex serve: " << s.ToString() << "\n";
      return kExitFailure;
    }
    std::atomic<bool> stopping{false};
    std::thread watcher([&] {
      unsigned char signal_number = 0;
      while (read(g_signal_pipe[0], &signal_number, 1) < 0 && errno == EINTR) {
      }
      if (!stopping.exchange(true)) std::cerr << "vecdex serve: signal " << int{signal_number} << ", shutting down\n";
      http.Stop();
    });
    std::cerr << "vecdex serve: " << (*db)->ListCollections().size() << " collection(s) in " << o.data_dir << "\n";
    std::cerr << "listening on " << o.host << ":" << http.port() << std::endl;
    const Status run = http.Run();
    if (!run.ok()) {
      std::cerr << "vecdex serve: " << run.ToString() << "\n";
      exit_code = kExitFailure;
    }
    if (!stopping.exchange(true)) OnSignal(0);  // wakes the watcher
    watcher.join();
  }
  db->reset();  // final snapshots of every collection that changed
  std::cerr << "vecdex serve: stopped\n";
  return exit_code;
}

// `vecdex bench-serve-inprocess`: the in-process figures the HTTP load bench compares with, on
// the same code path as the server (Collection::Upsert in batches, Collection::SearchBatch).
struct InprocessArgs {
  std::string dir;
  std::string base;
  std::string query;
  size_t points = 100000;
  size_t batch = 1000;
  size_t k = 10;
  size_t ef = 64;
  std::string index = "hnsw";
  double seconds = 10;
};

int RunInprocess(const InprocessArgs& args) {
  Result<io::FloatDataset> base = ReadVectorFile(args.base);
  Result<io::FloatDataset> queries = ReadVectorFile(args.query);
  if (!base.ok() || !queries.ok()) {
    std::cerr << "vecdex bench-serve-inprocess: " << (!base.ok() ? base.status() : queries.status()).ToString() << "\n";
    return kExitFailure;
  }
  const size_t n = std::min(args.points, base->rows);
  std::filesystem::remove_all(args.dir);
  DatabaseOptions options;
  options.log = [](std::string_view) {};
  Result<std::unique_ptr<Database>> db = Database::Open(args.dir, options);
  if (!db.ok()) {
    std::cerr << "vecdex bench-serve-inprocess: " << db.status().ToString() << "\n";
    return kExitFailure;
  }
  CollectionConfig config;
  config.dim = base->dim;
  config.metric = Metric::kCosine;
  config.index_spec = args.index;
  Result<std::shared_ptr<Collection>> collection = (*db)->CreateCollection("inprocess", config);
  if (!collection.ok()) {
    std::cerr << "vecdex bench-serve-inprocess: " << collection.status().ToString() << "\n";
    return kExitFailure;
  }
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  for (size_t first = 0; first < n; first += args.batch) {
    std::vector<Point> points;
    for (size_t i = first; i < std::min(n, first + args.batch); ++i) {
      points.push_back(Point{PointKey::Int(i), std::vector<float>(base->row(i), base->row(i) + base->dim), ""});
    }
    if (Result<WriteSummary> w = (*collection)->Upsert(points); !w.ok()) {
      std::cerr << "vecdex bench-serve-inprocess: " << w.status().ToString() << "\n";
      return kExitFailure;
    }
  }
  const double insert_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  SearchRequest request;
  request.k = args.k;
  request.ef = args.ef;
  size_t searched = 0;
  start = Clock::now();
  double search_seconds = 0;
  do {
    if (auto r = (*collection)->SearchBatch(queries->view(), request); !r.ok()) {
      std::cerr << "vecdex bench-serve-inprocess: " << r.status().ToString() << "\n";
      return kExitFailure;
    }
    searched += queries->rows;
    search_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  } while (search_seconds < args.seconds);
  std::printf("inprocess_upsert_points_per_s %.1f\n", static_cast<double>(n) / insert_seconds);
  std::printf("inprocess_upsert_batches_per_s %.3f\n", static_cast<double>(n) / insert_seconds / static_cast<double>(args.batch));
  std::printf("inprocess_search_qps %.1f\n", static_cast<double>(searched) / search_seconds);
  std::printf("inprocess_threads %u\n", std::max(1u, std::thread::hardware_concurrency()));
  collection->reset();
  (void)(*db)->DropCollection("inprocess");
  return 0;
}

}  // namespace

void AddBenchServeInprocessCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<InprocessArgs>();
  CLI::App* cmd = app.add_subcommand("bench-serve-inprocess",
                                     "In-process upsert rate and SearchBatch QPS, for the HTTP load bench (bench/server)");
  cmd->add_option("--dir", args->dir, "Scratch database directory (emptied first)")->required();
  cmd->add_option("--base", args->base, "Base vectors (.fvecs/.bvecs/.npy)")->required();
  cmd->add_option("--query", args->query, "Query vectors")->required();
  cmd->add_option("--points", args->points, "Points to insert")->capture_default_str();
  cmd->add_option("--batch", args->batch, "Points per Upsert")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--k", args->k, "Neighbours per query")->capture_default_str();
  cmd->add_option("--ef", args->ef, "HNSW beam width")->capture_default_str();
  cmd->add_option("--index", args->index, "Index spec")->capture_default_str();
  cmd->add_option("--seconds", args->seconds, "Minimum search measuring time")->capture_default_str();
  cmd->callback([args, exit_code] { *exit_code = RunInprocess(*args); });
}

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve a database over HTTP (a Qdrant-compatible REST API)");
  server::ServerOptions& o = args->options;
  args->data = cmd->add_option("--data", o.data_dir, "Database directory (created when missing); env VECDEX_DATA");
  args->host = cmd->add_option("--host", o.host, "Address to bind; env VECDEX_HOST")->capture_default_str();
  args->port = cmd->add_option("--port", o.port, "Port (0: any free port); env VECDEX_PORT")
                   ->capture_default_str()->check(CLI::Range(0, 65535));
  cmd->add_option("--config", args->config, "JSON config file (flags and environment win over it)");
  args->api_key = cmd->add_option("--api-key", o.api_key, "Key for every request (api-key header or Bearer); env VECDEX_API_KEY");
  args->read_only_api_key = cmd->add_option("--read-only-api-key", o.read_only_api_key,
                                            "Key allowing reads only; env VECDEX_READ_ONLY_API_KEY");
  args->max_body = cmd->add_option("--max-body-bytes", o.max_body_bytes, "Largest request body (413 beyond)")->capture_default_str();
  args->max_batch = cmd->add_option("--max-batch", o.max_batch, "Most points/ids/searches in one request (413 beyond)")
                        ->capture_default_str();
  args->threads = cmd->add_option("--threads", o.threads, "HTTP worker threads (0: max(8, 2 x cores))")->capture_default_str();
  args->search_threads = cmd->add_option("--search-threads", o.search_threads,
                                         "Searches running at once; more wait their turn in order (0: cores)")
                             ->capture_default_str();
  args->allow_insecure = cmd->add_flag("--allow-insecure", o.allow_insecure, "Allow a non-loopback host without an API key");
  args->memory = cmd->add_option("--memory-budget", args->memory_budget, "Index memory budget in bytes (0: none)");
  cmd->callback([args, exit_code] { *exit_code = RunServe(*args); });
}

}  // namespace vecdex::cli
