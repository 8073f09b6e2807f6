// Rule-evaluation cost of the built-in evaluator, for comparison with a real
// Prometheus fed the same data (bench/evaluator_bench.py drives both sides).
//
//   evaluator_bench --rules FILE [--rules FILE ...] [--data DIR]
//                   [--target-label NAME=VALUE ...] [--steps N] [--warmup N]
//                   [--interval-ms MS] [--start-ms MS]
//
// --data DIR holds the scrapes, one Prometheus text exposition per file
// (step-0000.prom, step-0001.prom, ... in name order): step k appends file k
// (the last one again once they run out) at start + k * interval +
// interval / 2, the way a scrape would, with the target labels added to every
// series and `up{target labels} 1`, as Prometheus adds them; series missing
// from one scrape to the next get a staleness marker. Then the manager ticks
// at start + (k + 1) * interval, so every group is evaluated once per step.
// Files are parsed before the clock starts. Only the subset of the format the
// Python side writes is accepted: `# HELP` / `# TYPE` comments, blank lines,
// and `name{labels} value` without timestamps; anything else is an error.
//
// Prints one JSON object: per group and in total (sum of the groups of one
// step) the median and p90 of the evaluation durations the manager measured
// (its evaluationTime, what Prometheus reports as
// prometheus_rule_group_last_duration_seconds), the wall time of each Tick,
// and the alerts active at the end. Steps before --warmup are not counted.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgdr/core/files.h"
#include "pgdr/core/status.h"
#include "pgdr/promql/parser.h"
#include "pgdr/rules/manager.h"
#include "pgdr/tsdb/tsdb.h"

namespace pgdr {
namespace {

struct Options {
  std::vector<std::string> rules;
  std::string data_dir;
  std::vector<tsdb::Label> target_labels;
  int steps = 13;
  int warmup = 2;
  int64_t interval_ms = 5'000;
  std::optional<int64_t> start_ms;
};

struct Point {
  tsdb::Labels labels;
  std::string key;  // tsdb::LabelsKey(labels)
  double value = 0;
};
using Scrape = std::vector<Point>;

core::Result<Options> ParseArgs(int argc, char** argv) {
  Options o;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view flag = args[i];
    if (i + 1 >= args.size())
      return core::Status::InvalidArgument("missing value after " + std::string(flag));
    std::string value(args[++i]);
    auto number = [&](int64_t* out) -> core::Status {
      char* end = nullptr;
      long long n = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || n < 0) {
        return core::Status::InvalidArgument(std::string(flag) + ": not a number: " + value);
      }
      *out = n;
      return core::Status::OK();
    };
    int64_t n = 0;
    if (flag == "--rules") {
      o.rules.push_back(value);
    } else if (flag == "--data") {
      o.data_dir = value;
    } else if (flag == "--target-label") {
      size_t eq = value.find('=');
      if (eq == std::string::npos || !tsdb::IsValidLabelName(value.substr(0, eq))) {
        return core::Status::InvalidArgument("--target-label wants NAME=VALUE, got " + value);
      }
      o.target_labels.push_back({value.substr(0, eq), value.substr(eq + 1)});
    } else if (flag == "--steps" || flag == "--warmup" || flag == "--interval-ms" ||
               flag == "--start-ms") {
      if (core::Status s = number(&n); !s.ok()) return s;
      if (flag == "--steps") o.steps = static_cast<int>(n);
      if (flag == "--warmup") o.warmup = static_cast<int>(n);
      if (flag == "--interval-ms") o.interval_ms = n;
      if (flag == "--start-ms") o.start_ms = n;
    } else {
      return core::Status::InvalidArgument("unknown flag " + std::string(flag));
    }
  }
  if (o.rules.empty())
    return core::Status::InvalidArgument("at least one --rules FILE is required");
  if (o.steps <= o.warmup) return core::Status::InvalidArgument("--steps must exceed --warmup");
  if (o.interval_ms <= 0) return core::Status::InvalidArgument("--interval-ms must be positive");
  return o;
}

// One exposition file; sample lines go through the PromQL series parser
// (the same one the test runners use), which must yield exactly one value.
core::Result<Scrape> ParseExposition(const std::string& path,
                                     const std::vector<tsdb::Label>& extra) {
  auto text = core::ReadFile(path);
  if (!text.ok()) return text.status();
  Scrape out;
  std::string_view rest = *text;
  int line_no = 0;
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    auto where = [&] { return path + ":" + std::to_string(line_no) + ": "; };
    if (line.starts_with("#")) return core::Status::InvalidArgument(where() + "unexpected comment");
    auto desc = promql::ParseSeriesDescription(line);
    if (!desc.ok()) return core::Status::InvalidArgument(where() + desc.status().message());
    if (desc->values.size() != 1 || !desc->values[0]) {
      return core::Status::InvalidArgument(where() + "want `name{labels} value`");
    }
    Point p{std::move(desc->labels), {}, *desc->values[0]};
    for (const tsdb::Label& l : extra) tsdb::SetLabel(p.labels, l.name, l.value);
    p.key = tsdb::LabelsKey(p.labels);
    out.push_back(std::move(p));
  }
  return out;
}

