// A progress display on stderr for long CLI operations (import, bench-restart's load).
//
// When stderr is a terminal it draws one bar redrawn in place with '\r' ("[#####.....] 12,000 /
// 100,000 rows  12%  8,123 rows/s  ETA 11 s"), at most ~10 times a second; otherwise (a log file,
// a pipe, CI) it prints a plain line each time another ~10% is done, so logs stay readable.
// Not thread-safe: one thread updates it.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace vecdex::cli {

class Progress {
 public:
  // `total` = the number of units expected (0: unknown, then no percentage or ETA).
  Progress(std::string label, uint64_t total, std::string unit = "rows");
  ~Progress();  // Finish()es if still running
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `done` units are complete (monotonic). Cheap when nothing is to be drawn.
  void Update(uint64_t done);
  // Draws the final state and ends the line (terminal). Idempotent.
  void Finish();

  double elapsed_seconds() const;

 private:
  std::string Line(uint64_t done, bool with_bar) const;

  std::string label_;
  uint64_t total_;
  std::string unit_;
  bool tty_;
  bool finished_ = false;
  bool drawn_ = false;  // anything printed yet
  uint64_t done_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  int next_decile_ = 1;         // non-terminal: the next 10% step to print ...
  uint64_t last_printed_ = 0;   // ... and the count on the last line printed
};

}  // namespace vecdex::cli
