// WAL segment names, LSN arithmetic, timeline history files and the
// continuity ("gap") of an archived WAL chain.
//
// Why here: every layout stores WAL under PostgreSQL's segment names
// (TTTTTTTTXXXXXXXXYYYYYYYY: timeline, then the segment number split in a
// high and low part) and restoring to a point needs every segment from a base
// backup's start to that point, on the right timeline after each switch.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pgdr/core/status.h"

namespace pgdr::store {

inline constexpr uint64_t kDefaultWalSegmentSize = 16ull << 20;

struct SegmentId {
  uint32_t timeline = 0;
  uint64_t segno = 0;  // LSN / segment size
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  auto operator<=>(const SegmentId&) const = default;
};

// What a file name in a WAL archive is; compression suffixes (.gz, .bz2, .xz,
// .snappy, .zst, .lz4, .br) and, for pgBackRest, "-<40 hex sha1>" are ignored.
struct WalFile {
  enum class Kind { kSegment, kPartial, kHistory, kBackupLabel, kOther };
  Kind kind = Kind::kOther;
  SegmentId segment;  // kSegment, kPartial, kBackupLabel; timeline only for kHistory
};

// Classifies the last path component of a key.
WalFile ClassifyWalFile(std::string_view key, uint64_t segment_size = kDefaultWalSegmentSize);

// "000000010000000000000002" <-> {1, 2} for the given segment size.
std::optional<SegmentId> ParseSegmentName(std::string_view name, uint64_t segment_size);
std::string SegmentName(const SegmentId& id, uint64_t segment_size);

// "0/3000028" <-> bytes.
std::optional<uint64_t> ParseLsn(std::string_view text);
std::string FormatLsn(uint64_t lsn);

// One line of a timeline history file: timeline `parent` ended at `switchpoint`.
struct HistoryEntry {
  uint32_t parent = 0;
  uint64_t switchpoint = 0;
};

// Parses "<parent tli>\t<switch LSN>\t<reason>" lines; comments and blank
// lines are skipped. Corruption names the line number.
core::Result<std::vector<HistoryEntry>> ParseHistoryFile(std::string_view text);

// A set of segment numbers kept as runs of consecutive numbers, so that an
// archive of 50,000 contiguous segments is one run: memory and the cost of
// counting what is present in a range grow with the number of holes, not
// with history.
class SegmentSet {
 public:
  SegmentSet() = default;
  SegmentSet(std::initializer_list<uint64_t> segnos) {
    for (uint64_t s : segnos) Insert(s);
  }
  void Insert(uint64_t segno) { InsertRange(segno, segno + 1); }
  void InsertRange(uint64_t begin, uint64_t end);  // [begin, end)
  void Erase(uint64_t segno);
  bool Contains(uint64_t segno) const;
  // Present segment numbers in [lo, hi), and the first absent one there.
  uint64_t CountIn(uint64_t lo, uint64_t hi) const;
  std::optional<uint64_t> FirstMissingIn(uint64_t lo, uint64_t hi) const;
  bool empty() const { return runs_.empty(); }
  uint64_t size() const { return size_; }
  uint64_t min() const { return runs_.begin()->first; }        // REQUIRES: !empty()
  uint64_t max() const { return runs_.rbegin()->second - 1; }  // REQUIRES: !empty()
  const std::map<uint64_t, uint64_t>& runs() const { return runs_; }

 private:
  std::map<uint64_t, uint64_t> runs_;  // begin -> end (exclusive); disjoint, never adjacent
  uint64_t size_ = 0;
};

// Decompresses a gzip file (barman-cloud -z/--gzip compresses history files
// too). Output beyond max_bytes, truncated or garbage input: Corruption.
core::Result<std::string> Gunzip(std::string_view data, size_t max_bytes);

// The archive as the gap computation sees it.
struct WalChain {
  std::map<uint32_t, SegmentSet> segments;                  // complete segments per timeline
  std::map<uint32_t, std::vector<HistoryEntry>> histories;  // parsed <tli>.history files
};

struct GapReport {
  uint64_t missing = 0;  // segments needed but absent
  std::optional<SegmentId> first_missing;
  uint32_t timeline = 0;         // the timeline the chain was followed to
  bool history_missing = false;  // the target timeline's history file is absent
};

// Counts the segments missing from `start` (a base backup's first segment) to
// the newest segment of the newest timeline, following the timeline switches
// recorded in that timeline's history file: a segment number is read from
// the newest timeline of the path that had begun by then (as PostgreSQL's
// recovery does). Without the history file, any timeline on or below the
// target counts as present (and history_missing is set).
GapReport ComputeGap(const WalChain& chain, SegmentId start, uint64_t segment_size);

}  // namespace pgdr::store
