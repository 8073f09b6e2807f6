#include "pgdr/store/wal.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <iterator>

namespace pgdr::store {
namespace {

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
  });
}

uint64_t Hex(std::string_view s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v, 16);
  return v;
}

std::string_view StripCompression(std::string_view name) {
  static constexpr std::array<std::string_view, 8> kSuffixes = {".gz",  ".bz2", ".xz", ".snappy",
                                                                ".zst", ".lz4", ".br", ".zstd"};
  for (std::string_view suffix : kSuffixes) {
    if (name.ends_with(suffix)) return name.substr(0, name.size() - suffix.size());
  }
  return name;
}

}  // namespace

std::optional<SegmentId> ParseSegmentName(std::string_view name, uint64_t segment_size) {
  if (name.size() != 24 || !IsHex(name) || segment_size == 0) return std::nullopt;
  uint64_t per_log = 0x100000000ull / segment_size;
  uint64_t log = Hex(name.substr(8, 8));
  uint64_t seg = Hex(name.substr(16, 8));
  if (seg >= per_log) return std::nullopt;
  return SegmentId{static_cast<uint32_t>(Hex(name.substr(0, 8))), log * per_log + seg};
}

std::string SegmentName(const SegmentId& id, uint64_t segment_size) {
  uint64_t per_log = 0x100000000ull / segment_size;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08X%08X%08X", id.timeline,
                static_cast<uint32_t>(id.segno / per_log),
                static_cast<uint32_t>(id.segno % per_log));
  return buf;
}

WalFile ClassifyWalFile(std::string_view key, uint64_t segment_size) {
  std::string_view name = key.substr(key.rfind('/') + 1);
  name = StripCompression(name);
  WalFile file;
  // pgBackRest appends "-<sha1>" to segments.
  if (name.size() == 24 + 1 + 40 && name[24] == '-' && IsHex(name.substr(25))) {
    name = name.substr(0, 24);
  }
  if (name.size() == 8 + 8 && name.ends_with(".history") && IsHex(name.substr(0, 8))) {
    file.kind = WalFile::Kind::kHistory;
    file.segment.timeline = static_cast<uint32_t>(Hex(name.substr(0, 8)));
    return file;
  }
  std::string_view base = name.substr(0, std::min<size_t>(24, name.size()));
  std::optional<SegmentId> id = ParseSegmentName(base, segment_size);
  if (!id) return file;
  std::string_view rest = name.substr(24);
  file.segment = *id;
  if (rest.empty()) {
    file.kind = WalFile::Kind::kSegment;
  } else if (rest == ".partial" || (rest.starts_with(".partial") && rest.size() == 8)) {
    file.kind = WalFile::Kind::kPartial;
  } else if (rest.size() == 1 + 8 + 7 && rest[0] == '.' && rest.ends_with(".backup")) {
    file.kind = WalFile::Kind::kBackupLabel;
  }
  return file;
}

std::optional<uint64_t> ParseLsn(std::string_view text) {
  size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash > 8 || text.size() - slash - 1 > 8) {
    return std::nullopt;
  }
  std::string_view hi = text.substr(0, slash), lo = text.substr(slash + 1);
  if (!IsHex(hi) || !IsHex(lo)) return std::nullopt;
  return (Hex(hi) << 32) | Hex(lo);
}

std::string FormatLsn(uint64_t lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<uint32_t>(lsn >> 32),
                static_cast<uint32_t>(lsn));
  return buf;
}

core::Result<std::vector<HistoryEntry>> ParseHistoryFile(std::string_view text) {
  std::vector<HistoryEntry> entries;
  int line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#' || line == "\r") continue;
    size_t tab = line.find_first_of("\t ");
    std::string_view tli = line.substr(0, tab);
    std::string_view rest = tab == std::string_view::npos ? "" : line.substr(tab + 1);
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
    std::string_view lsn_text = rest.substr(0, rest.find_first_of("\t \r"));
    uint32_t parent = 0;
    auto [ptr, ec] = std::from_chars(tli.data(), tli.data() + tli.size(), parent);
    std::optional<uint64_t> lsn = ParseLsn(lsn_text);
    if (ec != std::errc() || ptr != tli.data() + tli.size() || !lsn) {
      return core::Status::Corruption("history file line " + std::to_string(line_no) +
                                      ": expected \"<timeline>\\t<LSN>\\t<reason>\"");
    }
    if (!entries.empty() &&
        (parent <= entries.back().parent || *lsn < entries.back().switchpoint)) {
      return core::Status::Corruption("history file line " + std::to_string(line_no) +
                                      ": timelines or switch points out of order");
    }
    entries.push_back({parent, *lsn});
  }
  return entries;
}

