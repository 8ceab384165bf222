#include "io/npy_io.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "testutil/temp_dir.h"
#include "testutil/test_util.h"

namespace vecdex::io {
namespace {

using ::testing::HasSubstr;

using NpyIoTest = testutil::TempDirTest;

// An npy image with the given version and dict text (used verbatim: no padding is added), then
// `values` as little-endian float32.
std::vector<uint8_t> MakeNpy(uint8_t major, uint8_t minor, const std::string& dict,
                             const std::vector<float>& values) {
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', major, minor};
  const uint32_t length = static_cast<uint32_t>(dict.size());
  const auto* length_bytes = reinterpret_cast<const uint8_t*>(&length);
  out.insert(out.end(), length_bytes, length_bytes + (major == 1 ? 2 : 4));
  out.insert(out.end(), dict.begin(), dict.end());
  const auto* data = reinterpret_cast<const uint8_t*>(values.data());
  out.insert(out.end(), data, data + values.size() * sizeof(float));
  return out;
}

const std::vector<float> k2x3 = {1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.5f};

// What numpy writes for np.array(k2x3, dtype='<f4').reshape(2, 3) (bar the growth padding that
// numpy >= 1.23 adds): the dict, spaces up to a 64-byte block, '\n'.
std::vector<uint8_t> Numpy2x3() {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  EXPECT_EQ(dict.size(), 59u);
  dict += std::string(128 - 10 - 59 - 1, ' ');
  dict += '\n';
  return MakeNpy(1, 0, dict, k2x3);
}

TEST_F(NpyIoTest, KnownByteLayout) {
  const std::vector<uint8_t> bytes = Numpy2x3();
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(bytes[8], 118);  // header length, little-endian uint16
  EXPECT_EQ(bytes[9], 0);
  EXPECT_EQ(bytes[127], '\n');

  auto parsed = ParseNpy(bytes, "known.npy");
  ASSERT_OK(parsed);
  EXPECT_EQ(parsed->rows, 2u);
  EXPECT_EQ(parsed->dim, 3u);
  EXPECT_EQ(parsed->values, k2x3);

  // Our writer produces exactly these bytes.
  auto encoded = EncodeNpy(MatrixView{k2x3.data(), 2, 3});
  ASSERT_OK(encoded);
  EXPECT_EQ(*encoded, bytes);
  const std::string path = Path("a.npy");
  ASSERT_OK(WriteNpy(path, MatrixView{k2x3.data(), 2, 3}));
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> on_disk((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(on_disk, bytes);
}

TEST_F(NpyIoTest, RoundTripKeepsBitsAndAlignsHeader) {
  std::vector<float> values = testutil::RandomVectors(123, 17, 5);
  values[5] = std::numeric_limits<float>::quiet_NaN();
  const std::string path = Path("base.npy");
  ASSERT_OK(WriteNpy(path, MatrixView{values.data(), 123, 17}));
  EXPECT_EQ((std::filesystem::file_size(path) - values.size() * 4) % 64, 0u);
  auto read = ReadNpy(path);
  ASSERT_OK(read);
  EXPECT_EQ(read->rows, 123u);
  EXPECT_EQ(read->dim, 17u);
  ASSERT_EQ(read->values.size(), values.size());
  EXPECT_EQ(std::memcmp(read->values.data(), values.data(), values.size() * 4), 0);

  auto prefix = ReadNpy(path, 10);
  ASSERT_OK(prefix);
  EXPECT_EQ(prefix->rows, 10u);
  EXPECT_EQ(prefix->values[10 * 17 - 1], values[10 * 17 - 1]);
  auto all = ReadNpy(path, 1000);
  ASSERT_OK(all);
  EXPECT_EQ(all->rows, 123u);
}

TEST_F(NpyIoTest, EmptyMatrixRoundTrips) {
  const std::string path = Path("empty.npy");
  ASSERT_OK(WriteNpy(path, MatrixView{nullptr, 0, 8}));
  auto read = ReadNpy(path);
  ASSERT_OK(read);
  EXPECT_EQ(read->rows, 0u);
  EXPECT_EQ(read->dim, 8u);
  EXPECT_TRUE(read->values.empty());
}

TEST_F(NpyIoTest, AcceptsHeaderVariants) {
  const std::string variants[] = {
      "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f4'}",
      "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,3)}\n",
      "  {  'descr' :'|f4' ,\t'fortran_order':False,'shape':( 2 , 3 , ) , }   \r\n",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }",
  };
  for (const std::string& dict : variants) {
    SCOPED_TRACE(dict);
    for (uint8_t major : {1, 2, 3}) {
      auto parsed = ParseNpy(MakeNpy(major, 0, dict, k2x3), "variant.npy");
      ASSERT_OK(parsed);
      EXPECT_EQ(parsed->rows, 2u);
      EXPECT_EQ(parsed->dim, 3u);
      EXPECT_EQ(parsed->values, k2x3);
    }
  }
}

// A file that is valid npy but not a float32 matrix: InvalidArgument, saying what was found.
TEST_F(NpyIoTest, RejectsUnsupportedContent) {
  struct Case {
    std::string dict;
    std::string message;
  };
  const Case cases[] = {
      {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", "dtype '<f8'"},
      {"{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", "dtype '<i4'"},
      {"{'descr': '>f4', 'fortran_order': False, 'shape': (2, 3), }", "big-endian"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }", "structured"},
      {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", "fortran_order is True"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", "shape (6,) has 1 dimensions"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }",
       "shape (1, 2, 3) has 3 dimensions"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", "shape () has 0 dimensions"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 0), }", "dimension 0 is outside"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (0, 70000), }",
       "dimension 70000 is outside"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.dict);
    const std::string path = WriteBytes("bad.npy", MakeNpy(1, 0, c.dict, k2x3));
    auto read = ReadNpy(path);
    EXPECT_STATUS(read, StatusCode::kInvalidArgument);
    EXPECT_THAT(read.status().message(), HasSubstr(c.message));
    EXPECT_THAT(read.status().message(), HasSubstr(path));
  }
  for (const auto& [major, minor] : {std::pair{0, 0}, {4, 0}, {1, 1}, {255, 0}}) {
    std::vector<uint8_t> bytes = Numpy2x3();
    bytes[6] = static_cast<uint8_t>(major);
    bytes[7] = static_cast<uint8_t>(minor);
    auto read = ParseNpy(bytes, "v.npy");
    EXPECT_STATUS(read, StatusCode::kInvalidArgument);
    EXPECT_THAT(read.status().message(),
                HasSubstr("unsupported npy version " + std::to_string(major) + "." +
                          std::to_string(minor)));
  }
}

// Broken files: Corruption, naming the file and the place.
TEST_F(NpyIoTest, RejectsMalformedHeaders) {
  struct Case {
    std::string dict;
    std::string message;
  };
  const Case cases[] = {
      {"{'descr': '<f4', 'fortran_order': False}", "missing key 'shape'"},
      {"{'descr': '<f4', 'shape': (2, 3)}", "missing key 'fortran_order'"},
      {"{'fortran_order': False, 'shape': (2, 3)}", "missing key 'descr'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",
       "duplicate key 'descr' at byte 27"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", "unexpected key 'x'"},
      {"{'descr' '<f4', 'fortran_order': False, 'shape': (2, 3)}", "expected ':' after key 'descr'"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}", "expected ',' or '}'"},
      {"{'descr': '<f4', 'fortran_order': false, 'shape': (2, 3)}", "expected True or False"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3)}", "non-negative integer"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 3)}",
       "integer too large"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}", "expected '('"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", "expected ',' or ')'"},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3)}", "expected ',' or '}'"},
      {"{'descr': '<\\x66', 'fortran_order': False, 'shape': (2, 3)}", "escape"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} x", "unexpected text after"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)", "expected ',' or '}'"},
      {"'descr': '<f4'", "expected '{'"},
      {"{'descr", "unterminated string"},
      {"", "expected '{'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.dict);
    auto read = ParseNpy(MakeNpy(1, 0, c.dict, k2x3), "bad.npy");
    EXPECT_STATUS(read, StatusCode::kCorruption);
    EXPECT_THAT(read.status().message(), HasSubstr("bad.npy: malformed npy header: "));
    EXPECT_THAT(read.status().message(), HasSubstr(c.message));
  }
}

