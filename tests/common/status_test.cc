#include "vecdex/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace vecdex {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument(std::to_string(x) + " is odd");
  return x / 2;
}

Status Quarter(int x, int* out) {
  VECDEX_ASSIGN_OR_RETURN(int half, Half(x));
  VECDEX_ASSIGN_OR_RETURN(*out, Half(half));
  return Status::Ok();
}

TEST(StatusTest, CodesAndMessages) {
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(Status::Ok().ToString(), "OK");
  const Status s = Status::Corruption("bad checksum");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kCorruption);
  EXPECT_EQ(s.ToString(), "Corruption: bad checksum");
  EXPECT_EQ(s.WithContext("index.bin").message(), "index.bin: bad checksum");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

TEST(StatusTest, ResultCarriesValueOrError) {
  int out = 0;
  EXPECT_TRUE(Quarter(8, &out).ok());
  EXPECT_EQ(out, 2);
  const Status odd = Quarter(6, &out);
  EXPECT_EQ(odd.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(odd.message(), "3 is odd");
  Result<std::unique_ptr<int>> moved = std::make_unique<int>(5);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(**moved, 5);
}

TEST(StatusDeathTest, ValueOfAnErrorAborts) {
  EXPECT_DEATH({ (void)Half(3).value(); }, "3 is odd");
}

}  // namespace
}  // namespace vecdex
