// Finding the bad transaction: which committed transactions deleted rows
// from, truncated or dropped a relation, read from the archived WAL with
// pg_waldump, so that `restore --before-xid` can stop just before it.
//
// What PostgreSQL 15's pg_waldump prints, and what it means here:
//   Heap DELETE ... tx: X ... blkref #0: rel <spc>/<db>/<filenode>   rows deleted
//   Storage CREATE base/<db>/<filenode> (tx X)                        a new file
//   Transaction COMMIT <time> UTC; rels: base/<db>/<filenode> ...     files dropped at commit
// A commit that drops the relation's file is a DROP TABLE, or a TRUNCATE
// (or another rewrite) when the same transaction created new files, which
// then carry the relation on. Subtransactions are folded into their top
// transaction through the commit's "subxacts:" list; aborted ones vanish.
//
// Thread-safety: pure functions and value types; FindTransactions blocks.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pgdr/core/status.h"
#include "pgdr/restore/restore.h"

namespace pgdr::restore {

struct RelFile {
  uint32_t db = 0;
  uint32_t filenode = 0;
  // NOLINTNEXTLINE(modernize-use-nullptr): clang-tidy 14 misreads a defaulted <=>
  auto operator<=>(const RelFile&) const = default;
};

struct BadTransaction {
  uint32_t xid = 0;
  std::string kinds;  // "delete", "truncate", "drop", joined by ","
  uint64_t rows_deleted = 0;
  std::string commit_time;  // as pg_waldump prints it ("2026-12-02 14:18:20.559491 UTC")
  uint64_t commit_lsn = 0;  // the commit record's LSN
};

// Feeds pg_waldump output line by line; Finish() returns the committed
// transactions that touched `relation`, in commit order.
class WalDumpScanner {
 public:
  explicit WalDumpScanner(RelFile relation);
  void Line(std::string_view line);
  std::vector<BadTransaction> Finish() { return std::move(found_); }
  uint64_t records() const { return records_; }

 private:
  void End(uint32_t xid, uint64_t lsn, std::string_view desc, bool committed);

  std::set<RelFile> tracked_;                         // the relation's files
  std::map<uint32_t, std::vector<RelFile>> created_;  // files created, per xid
  std::map<uint32_t, uint64_t> deletes_;              // rows deleted, per xid
  std::vector<BadTransaction> found_;
  uint64_t records_ = 0;
};

struct FindRequest {
  store::StoreSettings store;
  std::string relation;     // schema.table
  std::string primary_dsn;  // where to map the name to its file (empty: restore to `from`)
  std::string primary_password;
  std::string db_name = "postgres";     // the relation's database (for a restore-side lookup)
  std::optional<std::string> from, to;  // commit time window (RFC 3339); also picks the backup
  std::string scratch_dir;  // for fetched segments (and a restore to map a dropped name)
  int scratch_port = 0;
  std::string run_as;
  std::string pg_bin = "/usr/lib/postgresql/15/bin";
  milliseconds timeout{600000};
};

struct FindReport {
  RelFile relation;
  std::string resolved_by;  // "primary" or "restore of <backup>"
  std::string first_segment, last_segment;
  uint64_t segments = 0, records = 0;
  std::vector<BadTransaction> transactions;
};

core::Result<FindReport> FindTransactions(const FindRequest& request);

}  // namespace pgdr::restore
