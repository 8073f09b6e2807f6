#include "app/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "pgdr/core/files.h"

namespace pgdr::app {

namespace {

using core::Status;
using nlohmann::json;

Status Bad(const std::string& why) { return Status::Corruption(why); }

bool IsInt(const json& j) { return j.is_number_integer() || j.is_number_unsigned(); }

// Writes `text` to `path` and fsyncs it.
Status WriteSynced(const std::string& path, const std::string& text) {
  const core::UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) return Status::IOError("open " + path + ": " + std::strerror(errno));
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError("write " + path + ": " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  if (fsync(fd.get()) != 0) return Status::IOError("fsync " + path + ": " + std::strerror(errno));
  return Status::OK();
}

Status SyncDir(const std::string& dir) {
  const core::UniqueFd fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || fsync(fd.get()) != 0) {
    return Status::IOError("fsync " + dir + ": " + std::strerror(errno));
  }
  return Status::OK();
}

json PrimaryJson(const PersistedState::Primary& p) {
  json j = {{"member", p.member}, {"seen_ms", p.seen_ms}};
  if (p.lsn_bytes) j["lsn_bytes"] = *p.lsn_bytes;
  if (!p.region.empty()) j["region"] = p.region;
  return j;
}

// `what` names the entry in the error.
core::Result<PersistedState::Primary> PrimaryFromJson(const json& j, const std::string& what) {
  if (!j.is_object() || !j.value("member", json()).is_string() ||
      !IsInt(j.value("seen_ms", json())) ||
      (j.contains("lsn_bytes") && !j["lsn_bytes"].is_number()) ||
      !j.value("region", json("")).is_string()) {
    return Bad(what + " needs member, seen_ms and a numeric lsn_bytes when present");
  }
  PersistedState::Primary p;
  p.member = j["member"].get<std::string>();
  p.seen_ms = j["seen_ms"].get<int64_t>();
  if (j.contains("lsn_bytes")) p.lsn_bytes = j["lsn_bytes"].get<double>();
  p.region = j.value("region", "");
  return p;
}

}  // namespace

std::string EncodeState(const PersistedState& state) {
  json windows = json::array();
  for (const auto& w : state.maintenance) {
    windows.push_back({{"cluster", w.cluster}, {"until_ms", w.until_ms}, {"reason", w.reason}});
  }
  json alerts = json::array();
  for (const auto& a : state.alerts) {
    alerts.push_back({{"group", a.group},
                      {"rule", a.rule},
                      {"labels", a.labels},
                      {"active_at_ms", a.active_at_ms}});
  }
  json primaries = json::object();
  for (const auto& [cluster, p] : state.primaries) primaries[cluster] = PrimaryJson(p);
  json regions = json::array();
  for (const auto& r : state.regions) {
    regions.push_back({{"cluster", r.cluster},
                       {"standby_region", r.standby_region},
                       {"primary", PrimaryJson(r.primary)},
                       {"last_promotion_ms", r.last_promotion_ms}});
  }
  const json doc = {{"version", kStateFileVersion},
                    {"maintenance", windows},
                    {"last_failover_ms", state.last_failover_ms},
                    {"primaries", primaries},
                    {"regions", regions},
                    {"alerts", alerts}};
  return doc.dump(1) + "\n";
}

