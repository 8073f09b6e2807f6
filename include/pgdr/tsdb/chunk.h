// Compressed sample chunks: Gorilla's delta-of-delta timestamps and XOR
// floats, as Prometheus's head chunks, so a series costs a bit or two per
// sample when collection is regular instead of 16 bytes.
//
// A chunk is a bit stream: the first sample in full (64-bit time, 64-bit
// value), then for each further sample the change of the time delta in a
// variable-width bucket and the XOR of the value with the previous one (one
// bit when unchanged, otherwise its meaningful bits, reusing the previous
// leading/trailing-zero window when it fits and is at most a new window's
// 11-bit header wider than the XOR; Prometheus reuses any window that fits,
// the reader is the same). Values are carried as bit
// patterns, so NaNs (the staleness marker among them), -0 and infinities come
// back bit for bit. The timestamp buckets are finer than Prometheus's (4, 7,
// 14 and 20 bits): a cycle that started too late for its tick
// (collect/sample_clock.h) is off the grid by a few milliseconds, which a
// 4-bit bucket holds in 6 bits and Prometheus's 14-bit one in 16.
//
// ChunkAppender holds the encoder's running state apart from the chunk, so
// only the open (head) chunk of a series pays for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

namespace pgdr::tsdb {

// Samples per full chunk, as Prometheus: enough to amortise the first
// sample's 16 bytes, few enough that decoding one for a short range is cheap.
inline constexpr size_t kChunkSamples = 120;

// 32 bytes plus the stream: a series keeps thirty of these for an hour at 1 s.
struct Chunk {
  std::unique_ptr<uint8_t[]> data;  // the bit stream, most significant bit first
  uint32_t bits = 0;                // bits written
  uint16_t samples = 0;
  uint16_t capacity = 0;  // bytes allocated at `data`
  int64_t min_t = 0;
  int64_t max_t = 0;

  size_t bytes() const { return (bits + 7) / 8; }
  // Gives back the spare capacity of a chunk no longer appended to.
  void Seal();
};

class ChunkAppender {
 public:
  // Appends (t, v) to `chunk`. REQUIRES: t > chunk.max_t unless the chunk is
  // empty; `chunk` is the one every earlier Append of this appender wrote
  // (a new chunk needs a new appender).
  void Append(Chunk& chunk, int64_t t, double v);

 private:
  // The previous time is the chunk's max_t.
  int64_t delta_ = 0;
  uint64_t v_ = 0;
  uint8_t leading_ = 0xff;  // 0xff: no XOR window yet
  uint8_t trailing_ = 0;
};

// Walks a chunk's samples in order.
class ChunkIterator {
 public:
  explicit ChunkIterator(const Chunk& chunk) : chunk_(chunk) {}
  // Advances to the next sample; false at the end.
  bool Next();
  int64_t t() const { return t_; }
  double v() const;

 private:
  uint64_t Read(unsigned n);
  bool ReadBit() { return Read(1) != 0; }

  const Chunk& chunk_;
  uint32_t pos_ = 0;  // bit position
  uint16_t read_ = 0;
  int64_t t_ = 0;
  int64_t delta_ = 0;
  uint64_t v_ = 0;
  uint8_t leading_ = 0;
  uint8_t trailing_ = 0;
};

}  // namespace pgdr::tsdb
