#include "pgdr/app/cli.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <tuple>

#include "app/exporter.h"
#include "app/fd_limit.h"
#include "app/promote_region.h"
#include "app/startup_pages.h"
#include "app/validated_config.h"
#include "pgdr/actions/switchover.h"
#include "pgdr/config/config.h"
#include "pgdr/config/yaml_reader.h"
#include "pgdr/core/log.h"
#include "pgdr/core/timespec.h"
#include "pgdr/promql/test_runner.h"
#include "pgdr/restore/commands.h"
#include "pgdr/rules/test_runner.h"

#ifndef PGDR_VERSION
#define PGDR_VERSION "dev"
#endif

namespace pgdr::app {
namespace {

int CheckConfig(const std::vector<std::string>& files) {
  int rc = 0;
  for (const auto& file : files) {
    auto validated = LoadAndValidate(file);
    if (!validated.ok()) {
      std::cerr << "FAILED: " << validated.status().message() << "\n";
      rc = 1;
      continue;
    }
    const config::Config& config = validated->config;
    std::cout << "SUCCESS: " << file << " is valid: " << config.targets.size() << " targets, "
              << config.queries.size() << " queries, " << validated->stores.size()
              << " backup stores, " << config.rule_files.size() << " rule files, "
              << validated->rule_groups.size() << " rule groups\n";
  }
  return rc;
}

std::string Secs(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

void PrintStep(const actions::ProcedureStep& s) {
  std::cout << "step " << s.name << " " << (s.ok ? "ok" : "FAILED") << " " << Secs(s.duration)
            << ": " << s.detail << std::endl;
}

// The summary line stands in for pgdr_failover_requests_total{kind,result}:
// a CLI run is not the exporter process, so its outcome is printed and
// logged, never exported as a metric (docs/actions.md).
int Summarise(const actions::ProcedureReport& r, const std::string& cluster,
              std::chrono::steady_clock::time_point start) {
  const auto total = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  std::cout << r.kind << " result=" << r.result << " cluster=" << cluster
            << " old_primary=" << (r.old_primary.empty() ? "-" : r.old_primary)
            << " new_primary=" << (r.new_primary.empty() ? "-" : r.new_primary);
  if (r.kind == "switchover") std::cout << " pgbouncer_paused=" << Secs(r.paused);
  if (r.kind == "rejoin") std::cout << " rewind=" << (r.rewind.empty() ? "-" : r.rewind);
  std::cout << " duration=" << Secs(total) << " reason=\"" << r.reason << "\"" << std::endl;
  core::Log(r.result == "success" ? core::LogLevel::kInfo : core::LogLevel::kError,
            "failover request",
            {{"kind", r.kind},
             {"result", r.result},
             {"cluster", cluster},
             {"old_primary", r.old_primary},
             {"new_primary", r.new_primary},
             {"reason", r.reason}});
  return r.result == "success" ? 0 : 1;
}

// Loads the config and runs one procedure (switchover or rejoin) on it.
template <typename Options, typename Procedure>
int RunProcedure(const std::string& file, const Options& options, Procedure procedure) {
  const auto start = std::chrono::steady_clock::now();
  config::OwnedSections sections;
  auto config = config::LoadConfig(file, &sections);
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return 2;
  }
  return Summarise(procedure(*config, sections, options, PrintStep), options.cluster, start);
}

// Blocks the signals every thread would otherwise receive, then waits for
// them on the main thread: SIGHUP reloads, SIGINT/SIGTERM stop.
int Serve(const ExporterOptions& options) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  (void)RaiseFdLimit();  // logged inside; one socket per member
  // Loading and relocating the libraries is done: their pages go before
  // serving starts, so they never add to the peak (VmHWM) with the heap.
  if (options.release_startup_pages_after.count() > 0) (void)ReleaseStartupPages();

