#include "pgdr/app/cli.h"

#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "app/exporter.h"
#include "app/promote_region.h"
#include "app/validated_config.h"
#include "pgdr/config/config.h"
#include "pgdr/config/yaml_reader.h"
#include "pgdr/core/log.h"
#include "pgdr/promql/test_runner.h"
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

  PromoteRegionOptions promote;
  auto* promote_region = app.add_subcommand(
      "promote-region",
      "Approve the pending regional promotion of a cluster's standby region (running exporter)");
  promote_region->add_option("--cluster", promote.cluster, "Cluster")->required();
  promote_region->add_option("--region", promote.region, "Standby region to promote")->required();
  promote_region->add_option("--web.address", promote.web_address, "The exporter's URL")
      ->capture_default_str();

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
  if (promote_region->parsed()) return PromoteRegion(promote, std::cout, std::cerr);
  if (promql_test->parsed()) return promql::RunPromqlTestFiles(promql_files, std::cout);
  if (test_rules->parsed()) return rules::RunRuleTestFiles(rule_test_files, std::cout);
  if (check_rules->parsed()) return rules::CheckRules(rule_files, std::cout);
  return Serve(options);
}

}  // namespace pgdr::app
