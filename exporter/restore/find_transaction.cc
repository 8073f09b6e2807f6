// find-transaction: map the relation to its file, fetch the archived WAL
// from the backup before the window, run pg_waldump over it.
#include "pgdr/restore/find_transaction.h"

#include <filesystem>
#include <fstream>
#include <limits>

#include "pgdr/collect/pg_connect.h"
#include "pgdr/core/log.h"
#include "pgdr/core/subprocess.h"
#include "pgdr/restore/driver.h"

namespace pgdr::restore {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxSegments = 4096;

// The database oid and file of `relation` as `conn` sees it; NotFound when
// the name does not resolve (dropped since).
core::Result<RelFile> LookUp(PGconn* conn, const std::string& relation) {
  std::unique_ptr<char, decltype(&PQfreemem)> literal(
      PQescapeLiteral(conn, relation.c_str(), relation.size()), &PQfreemem);
  if (!literal) return core::Status::InvalidArgument("cannot quote relation " + relation);
  core::Result<std::string> row =
      collect::QueryText(conn,
                         "SELECT (SELECT oid FROM pg_database WHERE datname = current_database()), "
                         "pg_relation_filenode(to_regclass(" +
                             std::string(literal.get()) + "))");
  if (!row.ok()) return row.status();
  size_t bar = row->find('|');
  if (bar == std::string::npos || bar + 1 == row->size()) {
    return core::Status::NotFound("relation " + relation + " does not exist");
  }
  return RelFile{static_cast<uint32_t>(std::stoul(row->substr(0, bar))),
                 static_cast<uint32_t>(std::stoul(row->substr(bar + 1)))};
}

// Restores a copy at the start of the window (or at the end of the backup)
// and looks the name up there: the way to find a table dropped since.
core::Result<RelFile> LookUpInRestore(const FindRequest& req, std::string& resolved_by) {
  RestoreRequest restore;
  restore.store = req.store;
  restore.target.kind = req.from ? RecoveryTarget::Kind::kTime : RecoveryTarget::Kind::kImmediate;
  if (req.from) restore.target.value = *req.from;
  restore.target.action = "pause";
  restore.data_dir = req.scratch_dir + "/catalog";
  restore.port = req.scratch_port;
  restore.keep_running = true;
  restore.run_as = req.run_as;
  restore.db_name = req.db_name;
  restore.pg_bin = req.pg_bin;
  RestoreReport report = RunRestore(restore);
  if (!report.ok()) {
    return core::Status::Unavailable("restore to map " + req.relation + " failed at step " +
                                     report.step + " (" + report.result + "): " + report.message);
  }
  resolved_by = "restore of backup " + report.backup_id + " to " + restore.target.Describe();
  core::Result<RelFile> file = core::Status::Unavailable("not connected");
  {
    core::Result<collect::PgConnPtr> conn = collect::ConnectBlocking(
        ScratchDsn(restore.data_dir, restore.port, restore.db_user, restore.db_name), "",
        milliseconds(10000), "pgdr_find_transaction", true);
    file = conn.ok() ? LookUp(conn->get(), req.relation) : conn.status();
  }
  (void)StopScratchServer(restore.data_dir, req.run_as, req.pg_bin, milliseconds(60000));
  std::error_code ec;
  fs::remove_all(restore.data_dir, ec);
  return file;
}

std::optional<double> CommitSeconds(const std::string& text) {
  std::string iso = text;
  if (iso.ends_with(" UTC")) iso.replace(iso.size() - 4, 4, "Z");
  return store::ParseIso8601(iso);
}

}  // namespace

