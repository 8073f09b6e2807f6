// The `restore` and `find-transaction` subcommands of pgdr_exporter: from a
// loaded config and the command-line flags to a restore or a WAL scan, and
// what they print.
//
// Why here and not in app/: the flags map one to one onto RestoreRequest
// and FindRequest, and the printing belongs with the reports; app/cli.cc
// only declares the flags and calls these.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "pgdr/config/config.h"
#include "pgdr/store/archive.h"

namespace pgdr::restore {

struct RestoreFlags {
  std::string cluster, store;  // store empty: the cluster's only restorable store
  std::optional<std::string> to_time, to_lsn, to_xid, before_xid, before_time;
  bool immediate = false;
  std::string data_dir;
  int port = 0;  // 0: a free one in 15432..15531
  bool keep_running = false, keep_data = false;
  std::string target_action = "promote";
  std::string run_as;  // empty: "postgres" when run as root
  std::string db_user = "postgres", db_name = "postgres";
  std::string backup_id;
  std::string format = "text";  // text or json
};

struct FindFlags {
  std::string cluster, store, relation;
  std::optional<std::string> from, to;
  std::string db_name = "postgres";
  std::string scratch_dir;  // empty: a new directory under $TMPDIR
  int port = 0;
  std::string run_as;
  std::string format = "text";
};

// Both return the process exit code: 0 done, 1 the restore or scan failed,
// 2 bad flags or config.
// `stores`: the config's parsed backup_stores (store::ParseBackupStores).
int RunRestoreCommand(const config::Config& config, const std::vector<store::StoreSettings>& stores,
                      const RestoreFlags& flags, std::ostream& out, std::ostream& err);
int RunFindTransactionCommand(const config::Config& config,
                              const std::vector<store::StoreSettings>& stores,
                              const FindFlags& flags, std::ostream& out, std::ostream& err);

}  // namespace pgdr::restore