  Exporter exporter(options);
  if (core::Status s = exporter.Start(); !s.ok()) {
    core::Log(core::LogLevel::kError, "cannot start", {{"err", s.message()}});
    return 1;
  }
  // Again once the first cycles and rule evaluations have run (config and
  // rule parsing, the first connections), and after each reload.
  using Clock = std::chrono::steady_clock;
  const auto release_after = options.release_startup_pages_after;
  std::optional<Clock::time_point> release_at;
  if (release_after.count() > 0) release_at = Clock::now() + release_after;
  while (true) {
    int sig = 0;
    if (release_at) {
      const timespec wait = core::ToTimespec(*release_at - Clock::now());
      sig = sigtimedwait(&signals, nullptr, &wait);
      if (sig < 0) {
        if (errno == EAGAIN) {
          (void)ReleaseStartupPages();  // logged inside
          release_at.reset();
        }
        continue;
      }
    } else if (sigwait(&signals, &sig) != 0) {
      continue;
    }
    if (sig == SIGHUP) {
      (void)exporter.Reload();  // logged inside; the old config keeps running
      if (release_after.count() > 0) release_at = Clock::now() + release_after;
      continue;
    }
    core::Log(core::LogLevel::kInfo, "stopping", {{"signal", std::to_string(sig)}});
    exporter.Stop();
    return 0;
  }
}

}  // namespace

