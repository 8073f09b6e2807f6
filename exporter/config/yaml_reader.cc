#include "pgdr/config/yaml_reader.h"

#include <cmath>

#include "pgdr/core/files.h"
#include "pgdr/core/strings.h"

namespace pgdr::config {
namespace {

std::string KindName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "null";
    default:
      return "nothing";
  }
}

}  // namespace

core::Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  using std::chrono::milliseconds;
  if (text.empty()) return core::Status::InvalidArgument("empty duration");
  if (text == "0") return milliseconds(0);
  long long total = 0;
  size_t i = 0;
  int last_rank = 100;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    if (start == i)
      return core::Status::InvalidArgument("not a valid duration string: \"" + std::string(text) +
                                           "\"");
    long long n = std::stoll(std::string(text.substr(start, i - start)));
    size_t ustart = i;
    while (i < text.size() && !(text[i] >= '0' && text[i] <= '9')) ++i;
    std::string_view unit = text.substr(ustart, i - ustart);
    long long ms = 0;
    int rank = 0;
    if (unit == "y")
      ms = 365LL * 24 * 3600 * 1000, rank = 7;
    else if (unit == "w")
      ms = 7LL * 24 * 3600 * 1000, rank = 6;
    else if (unit == "d")
      ms = 24LL * 3600 * 1000, rank = 5;
    else if (unit == "h")
      ms = 3600LL * 1000, rank = 4;
    else if (unit == "m")
      ms = 60LL * 1000, rank = 3;
    else if (unit == "s")
      ms = 1000, rank = 2;
    else if (unit == "ms")
      ms = 1, rank = 1;
    else
      return core::Status::InvalidArgument("not a valid duration string: \"" + std::string(text) +
                                           "\"");
    if (rank >= last_rank)
      return core::Status::InvalidArgument("not a valid duration string: \"" + std::string(text) +
                                           "\"");
    last_rank = rank;
    total += n * ms;
  }
  return milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  long long ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  struct Unit {
    const char* name;
    long long ms;
  };
  static constexpr Unit kUnits[] = {{"y", 365LL * 24 * 3600 * 1000},
                                    {"w", 7LL * 24 * 3600 * 1000},
                                    {"d", 24LL * 3600 * 1000},
                                    {"h", 3600LL * 1000},
                                    {"m", 60LL * 1000},
                                    {"s", 1000},
                                    {"ms", 1}};
  for (const auto& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms) + u.name;
      ms %= u.ms;
    }
  }
  return out;
}

std::string YamlReader::Where(const YAML::Node& at) const {
  const YAML::Mark mark = at.Mark();
  if (mark.is_null()) return file_;
  return file_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

void YamlReader::Fail(const YAML::Node& at, std::string_view msg) const {
  throw YamlError(Where(at) + ": " + std::string(msg));
}

void YamlReader::ExpectMap(const YAML::Node& node, std::string_view what) const {
  if (!node.IsMap()) Fail(node, std::string(what) + " must be a map, got " + KindName(node));
}

void YamlReader::ExpectSequence(const YAML::Node& node, std::string_view what) const {
  if (!node.IsSequence()) Fail(node, std::string(what) + " must be a list, got " + KindName(node));
}

void YamlReader::CheckKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                           std::string_view what) const {
  ExpectMap(map, what);
  for (const auto& kv : map) {
    const std::string key = kv.first.Scalar();
    bool known = false;
    for (auto a : allowed) known = known || a == key;
    if (!known) {
      Fail(kv.first, "unknown key \"" + key + "\" in " + std::string(what) +
                         " (allowed: " + core::Join(allowed, ", ") + ")");
    }
  }
}

std::string YamlReader::AsString(const YAML::Node& node, std::string_view what) const {
  if (!node.IsScalar()) Fail(node, std::string(what) + " must be a string, got " + KindName(node));
  return node.Scalar();
}

bool YamlReader::AsBool(const YAML::Node& node, std::string_view what) const {
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    Fail(node, std::string(what) + " must be true or false");
  }
  return value;
}

