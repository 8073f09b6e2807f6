#include "restore/scratch_server.h"

#include <signal.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <thread>

#include "pgdr/collect/pg_connect.h"
#include "pgdr/store/wal.h"
#include "restore/driver_util.h"

namespace pgdr::restore {
namespace {

using Clock = std::chrono::steady_clock;

// How long a postmaster may take to write postmaster.pid after pg_ctl start.
constexpr milliseconds kPostmasterAppears{10000};

// The last FATAL or PANIC line of the server log that is the server's own,
// and whether the server has given up (it logs one of these before exiting).
struct LogVerdict {
  bool exited = false;
  std::string fatal;
  std::string disk_full;    // the first line reporting ENOSPC (restoring or writing WAL)
  std::string redo_done;    // "0/5000110" of "redo done at 0/5000110 system usage: ..."
  std::string last_commit;  // of "last completed transaction was at log time ..."
};

// The text after `marker` in `line` up to the first of `ends` (or the end).
std::string After(const std::string& line, std::string_view marker, std::string_view ends) {
  size_t at = line.find(marker);
  if (at == std::string::npos) return "";
  at += marker.size();
  return line.substr(at, line.find_first_of(ends, at) - at);
}

// A FATAL sent to a client the server turned away — the engine's own polls
// while the server starts or stops, a database not created yet — not a
// reason the server exited. The recovery-target FATAL may be followed by
// one of these ("the database system is shutting down").
bool ClientRejection(const std::string& line) {
  return line.find("FATAL:  the database system is") != std::string::npos ||
         (line.find("FATAL:  database \"") != std::string::npos &&
          line.find("\" does not exist") != std::string::npos);
}

LogVerdict ReadLog(const std::string& path) {
  LogVerdict verdict;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if ((line.find("FATAL:") != std::string::npos && !ClientRejection(line)) ||
        line.find("PANIC:") != std::string::npos) {
      verdict.fatal = line;
    }
    if (verdict.disk_full.empty() && line.find("No space left on device") != std::string::npos) {
      verdict.disk_full = line;
    }
    if (std::string lsn = After(line, "redo done at ", " "); !lsn.empty()) verdict.redo_done = lsn;
    if (std::string t = After(line, "last completed transaction was at log time ", "\n");
        !t.empty()) {
      verdict.last_commit = t;
    }
    if (line.find("database system is shut down") != std::string::npos ||
        line.find("aborting startup due to startup process failure") != std::string::npos ||
        line.find("startup process (PID") != std::string::npos) {
      verdict.exited = true;
    }
  }
  return verdict;
}

// Whether postmaster.pid names a live process (the postmaster removes the
// file when it exits; a stale one names a dead pid).
bool PostmasterAlive(const std::string& data_dir) {
  std::ifstream f(data_dir + "/postmaster.pid");
  long pid = 0;
  if (!(f >> pid) || pid <= 0) return false;
  return kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

std::string ScratchDsn(const std::string& data_dir, int port, const std::string& db_user,
                       const std::string& db_name) {
  auto quote = [](const std::string& v) {
    std::string out = "'";
    for (char c : v) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    return out + "'";
  };
  return "host=" + quote(data_dir) + " port=" + std::to_string(port) + " user=" + quote(db_user) +
         " dbname=" + quote(db_name) + " sslmode=disable";
}

core::Status IsolateScratch(const ScratchServer& server) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::remove(server.data_dir + "/standby.signal", ec);
  fs::remove(server.data_dir + "/postmaster.pid", ec);
  const std::string hba = server.data_dir + "/pgdr_hba.conf";
  {
    std::ofstream f(hba, std::ios::trunc);
    // The socket lives in the 0700 data directory: only its OS user reaches it.
    f << "local all all trust\nhost all all 127.0.0.1/32 md5\n";
    if (!f) return core::Status::IOError("cannot write " + hba);
  }
  std::string lines;
  for (const auto& [key, value] : std::initializer_list<std::pair<const char*, std::string>>{
           {"port", std::to_string(server.port)},
           {"listen_addresses", ConfQuote("127.0.0.1")},
           {"unix_socket_directories", ConfQuote(server.data_dir)},
           {"hba_file", ConfQuote(hba)},
           {"archive_mode", "off"},
           {"archive_command", ConfQuote("")},
           {"primary_conninfo", ConfQuote("")},
           {"primary_slot_name", ConfQuote("")},
           {"synchronous_standby_names", ConfQuote("")},
           {"hot_standby", "on"},
           {"ssl", "off"},
           {"logging_collector", "off"},
           {"log_destination", ConfQuote("stderr")},
           {"cluster_name", ConfQuote("pgdr-restore")}}) {
    lines += std::string(key) + " = " + value + "\n";
  }
  return AppendAutoConf(server.data_dir, lines);
}

core::Status StartScratch(const ScratchServer& server,
                          const std::map<std::string, std::string>& env, milliseconds timeout) {
  std::vector<std::string> argv = {server.pg_bin + "/pg_ctl", "-D", server.data_dir, "-l",
                                   server.LogPath(),          "-W", "start"};
  return RunTool("start", AsUser(server.run_as, argv), env, timeout);
}

core::Result<collect::PgConnPtr> ConnectScratch(const ScratchServer& server, milliseconds timeout) {
  return collect::ConnectBlocking(server.Dsn(), "", timeout, "pgdr_restore", true);
}

WaitOutcome WaitForRecovery(const ScratchServer& server, const RecoveryTarget& target,
                            milliseconds timeout, const std::atomic<bool>* cancel) {
  WaitOutcome out;
  const Clock::time_point started = Clock::now();
  const Clock::time_point deadline = started + timeout;
  bool seen_alive = false;
  const bool wait_for_pause =
      target.action == "pause" && target.kind != RecoveryTarget::Kind::kLatest;
  std::string last_error;
  while (Clock::now() < deadline) {
    if (cancel != nullptr && cancel->load()) {
      out.result = "cancelled";
      out.message = "the restore was cancelled (exporter stopping)";
      return out;
    }
    core::Result<collect::PgConnPtr> conn = ConnectScratch(server, milliseconds(2000));
    if (conn.ok()) {
      core::Result<std::string> row = collect::QueryText(
          conn->get(),
          "SELECT pg_is_in_recovery(), CASE WHEN pg_is_in_recovery() THEN "
          "pg_get_wal_replay_pause_state() ELSE '' END, pg_last_wal_replay_lsn() - '0/0', "
          "extract(epoch FROM pg_last_xact_replay_timestamp())");
      if (row.ok()) {
        std::vector<std::string> cells;
        size_t start = 0;
        for (size_t bar = row->find('|'); bar != std::string::npos; bar = row->find('|', start)) {
          cells.push_back(row->substr(start, bar - start));
          start = bar + 1;
        }
        cells.push_back(row->substr(start));
        if (cells.size() == 4) {
          bool in_recovery = cells[0] == "t";
          if (!cells[2].empty()) out.state.lsn = std::stoull(cells[2]);
          if (!cells[3].empty()) out.state.time = std::stod(cells[3]);
          if (!in_recovery || (wait_for_pause && cells[1] == "paused")) return out;
        }
      } else {
        last_error = row.status().message();
      }
    } else {
      last_error = conn.status().message();
    }
    // Read after the query: a server that promoted and then exited is not
    // mistaken for one that never got there.
    const bool alive = PostmasterAlive(server.data_dir);
    seen_alive = seen_alive || alive;
    LogVerdict log = ReadLog(server.LogPath());
    // Gone: its log says it shut down, or no postmaster runs although one
    // ran before, logged a FATAL (a setting it rejected) or had time to start.
    const bool gone = log.exited || (!alive && (seen_alive || !log.fatal.empty() ||
                                                Clock::now() - started > kPostmasterAppears));
    if (gone) {
      if (!log.redo_done.empty()) out.state.lsn = store::ParseLsn(log.redo_done);
      out.redo_done = log.redo_done;
      out.last_commit = log.last_commit;
      if (!log.disk_full.empty()) {
        out.result = "disk_full";
        out.message = log.disk_full;
        return out;
      }
      out.result = log.fatal.find("recovery target") != std::string::npos ||
                           log.fatal.find("recovery stop point") != std::string::npos
                       ? "target_not_reached"
                       : "start_failed";
      out.message = log.fatal.empty()
                        ? "the server exited without a FATAL line (see " + server.LogPath() + ")"
                        : log.fatal;
      return out;
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  out.result = "replay_timeout";
  out.message = "recovery did not reach its target within " + std::to_string(timeout.count()) +
                "ms" + (last_error.empty() ? "" : " (last: " + last_error + ")");
  return out;
}

core::Status StopScratchServer(const std::string& data_dir, const std::string& run_as,
                               const std::string& pg_bin, milliseconds timeout) {
  if (!std::filesystem::exists(data_dir + "/postmaster.pid")) return core::Status::OK();
  const std::string seconds = std::to_string(std::max<long long>(1, timeout.count() / 1000));
  std::vector<std::string> argv = {
      pg_bin + "/pg_ctl", "-D", data_dir, "-m", "fast", "-w", "-t", seconds, "stop"};
  core::Status stopped = RunTool("stop", AsUser(run_as, argv), {}, timeout + milliseconds(5000));
  if (stopped.ok()) return stopped;
  argv[4] = "immediate";
  return RunTool("stop", AsUser(run_as, argv), {}, timeout + milliseconds(5000));
}

}  // namespace pgdr::restore
