// Reader and writer for NumPy's .npy format, restricted to what vector datasets use: a 2-D,
// C-order, little-endian float32 array of shape (rows, dim).
//
// Layout (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
//   "\x93NUMPY", major, minor version bytes,
//   header length (uint16 little-endian in version 1.0, uint32 in 2.0 and 3.0),
//   header: a Python dict literal such as
//     {'descr': '<f4', 'fortran_order': False, 'shape': (1000, 128), }
//   padded with spaces and ending in '\n', then the raw row-major values.
// The reader parses the dict itself (any key order, whitespace, trailing comma, either quote
// style), without evaluating Python. The writer emits version 1.0 with the header block padded
// to a multiple of 64 bytes, as numpy does, so the data starts aligned.
//
// Reader errors, every message naming the file (`path`, or `name` for ParseNpy) and the place:
//   IOError            cannot open/stat/read the file, or it is not a regular file
//   Corruption         not an npy file (bad magic), a header length beyond the file or above
//                      1 MiB, a malformed header dict, data shorter or longer than the shape says
//   InvalidArgument    a well-formed npy file holding something else: version other than
//                      1.0/2.0/3.0, dtype other than little-endian float32 ('<f4' or '|f4'),
//                      fortran_order True, a shape that is not 2-D, dimension outside 1..kMaxDim
//   ResourceExhausted  the dataset does not fit in memory
// A shape of (0, dim) is a valid empty dataset. `max_rows` limits how many leading rows are
// returned (0 = all); the file size must still match the full shape.
//
// Writer errors: InvalidArgument (dimension outside 1..kMaxDim, null data with rows > 0),
// IOError. WriteNpy replaces `path` atomically (write "<path>.tmp", then rename).
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

// Reads the header, then the values in one read straight into the result (no second copy).
Result<FloatDataset> ReadNpy(const std::string& path, size_t max_rows = 0);
// The same parser over bytes in memory; `name` stands for the file in error messages.
Result<FloatDataset> ParseNpy(std::span<const uint8_t> bytes, std::string_view name,
                              size_t max_rows = 0);

[[nodiscard]] Status WriteNpy(const std::string& path, MatrixView matrix);
// The writer's byte image, in memory. Errors: InvalidArgument, ResourceExhausted.
Result<std::vector<uint8_t>> EncodeNpy(MatrixView matrix);

}  // namespace vecdex::io
