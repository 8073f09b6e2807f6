// Parsers of the catalog files of barman-cloud, pgBackRest and WAL-G.
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>

#include "pgdr/core/strings.h"
#include "store/layout.h"

namespace pgdr::store {
namespace {

std::optional<double> Number(std::string_view s) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

bool IsNone(std::string_view v) { return v.empty() || v == "None"; }

// The next line of `text` that is neither blank nor a '#' comment, trimmed;
// `line_no` counts every line consumed. False at the end of the text.
bool NextLine(std::string_view& text, std::string_view& line, int& line_no) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    line = core::Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (!line.empty() && line.front() != '#') return true;
  }
  return false;
}

}  // namespace

core::Result<BackupRecord> ParseBarmanBackupInfo(std::string_view text, uint64_t segment_size) {
  std::map<std::string, std::string, std::less<>> fields;
  int line_no = 0;
  for (std::string_view line; NextLine(text, line, line_no);) {
    size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return core::Status::Corruption("line " + std::to_string(line_no) + ": expected key=value");
    }
    fields[std::string(core::Trim(line.substr(0, eq)))] =
        std::string(core::Trim(line.substr(eq + 1)));
  }
  auto get = [&](std::string_view key) -> std::string_view {
    auto it = fields.find(key);
    return it == fields.end() ? std::string_view() : std::string_view(it->second);
  };
  BackupRecord record;
  record.id = std::string(get("backup_id"));
  std::string_view status = get("status");
  if (status.empty()) return core::Status::Corruption("missing field \"status\" (truncated?)");
  if (status == "DONE") {
    record.status = "done";
  } else if (status == "FAILED") {
    record.status = "failed";
  } else {
    record.status = "running";
  }
  record.type = "full";
  if (std::string_view t = get("backup_type"); !IsNone(t)) {
    record.type = t == "rsync" || t == "snapshot" ? "full" : std::string(t);
  }
  for (auto [key, out] :
       {std::pair{"begin_time", &record.begin_time}, std::pair{"end_time", &record.end_time}}) {
    std::string_view v = get(key);
    if (IsNone(v)) continue;
    std::optional<double> t = ParseIso8601(v);
    if (!t)
      return core::Status::Corruption("field \"" + std::string(key) + "\": bad time \"" +
                                      std::string(v) + "\"");
    *out = t;
  }
  if (std::string_view v = get("size"); !IsNone(v)) {
    record.size_bytes = Number(v);
    if (!record.size_bytes) return core::Status::Corruption("field \"size\": not a number");
  }
  if (std::string_view v = get("begin_wal"); !IsNone(v)) {
    record.begin_wal = ParseSegmentName(v, segment_size);
    if (!record.begin_wal)
      return core::Status::Corruption("field \"begin_wal\": not a segment name");
  }
  if (record.status == "done") {
    if (!record.end_time)
      return core::Status::Corruption("missing field \"end_time\" (truncated?)");
    if (!record.begin_wal)
      return core::Status::Corruption("missing field \"begin_wal\" (truncated?)");
  }
  return record;
}

core::Result<std::vector<BackupRecord>> ParsePgBackRestInfo(std::string_view text,
                                                            uint64_t segment_size) {
  std::vector<BackupRecord> records;
  std::string section;
  bool seen_backrest = false;
  bool seen_db_history = false;  // the last section: absent when the file was cut short
  int line_no = 0;
  for (std::string_view line; NextLine(text, line, line_no);) {
    std::string where = "line " + std::to_string(line_no);
    if (line.front() == '[') {
      if (line.back() != ']') return core::Status::Corruption(where + ": unterminated section");
      section = std::string(line.substr(1, line.size() - 2));
      if (section == "backrest") seen_backrest = true;
      if (section == "db:history") seen_db_history = true;
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      return core::Status::Corruption(where + ": expected key=value");
    if (section != "backup:current") continue;
    std::string label(core::Trim(line.substr(0, eq)));
    nlohmann::json value = nlohmann::json::parse(line.substr(eq + 1), nullptr, false);
    if (value.is_discarded() || !value.is_object()) {
      return core::Status::Corruption(where + ": backup " + label + ": value is not a JSON object");
    }
    BackupRecord record;
    record.id = label;
    record.status = "done";
    auto num = [&](const char* key) -> std::optional<double> {
      auto it = value.find(key);
      if (it == value.end() || !it->is_number()) return std::nullopt;
      return it->get<double>();
    };
    auto str = [&](const char* key) -> std::string {
      auto it = value.find(key);
      if (it == value.end() || !it->is_string()) return "";
      return it->get<std::string>();
    };
    record.begin_time = num("backup-timestamp-start");
    record.end_time = num("backup-timestamp-stop");
    if (!record.end_time) {
      return core::Status::Corruption(where + ": backup " + label + ": no backup-timestamp-stop");
    }
    record.type = str("backup-type");
    if (record.type.empty()) record.type = "full";
    record.size_bytes = num("backup-info-repo-size");
    if (!record.size_bytes) record.size_bytes = num("backup-info-size");
    std::string start = str("backup-archive-start");
    if (!start.empty()) {
      record.begin_wal = ParseSegmentName(start, segment_size);
      if (!record.begin_wal) {
        return core::Status::Corruption(where + ": backup " + label + ": bad backup-archive-start");
      }
    }
    auto error = value.find("backup-error");
    if (error != value.end() && error->is_boolean() && error->get<bool>()) {
      record.status = "done_with_errors";
    }
    records.push_back(std::move(record));
  }
  if (!seen_backrest) return core::Status::Corruption("no [backrest] section (not a backup.info?)");
  if (!seen_db_history) return core::Status::Corruption("no [db:history] section (truncated?)");
  return records;
}

core::Result<BackupRecord> ParseWalGSentinel(std::string_view name, std::string_view text,
                                             uint64_t segment_size) {
  nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
  if (value.is_discarded() || !value.is_object()) {
    return core::Status::Corruption("not a JSON object (truncated?)");
  }
  BackupRecord record;
  record.id = std::string(name);
  record.status = "done";
  auto it = value.find("DeltaFrom");
  record.type =
      it != value.end() && it->is_string() && !it->get<std::string>().empty() ? "delta" : "full";
  for (auto [key, out] :
       {std::pair{"StartTime", &record.begin_time}, std::pair{"FinishTime", &record.end_time}}) {
    auto field = value.find(key);
    if (field == value.end() || !field->is_string()) continue;
    std::optional<double> t = ParseIso8601(field->get<std::string>());
    if (!t) return core::Status::Corruption(std::string("field \"") + key + "\": bad time");
    *out = t;
  }
  if (!record.end_time) return core::Status::Corruption("missing field \"FinishTime\"");
  for (const char* key : {"CompressedSize", "UncompressedSize"}) {
    auto field = value.find(key);
    if (field != value.end() && field->is_number()) {
      record.size_bytes = field->get<double>();
      break;
    }
  }
  // The name base_<segment>[_D_<segment>] carries the start segment and timeline.
  if (name.starts_with("base_") && name.size() >= 5 + 24) {
    record.begin_wal = ParseSegmentName(name.substr(5, 24), segment_size);
  }
  if (!record.begin_wal) {
    auto lsn = value.find("LSN");
    if (lsn == value.end() || !lsn->is_number_unsigned()) {
      return core::Status::Corruption("missing field \"LSN\" and no segment in the backup name");
    }
    record.begin_wal = SegmentId{1, lsn->get<uint64_t>() / segment_size};
  }
  return record;
}

}  // namespace pgdr::store
