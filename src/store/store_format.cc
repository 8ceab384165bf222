#include "store/store_format.h"

#include <array>
#include <cstring>
#include <fstream>

#include "common/crc32c.h"

namespace vecdex::store {

namespace {

// ---------------------------------------------------------------------------- WAL layout
// From https://www.sqlite.org/fileformat2.html#walformat: a 32-byte header, then frames of a
// 24-byte header plus one page. Every field is big-endian.
constexpr size_t kWalHeaderBytes = 32;
constexpr size_t kWalFrameHeaderBytes = 24;
constexpr uint32_t kWalMagic = 0x377f0682;  // low bit set: checksum words are big-endian

uint32_t GetBigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// SQLite's WAL checksum (walChecksumBytes): two running sums over 32-bit word pairs.
struct WalChecksum {
  uint32_t s1 = 0;
  uint32_t s2 = 0;
  bool big_endian_words = false;

  void Add(const uint8_t* data, size_t size) {  // size is a multiple of 8
    for (size_t i = 0; i + 8 <= size; i += 8) {
      uint32_t w0, w1;
      if (big_endian_words) {
        w0 = GetBigEndian32(data + i);
        w1 = GetBigEndian32(data + i + 4);
      } else {
        std::memcpy(&w0, data + i, 4);
        std::memcpy(&w1, data + i + 4, 4);
      }
      s1 += w0 + s2;
      s2 += w1 + s1;
    }
  }
  bool Matches(const uint8_t* stored) const {
    return GetBigEndian32(stored) == s1 && GetBigEndian32(stored + 4) == s2;
  }
};

}  // namespace

RowChecksum& RowChecksum::Int(int64_t value) {
  crc_ = Crc32cExtend(crc_, &value, sizeof(value));
  return *this;
}
RowChecksum& RowChecksum::Bytes(std::span<const uint8_t> bytes) {
  Int(static_cast<int64_t>(bytes.size()));
  crc_ = Crc32cExtend(crc_, bytes.data(), bytes.size());
  return *this;
}
RowChecksum& RowChecksum::Text(std::string_view text) {
  return Bytes({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}
RowChecksum& RowChecksum::Null() { return Int(-1); }

int64_t PointRowChecksum(int64_t id, const PointKey& key, std::span<const uint8_t> vector_blob, bool has_payload,
                         std::string_view payload, int64_t seq) {
  RowChecksum c;
  c.Int(id);
  if (key.is_int()) {
    c.Int(static_cast<int64_t>(key.int_value())).Null();
  } else {
    c.Null().Text(key.string_value());
  }
  c.Bytes(vector_blob);
  if (has_payload) {
    c.Text(payload);
  } else {
    c.Null();
  }
  return c.Int(seq).value();
}

int64_t ChangeRowChecksum(int64_t seq, int64_t op, int64_t point_id) {
  return RowChecksum().Int(seq).Int(op).Int(point_id).value();
}

int64_t MetaRowChecksum(std::string_view key, std::span<const uint8_t> value) {
  return RowChecksum().Text(key).Bytes(value).value();
}

Status CheckWalFile(const std::string& path, const std::string& file_label) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Ok();  // no WAL: nothing SQLite could drop
  uint8_t h[kWalHeaderBytes];
  in.read(reinterpret_cast<char*>(h), kWalHeaderBytes);
  // A crash between creating the WAL and writing its header leaves fewer bytes than a header.
  if (static_cast<size_t>(in.gcount()) < kWalHeaderBytes || in.peek() == std::ifstream::traits_type::eof()) {
    return in.bad() ? Status::IOError(file_label + ": cannot read the write-ahead log") : Status::Ok();
  }
  const uint32_t magic = GetBigEndian32(h);
  const uint32_t page_size = GetBigEndian32(h + 8);
  WalChecksum sum;
  sum.big_endian_words = (magic & 1) != 0;
  sum.Add(h, 24);
  if ((magic & ~1u) != kWalMagic || page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)) != 0 ||
      !sum.Matches(h + 24)) {
    // SQLite would ignore the whole log, frames and all.
    return Status::Corruption(file_label + ": write-ahead log header is damaged (the log after it would be discarded)");
  }
  const uint8_t* salts = h + 16;
  // One frame at a time: the WAL can be tens of megabytes.
  std::vector<uint8_t> frame(kWalFrameHeaderBytes + page_size);
  bool broken = false;  // whether the checksum chain broke at `first_damaged`
  size_t first_damaged = 0;
  size_t commits_after_break = 0;
  for (size_t index = 0;; ++index) {
    in.read(reinterpret_cast<char*>(frame.data()), static_cast<std::streamsize>(frame.size()));
    if (static_cast<size_t>(in.gcount()) < frame.size()) break;  // a partial last frame is ignored
    const uint8_t* f = frame.data();
    const bool same_generation = std::memcmp(f + 8, salts, 8) == 0;
    if (!broken) {
      WalChecksum next = sum;
      next.Add(f, 8);
      next.Add(f + kWalFrameHeaderBytes, page_size);
      if (same_generation && next.Matches(f + 16)) {
        sum = next;  // Invariant: frames [0, index] are what SQLite recovers.
        continue;
      }
      if (!same_generation && next.Matches(f + 16)) {
        return Status::Corruption(file_label + ": write-ahead log frame " + std::to_string(index) +
                                  " has damaged salts; it and the frames after it would be discarded");
      }
      broken = true;
      first_damaged = index;
    }
    // A process killed while committing can leave exactly one damaged commit behind, the one it
    // was writing: SQLite writes a frame's header and its page in two calls (a kill between
    // them leaves a header over stale bytes), and it writes the commit frame before it rewrites
    // the checksums of frames it overwrote in place. That transaction was never acknowledged. A
    // second commit after the break can only come from damage to a completed transaction.
    if (same_generation && GetBigEndian32(f + 4) != 0 && ++commits_after_break >= 2) {
      return Status::Corruption(file_label + ": write-ahead log frame " + std::to_string(first_damaged) +
                                " is damaged and the transaction committed at frame " + std::to_string(index) +
                                " after it would be discarded");
    }
  }
  if (in.bad()) return Status::IOError(file_label + ": cannot read the write-ahead log");
  return Status::Ok();
}

}  // namespace vecdex::store
