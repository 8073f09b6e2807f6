#include "pgdr/config/read_pool_config.h"

#include "pgdr/config/byte_size.h"

namespace pgdr::config {
namespace {

std::optional<double> Bytes(const YamlReader& r, const YAML::Node& map, std::string_view key) {
  const YAML::Node n = map[std::string(key)];
  if (!n) return std::nullopt;
  auto bytes = ParseByteSize(r.AsString(n, key));
  if (!bytes.ok()) r.Fail(n, std::string(key) + ": " + bytes.status().message());
  return *bytes;
}

std::optional<double> Seconds(const YamlReader& r, const YAML::Node& map, std::string_view key) {
  const YAML::Node n = map[std::string(key)];
  if (!n) return std::nullopt;
  auto d = ParseDuration(r.AsString(n, key));
  if (!d.ok()) r.Fail(n, std::string(key) + ": " + d.status().message());
  return std::chrono::duration<double>(*d).count();
}

}  // namespace

ReadPoolConfig ParseReadPool(const YamlReader& r, const YAML::Node& n) {
  r.CheckKeys(n,
              {"database", "max_lag_bytes", "max_lag_seconds", "readmit_lag_bytes",
               "readmit_lag_seconds", "readmit_after", "members", "fallback"},
              "read_pool");
  ReadPoolConfig p;
  p.database = r.String(n, "database");
  p.max_lag_bytes = Bytes(r, n, "max_lag_bytes");
  p.max_lag_seconds = Seconds(r, n, "max_lag_seconds");
  if (!p.max_lag_bytes && !p.max_lag_seconds) {
    r.Fail(n, "read_pool needs max_lag_bytes or max_lag_seconds");
  }
  p.readmit_lag_bytes = Bytes(r, n, "readmit_lag_bytes");
  p.readmit_lag_seconds = Seconds(r, n, "readmit_lag_seconds");
  if (p.readmit_lag_bytes && !p.max_lag_bytes)
    r.Fail(n["readmit_lag_bytes"], "needs max_lag_bytes");
  if (p.readmit_lag_seconds && !p.max_lag_seconds) {
    r.Fail(n["readmit_lag_seconds"], "needs max_lag_seconds");
  }
  if (p.readmit_lag_bytes && *p.readmit_lag_bytes > *p.max_lag_bytes) {
    r.Fail(n["readmit_lag_bytes"], "must not exceed max_lag_bytes");
  }
  if (p.readmit_lag_seconds && *p.readmit_lag_seconds > *p.max_lag_seconds) {
    r.Fail(n["readmit_lag_seconds"], "must not exceed max_lag_seconds");
  }
  if (!p.readmit_lag_bytes) p.readmit_lag_bytes = p.max_lag_bytes;
  if (!p.readmit_lag_seconds) p.readmit_lag_seconds = p.max_lag_seconds;
  p.readmit_after = r.DurationOr(n, "readmit_after", p.readmit_after);
  p.members = r.StringList(n, "members");
  const std::string fallback = r.StringOr(n, "fallback", "primary");
  if (fallback == "primary") {
    p.fallback = ReadPoolConfig::Fallback::kPrimary;
  } else if (fallback == "none") {
    p.fallback = ReadPoolConfig::Fallback::kNone;
  } else {
    r.Fail(n["fallback"], "fallback: want primary or none, got \"" + fallback + "\"");
  }
  return p;
}

}  // namespace pgdr::config
