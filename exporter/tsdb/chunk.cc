// The Gorilla bit stream of one chunk: writer (ChunkAppender) and reader.
#include "pgdr/tsdb/chunk.h"

#include <algorithm>
#include <bit>
#include <cstdint>

namespace pgdr::tsdb {
namespace {

// Delta-of-delta buckets after their prefixes 10, 110, 1110, 11110; 11111
// carries 64 bits. A bucket of n bits holds -(2^(n-1) - 1) .. 2^(n-1). The
// 4-bit one is for a cycle a few ms off its tick (up to 8 ms: 6 bits, not 9).
constexpr unsigned kBucketBits[] = {4, 7, 14, 20};
constexpr unsigned kFullPrefixOnes = std::size(kBucketBits) + 1;

// A new XOR window's header: 5 bits of leading zeros, 6 of meaningful bits.
constexpr unsigned kWindowHeaderBits = 11;

bool Fits(int64_t x, unsigned n) {
  const int64_t half = int64_t{1} << (n - 1);
  return x >= -(half - 1) && x <= half;
}

// Moves the stream to `capacity` bytes (at least its size).
void Resize(Chunk& c, size_t capacity) {
  auto data = std::make_unique<uint8_t[]>(capacity);  // zeroed: Write ORs into it
  std::copy_n(c.data.get(), c.bytes(), data.get());
  c.data = std::move(data);
  c.capacity = static_cast<uint16_t>(capacity);
}

void Write(Chunk& c, uint64_t value, unsigned n) {
  while (n > 0) {
    if (c.bits % 8 == 0 && c.bytes() == c.capacity) {
      // Grows by a quarter (not double): the open chunk's slack is what
      // every series pays for all the time.
      Resize(c, std::min<size_t>(c.capacity + std::max(16, c.capacity / 4), UINT16_MAX));
    }
    const unsigned free = 8 - c.bits % 8;
    const unsigned take = std::min(free, n);
    const auto part = static_cast<uint8_t>((value >> (n - take)) & ((1u << take) - 1));
    c.data[c.bits / 8] |= static_cast<uint8_t>(part << (free - take));
    c.bits += take;
    n -= take;
  }
}

}  // namespace

void Chunk::Seal() {
  if (capacity > bytes()) Resize(*this, bytes());
}

void ChunkAppender::Append(Chunk& chunk, int64_t t, double v) {
  const auto bits = std::bit_cast<uint64_t>(v);
  if (chunk.samples == 0) {
    Write(chunk, static_cast<uint64_t>(t), 64);
    Write(chunk, bits, 64);
    chunk.min_t = t;
  } else {
    // Unsigned arithmetic: any jump wraps the same way in the reader.
    const auto delta =
        static_cast<int64_t>(static_cast<uint64_t>(t) - static_cast<uint64_t>(chunk.max_t));
    const auto dod =
        static_cast<int64_t>(static_cast<uint64_t>(delta) - static_cast<uint64_t>(delta_));
    if (dod == 0) {
      Write(chunk, 0, 1);
    } else {
      unsigned i = 0;
      while (i < std::size(kBucketBits) && !Fits(dod, kBucketBits[i])) ++i;
      // Prefix: i + 1 ones then a zero (10, 110, 1110, 11110), or 11111.
      if (i < std::size(kBucketBits)) {
        Write(chunk, ((uint64_t{1} << (i + 1)) - 1) << 1, i + 2);
        const unsigned n = kBucketBits[i];
        Write(chunk, static_cast<uint64_t>(dod) & ((uint64_t{1} << n) - 1), n);
      } else {
        Write(chunk, (uint64_t{1} << kFullPrefixOnes) - 1, kFullPrefixOnes);
        Write(chunk, static_cast<uint64_t>(dod), 64);
      }
    }
    delta_ = delta;
    const uint64_t x = bits ^ v_;
    if (x == 0) {
      Write(chunk, 0, 1);
    } else {
      Write(chunk, 1, 1);
      const auto lz = static_cast<uint8_t>(std::min(std::countl_zero(x), 31));
      const auto tz = static_cast<uint8_t>(std::countr_zero(x));
      const unsigned sig = 64 - lz - tz;
      // Prometheus's rule (xor.go) reuses the window whenever the XOR fits in
      // it; a window much wider than this XOR needs costs more than a new
      // one, whose header is 11 bits. The reader cannot tell the difference.
      if (leading_ != 0xff && lz >= leading_ && tz >= trailing_ &&
          64u - leading_ - trailing_ <= sig + kWindowHeaderBits) {
        Write(chunk, 0, 1);
        Write(chunk, x >> trailing_, 64 - leading_ - trailing_);
      } else {
        leading_ = lz;
        trailing_ = tz;
        Write(chunk, 1, 1);
        Write(chunk, lz, 5);
        Write(chunk, sig & 63, 6);  // 64 is written as 0
        Write(chunk, x >> tz, sig);
      }
    }
  }
  v_ = bits;
  chunk.max_t = t;
  ++chunk.samples;
}

uint64_t ChunkIterator::Read(unsigned n) {
  uint64_t out = 0;
  while (n > 0) {
    const unsigned avail = 8 - pos_ % 8;
    const unsigned take = std::min(avail, n);
    const uint8_t byte = chunk_.data[pos_ / 8];
    out = (out << take) | ((byte >> (avail - take)) & ((1u << take) - 1));
    pos_ += take;
    n -= take;
  }
  return out;
}

bool ChunkIterator::Next() {
  if (read_ >= chunk_.samples) return false;
  if (read_ == 0) {
    t_ = static_cast<int64_t>(Read(64));
    v_ = Read(64);
  } else {
    int64_t dod = 0;
    unsigned ones = 0;
    while (ones < kFullPrefixOnes && ReadBit()) ++ones;
    if (ones == kFullPrefixOnes) {
      dod = static_cast<int64_t>(Read(64));
    } else if (ones > 0) {
      const unsigned n = kBucketBits[ones - 1];
      uint64_t raw = Read(n);
      if (raw > (uint64_t{1} << (n - 1))) raw -= uint64_t{1} << n;  // wraps to negative
      dod = static_cast<int64_t>(raw);
    }
    delta_ = static_cast<int64_t>(static_cast<uint64_t>(delta_) + static_cast<uint64_t>(dod));
    t_ = static_cast<int64_t>(static_cast<uint64_t>(t_) + static_cast<uint64_t>(delta_));
    if (ReadBit()) {
      if (ReadBit()) {
        leading_ = static_cast<uint8_t>(Read(5));
        unsigned sig = static_cast<unsigned>(Read(6));
        if (sig == 0) sig = 64;
        trailing_ = static_cast<uint8_t>(64 - leading_ - sig);
      }
      v_ ^= Read(64 - leading_ - trailing_) << trailing_;
    }
  }
  ++read_;
  return true;
}

double ChunkIterator::v() const { return std::bit_cast<double>(v_); }

}  // namespace pgdr::tsdb
