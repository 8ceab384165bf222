#include "progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <utility>

#include "db_util.h"

namespace vecdex::cli {
namespace {

constexpr auto kRedrawInterval = std::chrono::milliseconds(100);
constexpr int kBarWidth = 30;

std::string FormatEta(double seconds) {
  char text[32];
  if (seconds < 60) {
    std::snprintf(text, sizeof(text), "%.0f s", seconds);
  } else if (seconds < 3600) {
    std::snprintf(text, sizeof(text), "%dm%02ds", static_cast<int>(seconds) / 60, static_cast<int>(seconds) % 60);
  } else {
    std::snprintf(text, sizeof(text), "%dh%02dm", static_cast<int>(seconds) / 3600,
                  static_cast<int>(seconds) / 60 % 60);
  }
  return text;
}

}  // namespace

Progress::Progress(std::string label, uint64_t total, std::string unit)
    : label_(std::move(label)),
      total_(total),
      unit_(std::move(unit)),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - kRedrawInterval) {}

Progress::~Progress() { Finish(); }

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::Line(uint64_t done, bool with_bar) const {
  const double seconds = elapsed_seconds();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  std::string line = label_ + " ";
  if (total_ > 0) {
    const double share = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
    if (with_bar) {
      const int filled = static_cast<int>(share * kBarWidth);
      line += '[';
      line.append(static_cast<size_t>(filled), '#');
      line.append(static_cast<size_t>(kBarWidth - filled), '.');
      line += "] ";
    }
    char percent[16];
    std::snprintf(percent, sizeof(percent), "%3.0f%%", share * 100);
    line += FormatCount(done) + " / " + FormatCount(total_) + " " + unit_ + "  " + percent;
  } else {
    line += FormatCount(done) + " " + unit_;
  }
  line += "  " + FormatCount(static_cast<uint64_t>(rate)) + " " + unit_ + "/s";
  if (total_ > 0 && done < total_ && rate > 0) {
    line += "  ETA " + FormatEta(static_cast<double>(total_ - done) / rate);
  } else if (done >= total_ && total_ > 0) {
    line += "  in " + FormatSeconds(seconds);
  }
  return line;
}

void Progress::Update(uint64_t done) {
  if (finished_) return;
  done_ = done;
  if (tty_) {
    const auto now = std::chrono::steady_clock::now();
    if (now - last_draw_ < kRedrawInterval) return;
    last_draw_ = now;
    drawn_ = true;
    // "\x1b[K" clears what a longer previous line left behind.
    std::cerr << "\r" << Line(done, true) << "\x1b[K" << std::flush;
    return;
  }
  if (total_ == 0) return;
  bool crossed = false;
  while (next_decile_ <= 10 && done * 10 >= total_ * static_cast<uint64_t>(next_decile_)) {
    ++next_decile_;
    crossed = true;
  }
  if (crossed && done < total_) {
    std::cerr << Line(done, false) << "\n";
    last_printed_ = done;
    drawn_ = true;
  }
}

void Progress::Finish() {
  if (finished_) return;
  finished_ = true;
  if (done_ == 0 && !drawn_) return;  // failed before anything was done: no noise
  if (tty_) {
    std::cerr << "\r" << Line(done_, true) << "\x1b[K\n" << std::flush;
  } else if (done_ != last_printed_) {
    std::cerr << Line(done_, false) << "\n";
  }
}

}  // namespace vecdex::cli
