// The `drills:` section of pgdr.yml.
#include <unistd.h>

#include <cmath>

#include "pgdr/config/yaml_reader.h"
#include "pgdr/restore/drills.h"

namespace pgdr::restore {
namespace {

// "10GiB", "500MB", "1073741824".
std::optional<double> ParseBytes(const std::string& text) {
  size_t end = 0;
  double value = 0;
  try {
    value = std::stod(text, &end);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::string unit = text.substr(end);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  static const std::map<std::string, double> kUnits = {
      {"", 1},          {"B", 1},
      {"KB", 1e3},      {"MB", 1e6},
      {"GB", 1e9},      {"TB", 1e12},
      {"KiB", 1 << 10}, {"MiB", 1 << 20},
      {"GiB", 1 << 30}, {"TiB", std::pow(2.0, 40)}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end() || value <= 0) return std::nullopt;
  return value * it->second;
}

DrillSpec ParseOne(const config::YamlReader& reader, const YAML::Node& entry,
                   const std::vector<store::StoreSettings>& stores) {
  reader.ExpectMap(entry, "drill");
  reader.CheckKeys(entry,
                   {"cluster", "store", "interval", "schedule", "target", "scratch_dir",
                    "port_range", "max_disk", "run_as", "run_at_start", "fetch_timeout",
                    "replay_timeout", "verify_timeout", "verify", "pg_bin"},
                   "drill");
  DrillSpec d;
  d.where = reader.Where(entry);
  d.cluster = reader.String(entry, "cluster");
  std::string store_name = reader.StringOr(entry, "store", "");
  const store::StoreSettings* found = nullptr;
  int matches = 0;
  for (const store::StoreSettings& s : stores) {
    if (s.cluster != d.cluster) continue;
    if (store_name.empty() ? (s.layout == "barman-cloud" || s.layout == "pgbackrest")
                           : s.name == store_name) {
      found = &s;
      ++matches;
    }
  }
  if (found == nullptr) {
    reader.Fail(entry, "no backup store " + (store_name.empty() ? "" : "\"" + store_name + "\" ") +
                           "of cluster \"" + d.cluster + "\" to drill from");
  }
  if (matches > 1)
    reader.Fail(entry, "cluster \"" + d.cluster + "\" has several stores: set store");
  if (found->layout != "barman-cloud" && found->layout != "pgbackrest" &&
      found->layout != "pg_dump") {
    reader.Fail(entry["store"], "drills restore barman-cloud, pgbackrest and pg_dump stores only");
  }
  d.store = *found;
  d.interval = reader.DurationOr(entry, "interval", d.interval);
  if (d.interval.count() <= 0) reader.Fail(entry["interval"], "interval must be positive");
  if (entry["schedule"]) {
    if (entry["interval"]) reader.Fail(entry["schedule"], "set interval or schedule, not both");
    core::Result<core::CronSchedule> cron =
        core::CronSchedule::Parse(reader.String(entry, "schedule"));
    if (!cron.ok()) reader.Fail(entry["schedule"], cron.status().message());
    d.schedule = std::move(*cron);
  }
  std::string target = reader.StringOr(entry, "target", "latest");
  if (target != "latest") {
    std::string age = target.starts_with("now - ") ? target.substr(6) : "";
    core::Result<milliseconds> parsed = config::ParseDuration(age);
    if (age.empty() || !parsed.ok() || parsed->count() <= 0) {
      reader.Fail(entry["target"], "target must be \"latest\" or \"now - <duration>\"");
    }
    d.target_age = *parsed;
  }
  d.scratch_dir = reader.StringOr(entry, "scratch_dir", d.scratch_dir);
  if (!d.scratch_dir.starts_with("/"))
    reader.Fail(entry["scratch_dir"], "scratch_dir must be absolute");
  if (entry["port_range"]) {
    std::string range = reader.String(entry, "port_range");
    size_t dash = range.find('-');
    try {
      d.port_first = std::stoi(range.substr(0, dash));
      d.port_last = dash == std::string::npos ? d.port_first : std::stoi(range.substr(dash + 1));
    } catch (const std::exception&) {
      d.port_first = 0;
    }
    if (d.port_first < 1024 || d.port_last > 65535 || d.port_last < d.port_first) {
      reader.Fail(entry["port_range"], "port_range must be \"FIRST-LAST\" within 1024-65535");
    }
  }
  if (entry["max_disk"]) {
    d.max_disk_bytes = ParseBytes(reader.String(entry, "max_disk"));
    if (!d.max_disk_bytes) reader.Fail(entry["max_disk"], "max_disk must be a size such as 10GiB");
  }
  d.run_as = reader.StringOr(entry, "run_as", geteuid() == 0 ? "postgres" : "");
  d.run_at_start = reader.BoolOr(entry, "run_at_start", true);
  d.timeouts.fetch = reader.DurationOr(entry, "fetch_timeout", d.timeouts.fetch);
  d.timeouts.replay = reader.DurationOr(entry, "replay_timeout", d.timeouts.replay);
  d.timeouts.verify = reader.DurationOr(entry, "verify_timeout", d.timeouts.verify);
  d.pg_bin = reader.StringOr(entry, "pg_bin", d.pg_bin);
  if (const YAML::Node& list = entry["verify"]) {
    reader.ExpectSequence(list, "drill verify");
    for (const YAML::Node& v : list) {
      reader.ExpectMap(v, "drill verification");
      reader.CheckKeys(v, {"sql", "expect", "compare_with_primary"}, "drill verification");
      Verification verification{reader.String(v, "sql"), reader.OptString(v, "expect"),
                                reader.BoolOr(v, "compare_with_primary", false)};
      if (verification.expect && verification.compare_with_primary) {
        reader.Fail(v["compare_with_primary"], "set expect or compare_with_primary, not both");
      }
      d.verify.push_back(std::move(verification));
    }
  }
  return d;
}

}  // namespace

bool DrillSpec::operator==(const DrillSpec& o) const {
  auto key = [](const DrillSpec& d) {
    std::string verify;
    for (const Verification& v : d.verify) {
      verify += v.sql + "\x1f" + v.expect.value_or("\x1e") + (v.compare_with_primary ? "P" : "");
    }
    for (const config::TargetConfig& m : d.members) verify += "\x1d" + m.member + "=" + m.dsn;
    return std::tuple(d.cluster, d.store.name, d.store.store_options.url, d.interval.count(),
                      d.schedule ? d.schedule->text() : std::string(),
                      d.target_age ? d.target_age->count() : -1, d.scratch_dir, d.port_first,
                      d.port_last, d.max_disk_bytes.value_or(-1), d.run_as, verify,
                      d.timeouts.fetch.count(), d.timeouts.replay.count(), d.pg_bin);
  };
  return key(*this) == key(o);
}

std::chrono::system_clock::time_point DrillSpec::NextRun(
    std::chrono::system_clock::time_point after) const {
  if (!schedule) return after + interval;
  // Parse() proved the schedule matches within eight years.
  return schedule->Next(after).value_or(after + interval);
}

core::Result<std::vector<DrillSpec>> ParseDrills(const config::YamlReader& reader,
                                                 const YAML::Node& drills,
                                                 const std::vector<store::StoreSettings>& stores) {
  std::vector<DrillSpec> out;
  if (!drills || drills.IsNull()) return out;
  core::Status parsed = config::GuardYaml(reader.file(), [&] {
    reader.ExpectSequence(drills, "drills");
    for (const YAML::Node& entry : drills) {
      DrillSpec d = ParseOne(reader, entry, stores);
      for (const DrillSpec& other : out) {
        if (other.cluster == d.cluster)
          reader.Fail(entry, "a second drill of cluster \"" + d.cluster + "\"");
      }
      out.push_back(std::move(d));
    }
  });
  if (!parsed.ok()) return parsed;
  return out;
}

}  // namespace pgdr::restore