double YamlReader::AsNumber(const YAML::Node& node, std::string_view what) const {
  double value = 0;
  if (!node.IsScalar() || !YAML::convert<double>::decode(node, value) || std::isnan(value)) {
    Fail(node, std::string(what) + " must be a number");
  }
  return value;
}

std::string YamlReader::String(const YAML::Node& map, std::string_view key) const {
  const YAML::Node n = map[std::string(key)];
  if (!n || n.IsNull()) Fail(map, "missing required key \"" + std::string(key) + "\"");
  return AsString(n, key);
}

std::optional<std::string> YamlReader::OptString(const YAML::Node& map,
                                                 std::string_view key) const {
  const YAML::Node n = map[std::string(key)];
  if (!n || n.IsNull()) return std::nullopt;
  return AsString(n, key);
}

std::string YamlReader::StringOr(const YAML::Node& map, std::string_view key,
                                 std::string def) const {
  auto v = OptString(map, key);
  return v ? *v : std::move(def);
}

bool YamlReader::BoolOr(const YAML::Node& map, std::string_view key, bool def) const {
  const YAML::Node n = map[std::string(key)];
  if (!n || n.IsNull()) return def;
  return AsBool(n, key);
}

double YamlReader::NumberOr(const YAML::Node& map, std::string_view key, double def) const {
  const YAML::Node n = map[std::string(key)];
  if (!n || n.IsNull()) return def;
  return AsNumber(n, key);
}

long long YamlReader::IntOr(const YAML::Node& map, std::string_view key, long long def) const {
  const YAML::Node n = map[std::string(key)];
  if (!n || n.IsNull()) return def;
  long long value = 0;
  if (!n.IsScalar() || !YAML::convert<long long>::decode(n, value)) {
    Fail(n, std::string(key) + " must be an integer");
  }
  return value;
}

std::chrono::milliseconds YamlReader::DurationOr(const YAML::Node& map, std::string_view key,
                                                 std::chrono::milliseconds def) const {
  const YAML::Node n = map[std::string(key)];
  if (!n || n.IsNull()) return def;
  auto d = ParseDuration(AsString(n, key));
  if (!d.ok()) Fail(n, std::string(key) + ": " + d.status().message());
  return *d;
}

std::map<std::string, std::string> YamlReader::StringMap(const YAML::Node& map,
                                                         std::string_view key) const {
  std::map<std::string, std::string> out;
  const YAML::Node n = map[std::string(key)];
  if (!n || n.IsNull()) return out;
  ExpectMap(n, key);
  for (const auto& kv : n) out[kv.first.Scalar()] = AsString(kv.second, kv.first.Scalar());
  return out;
}

std::vector<std::string> YamlReader::StringList(const YAML::Node& map, std::string_view key) const {
  std::vector<std::string> out;
  const YAML::Node n = map[std::string(key)];
  if (!n || n.IsNull()) return out;
  if (n.IsScalar()) return {n.Scalar()};
  ExpectSequence(n, key);
  for (const auto& item : n) out.push_back(AsString(item, key));
  return out;
}

core::Status GuardYaml(const std::string& file, const std::function<void()>& parse) {
  try {
    parse();
    return core::Status::OK();
  } catch (const YamlError& e) {
    return core::Status::InvalidArgument(e.what());
  } catch (const YAML::Exception& e) {
    std::string where = file;
    if (!e.mark.is_null()) {
      where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
    }
    return core::Status::InvalidArgument(where + ": " + e.msg);
  }
}

core::Result<YAML::Node> LoadYamlString(const std::string& text, const std::string& name) {
  YAML::Node root;
  core::Status s = GuardYaml(name, [&] { root = YAML::Load(text); });
  if (!s.ok()) return s;
  return root;
}

core::Result<YAML::Node> LoadYamlFile(const std::string& path) {
  auto text = core::ReadFile(path);
  if (!text.ok()) return text.status();
  return LoadYamlString(*text, path);
}

}  // namespace pgdr::config