core::Result<std::vector<Scrape>> LoadScrapes(const Options& o) {
  std::vector<Scrape> scrapes;
  if (o.data_dir.empty()) return scrapes;
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(o.data_dir, ec)) {
    if (entry.path().extension() == ".prom") files.push_back(entry.path().string());
  }
  if (ec) return core::Status::IOError(o.data_dir + ": " + ec.message());
  if (files.empty()) return core::Status::InvalidArgument(o.data_dir + ": no *.prom files");
  std::sort(files.begin(), files.end());
  if (files.size() > static_cast<size_t>(o.steps)) files.resize(o.steps);
  for (const std::string& f : files) {
    auto scrape = ParseExposition(f, o.target_labels);
    if (!scrape.ok()) return scrape.status();
    scrapes.push_back(std::move(*scrape));
  }
  return scrapes;
}

// Linear interpolation between closest ranks, as bench/bench.py's pct().
double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  double k = static_cast<double>(v.size() - 1) * p / 100.0;
  size_t lo = static_cast<size_t>(k);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (k - static_cast<double>(lo));
}

nlohmann::json Summary(const std::vector<double>& v) {
  return {{"median_s", Percentile(v, 50)},
          {"p90_s", Percentile(v, 90)},
          {"min_s", v.empty() ? NAN : *std::min_element(v.begin(), v.end())},
          {"max_s", v.empty() ? NAN : *std::max_element(v.begin(), v.end())},
          {"samples", v.size()}};
}

int Run(const Options& o) {
  auto scrapes = LoadScrapes(o);
  if (!scrapes.ok()) {
    std::cerr << "evaluator_bench: " << scrapes.status().message() << "\n";
    return 1;
  }
  tsdb::Tsdb db;
  rules::ManagerOptions mopts;
  mopts.default_interval_ms = o.interval_ms;
  rules::RuleManager manager(&db, mopts);
  if (core::Status s = manager.Load(o.rules); !s.ok()) {
    std::cerr << "evaluator_bench: " << s.message() << "\n";
    return 1;
  }
  int64_t start = o.start_ms.value_or(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
  start -= start % o.interval_ms;

  tsdb::Labels up_labels = tsdb::MakeLabels(o.target_labels);
  tsdb::SetLabel(up_labels, tsdb::kMetricName, "up");
  std::map<std::string, std::vector<double>> group_s;  // by group name
  std::map<std::string, size_t> group_rules;
  std::vector<double> total_s, tick_s;
  const Scrape* previous = nullptr;
  for (int k = 0; k < o.steps; ++k) {
    int64_t scrape_t = start + k * o.interval_ms + o.interval_ms / 2;
    if (!scrapes->empty()) {
      const Scrape& now = (*scrapes)[std::min<size_t>(k, scrapes->size() - 1)];
      if (previous != nullptr && previous != &now) {
        std::set<std::string_view> keys;
        for (const Point& p : now) keys.insert(p.key);
        for (const Point& p : *previous) {
          if (!keys.contains(p.key)) db.Append(p.labels, scrape_t, tsdb::StaleNaN());
        }
      }
      for (const Point& p : now) db.Append(p.labels, scrape_t, p.value);
      db.Append(up_labels, scrape_t, 1);
      previous = &now;
    }
    auto t0 = std::chrono::steady_clock::now();
    int evaluated = manager.Tick(start + (k + 1) * o.interval_ms);
    std::chrono::duration<double> wall = std::chrono::steady_clock::now() - t0;
    if (evaluated != static_cast<int>(manager.group_count())) {
      std::cerr << "evaluator_bench: step " << k << ": " << evaluated << " of "
                << manager.group_count() << " groups evaluated\n";
      return 1;
    }
    if (k < o.warmup) continue;
    tick_s.push_back(wall.count());
    double total = 0;
    nlohmann::json rules = manager.RulesJson();
    for (const auto& g : rules["data"]["groups"]) {
      double d = g["evaluationTime"].get<double>();
      std::string name = g["name"].get<std::string>();
      group_s[name].push_back(d);
      group_rules[name] = g["rules"].size();
      total += d;
    }
    total_s.push_back(total);
  }

  nlohmann::json out;
  out["steps"] = o.steps;
  out["warmup_steps"] = o.warmup;
  out["interval_ms"] = o.interval_ms;
  out["start_ms"] = start;
  out["scrape_files"] = scrapes->size();
  out["series_per_scrape"] = scrapes->empty() ? 0 : scrapes->front().size() + 1;  // + up
  tsdb::Stats stats = db.GetStats();
  out["tsdb"] = {{"series", stats.series}, {"samples", stats.samples}};
  size_t rule_count = 0;
  for (const auto& [name, v] : group_s) {
    out["groups"][name] = Summary(v);
    out["groups"][name]["rules"] = group_rules[name];
    rule_count += group_rules[name];
  }
  out["total"] = Summary(total_s);
  out["total"]["groups"] = group_s.size();
  out["total"]["rules"] = rule_count;
  out["tick_wall"] = Summary(tick_s);
  std::map<std::string, std::map<std::string, int>> alerts;  // alertname -> state -> count
  for (const rules::ManagedAlert& a : manager.Alerts()) {
    if (a.alert.resolved_at_ms != 0) continue;
    alerts[std::string(tsdb::GetLabel(a.alert.labels, "alertname"))]
          [rules::AlertStateName(a.alert.state)]++;
  }
  out["alerts"] = alerts;
  std::cout << out.dump(1) << "\n";
  return 0;
}

}  // namespace
}  // namespace pgdr

int main(int argc, char** argv) {
  auto options = pgdr::ParseArgs(argc, argv);
  if (!options.ok()) {
    std::cerr << "evaluator_bench: " << options.status().message() << "\n";
    return 2;
  }
  return pgdr::Run(*options);
}
