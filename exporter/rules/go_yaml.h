// What Go's gopkg.in/yaml.v3 (behind Prometheus's rulefmt) does and
// yaml-cpp does not, so that rule files load or fail as in promtool:
// UTF-8 is required, a mapping may not repeat a key, `<<` merge keys
// merge, and a type mismatch reads "cannot unmarshal !!seq into string".
//
// Thread-safety: pure functions.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <string_view>
#include <vector>

namespace pgdr::rules::goyaml {

// "" for valid UTF-8, else yaml.v3's reader error ("invalid leading UTF-8
// octet", "invalid trailing UTF-8 octet", "incomplete UTF-8 octet sequence").
std::string Utf8Error(std::string_view text);

// yaml.v3's "line N: mapping key \"k\" already defined at line M", one per
// repeated key of `map` (each later occurrence against each earlier one).
std::vector<std::string> DuplicateKeys(const YAML::Node& map);

// `map` with its `<<` entries merged (explicit keys win, then the first map
// of a merged list); `map` itself when it has no merge key.
YAML::Node Merged(const YAML::Node& map);

// `node` with Merged applied to every map in it (new nodes only where a
// merge key is; the rest is shared).
YAML::Node MergedDeep(const YAML::Node& node);

// The resolved short tag of a node: !!map, !!seq, !!null, !!bool, !!int,
// !!float or !!str.
std::string ShortTag(const YAML::Node& node);

// yaml.v3's "line N: cannot unmarshal !!str `abc` into int".
std::string TypeError(const YAML::Node& node, std::string_view go_type);

}  // namespace pgdr::rules::goyaml