TEST_F(NpyIoTest, RejectsBadMagicAndHeaderLength) {
  std::vector<uint8_t> bytes = Numpy2x3();
  bytes[1] = 'n';
  auto bad_magic = ParseNpy(bytes, "m.npy");
  EXPECT_STATUS(bad_magic, StatusCode::kCorruption);
  EXPECT_THAT(bad_magic.status().message(), HasSubstr("m.npy: not an npy file: bad magic"));

  // Header length pointing past the end, in version 1 (uint16) and 2 (uint32) preambles.
  bytes = Numpy2x3();
  bytes[8] = 0xff;
  bytes[9] = 0xff;
  auto beyond = ParseNpy(bytes, "h.npy");
  EXPECT_STATUS(beyond, StatusCode::kCorruption);
  EXPECT_THAT(beyond.status().message(),
              HasSubstr("header length 65535 at byte 8 extends beyond the end of the file "
                        "(file size 152)"));
  std::vector<uint8_t> v2 = MakeNpy(2, 0, "{}", {});
  std::memset(v2.data() + 8, 0xff, 4);
  EXPECT_STATUS(ParseNpy(v2, "h2.npy"), StatusCode::kCorruption);
}

TEST_F(NpyIoTest, DataSizeMustMatchShape) {
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
  std::vector<float> short_data(k2x3.begin(), k2x3.end() - 1);
  const std::string path = WriteBytes("short.npy", MakeNpy(1, 0, dict, short_data));
  auto truncated = ReadNpy(path);
  EXPECT_STATUS(truncated, StatusCode::kCorruption);
  EXPECT_THAT(truncated.status().message(),
              HasSubstr(path + ": truncated data: shape (2, 3) needs 2 x 12 bytes, but only 20 "
                               "bytes follow the header at byte 70"));

  std::vector<float> long_data = k2x3;
  long_data.push_back(7.0f);
  auto trailing = ParseNpy(MakeNpy(1, 0, dict, long_data), "long.npy");
  EXPECT_STATUS(trailing, StatusCode::kCorruption);
  EXPECT_THAT(trailing.status().message(),
              HasSubstr("data size mismatch: shape (2, 3) needs 24 bytes, but 28 bytes follow"));

  // A shape whose byte size overflows 64 bits is a truncation, not an allocation attempt.
  const std::string huge =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (18446744073709551615, 65536), }";
  EXPECT_STATUS(ParseNpy(MakeNpy(1, 0, huge, k2x3), "huge.npy"), StatusCode::kCorruption);
}