core::Result<PersistedState> DecodeState(std::string_view text) {
  const json doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) return Bad("not valid JSON (truncated?)");
  if (!doc.is_object()) return Bad("not a JSON object");
  const auto version = doc.find("version");
  if (version == doc.end() || !IsInt(*version)) return Bad("no \"version\"");
  if (*version != kStateFileVersion) {
    return Bad("version " + version->dump() + ", this pgdr reads version " +
               std::to_string(kStateFileVersion));
  }
  PersistedState out;
  const json windows = doc.value("maintenance", json::array());
  if (!windows.is_array()) return Bad("\"maintenance\" is not an array");
  for (const auto& w : windows) {
    if (!w.is_object() || !w.value("cluster", json()).is_string() ||
        !IsInt(w.value("until_ms", json())) || !w.value("reason", json()).is_string()) {
      return Bad("a maintenance window needs cluster, until_ms and reason");
    }
    out.maintenance.push_back({w["cluster"].get<std::string>(), w["until_ms"].get<int64_t>(),
                               w["reason"].get<std::string>()});
  }
  const json failovers = doc.value("last_failover_ms", json::object());
  if (!failovers.is_object()) return Bad("\"last_failover_ms\" is not an object");
  for (const auto& [cluster, ms] : failovers.items()) {
    if (!IsInt(ms)) return Bad("last_failover_ms of \"" + cluster + "\" is not an integer");
    out.last_failover_ms[cluster] = ms.get<int64_t>();
  }
  // "primaries" and "regions" came after the first files of version 1: absent is empty.
  const json primaries = doc.value("primaries", json::object());
  if (!primaries.is_object()) return Bad("\"primaries\" is not an object");
  for (const auto& [cluster, j] : primaries.items()) {
    auto p = PrimaryFromJson(j, "the primary of \"" + cluster + "\"");
    if (!p.ok()) return p.status();
    out.primaries[cluster] = std::move(*p);
  }
  const json regions = doc.value("regions", json::array());
  if (!regions.is_array()) return Bad("\"regions\" is not an array");
  for (const auto& r : regions) {
    if (!r.is_object() || !r.value("cluster", json()).is_string() ||
        !r.value("standby_region", json()).is_string() ||
        !IsInt(r.value("last_promotion_ms", json()))) {
      return Bad("a region needs cluster, standby_region, primary and last_promotion_ms");
    }
    auto p = PrimaryFromJson(r.value("primary", json()), "the primary of a region");
    if (!p.ok()) return p.status();
    out.regions.push_back({r["cluster"].get<std::string>(), r["standby_region"].get<std::string>(),
                           std::move(*p), r["last_promotion_ms"].get<int64_t>()});
  }
  const json alerts = doc.value("alerts", json::array());
  if (!alerts.is_array()) return Bad("\"alerts\" is not an array");
  for (const auto& a : alerts) {
    if (!a.is_object() || !a.value("group", json()).is_string() ||
        !a.value("rule", json()).is_string() || !a.value("labels", json()).is_object() ||
        !IsInt(a.value("active_at_ms", json()))) {
      return Bad("an alert needs group, rule, labels and active_at_ms");
    }
    PersistedState::ForState f{a["group"].get<std::string>(),
                               a["rule"].get<std::string>(),
                               {},
                               a["active_at_ms"].get<int64_t>()};
    for (const auto& [k, v] : a["labels"].items()) {
      if (!v.is_string()) return Bad("alert label \"" + k + "\" is not a string");
      f.labels[k] = v.get<std::string>();
    }
    out.alerts.push_back(std::move(f));
  }
  return out;
}

std::string StateFilePath(const std::string& dir) { return dir + "/state.json"; }

Status SaveStateFile(const std::string& dir, const PersistedState& state) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::IOError("mkdir " + dir + ": " + std::strerror(errno));
  }
  const std::string path = StateFilePath(dir);
  const std::string tmp = path + ".tmp";
  if (Status st = WriteSynced(tmp, EncodeState(state)); !st.ok()) {
    unlink(tmp.c_str());
    return st;
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    unlink(tmp.c_str());
    return Status::IOError("rename " + tmp + " to " + path + ": " + err);
  }
  return SyncDir(dir);
}

core::Result<PersistedState> LoadStateFile(const std::string& dir) {
  const std::string path = StateFilePath(dir);
  struct stat st {};
  if (stat(path.c_str(), &st) != 0 && errno == ENOENT) return Status::NotFound(path);
  auto text = core::ReadFile(path);
  if (!text.ok()) return text.status();
  auto state = DecodeState(*text);
  if (!state.ok()) return Status::Corruption(path + ": " + state.status().message());
  return state;
}

}  // namespace pgdr::app
