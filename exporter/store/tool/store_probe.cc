// pgdr_store_probe: a test-only driver of the backup monitors, for the
// integration tests and manual checks before the exporter wires them in.
//
//   pgdr_store_probe CONFIG.yml
//
// Reads the `backup_stores:` list of CONFIG, then for each line "poll" on
// stdin polls every store once and writes the Prometheus text exposition
// followed by a line "# END". State is kept between polls, as in the
// exporter, so incremental listing is exercised. Logs go to stderr.
#include <prometheus/text_serializer.h>

#include <iostream>
#include <string>
#include <vector>

#include "pgdr/core/log.h"
#include "pgdr/store/backup_monitor.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: pgdr_store_probe CONFIG.yml\n";
    return 2;
  }
  pgdr::core::InitLogging(pgdr::core::LogLevel::kInfo, pgdr::core::LogFormat::kLogfmt);
  pgdr::core::Result<YAML::Node> root = pgdr::config::LoadYamlFile(argv[1]);
  if (!root.ok()) {
    std::cerr << root.status().ToString() << "\n";
    return 1;
  }
  pgdr::config::YamlReader reader(argv[1]);
  std::vector<std::unique_ptr<pgdr::store::BackupMonitor>> monitors;
  for (const YAML::Node& entry : (*root)["backup_stores"]) {
    auto monitor = pgdr::store::MakeBackupMonitor(reader, entry);
    if (!monitor.ok()) {
      std::cerr << monitor.status().ToString() << "\n";
      return 1;
    }
    monitors.push_back(std::move(*monitor));
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line != "poll") continue;
    pgdr::core::MetricSet metrics;
    for (auto& monitor : monitors) {
      pgdr::store::ArchiveFacts facts = monitor->Poll(metrics);
      std::cout << "# FACTS store=" << facts.store << " up=" << facts.up
                << " newest_lsn=" << facts.newest_archived_lsn_bytes.value_or(-1)
                << " newest_ts=" << facts.newest_segment_timestamp_seconds.value_or(-1) << "\n";
    }
    std::cout << prometheus::TextSerializer().Serialize(metrics.Take()) << "# END" << std::endl;
  }
  return 0;
}