// No prefix of a valid file is a valid file (the shape fixes the size), and none may crash.
TEST_F(NpyIoTest, TruncationAtEveryOffset) {
  const std::vector<uint8_t> bytes = Numpy2x3();
  for (size_t length = 0; length < bytes.size(); ++length) {
    SCOPED_TRACE(length);
    const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + length);
    EXPECT_STATUS(ParseNpy(prefix, "t.npy"), StatusCode::kCorruption);
    const std::string path = WriteBytes("t.npy", prefix);
    auto read = ReadNpy(path);
    EXPECT_STATUS(read, StatusCode::kCorruption);
    EXPECT_THAT(read.status().message(), HasSubstr(path));
  }
}

TEST_F(NpyIoTest, MissingFileAndBadWriterInput) {
  auto read = ReadNpy(Path("missing.npy"));
  EXPECT_STATUS(read, StatusCode::kIOError);
  EXPECT_THAT(read.status().message(), HasSubstr("missing.npy: cannot open for reading"));
  EXPECT_STATUS(WriteNpy(Path("a.npy"), MatrixView{k2x3.data(), 2, 0}),
                StatusCode::kInvalidArgument);
  EXPECT_STATUS(WriteNpy(Path("a.npy"), MatrixView{nullptr, 2, 3}), StatusCode::kInvalidArgument);
  EXPECT_STATUS(EncodeNpy(MatrixView{k2x3.data(), 1, 70000}), StatusCode::kInvalidArgument);
  EXPECT_STATUS(WriteNpy(Path("no/dir/a.npy"), MatrixView{k2x3.data(), 2, 3}),
                StatusCode::kIOError);
  EXPECT_TRUE(std::filesystem::is_empty(dir_));
}

}  // namespace
}  // namespace vecdex::io
