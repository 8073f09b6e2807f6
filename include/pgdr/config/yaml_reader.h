// Reading configuration YAML with errors that name file, line and column.
//
// The exporter's own YAML (pgdr.yml with its backup store, alerting, actions
// and maintenance sections, and queries/*.yml) is read through a YamlReader
// so that all errors read the same:
//   pgdr.yml:12:5: unknown key "dns" in target (allowed: cluster, member, ...)
// Rule files are not: they keep Prometheus's rulefmt wording (rules/rule_file.h).
// Inside a parser the reader throws YamlError; every public Load*/Parse*
// function catches it (with YAML::Exception) through GuardYaml() and returns a
// Status, so no exception crosses a module boundary.
//
// Thread-safety: a YamlReader is immutable after construction.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "pgdr/core/status.h"

namespace pgdr::config {

class YamlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Prometheus duration syntax: "1h30m", "15s", "250ms", "2d", "1w", "1y".
core::Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
// The inverse, as Prometheus prints durations ("1m30s", "0s").
std::string FormatDuration(std::chrono::milliseconds d);

class YamlReader {
 public:
  explicit YamlReader(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }

  // "file:line:col: msg" at the node's position (1-based).
  std::string Where(const YAML::Node& at) const;
  [[noreturn]] void Fail(const YAML::Node& at, std::string_view msg) const;

  void ExpectMap(const YAML::Node& node, std::string_view what) const;
  void ExpectSequence(const YAML::Node& node, std::string_view what) const;
  // Fails at `map` when it is not a map, else at the first key not in `allowed`.
  void CheckKeys(const YAML::Node& map, std::initializer_list<std::string_view> allowed,
                 std::string_view what) const;

  // Required scalars fail at the map when missing; optional ones return the default.
  std::string String(const YAML::Node& map, std::string_view key) const;
  std::string StringOr(const YAML::Node& map, std::string_view key, std::string def) const;
  std::optional<std::string> OptString(const YAML::Node& map, std::string_view key) const;
  bool BoolOr(const YAML::Node& map, std::string_view key, bool def) const;
  double NumberOr(const YAML::Node& map, std::string_view key, double def) const;
  long long IntOr(const YAML::Node& map, std::string_view key, long long def) const;
  std::chrono::milliseconds DurationOr(const YAML::Node& map, std::string_view key,
                                       std::chrono::milliseconds def) const;
  std::map<std::string, std::string> StringMap(const YAML::Node& map, std::string_view key) const;
  // A scalar is accepted as a one-element list.
  std::vector<std::string> StringList(const YAML::Node& map, std::string_view key) const;

  // Scalar conversions of a node already in hand.
  std::string AsString(const YAML::Node& node, std::string_view what) const;
  bool AsBool(const YAML::Node& node, std::string_view what) const;
  double AsNumber(const YAML::Node& node, std::string_view what) const;

 private:
  std::string file_;
};

// Reads and parses a YAML file; syntax errors name file:line:col.
core::Result<YAML::Node> LoadYamlFile(const std::string& path);
core::Result<YAML::Node> LoadYamlString(const std::string& text, const std::string& name);

// Runs `parse`, turning YamlError and YAML::Exception into InvalidArgument.
core::Status GuardYaml(const std::string& file, const std::function<void()>& parse);

}  // namespace pgdr::config
