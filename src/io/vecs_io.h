// Readers and writers for the TEXMEX ".vecs" formats used by the classic ANN benchmarks
// (SIFT1M, GIST1M, SIFT1B, ...).
//
// On disk a file is a sequence of rows, each an int32 dimension followed by that many values,
// all little-endian and with no file header:
//   .fvecs  int32 dim, dim x float32
//   .ivecs  int32 dim, dim x int32      (ground-truth neighbor ids)
//   .bvecs  int32 dim, dim x uint8      (read into floats 0..255)
// Every row of a file must declare the same dimension, in 1..kMaxDim.
//
// Each reader comes in two forms sharing one parser: Read* opens a path, Parse* takes the bytes
// already in memory (used by the fuzzer and by tests). `max_rows` limits how many leading rows
// are returned (0 = all), so a benchmark can take a prefix of a huge file; only those rows are
// read and checked, but the file size must still be a whole number of rows.
//
// Reader errors, every message naming the file (`path`, or `name` for Parse*) and the place:
//   IOError            cannot open/stat/read the file, or it is not a regular file
//   Corruption         empty file, a size that is not a whole number of rows, a dimension that is
//                      <= 0 or > kMaxDim, a row whose dimension differs from row 0's
//   ResourceExhausted  the dataset does not fit in memory
// Writer errors:
//   InvalidArgument    no rows (an empty file cannot be read back), dimension outside 1..kMaxDim,
//                      null data; bvecs: a value that is not an integer in 0..255
//   IOError            cannot create, write or rename the file
// Writers replace `path` atomically (write "<path>.tmp", then rename).
//
// All functions are thread-safe in the sense that concurrent calls on different files are fine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/dataset.h"
#include "vecdex/status.h"
#include "vecdex/types.h"

namespace vecdex::io {

// Files. Each reads the file in chunks of rows straight into the result, so peak memory is the
// dataset plus a few megabytes.
Result<FloatDataset> ReadFvecs(const std::string& path, size_t max_rows = 0);
Result<IntDataset> ReadIvecs(const std::string& path, size_t max_rows = 0);
Result<FloatDataset> ReadBvecs(const std::string& path, size_t max_rows = 0);

// The same parsers over bytes in memory; `name` stands for the file in error messages.
Result<FloatDataset> ParseFvecs(std::span<const uint8_t> bytes, std::string_view name,
                                size_t max_rows = 0);
Result<IntDataset> ParseIvecs(std::span<const uint8_t> bytes, std::string_view name,
                              size_t max_rows = 0);
Result<FloatDataset> ParseBvecs(std::span<const uint8_t> bytes, std::string_view name,
                                size_t max_rows = 0);

// Writers. Values are stored bit for bit (NaN and infinities included) except in bvecs, which
// only takes integers 0..255 (as floats, the way ReadBvecs returns them).
[[nodiscard]] Status WriteFvecs(const std::string& path, MatrixView matrix);
[[nodiscard]] Status WriteIvecs(const std::string& path, IntMatrixView matrix);
[[nodiscard]] Status WriteBvecs(const std::string& path, MatrixView matrix);

// The writers' byte images, in memory. Errors: InvalidArgument as for the writers,
// ResourceExhausted.
Result<std::vector<uint8_t>> EncodeFvecs(MatrixView matrix);
Result<std::vector<uint8_t>> EncodeIvecs(IntMatrixView matrix);
Result<std::vector<uint8_t>> EncodeBvecs(MatrixView matrix);

}  // namespace vecdex::io
