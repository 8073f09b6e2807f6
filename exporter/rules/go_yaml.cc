// yaml.v3 behaviour on top of yaml-cpp nodes (see go_yaml.h).
#include "rules/go_yaml.h"

#include <cstdint>
#include <regex>
#include <set>

#include "pgdr/core/strings.h"

namespace pgdr::rules::goyaml {
namespace {

std::string Line(const YAML::Node& n) { return "line " + std::to_string(n.Mark().line + 1); }

bool IsMergeKey(const YAML::Node& key) {
  return key.IsScalar() && key.Scalar() == "<<" && (key.Tag() == "?" || key.Tag().empty());
}

}  // namespace

std::string Utf8Error(std::string_view text) {
  size_t i = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // the BOM is the encoding mark
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t width = 0;
    uint32_t value = 0;
    if ((c & 0x80) == 0) {
      width = 1, value = c;
    } else if ((c & 0xE0) == 0xC0) {
      width = 2, value = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      width = 3, value = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      width = 4, value = c & 0x07;
    } else {
      return "invalid leading UTF-8 octet";
    }
    if (i + width > text.size()) return "incomplete UTF-8 octet sequence";
    for (size_t k = 1; k < width; ++k) {
      const auto t = static_cast<unsigned char>(text[i + k]);
      if ((t & 0xC0) != 0x80) return "invalid trailing UTF-8 octet";
      value = (value << 6) | (t & 0x3F);
    }
    if (!(width == 1 || (width == 2 && value >= 0x80) || (width == 3 && value >= 0x800) ||
          (width == 4 && value >= 0x10000))) {
      return "invalid length of a UTF-8 sequence";
    }
    if ((value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF) {
      return "invalid Unicode character";
    }
    if (!(value == 0x09 || value == 0x0A || value == 0x0D || (value >= 0x20 && value <= 0x7E) ||
          value == 0x85 || (value >= 0xA0 && value <= 0xD7FF) ||
          (value >= 0xE000 && value <= 0xFFFD) || (value >= 0x10000 && value <= 0x10FFFF))) {
      return "control characters are not allowed";
    }
    i += width;
  }
  return "";
}

std::vector<std::string> DuplicateKeys(const YAML::Node& map) {
  std::vector<std::string> out;
  if (!map.IsMap()) return out;
  std::vector<std::pair<YAML::Node, YAML::Node>> entries;
  for (const auto& kv : map) entries.emplace_back(kv.first, kv.second);
  for (size_t i = 0; i < entries.size(); ++i) {
    const YAML::Node& a = entries[i].first;
    if (!a.IsScalar()) continue;
    for (size_t j = i + 1; j < entries.size(); ++j) {
      const YAML::Node& b = entries[j].first;
      if (b.IsScalar() && a.Scalar() == b.Scalar()) {
        out.push_back(Line(b) + ": mapping key " + core::Quoted(b.Scalar()) +
                      " already defined at line " + std::to_string(a.Mark().line + 1));
      }
    }
  }
  return out;
}

YAML::Node Merged(const YAML::Node& map) {
  if (!map.IsMap()) return map;
  bool has_merge = false;
  for (const auto& kv : map) has_merge = has_merge || IsMergeKey(kv.first);
  if (!has_merge) return map;
  YAML::Node out(YAML::NodeType::Map);
  std::set<std::string> keys;
  auto add = [&](const YAML::Node& key, const YAML::Node& value) {
    if (keys.insert(key.Scalar()).second) out.force_insert(key, value);
  };
  for (const auto& kv : map) {  // explicit keys, repeated ones included
    if (IsMergeKey(kv.first)) continue;
    keys.insert(kv.first.Scalar());
    out.force_insert(kv.first, kv.second);
  }
  for (const auto& kv : map) {
    if (!IsMergeKey(kv.first)) continue;
    if (kv.second.IsMap()) {
      for (const auto& m : Merged(kv.second)) add(m.first, m.second);
    } else if (kv.second.IsSequence()) {
      for (const YAML::Node& item : kv.second) {
        for (const auto& m : Merged(item)) add(m.first, m.second);
      }
    }
  }
  return out;
}

YAML::Node MergedDeep(const YAML::Node& node) {
  if (node.IsMap()) {
    const YAML::Node m = Merged(node);
    bool changed = !m.is(node);
    std::vector<std::pair<YAML::Node, YAML::Node>> entries;
    for (const auto& kv : m) {
      entries.emplace_back(kv.first, MergedDeep(kv.second));
      changed = changed || !entries.back().second.is(kv.second);
    }
    if (!changed) return node;
    YAML::Node out(YAML::NodeType::Map);
    for (const auto& [k, v] : entries) out.force_insert(k, v);
    return out;
  }
  if (node.IsSequence()) {
    std::vector<YAML::Node> items;
    bool changed = false;
    for (const YAML::Node& item : node) {
      items.push_back(MergedDeep(item));
      changed = changed || !items.back().is(item);
    }
    if (!changed) return node;
    YAML::Node out(YAML::NodeType::Sequence);
    for (const YAML::Node& item : items) out.push_back(item);
    return out;
  }
  return node;
}

std::string ShortTag(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "!!map";
    case YAML::NodeType::Sequence:
      return "!!seq";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "!!null";
    case YAML::NodeType::Scalar:
      break;
  }
  const std::string& tag = node.Tag();
  static const std::string kLong = "tag:yaml.org,2002:";
  if (tag.rfind(kLong, 0) == 0) return "!!" + tag.substr(kLong.size());
  if (tag != "?") return "!!str";  // quoted, or a local tag
  const std::string& s = node.Scalar();
  static const std::regex kNull("~|null|Null|NULL|");
  static const std::regex kBool("true|True|TRUE|false|False|FALSE");
  static const std::regex kInt("[-+]?(0b[01_]+|0o?[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)");
  static const std::regex kFloat(
      "[-+]?(\\.[0-9]+|[0-9][0-9_]*(\\.[0-9_]*)?)([eE][-+]?[0-9]+)?"
      "|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
  if (std::regex_match(s, kNull)) return "!!null";
  if (std::regex_match(s, kBool)) return "!!bool";
  if (std::regex_match(s, kInt)) return "!!int";
  if (std::regex_match(s, kFloat)) return "!!float";
  return "!!str";
}

std::string TypeError(const YAML::Node& node, std::string_view go_type) {
  const std::string tag = ShortTag(node);
  std::string value;
  if (tag != "!!seq" && tag != "!!map") {
    const std::string& s = node.IsScalar() ? node.Scalar() : std::string();
    value = " `" + (s.size() > 10 ? s.substr(0, 7) + "..." : s) + "`";
  }
  return Line(node) + ": cannot unmarshal " + tag + value + " into " + std::string(go_type);
}

}  // namespace pgdr::rules::goyaml