void SegmentSet::InsertRange(uint64_t begin, uint64_t end) {
  if (begin >= end) return;
  // Merge with every run that overlaps or touches [begin, end).
  auto it = runs_.upper_bound(begin);
  if (it != runs_.begin() && std::prev(it)->second >= begin) --it;
  while (it != runs_.end() && it->first <= end) {
    begin = std::min(begin, it->first);
    end = std::max(end, it->second);
    size_ -= it->second - it->first;
    it = runs_.erase(it);
  }
  runs_.emplace(begin, end);
  size_ += end - begin;
}

void SegmentSet::Erase(uint64_t segno) {
  auto it = runs_.upper_bound(segno);
  if (it == runs_.begin() || std::prev(it)->second <= segno) return;
  --it;
  uint64_t begin = it->first, end = it->second;
  runs_.erase(it);
  --size_;
  if (begin < segno) runs_.emplace(begin, segno);
  if (segno + 1 < end) runs_.emplace(segno + 1, end);
}

bool SegmentSet::Contains(uint64_t segno) const {
  auto it = runs_.upper_bound(segno);
  return it != runs_.begin() && std::prev(it)->second > segno;
}

uint64_t SegmentSet::CountIn(uint64_t lo, uint64_t hi) const {
  uint64_t count = 0;
  auto it = runs_.upper_bound(lo);
  if (it != runs_.begin()) --it;
  for (; it != runs_.end() && it->first < hi; ++it) {
    uint64_t b = std::max(it->first, lo), e = std::min(it->second, hi);
    if (b < e) count += e - b;
  }
  return count;
}

std::optional<uint64_t> SegmentSet::FirstMissingIn(uint64_t lo, uint64_t hi) const {
  if (lo >= hi) return std::nullopt;
  auto it = runs_.upper_bound(lo);
  if (it == runs_.begin() || std::prev(it)->second <= lo) return lo;
  uint64_t end = std::prev(it)->second;
  return end < hi ? std::optional<uint64_t>(end) : std::nullopt;
}

GapReport ComputeGap(const WalChain& chain, SegmentId start, uint64_t segment_size) {
  GapReport report;
  // The target is the newest timeline that has segments.
  auto newest_it = chain.segments.rbegin();
  while (newest_it != chain.segments.rend() && newest_it->second.empty()) ++newest_it;
  if (newest_it == chain.segments.rend()) return report;
  uint32_t target = newest_it->first;
  report.timeline = target;
  uint64_t newest = newest_it->second.max();
  if (start.segno > newest) return report;

  // Ranges [begin, end) of segment numbers read from each timeline of the path.
  struct Range {
    uint32_t timeline;
    uint64_t begin, end;
  };
  std::vector<Range> path;
  auto history = chain.histories.find(target);
  if (target > 1 && history == chain.histories.end()) report.history_missing = true;
  if (history != chain.histories.end() && !history->second.empty()) {
    uint64_t begin = 0;
    for (const HistoryEntry& entry : history->second) {
      uint64_t switch_seg = entry.switchpoint / segment_size;
      path.push_back({entry.parent, begin, switch_seg});
      begin = std::max(begin, switch_seg);
    }
    path.push_back({target, begin, newest + 1});
  }

  uint64_t needed = newest - start.segno + 1;
  uint64_t present = 0;
  std::optional<SegmentId> first_missing;
  auto count = [&](const SegmentSet& set, uint32_t timeline, uint64_t lo, uint64_t hi) {
    present += set.CountIn(lo, hi);
    if (first_missing) return;
    if (std::optional<uint64_t> hole = set.FirstMissingIn(lo, hi)) {
      first_missing = SegmentId{timeline, *hole};
    }
  };
  if (!path.empty()) {
    static const SegmentSet kNone;
    for (const Range& r : path) {
      uint64_t lo = std::max(r.begin, start.segno), hi = std::min(r.end, newest + 1);
      if (lo >= hi) continue;
      auto segs = chain.segments.find(r.timeline);
      count(segs == chain.segments.end() ? kNone : segs->second, r.timeline, lo, hi);
    }
  } else {
    // Unknown switch points: a segment number counts once whatever timeline has it.
    SegmentSet any;
    for (const auto& [tli, segs] : chain.segments) {
      if (tli > target) continue;
      for (const auto& [b, e] : segs.runs()) any.InsertRange(b, e);
    }
    count(any, target, start.segno, newest + 1);
  }
  report.missing = needed - std::min(needed, present);
  if (report.missing > 0) report.first_missing = first_missing;
  return report;
}

}  // namespace pgdr::store
