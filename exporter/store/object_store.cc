#include "pgdr/store/object_store.h"

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <vector>

namespace pgdr::store {

void RequestStats::Record(std::string_view operation, std::string_view result,
                          double seconds_taken) {
  ++count[{std::string(operation), std::string(result)}];
  seconds[std::string(operation)] += seconds_taken;
}

namespace {

// Walks the '/' hierarchy below `prefix`, pruning common prefixes that sort
// entirely before start_after. Entries arrive from the driver in key order.
core::Status Walk(ObjectStore& store, const std::string& prefix, const std::string& start_after,
                  const ListVisitor& visit) {
  std::vector<ObjectInfo> level;
  ListOptions options{prefix, "", true};
  core::Status listed = store.List(options, [&](const ObjectInfo& info) {
    level.push_back(info);
    return core::Status::OK();
  });
  if (!listed.ok()) return listed;
  for (const ObjectInfo& info : level) {
    if (info.is_prefix) {
      // Everything below info.key sorts before start_after unless start_after
      // itself lies below it (or after: then all of it is new).
      bool holds_cursor = start_after.compare(0, info.key.size(), info.key) == 0;
      if (!holds_cursor && info.key < start_after) continue;
      core::Status s = Walk(store, info.key, holds_cursor ? start_after : "", visit);
      if (!s.ok()) return s;
      continue;
    }
    if (!start_after.empty() && info.key <= start_after) continue;
    core::Status s = visit(info);
    if (!s.ok()) return s;
  }
  return core::Status::OK();
}

}  // namespace

core::Status ListAfter(ObjectStore& store, const ListOptions& options, const ListVisitor& visit) {
  if (options.start_after.empty() || options.delimited || store.capabilities().native_start_after) {
    return store.List(options, visit);
  }
  return Walk(store, options.prefix, options.start_after, visit);
}

core::Result<std::string> ReadSecret(const SecretSource& source, std::string_view standard_env) {
  if (!source.file.empty()) {
    std::ifstream in(source.file);
    if (!in)
      return core::Status::NotFound(std::string(kErrCredentials) + ": cannot read " + source.file);
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string value = buffer.str();
    while (!value.empty() &&
           (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
      value.pop_back();
    }
    return value;
  }
  std::string env = source.env.empty() ? std::string(standard_env) : source.env;
  if (env.empty()) return core::Status::NotFound(std::string(kErrCredentials));
  const char* value = std::getenv(env.c_str());
  if (value == nullptr) {
    return core::Status::NotFound(std::string(kErrCredentials) + ": $" + env + " is not set");
  }
  return std::string(value);
}

core::Result<std::unique_ptr<ObjectStore>> MakeObjectStore(const StoreOptions& options) {
  std::string_view url = options.url;
  if (url.starts_with("file://")) return MakePosixStore(options);
  if (url.starts_with("s3://")) return MakeS3Store(options);
  if (url.starts_with("gs://")) return MakeGcsStore(options);
  if (url.starts_with("azure://")) return MakeAzureStore(options);
  return core::Status::InvalidArgument("url \"" + options.url +
                                       "\": scheme must be s3://, gs://, azure:// or file://");
}

namespace {

bool ParseInt(std::string_view text, size_t pos, size_t len, int& out) {
  if (pos + len > text.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + len; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    v = v * 10 + (text[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

std::optional<double> ParseIso8601(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM]; a space may replace the T.
  std::tm tm{};
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != ' ') || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  if (!ParseInt(text, 0, 4, year) || !ParseInt(text, 5, 2, mon) || !ParseInt(text, 8, 2, day) ||
      !ParseInt(text, 11, 2, hour) || !ParseInt(text, 14, 2, min) || !ParseInt(text, 17, 2, sec)) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  double result = static_cast<double>(timegm(&tm));
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    double scale = 0.1;
    for (++pos; pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
      result += (text[pos] - '0') * scale;
      scale /= 10;
    }
  }
  if (pos == text.size() || text.substr(pos) == "Z") return result;
  if (text[pos] == '+' || text[pos] == '-') {
    int oh = 0, om = 0;
    if (!ParseInt(text, pos + 1, 2, oh)) return std::nullopt;
    size_t mpos = pos + 3;
    if (mpos < text.size() && text[mpos] == ':') ++mpos;
    if (mpos < text.size() && !ParseInt(text, mpos, 2, om)) return std::nullopt;
    double offset = oh * 3600.0 + om * 60.0;
    return text[pos] == '+' ? result - offset : result + offset;
  }
  return std::nullopt;
}

std::optional<double> ParseRfc1123(std::string_view text) {
  // "Mon, 23 Nov 2026 19:37:47 GMT"
  static constexpr std::string_view kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
  if (text.size() < 29 || text.substr(text.size() - 3) != "GMT") return std::nullopt;
  std::tm tm{};
  int day = 0, year = 0, hour = 0, min = 0, sec = 0;
  if (!ParseInt(text, 5, 2, day) || !ParseInt(text, 12, 4, year) || !ParseInt(text, 17, 2, hour) ||
      !ParseInt(text, 20, 2, min) || !ParseInt(text, 23, 2, sec)) {
    return std::nullopt;
  }
  size_t mon = kMonths.find(text.substr(8, 3));
  if (mon == std::string_view::npos || mon % 3 != 0) return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = static_cast<int>(mon / 3);
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  return static_cast<double>(timegm(&tm));
}

}  // namespace pgdr::store