int RunCli(int argc, char** argv) {
  CLI::App app{"pgdr_exporter: PostgreSQL HA and disaster-recovery exporter and rules engine"};
  ExporterOptions options;
  options.config_file = "pgdr.yml";
  options.version = PGDR_VERSION;
  std::string log_level = "info";
  std::string log_format = "logfmt";
  app.add_option("--config.file", options.config_file, "Configuration file")->capture_default_str();
  app.add_option("--web.listen-address", options.listen_address, "Address to listen on")
      ->capture_default_str();
  app.add_option("--web.telemetry-path", options.telemetry_path, "Path of the metrics")
      ->capture_default_str();
  app.add_option("--web.external-url", options.external_url,
                 "URL under which users reach pgdr ($externalURL in rule templates, the base of "
                 "the shipped runbook links); default http://<listen host or host name>:<port>");
  app.add_flag("--web.enable-lifecycle", options.enable_lifecycle,
               "Enable POST /-/reload (off by default, as in Prometheus)");
  app.add_flag("--web.enable-admin-api", options.enable_admin_api,
               "Enable the mutating /api/v1 calls: maintenance windows, approvals, actions");
  app.add_option("--web.member", options.web_member,
                 "<cluster>/<member> that /primary, /replica, /read-only and /health answer for "
                 "(default: the only member pgdr watches; /member/<cluster>/<member>/... always "
                 "works)");
  app.add_option("--web.config.file", options.web_config_file,
                 "Web config (exporter-toolkit format): TLS, client certificates, basic auth, "
                 "response headers; reloaded on SIGHUP and on change");
  app.add_option("--storage.path", options.storage_path,
                 "Directory of the state file kept across restarts (maintenance windows, "
                 "failover cooldowns, alert for-state); empty: keep nothing")
      ->capture_default_str();
  app.add_option("--log.level", log_level, "debug, info, warn or error")->capture_default_str();
  app.add_option("--log.format", log_format, "logfmt or json")->capture_default_str();
  std::string retention = "1h";
  app.add_option("--storage.tsdb.retention.time", retention,
                 "How long the rule evaluator keeps samples in memory")
      ->capture_default_str();
  app.add_option("--shard.index", options.shard.index,
                 "This replica's shard, in [0, --shard.total): it collects only the clusters "
                 "whose hashmod of the name falls to it")
      ->capture_default_str();
  app.add_option("--shard.total", options.shard.total, "Replicas splitting the fleet")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  std::string release_after = "15s";
  app.add_option("--memory.release-startup-pages-after", release_after,
                 "Give back the file-backed pages that only start-up touched (the dynamic "
                 "linker's, the libraries' constructors') before serving, this long after start "
                 "and after each reload; 0s: never")
      ->capture_default_str();
  app.set_version_flag("--version", std::string("pgdr_exporter ") + PGDR_VERSION);

  std::vector<std::string> check_files;
  auto* check = app.add_subcommand("check-config", "Validate config files and exit");
  check->add_option("files", check_files, "Config files")->required();

  std::vector<std::string> promql_files;
  auto* promql_test =
      app.add_subcommand("promql-test", "Run Prometheus PromQL test scripts (load/eval/clear)");
  promql_test->add_option("files", promql_files, "Test files")->required();
  std::vector<std::string> rule_test_files;
  auto* test_rules = app.add_subcommand("test-rules", "Run promtool rule unit-test files");
  test_rules->add_option("files", rule_test_files, "Test files")->required();
  std::vector<std::string> rule_files;
  auto* check_rules = app.add_subcommand("check-rules", "Validate rule files as promtool does");
  check_rules->add_option("files", rule_files, "Rule files")->required();

  app.fallthrough();  // `switchover --config.file=F` as well as `--config.file=F switchover`
  actions::SwitchoverOptions switchover_options;
  std::string switchover_timeout = "60s";
  auto* switchover = app.add_subcommand(
      "switchover", "Planned switchover: move the primary role to a caught-up replica");
  switchover->add_option("--cluster", switchover_options.cluster, "Cluster")->required();
  switchover->add_option("--to", switchover_options.to,
                         "Member to promote (default: the most advanced streaming replica)");
  switchover->add_option("--timeout", switchover_timeout, "Bound of each step")
      ->capture_default_str();
  switchover
      ->add_option("--max-lag-bytes", switchover_options.max_lag_bytes,
                   "Refuse when the candidate replays further behind")
      ->capture_default_str();
  actions::RejoinOptions rejoin_options;
  std::string rejoin_timeout = "60s";
  auto* rejoin = app.add_subcommand(
      "rejoin", "Make an old primary a standby of the new one (pg_rewind when needed)");
  rejoin->add_option("--cluster", rejoin_options.cluster, "Cluster")->required();
  rejoin->add_option("--member", rejoin_options.member, "The old primary")->required();
  rejoin->add_option("--data-dir", rejoin_options.data_dir,
                     "Its data directory (default: targets[].control.data_dir)");
  rejoin->add_option("--timeout", rejoin_timeout, "Bound of each step")->capture_default_str();
  PromoteRegionOptions promote;
  auto* promote_region = app.add_subcommand(
      "promote-region",
      "Approve the pending regional promotion of a cluster's standby region (running exporter)");
  promote_region->add_option("--cluster", promote.cluster, "Cluster")->required();
  promote_region->add_option("--region", promote.region, "Standby region to promote")->required();
  promote_region->add_option("--web.address", promote.web_address, "The exporter's URL")
      ->capture_default_str();
  restore::RestoreFlags restore_flags;
  auto* restore_cmd = app.add_subcommand(
      "restore", "Restore a copy of a cluster from its backup store to a point in time");
  restore_cmd->fallthrough();
  restore_cmd->add_option("--cluster", restore_flags.cluster, "Cluster to restore")->required();
  restore_cmd->add_option("--store", restore_flags.store, "Backup store (default: the only one)");
  restore_cmd->add_option("--to-time", restore_flags.to_time, "Recover up to this time (RFC 3339)");
  restore_cmd->add_option("--before-time", restore_flags.before_time,
                          "Recover up to just before this time");
  restore_cmd->add_option("--to-xid", restore_flags.to_xid, "Recover up to this xid's commit");
  restore_cmd->add_option("--before-xid", restore_flags.before_xid,
                          "Recover up to just before this xid's commit");
  restore_cmd->add_option("--to-lsn", restore_flags.to_lsn, "Recover up to this LSN");
  restore_cmd->add_flag("--immediate", restore_flags.immediate,
                        "Stop as soon as the base backup is consistent");
  restore_cmd->add_option("--data-dir", restore_flags.data_dir, "Scratch data directory")
      ->required();
  restore_cmd->add_option("--port", restore_flags.port, "Port (default: a free one)");
  restore_cmd->add_flag("--keep-running", restore_flags.keep_running,
                        "Leave the restored server running");
  restore_cmd->add_flag("--keep-data", restore_flags.keep_data,
                        "Stop the server but keep its data directory");
  restore_cmd->add_option("--target-action", restore_flags.target_action, "promote or pause")
      ->capture_default_str();
  restore_cmd->add_option("--backup", restore_flags.backup_id, "Base backup id (default: chosen)");
  restore_cmd->add_option("--run-as", restore_flags.run_as,
                          "OS user for the server (default: postgres when root)");
  restore_cmd->add_option("--db-user", restore_flags.db_user, "Role to check recovery as")
      ->capture_default_str();
  restore_cmd
      ->add_option("--dbname", restore_flags.db_name,
                   "Database to connect to; a pg_dump is loaded into it (created)")
      ->capture_default_str();
  restore_cmd->add_option("--format", restore_flags.format, "text or json")->capture_default_str();

  restore::FindFlags find_flags;
  auto* find_cmd = app.add_subcommand("find-transaction",
                                      "Find the transactions that deleted from, truncated or "
                                      "dropped a relation, in the archived WAL");
  find_cmd->fallthrough();
  find_cmd->add_option("--cluster", find_flags.cluster, "Cluster")->required();
  find_cmd->add_option("--store", find_flags.store, "Backup store (default: the only one)");
  find_cmd->add_option("--relation", find_flags.relation, "schema.table")->required();
  find_cmd->add_option("--dbname", find_flags.db_name, "Database of the relation")
      ->capture_default_str();
  find_cmd->add_option("--from", find_flags.from, "Window start (RFC 3339)");
  find_cmd->add_option("--to", find_flags.to, "Window end (RFC 3339)");
  find_cmd->add_option("--scratch-dir", find_flags.scratch_dir, "Where to fetch WAL");
  find_cmd->add_option("--port", find_flags.port, "Port of a scratch server, if one is needed");
  find_cmd->add_option("--run-as", find_flags.run_as, "OS user for a scratch server");
  find_cmd->add_option("--format", find_flags.format, "text or json")->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  auto level = core::ParseLogLevel(log_level);
  auto format = core::ParseLogFormat(log_format);
  if (!level.ok() || !format.ok()) {
    std::cerr << (level.ok() ? format.status() : level.status()).message() << "\n";
    return 2;
  }
  core::InitLogging(*level, *format);
  auto retention_ms = config::ParseDuration(retention);
  if (!retention_ms.ok() || retention_ms->count() <= 0) {
    std::cerr << "--storage.tsdb.retention.time: invalid duration \"" << retention << "\"\n";
    return 2;
  }
  options.tsdb.retention = *retention_ms;
  auto release_ms = config::ParseDuration(release_after);
  if (!release_ms.ok() || release_ms->count() < 0) {
    std::cerr << "--memory.release-startup-pages-after: invalid duration \"" << release_after
              << "\"\n";
    return 2;
  }
  options.release_startup_pages_after = *release_ms;
  if (options.shard.index >= options.shard.total) {
    std::cerr << "--shard.index: " << options.shard.index << " is not below --shard.total "
              << options.shard.total << "\n";
    return 2;
  }
  while (options.external_url.ends_with('/')) options.external_url.pop_back();
  if (!options.external_url.empty() && !options.external_url.starts_with("http://") &&
      !options.external_url.starts_with("https://")) {
    std::cerr << "--web.external-url: must start with http:// or https://, got \""
              << options.external_url << "\"\n";
    return 2;
  }
  if (const size_t slash = options.web_member.find('/');
      !options.web_member.empty() &&
      (slash == 0 || slash == std::string::npos || slash + 1 == options.web_member.size() ||
       options.web_member.find('/', slash + 1) != std::string::npos)) {
    std::cerr << "--web.member: want <cluster>/<member>, got \"" << options.web_member << "\"\n";
    return 2;
  }

  if (check->parsed()) return CheckConfig(check_files);
  for (auto [sub, text, out] :
       {std::tuple{switchover, &switchover_timeout, &switchover_options.step_timeout},
        std::tuple{rejoin, &rejoin_timeout, &rejoin_options.step_timeout}}) {
    if (!sub->parsed()) continue;
    auto ms = config::ParseDuration(*text);
    if (!ms.ok() || ms->count() <= 0) {
      std::cerr << "--timeout: invalid duration \"" << *text << "\"\n";
      return 2;
    }
    *out = *ms;
  }
  if (promote_region->parsed()) return PromoteRegion(promote, std::cout, std::cerr);
  if (switchover->parsed())
    return RunProcedure(options.config_file, switchover_options, actions::RunSwitchover);
  if (rejoin->parsed())
    return RunProcedure(options.config_file, rejoin_options, actions::RunRejoin);
  if (promql_test->parsed()) return promql::RunPromqlTestFiles(promql_files, std::cout);
  if (test_rules->parsed()) return rules::RunRuleTestFiles(rule_test_files, std::cout);
  if (check_rules->parsed()) return rules::CheckRules(rule_files, std::cout);
  if (restore_cmd->parsed() || find_cmd->parsed()) {
    config::OwnedSections sections;
    auto loaded = config::LoadConfig(options.config_file, &sections);
    auto stores = loaded.ok() ? store::ParseBackupStores(sections.reader, sections.backup_stores)
                              : core::Result<std::vector<store::StoreSettings>>(loaded.status());
    if (!stores.ok()) {
      std::cerr << stores.status().message() << "\n";
      return 2;
    }
    if (restore_cmd->parsed()) {
      return restore::RunRestoreCommand(*loaded, *stores, restore_flags, std::cout, std::cerr);
    }
    return restore::RunFindTransactionCommand(*loaded, *stores, find_flags, std::cout, std::cerr);
  }
  return Serve(options);
}

}  // namespace pgdr::app
