#include "pgdr/restore/commands.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "pgdr/collect/pg_connect.h"
#include "pgdr/config/yaml_reader.h"
#include "pgdr/core/time_format.h"
#include "pgdr/restore/find_transaction.h"
#include "pgdr/restore/restore.h"
#include "pgdr/store/wal.h"
#include "restore/report_json.h"

namespace pgdr::restore {
namespace {

constexpr int kFirstPort = 15432, kLastPort = 15531;

std::string DefaultRunAs(const std::string& flag) {
  if (!flag.empty()) return flag;
  return geteuid() == 0 ? "postgres" : "";
}

// The cluster's store named `name` (or its only barman-cloud/pgbackrest one).
core::Result<store::StoreSettings> FindStore(const config::Config& config,
                                             const std::vector<store::StoreSettings>& stores,
                                             const std::string& cluster, const std::string& name) {
  std::vector<store::StoreSettings> candidates;
  for (const store::StoreSettings& s : stores) {
    if (s.cluster != cluster || (!name.empty() && s.name != name)) continue;
    if (name.empty() && s.layout != "barman-cloud" && s.layout != "pgbackrest") continue;
    candidates.push_back(s);
  }
  if (candidates.size() == 1) return candidates.front();
  if (candidates.empty()) {
    return core::Status::NotFound(config.file + ": no backup store" +
                                  (name.empty() ? "" : " \"" + name + "\"") + " of cluster \"" +
                                  cluster + "\"");
  }
  return core::Status::InvalidArgument(config.file + ": cluster \"" + cluster +
                                       "\" has several stores: choose one with --store");
}

std::string Time(std::optional<double> seconds) {
  if (!seconds) return "unknown";
  return core::FormatRfc3339(static_cast<int64_t>(*seconds * 1000), core::Fraction::kShortest);
}

// find-transaction prints commit times as pg_waldump does ("... UTC");
// accept them back for --before-time.
std::string NormaliseTime(std::string text) {
  if (text.ends_with(" UTC")) text.replace(text.size() - 4, 4, "Z");
  return text;
}

core::Result<RecoveryTarget> TargetFromFlags(const RestoreFlags& f) {
  RecoveryTarget t;
  int given = 0;
  auto set = [&](const std::optional<std::string>& v, RecoveryTarget::Kind kind, bool inclusive) {
    if (!v) return;
    ++given;
    t.kind = kind;
    t.value = *v;
    t.inclusive = inclusive;
  };
  set(f.to_time, RecoveryTarget::Kind::kTime, true);
  set(f.before_time, RecoveryTarget::Kind::kTime, false);
  set(f.to_xid, RecoveryTarget::Kind::kXid, true);
  set(f.before_xid, RecoveryTarget::Kind::kXid, false);
  set(f.to_lsn, RecoveryTarget::Kind::kLsn, true);
  if (f.immediate) {
    ++given;
    t.kind = RecoveryTarget::Kind::kImmediate;
  }
  if (given > 1) return core::Status::InvalidArgument("give at most one recovery target");
  if (t.kind == RecoveryTarget::Kind::kTime) {
    t.value = NormaliseTime(t.value);
    if (!store::ParseIso8601(t.value)) {
      return core::Status::InvalidArgument("\"" + t.value + "\": expected an RFC 3339 time");
    }
  }
  if (t.kind == RecoveryTarget::Kind::kXid &&
      t.value.find_first_not_of("0123456789") != std::string::npos) {
    return core::Status::InvalidArgument("\"" + t.value + "\": an xid is a number");
  }
  if (t.kind == RecoveryTarget::Kind::kLsn && !store::ParseLsn(t.value)) {
    return core::Status::InvalidArgument("\"" + t.value + "\": expected an LSN such as 0/3000028");
  }
  if (f.target_action != "promote" && f.target_action != "pause") {
    return core::Status::InvalidArgument("--target-action must be promote or pause");
  }
  t.action = f.target_action;
  return t;
}

void PrintReport(const RestoreReport& r, const RestoreRequest& req, std::ostream& out) {
  out << "target:         " << req.target.Describe() << "\n";
  out << "store:          " << r.store << " (" << req.store.store_options.url << ")\n";
  if (!r.backup_id.empty()) {
    out << "backup used:    " << r.backup_id << " (ended " << Time(r.backup_end_time) << ")\n";
  }
  if (!r.ok()) {
    out << "FAILED:         " << r.result << " at step " << r.step << ": " << r.object << ": "
        << r.message << "\n";
  } else {
    out << "WAL replayed:   " << r.wal_replayed_bytes << " bytes from " << r.first_segment << "\n";
    out << "recovered LSN:  "
        << (r.recovered_lsn ? store::FormatLsn(*r.recovered_lsn) : std::string("unknown")) << "\n";
    out << "recovered time: " << Time(r.recovered_time) << " (last replayed commit)\n";
  }
  out.setf(std::ios::fixed);
  out.precision(2);
  out << "durations:      fetch " << r.fetch_seconds << "s, replay " << r.replay_seconds
      << "s, verify " << r.verify_seconds << "s, total " << r.total_seconds << "s\n";
  if (r.running) {
    out << "running:        psql \"" << ScratchDsn(r.data_dir, r.port, req.db_user, req.db_name)
        << "\"  (stop: pg_ctl -D " << r.data_dir << " stop)\n";
  } else if (r.ok() && req.keep_data) {
    out << "data directory: " << r.data_dir << " (stopped)\n";
  }
}

// A DSN of the cluster's primary from the config's targets (the first that
// answers and is not in recovery), with its password.
std::pair<std::string, std::string> FindPrimary(const config::Config& config,
                                                const std::string& cluster) {
  for (const config::TargetConfig& t : config.targets) {
    if (t.cluster != cluster) continue;
    std::string password = collect::ResolvePassword(t.password_env, t.password_file);
    core::Result<collect::PgConnPtr> conn = collect::ConnectBlocking(
        t.dsn, password, std::chrono::milliseconds(5000), "pgdr_find_transaction", true);
    if (!conn.ok()) continue;
    core::Result<std::string> rec = collect::QueryValue(conn->get(), "SELECT pg_is_in_recovery()");
    if (rec.ok() && *rec == "f") return {t.dsn, password};
  }
  return {};
}

}  // namespace

int RunRestoreCommand(const config::Config& config, const std::vector<store::StoreSettings>& stores,
                      const RestoreFlags& flags, std::ostream& out, std::ostream& err) {
  core::Result<store::StoreSettings> store = FindStore(config, stores, flags.cluster, flags.store);
  if (!store.ok()) {
    err << store.status().message() << "\n";
    return 2;
  }
  core::Result<RecoveryTarget> target = TargetFromFlags(flags);
  if (!target.ok()) {
    err << target.status().message() << "\n";
    return 2;
  }
  RestoreRequest req;
  req.store = std::move(*store);
  req.target = *target;
  req.data_dir = std::filesystem::absolute(flags.data_dir).lexically_normal().string();
  req.port = flags.port;
  if (req.port == 0) {
    core::Result<int> port = FindFreePort(kFirstPort, kLastPort);
    if (!port.ok()) {
      err << port.status().message() << "\n";
      return 1;
    }
    req.port = *port;
  }
  req.keep_running = flags.keep_running;
  req.keep_data = flags.keep_data;
  req.run_as = DefaultRunAs(flags.run_as);
  req.db_user = flags.db_user;
  req.db_name = flags.db_name;
  req.backup_id = flags.backup_id;
  RestoreReport report = RunRestore(req);
  if (flags.format == "json") {
    out << ReportJson(report).dump() << "\n";
  } else {
    PrintReport(report, req, out);
  }
  return report.ok() ? 0 : 1;
}

int RunFindTransactionCommand(const config::Config& config,
                              const std::vector<store::StoreSettings>& stores,
                              const FindFlags& flags, std::ostream& out, std::ostream& err) {
  core::Result<store::StoreSettings> store = FindStore(config, stores, flags.cluster, flags.store);
  if (!store.ok()) {
    err << store.status().message() << "\n";
    return 2;
  }
  FindRequest req;
  req.store = std::move(*store);
  req.relation = flags.relation;
  req.db_name = flags.db_name;
  if (flags.from) req.from = NormaliseTime(*flags.from);
  if (flags.to) req.to = NormaliseTime(*flags.to);
  req.run_as = DefaultRunAs(flags.run_as);
  std::tie(req.primary_dsn, req.primary_password) = FindPrimary(config, flags.cluster);
  bool own_scratch = flags.scratch_dir.empty();
  if (own_scratch) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/pgdr-find-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      err << "cannot create a scratch directory under " << pattern << "\n";
      return 1;
    }
    req.scratch_dir = pattern;
  } else {
    req.scratch_dir = flags.scratch_dir;
  }
  // The scratch server's user must reach its data directory below this one.
  std::filesystem::permissions(req.scratch_dir, std::filesystem::perms::owner_all |
                                                    std::filesystem::perms::others_exec |
                                                    std::filesystem::perms::group_exec);
  req.scratch_port = flags.port;
  if (req.scratch_port == 0) {
    core::Result<int> port = FindFreePort(kFirstPort, kLastPort);
    req.scratch_port = port.ok() ? *port : 0;
  }
  core::Result<FindReport> report = FindTransactions(req);
  if (own_scratch) {
    std::error_code ec;
    std::filesystem::remove_all(req.scratch_dir, ec);
  }
  if (!report.ok()) {
    err << "find-transaction: " << report.status().message() << "\n";
    return 1;
  }
  if (flags.format == "json") {
    nlohmann::json txs = nlohmann::json::array();
    for (const BadTransaction& tx : report->transactions) {
      txs.push_back({{"xid", tx.xid},
                     {"kinds", tx.kinds},
                     {"rows_deleted", tx.rows_deleted},
                     {"commit_time", tx.commit_time},
                     {"commit_lsn", store::FormatLsn(tx.commit_lsn)}});
    }
    out << nlohmann::json{{"relation", flags.relation},
                          {"database_oid", report->relation.db},
                          {"filenode", report->relation.filenode},
                          {"resolved_by", report->resolved_by},
                          {"first_segment", report->first_segment},
                          {"last_segment", report->last_segment},
                          {"segments", report->segments},
                          {"records", report->records},
                          {"transactions", txs}}
               .dump()
        << "\n";
    return 0;
  }
  out << "relation " << flags.relation << ": database " << report->relation.db << ", file "
      << report->relation.filenode << " (from the " << report->resolved_by << ")\n";
  out << "scanned " << report->segments << " WAL segments " << report->first_segment << ".."
      << report->last_segment << ", " << report->records << " records\n";
  out << "xid\tkind\trows deleted\tcommit time\tcommit LSN\n";
  for (const BadTransaction& tx : report->transactions) {
    out << tx.xid << "\t" << tx.kinds << "\t" << tx.rows_deleted << "\t" << tx.commit_time << "\t"
        << store::FormatLsn(tx.commit_lsn) << "\n";
  }
  if (!report->transactions.empty()) {
    out << "restore to just before the first: pgdr_exporter restore --cluster=" << flags.cluster
        << " --before-xid=" << report->transactions.front().xid << " --data-dir=DIR\n";
  }
  return 0;
}

}  // namespace pgdr::restore
