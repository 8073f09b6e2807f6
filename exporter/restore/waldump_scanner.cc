// Reading pg_waldump's text output (PostgreSQL 15) for one relation.
#include <charconv>

#include "pgdr/restore/find_transaction.h"
#include "pgdr/store/wal.h"

namespace pgdr::restore {
namespace {

std::string_view After(std::string_view line, std::string_view marker) {
  size_t at = line.find(marker);
  return at == std::string_view::npos ? std::string_view() : line.substr(at + marker.size());
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::optional<uint32_t> Number(std::string_view s) {
  s = Trim(s);
  uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr == s.data()) return std::nullopt;
  return v;
}

// "base/5/16384", "pg_tblspc/16400/PG_15_202209061/5/16384" or "1663/5/16384".
std::optional<RelFile> ParseRelPath(std::string_view path) {
  size_t last = path.rfind('/');
  if (last == std::string_view::npos || last == 0) return std::nullopt;
  size_t before = path.rfind('/', last - 1);
  std::string_view db = path.substr(before == std::string_view::npos ? 0 : before + 1,
                                    last - (before == std::string_view::npos ? 0 : before + 1));
  std::optional<uint32_t> d = Number(db), f = Number(path.substr(last + 1));
  if (!d || !f) return std::nullopt;
  return RelFile{*d, *f};
}

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    size_t sp = s.find(' ');
    std::string_view w = s.substr(0, sp);
    if (!w.empty()) out.push_back(w);
    if (sp == std::string_view::npos) break;
    s.remove_prefix(sp + 1);
  }
  return out;
}

}  // namespace

WalDumpScanner::WalDumpScanner(RelFile relation) { tracked_.insert(relation); }

void WalDumpScanner::Line(std::string_view line) {
  std::string_view rmgr_text = After(line, "rmgr: ");
  if (rmgr_text.empty()) return;
  std::string_view rmgr = rmgr_text.substr(0, rmgr_text.find(' '));
  std::optional<uint32_t> xid = Number(After(line, "tx:").substr(0, After(line, "tx:").find(',')));
  std::string_view lsn_text = After(line, "lsn: ");
  std::optional<uint64_t> lsn = store::ParseLsn(lsn_text.substr(0, lsn_text.find(',')));
  std::string_view desc = After(line, "desc: ");
  if (!xid || !lsn) return;
  ++records_;
  if (rmgr == "Heap" && desc.starts_with("DELETE")) {
    std::string_view rel = After(desc, "blkref #0: rel ");
    std::optional<RelFile> file = ParseRelPath(rel.substr(0, rel.find(' ')));
    if (file && tracked_.contains(*file)) ++deletes_[*xid];
  } else if (rmgr == "Storage" && desc.starts_with("CREATE ")) {
    std::optional<RelFile> file = ParseRelPath(Trim(desc.substr(7)));
    if (file) created_[*xid].push_back(*file);
  } else if (rmgr == "Transaction" && desc.starts_with("COMMIT")) {
    End(*xid, *lsn, desc, true);
  } else if (rmgr == "Transaction" && desc.starts_with("ABORT")) {
    End(*xid, *lsn, desc, false);
  }
}

void WalDumpScanner::End(uint32_t xid, uint64_t lsn, std::string_view desc, bool committed) {
  // desc: "COMMIT <time>; rels: a b; dropped stats: ...; subxacts: 1 2; inval msgs: ..."
  std::vector<uint32_t> xids = {xid};
  std::vector<RelFile> dropped;
  std::string_view time;
  size_t part_no = 0;
  while (!desc.empty()) {
    size_t semi = desc.find("; ");
    std::string_view part = desc.substr(0, semi);
    desc = semi == std::string_view::npos ? std::string_view() : desc.substr(semi + 2);
    if (part_no++ == 0) {
      size_t sp = part.find(' ');
      time = sp == std::string_view::npos ? std::string_view() : Trim(part.substr(sp + 1));
    } else if (part.starts_with("subxacts:")) {
      for (std::string_view w : Words(part.substr(9))) {
        if (std::optional<uint32_t> sub = Number(w)) xids.push_back(*sub);
      }
    } else if (part.starts_with("rels:")) {
      for (std::string_view w : Words(part.substr(5))) {
        if (std::optional<RelFile> f = ParseRelPath(w)) dropped.push_back(*f);
      }
    }
  }
  BadTransaction tx;
  tx.xid = xid;
  std::vector<RelFile> created;
  for (uint32_t x : xids) {
    if (auto it = deletes_.find(x); it != deletes_.end()) {
      tx.rows_deleted += it->second;
      deletes_.erase(it);
    }
    if (auto it = created_.find(x); it != created_.end()) {
      created.insert(created.end(), it->second.begin(), it->second.end());
      created_.erase(it);
    }
  }
  if (!committed) return;
  bool drops = false;
  for (const RelFile& f : dropped) drops = drops || tracked_.contains(f);
  if (tx.rows_deleted > 0) tx.kinds = "delete";
  if (drops) {
    // New files in the same transaction carry the relation on: a truncate.
    const char* kind = created.empty() ? "drop" : "truncate";
    tx.kinds += tx.kinds.empty() ? kind : std::string(",") + kind;
    for (const RelFile& f : dropped) tracked_.erase(f);
    tracked_.insert(created.begin(), created.end());
  }
  if (tx.kinds.empty()) return;
  tx.commit_time = std::string(time);
  tx.commit_lsn = lsn;
  found_.push_back(std::move(tx));
}

}  // namespace pgdr::restore
