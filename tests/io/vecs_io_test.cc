#include "io/vecs_io.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "testutil/temp_dir.h"
#include "testutil/test_util.h"

namespace vecdex::io {
namespace {

using ::testing::HasSubstr;

class VecsIoTest : public testutil::TempDirTest {
 protected:
  std::vector<std::string> DirEntries() const {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

};

void AppendInt32(std::vector<uint8_t>& out, int32_t v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + 4);
}
void AppendFloat(std::vector<uint8_t>& out, float v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  out.insert(out.end(), p, p + 4);
}

// `rows` fvecs rows of dimension `dim`, row r holding r*100 + j.
std::vector<uint8_t> MakeFvecs(size_t rows, size_t dim) {
  std::vector<uint8_t> bytes;
  for (size_t r = 0; r < rows; ++r) {
    AppendInt32(bytes, static_cast<int32_t>(dim));
    for (size_t j = 0; j < dim; ++j) AppendFloat(bytes, static_cast<float>(r * 100 + j));
  }
  return bytes;
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST_F(VecsIoTest, FvecsRoundTripKeepsEveryBit) {
  std::vector<float> values = testutil::RandomVectors(37, 13, 7);
  values[0] = std::numeric_limits<float>::quiet_NaN();
  values[1] = -std::numeric_limits<float>::infinity();
  values[2] = -0.0f;
  const std::string path = Path("base.fvecs");
  ASSERT_OK(WriteFvecs(path, MatrixView{values.data(), 37, 13}));
  EXPECT_EQ(std::filesystem::file_size(path), 37u * (4 + 13 * 4));
  auto read = ReadFvecs(path);
  ASSERT_OK(read);
  EXPECT_EQ(read->rows, 37u);
  EXPECT_EQ(read->dim, 13u);
  EXPECT_TRUE(SameBits(read->values, values));
  // The writer leaves only the final file behind, no temp file.
  EXPECT_THAT(DirEntries(), ::testing::ElementsAre("base.fvecs"));
}

TEST_F(VecsIoTest, IvecsRoundTrip) {
  IntDataset truth{3, 4, {0, 1, 2, 3, -1, std::numeric_limits<int32_t>::max(),
                          std::numeric_limits<int32_t>::min(), 7, 8, 9, 10, 11}};
  const std::string path = Path("gt.ivecs");
  ASSERT_OK(WriteIvecs(path, truth.view()));
  auto read = ReadIvecs(path);
  ASSERT_OK(read);
  EXPECT_EQ(read->rows, 3u);
  EXPECT_EQ(read->dim, 4u);
  EXPECT_EQ(read->values, truth.values);
  EXPECT_EQ(read->row(2)[0], 8);
}

TEST_F(VecsIoTest, BvecsRoundTripAsFloats) {
  std::vector<float> values(5 * 9);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>((i * 37) % 256);
  values[3] = 255.0f;
  values[4] = 0.0f;
  const std::string path = Path("base.bvecs");
  ASSERT_OK(WriteBvecs(path, MatrixView{values.data(), 5, 9}));
  EXPECT_EQ(std::filesystem::file_size(path), 5u * (4 + 9));
  auto read = ReadBvecs(path);
  ASSERT_OK(read);
  EXPECT_EQ(read->rows, 5u);
  EXPECT_EQ(read->dim, 9u);
  EXPECT_EQ(read->values, values);
}

TEST_F(VecsIoTest, KnownByteLayout) {
  const std::vector<float> values = {1.5f, -2.0f, 3.25f, 4.0f};
  auto encoded = EncodeFvecs(MatrixView{values.data(), 2, 2});
  ASSERT_OK(encoded);
  std::vector<uint8_t> expected;
  AppendInt32(expected, 2);
  AppendFloat(expected, 1.5f);
  AppendFloat(expected, -2.0f);
  AppendInt32(expected, 2);
  AppendFloat(expected, 3.25f);
  AppendFloat(expected, 4.0f);
  EXPECT_EQ(*encoded, expected);
  // 2 = 02 00 00 00 little-endian, 1.5f = 0x3fc00000.
  EXPECT_EQ((*encoded)[0], 2);
  EXPECT_EQ((*encoded)[7], 0x3f);
  EXPECT_EQ((*encoded)[6], 0xc0);

  const std::vector<uint8_t> bvecs_expected = {3, 0, 0, 0, 0, 128, 255};
  const std::vector<float> bytes_as_floats = {0.0f, 128.0f, 255.0f};
  auto bvecs = EncodeBvecs(MatrixView{bytes_as_floats.data(), 1, 3});
  ASSERT_OK(bvecs);
  EXPECT_EQ(*bvecs, bvecs_expected);
  auto parsed = ParseBvecs(bvecs_expected, "mem.bvecs");
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->values, bytes_as_floats);
}

TEST_F(VecsIoTest, MaxRowsReadsAPrefix) {
  const std::string path = WriteBytes("base.fvecs", MakeFvecs(10, 3));
  for (size_t max_rows : {1u, 4u, 10u, 11u, 1000u}) {
    auto read = ReadFvecs(path, max_rows);
    ASSERT_OK(read);
    EXPECT_EQ(read->rows, std::min<size_t>(max_rows, 10));
    EXPECT_EQ(read->values.size(), read->rows * 3);
    EXPECT_EQ(read->row(read->rows - 1)[2], static_cast<float>((read->rows - 1) * 100 + 2));
  }
  // Rows past the prefix are not checked: a bad row 5 does not stop a 5-row prefix.
  std::vector<uint8_t> bytes = MakeFvecs(10, 3);
  bytes[5 * 16] = 9;
  const std::string bad = WriteBytes("bad.fvecs", bytes);
  ASSERT_OK(ReadFvecs(bad, 5));
  EXPECT_STATUS(ReadFvecs(bad, 6), StatusCode::kCorruption);
}

// Every truncation of a small file must fail cleanly with Corruption, except at row boundaries,
// where what is left is a valid, shorter file.
TEST_F(VecsIoTest, TruncationAtEveryOffset) {
  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    size_t row_bytes;
  };
  const std::vector<float> floats = testutil::RandomVectors(3, 3, 1);
  std::vector<float> small_ints(9);
  for (size_t i = 0; i < small_ints.size(); ++i) small_ints[i] = static_cast<float>(i);
  const IntDataset ints{3, 3, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  const Case cases[] = {
      {"t.fvecs", *EncodeFvecs(MatrixView{floats.data(), 3, 3}), 16},
      {"t.ivecs", *EncodeIvecs(ints.view()), 16},
      {"t.bvecs", *EncodeBvecs(MatrixView{small_ints.data(), 3, 3}), 7},
  };
  for (const Case& c : cases) {
    for (size_t length = 0; length < c.bytes.size(); ++length) {
      SCOPED_TRACE(std::string(c.name) + " truncated to " + std::to_string(length));
      const std::vector<uint8_t> prefix(c.bytes.begin(), c.bytes.begin() + length);
      const std::string path = WriteBytes(c.name, prefix);
      Status file_status, memory_status;
      size_t rows = 0;
      if (c.name[2] == 'f') {
        auto r = ReadFvecs(path);
        file_status = r.status();
        rows = r.ok() ? r->rows : 0;
        memory_status = ParseFvecs(prefix, c.name).status();
      } else if (c.name[2] == 'i') {
        auto r = ReadIvecs(path);
        file_status = r.status();
        rows = r.ok() ? r->rows : 0;
        memory_status = ParseIvecs(prefix, c.name).status();
      } else {
        auto r = ReadBvecs(path);
        file_status = r.status();
        rows = r.ok() ? r->rows : 0;
        memory_status = ParseBvecs(prefix, c.name).status();
      }
      if (length > 0 && length % c.row_bytes == 0) {
        EXPECT_OK(file_status);
        EXPECT_EQ(rows, length / c.row_bytes);
      } else {
        EXPECT_STATUS(file_status, StatusCode::kCorruption);
        EXPECT_THAT(file_status.message(), HasSubstr(path));
      }
      EXPECT_EQ(memory_status.code(), file_status.code()) << memory_status.ToString();
    }
  }
}

TEST_F(VecsIoTest, TruncationMessageGivesSizes) {
  std::vector<uint8_t> bytes = MakeFvecs(2, 128);  // rows of 516 bytes
  bytes.resize(1030);
  auto read = ParseFvecs(bytes, "q.fvecs");
  EXPECT_STATUS(read, StatusCode::kCorruption);
  EXPECT_EQ(read.status().message(),
            "q.fvecs: truncated: file size 1030 is not a multiple of the row size 516 "
            "(dimension 128)");
}

TEST_F(VecsIoTest, WrongDimensionMidFile) {
  // Row 2 declares 8 but the file size stays a whole number of 4-dimension rows.
  std::vector<uint8_t> bytes = MakeFvecs(4, 4);
  bytes[2 * 20] = 8;
  const std::string path = WriteBytes("base.fvecs", bytes);
  auto read = ReadFvecs(path);
  EXPECT_STATUS(read, StatusCode::kCorruption);
  EXPECT_EQ(read.status().message(), path + ": row 2 declares dimension 8, expected 4");

  // Far enough in that the reader is past its first chunk: the row number must still be exact.
  const size_t rows = 1100, dim = 1024, row_bytes = 4 + dim * 4;
  std::vector<uint8_t> big = MakeFvecs(rows, dim);
  const int32_t negative = -5;
  std::memcpy(&big[1050 * row_bytes], &negative, 4);
  const std::string big_path = WriteBytes("big.fvecs", big);
  auto big_read = ReadFvecs(big_path);
  EXPECT_STATUS(big_read, StatusCode::kCorruption);
  EXPECT_THAT(big_read.status().message(), HasSubstr("row 1050 declares dimension -5, expected 1024"));
  auto prefix = ReadFvecs(big_path, 1050);
  ASSERT_OK(prefix);
  EXPECT_EQ(prefix->row(1049)[1023], static_cast<float>(1049 * 100 + 1023));
}

TEST_F(VecsIoTest, BadFirstDimension) {
  for (int32_t dim : {0, -1, 65537, std::numeric_limits<int32_t>::min(),
                      std::numeric_limits<int32_t>::max()}) {
    SCOPED_TRACE(dim);
    std::vector<uint8_t> bytes;
    AppendInt32(bytes, dim);
    for (int i = 0; i < 8; ++i) AppendFloat(bytes, 1.0f);
    const std::string path = WriteBytes("bad.fvecs", bytes);
    auto read = ReadFvecs(path);
    EXPECT_STATUS(read, StatusCode::kCorruption);
    EXPECT_THAT(read.status().message(),
                HasSubstr("row 0 declares dimension " + std::to_string(dim) + ", outside 1..65536"));
    EXPECT_STATUS(ReadIvecs(path), StatusCode::kCorruption);
    EXPECT_STATUS(ReadBvecs(path), StatusCode::kCorruption);
  }
  // The limit itself is fine.
  const std::vector<float> wide(65536, 0.5f);
  ASSERT_OK(WriteFvecs(Path("wide.fvecs"), MatrixView{wide.data(), 1, 65536}));
  auto read = ReadFvecs(Path("wide.fvecs"));
  ASSERT_OK(read);
  EXPECT_EQ(read->dim, 65536u);
}

TEST_F(VecsIoTest, EmptyFile) {
  const std::string path = WriteBytes("empty.fvecs", {});
  auto read = ReadFvecs(path);
  EXPECT_STATUS(read, StatusCode::kCorruption);
  EXPECT_EQ(read.status().message(), path + ": empty file");
}

TEST_F(VecsIoTest, MissingFileAndDirectoryAreIOErrors) {
  const std::string missing = Path("missing.fvecs");
  auto read = ReadFvecs(missing);
  EXPECT_STATUS(read, StatusCode::kIOError);
  EXPECT_THAT(read.status().message(), HasSubstr(missing));
  EXPECT_THAT(read.status().message(), HasSubstr("No such file or directory"));
  EXPECT_STATUS(ReadIvecs(missing), StatusCode::kIOError);
  EXPECT_STATUS(ReadBvecs(missing), StatusCode::kIOError);
  auto dir = ReadFvecs(dir_.string());
  EXPECT_STATUS(dir, StatusCode::kIOError);
  EXPECT_THAT(dir.status().message(), HasSubstr("not a regular file"));
}

TEST_F(VecsIoTest, WriterRejectsBadInput) {
  const std::vector<float> values = {1.0f, 2.0f, 3.0f, 4.0f};
  EXPECT_STATUS(WriteFvecs(Path("a.fvecs"), MatrixView{values.data(), 0, 4}),
                StatusCode::kInvalidArgument);
  EXPECT_STATUS(WriteFvecs(Path("a.fvecs"), MatrixView{values.data(), 1, 0}),
                StatusCode::kInvalidArgument);
  EXPECT_STATUS(WriteFvecs(Path("a.fvecs"), MatrixView{values.data(), 1, 65537}),
                StatusCode::kInvalidArgument);
  EXPECT_STATUS(WriteFvecs(Path("a.fvecs"), MatrixView{nullptr, 1, 4}),
                StatusCode::kInvalidArgument);
  EXPECT_STATUS(WriteIvecs(Path("a.ivecs"), IntMatrixView{nullptr, 1, 4}),
                StatusCode::kInvalidArgument);
  EXPECT_STATUS(EncodeFvecs(MatrixView{values.data(), 0, 4}), StatusCode::kInvalidArgument);

  for (float bad : {256.0f, -1.0f, 1.5f, std::numeric_limits<float>::quiet_NaN(),
                    std::numeric_limits<float>::infinity()}) {
    SCOPED_TRACE(bad);
    const std::vector<float> bytes = {0.0f, 1.0f, 2.0f, bad};
    const Status status = WriteBvecs(Path("b.bvecs"), MatrixView{bytes.data(), 2, 2});
    EXPECT_STATUS(status, StatusCode::kInvalidArgument);
    EXPECT_THAT(status.message(), HasSubstr("row 1, component 1"));
    EXPECT_STATUS(EncodeBvecs(MatrixView{bytes.data(), 2, 2}), StatusCode::kInvalidArgument);
  }
  // Nothing was written, not even a temp file.
  EXPECT_TRUE(DirEntries().empty());
}

TEST_F(VecsIoTest, WriterReportsIOErrorAndReplacesFiles) {
  const std::vector<float> values = {1.0f, 2.0f};
  const Status status = WriteFvecs(Path("no/such/dir/a.fvecs"), MatrixView{values.data(), 1, 2});
  EXPECT_STATUS(status, StatusCode::kIOError);
  EXPECT_THAT(status.message(), HasSubstr("no/such/dir/a.fvecs"));

  const std::string path = WriteBytes("a.fvecs", MakeFvecs(5, 7));
  ASSERT_OK(WriteFvecs(path, MatrixView{values.data(), 1, 2}));
  auto read = ReadFvecs(path);
  ASSERT_OK(read);
  EXPECT_EQ(read->values, values);
}

TEST_F(VecsIoTest, MultiChunkRoundTrip) {
  // About 6 MB: more than one 4 MiB chunk each way.
  const std::vector<float> values = testutil::RandomVectors(3000, 512, 3);
  const std::string path = Path("big.fvecs");
  ASSERT_OK(WriteFvecs(path, MatrixView{values.data(), 3000, 512}));
  auto read = ReadFvecs(path);
  ASSERT_OK(read);
  EXPECT_TRUE(SameBits(read->values, values));
  auto prefix = ReadFvecs(path, 2049);
  ASSERT_OK(prefix);
  EXPECT_TRUE(SameBits(prefix->values,
                       std::vector<float>(values.begin(), values.begin() + 2049 * 512)));
}

}  // namespace
}  // namespace vecdex::io
