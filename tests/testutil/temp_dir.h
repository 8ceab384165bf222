// A test fixture that gives each test its own empty directory, removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "testutil/test_util.h"

namespace vecdex::testutil {

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name) c = (c == '/') ? '_' : c;  // parameterised test names
    dir_ = std::filesystem::path(::testing::TempDir()) / ("vecdex_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Moves the test's directory to tmpfs (/dev/shm) when there is one: for tests that open
  // hundreds of stores, whose fsyncs prove nothing there (they test detection or process
  // crashes, whose page cache survives them) and would only slow the test and load the disk.
  void MoveToTmpfs() {
    if (!std::filesystem::is_directory("/dev/shm")) return;
    std::filesystem::remove_all(dir_);
    dir_ = std::filesystem::path("/dev/shm") / dir_.filename();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes `bytes` to a file named `name` in the test's directory; returns its path.
  std::string WriteBytes(const std::string& name, const std::vector<uint8_t>& bytes) const {
    const std::string path = Path(name);
    WriteFileBytes(path, bytes);
    return path;
  }

  std::filesystem::path dir_;
};

}  // namespace vecdex::testutil
