#include "pgdr/app/cli.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/exporter.h"
#include "app/validated_config.h"
#include "pgdr/config/config.h"
#include "pgdr/config/yaml_reader.h"
#include "pgdr/core/log.h"
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
              << config.queries.size() << " queries, " << config.backup_stores.size()
              << " backup stores, " << config.rule_files.size() << " rule files, "
              << validated->rule_groups.size() << " rule groups\n";
  }
  return rc;
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

  Exporter exporter(options);
  if (core::Status s = exporter.Start(); !s.ok()) {
    core::Log(core::LogLevel::kError, "cannot start", {{"err", s.message()}});
    return 1;
  }
  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      (void)exporter.Reload();  // logged inside; the old config keeps running
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
  app.add_option("--log.level", log_level, "debug, info, warn or error")->capture_default_str();
  app.add_option("--log.format", log_format, "logfmt or json")->capture_default_str();
  std::string retention = "1h";
  app.add_option("--storage.tsdb.retention.time", retention,
                 "How long the rule evaluator keeps samples in memory")
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

  if (check->parsed()) return CheckConfig(check_files);
  if (promql_test->parsed()) return promql::RunPromqlTestFiles(promql_files, std::cout);
  if (test_rules->parsed()) return rules::RunRuleTestFiles(rule_test_files, std::cout);
  if (check_rules->parsed()) return rules::CheckRules(rule_files, std::cout);
  if (restore_cmd->parsed() || find_cmd->parsed()) {
    auto loaded = config::LoadConfig(options.config_file);
    if (!loaded.ok()) {
      std::cerr << loaded.status().message() << "\n";
      return 2;
    }
    if (restore_cmd->parsed()) {
      return restore::RunRestoreCommand(*loaded, restore_flags, std::cout, std::cerr);
    }
    return restore::RunFindTransactionCommand(*loaded, find_flags, std::cout, std::cerr);
  }
  return Serve(options);
}

}  // namespace pgdr::app
