#include "restore/report_json.h"

#include "pgdr/store/wal.h"

namespace pgdr::restore {

nlohmann::json ReportJson(const RestoreReport& r) {
  nlohmann::json j = {{"result", r.result},
                      {"step", r.step},
                      {"object", r.object},
                      {"message", r.message},
                      {"cluster", r.cluster},
                      {"store", r.store},
                      {"backup_id", r.backup_id},
                      {"first_segment", r.first_segment},
                      {"last_segment", r.last_segment},
                      {"wal_replayed_bytes", r.wal_replayed_bytes},
                      {"fetch_seconds", r.fetch_seconds},
                      {"replay_seconds", r.replay_seconds},
                      {"verify_seconds", r.verify_seconds},
                      {"total_seconds", r.total_seconds},
                      {"data_dir", r.data_dir},
                      {"port", r.port},
                      {"running", r.running},
                      {"started_at", r.started_at},
                      {"finished_at", r.finished_at}};
  j["backup_end_time"] = r.backup_end_time ? nlohmann::json(*r.backup_end_time) : nullptr;
  j["recovered_lsn"] =
      r.recovered_lsn ? nlohmann::json(store::FormatLsn(*r.recovered_lsn)) : nullptr;
  j["recovered_lsn_bytes"] = r.recovered_lsn ? nlohmann::json(*r.recovered_lsn) : nullptr;
  j["recovered_time"] = r.recovered_time ? nlohmann::json(*r.recovered_time) : nullptr;
  return j;
}

}  // namespace pgdr::restore