core::Result<FindReport> FindTransactions(const FindRequest& req) {
  FindReport report;
  core::Result<std::unique_ptr<RestoreDriver>> driver = MakeRestoreDriver(req.store);
  if (!driver.ok()) return driver.status();
  core::Result<store::Archive> archive = store::ReadArchive(req.store, [](auto&, auto&) {});
  if (!archive.ok()) return archive.status();
  const uint64_t segment_size = req.store.layout_options.segment_size;
  // The window; unbounded ends are infinities.
  double from = -std::numeric_limits<double>::infinity();
  double to = std::numeric_limits<double>::infinity();
  for (auto [text, into] : {std::pair{&req.from, &from}, std::pair{&req.to, &to}}) {
    if (!*text) continue;
    std::optional<double> t = store::ParseIso8601(**text);
    if (!t) return core::Status::InvalidArgument("\"" + **text + "\": expected an RFC 3339 time");
    *into = *t;
  }
  if (!archive->wal.newest) return core::Status::NotFound("the store holds no archived WAL");
  const uint32_t timeline = archive->wal.newest->timeline;
  const store::SegmentSet& present = archive->wal.chain.segments[timeline];
  // Start at the newest backup that ends before the window (else the oldest).
  std::optional<uint64_t> start;
  for (const store::BackupRecord& b : archive->backups) {
    if (!b.Completed() || !b.begin_wal) continue;
    if (!req.from) {
      if (!start || b.begin_wal->segno < *start) start = b.begin_wal->segno;
    } else if (*b.end_time < from && (!start || b.begin_wal->segno > *start)) {
      start = b.begin_wal->segno;
    }
  }
  if (!start) start = present.min();
  uint64_t end = archive->wal.newest->segno;
  if (std::optional<uint64_t> hole = present.FirstMissingIn(*start, end + 1)) {
    if (*hole == *start) {
      return core::Status::NotFound("WAL segment " +
                                    store::SegmentName({timeline, *start}, segment_size) +
                                    " is not in the store");
    }
    core::Log(core::LogLevel::kWarn, "find-transaction: WAL gap, scanning up to it",
              {{"store", req.store.name},
               {"first_missing", store::SegmentName({timeline, *hole}, segment_size)}});
    end = *hole - 1;
  }
  if (end - *start + 1 > kMaxSegments) *start = end + 1 - kMaxSegments;

  // The relation's file: on the live primary, else in a restored copy.
  core::Result<RelFile> file = core::Status::NotFound("no primary");
  if (!req.primary_dsn.empty()) {
    core::Result<collect::PgConnPtr> conn = collect::ConnectBlocking(
        req.primary_dsn, req.primary_password, milliseconds(10000), "pgdr_find_transaction", true);
    file = conn.ok() ? LookUp(conn->get(), req.relation) : conn.status();
    report.resolved_by = "primary";
    if (!file.ok()) {
      core::Log(core::LogLevel::kInfo, "find-transaction: not on the primary, restoring to map it",
                {{"relation", req.relation}, {"reason", file.status().message()}});
    }
  }
  if (!file.ok()) file = LookUpInRestore(req, report.resolved_by);
  if (!file.ok()) return file.status();
  report.relation = *file;

  const std::string wal_dir = req.scratch_dir + "/wal";
  std::error_code ec;
  fs::create_directories(wal_dir, ec);
  if (ec) return core::Status::IOError("cannot create " + wal_dir + ": " + ec.message());
  report.first_segment = store::SegmentName({timeline, *start}, segment_size);
  report.last_segment = store::SegmentName({timeline, end}, segment_size);
  for (uint64_t segno = *start; segno <= end; ++segno) {
    std::string name = store::SegmentName({timeline, segno}, segment_size);
    core::Status fetched = (*driver)->FetchWal(name, wal_dir + "/" + name, req.timeout);
    if (!fetched.ok()) return fetched;
    ++report.segments;
  }
  const std::string dump = req.scratch_dir + "/waldump.txt";
  core::ProcessOptions options;
  options.argv = {req.pg_bin + "/pg_waldump", "--path=" + wal_dir, "--rmgr=Heap",
                  "--rmgr=Transaction",       "--rmgr=Storage",    report.first_segment,
                  report.last_segment};
  options.stdout_path = dump;
  options.timeout = req.timeout;
  core::Result<core::ProcessResult> run = core::RunProcess(options);
  if (!run.ok()) return run.status();
  // pg_waldump ends with an error at the end of the archived WAL: normal.
  if (run->exit_code != 0 && run->err.find("error in WAL record") == std::string::npos &&
      run->err.find("invalid record length") == std::string::npos) {
    return core::Status::IOError(core::DescribeExit(options, *run));
  }
  WalDumpScanner scanner(*file);
  {
    std::ifstream in(dump);
    std::string line;
    while (std::getline(in, line)) scanner.Line(line);
  }
  report.records = scanner.records();
  for (BadTransaction& tx : scanner.Finish()) {
    std::optional<double> t = CommitSeconds(tx.commit_time);
    if (t && (*t < from || *t > to)) continue;
    report.transactions.push_back(std::move(tx));
  }
  fs::remove_all(wal_dir, ec);
  fs::remove(dump, ec);
  return report;
}

}  // namespace pgdr::restore
