// Helpers shared by the CLI's database commands (import, info, verify, search, bench-restart):
// opening a database, keys and vectors in and out of JSON, vector files, number formatting, and
// the one place where a failed Status becomes a message on stderr and an exit code.
//
// Exit codes of every database command: 0 success, 1 a failure reported here (the message says
// what and where), 2 a usage error (main.cc maps CLI11's parse errors to 2).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/dataset.h"
#include "vecdex/database.h"
#include "vecdex/point.h"
#include "vecdex/status.h"

namespace vecdex::cli {

inline constexpr int kExitFailure = 1;

// Prints "vecdex <command>: <status>" on stderr and sets *exit_code to kExitFailure.
void ReportError(std::string_view command, const Status& status, int* exit_code);

// Options for the CLI: recovery and progress messages go to stderr, prefixed "vecdex: ".
DatabaseOptions CliDatabaseOptions();

// Opens an existing database (never creates one: a mistyped --db is NotFound, not a new empty
// directory). Errors: those of Database::Open.
Result<std::unique_ptr<Database>> OpenExistingDatabase(const std::string& dir, DatabaseOptions options);

// Metric / sync policy names as the options spell them.
std::optional<SyncPolicy> ParseSyncPolicy(std::string_view name);  // "batch", "interval"
std::string_view SyncPolicyName(SyncPolicy sync);

// Keys in JSON: an unsigned integer or a string.
nlohmann::json KeyToJson(const PointKey& key);
// Errors: InvalidArgument (negative, fractional or too large numbers, other JSON types, or a
// string key that ValidatePointKey rejects).
Result<PointKey> KeyFromJson(const nlohmann::json& value);
// "--only-keys": either a JSON array ("[1, \"a\"]") or a comma-separated list in which an item of
// decimal digits is an integer key and anything else a string key.
Result<std::vector<PointKey>> ParseKeyList(std::string_view text);

// A JSON array of numbers as a float vector. Errors: InvalidArgument (not an array, not numbers,
// empty, a component that is not finite as float32). `what` names the value in messages.
Result<std::vector<float>> VectorFromJson(const nlohmann::json& value, std::string_view what);

// Reads a vector file chosen by its extension: .fvecs, .bvecs or .npy. Errors: InvalidArgument
// (unknown extension), and the readers' errors.
Result<io::FloatDataset> ReadVectorFile(const std::string& path);

// The double whose shortest decimal form is the float's shortest (0.1f -> 0.1, not
// 0.10000000149011612), so JSON output shows float32 values as they were written.
double FloatForJson(float value);

// "1.5 MiB", "812 B".
std::string FormatBytes(uint64_t bytes);
// "1,234,567".
std::string FormatCount(uint64_t value);
// "12.3 s", "45.6 ms", "789 us".
std::string FormatSeconds(double seconds);

// The message of a nlohmann::json exception without its "[json.exception.parse_error.101] "
// prefix.
std::string JsonErrorMessage(const std::exception& error);

}  // namespace vecdex::cli
