// ActionAlert: the actions module's own view of one alert of the evaluator.
//
// The exporter converts the rule manager's alerts into this type after each
// evaluation and hands the full current list to ActionEngine::OnAlerts(), so
// that the actions module does not depend on the evaluator's internals.
// Label matchers select which alerts trigger which actions (as Alertmanager
// route matchers do: `=`, `!=`, `=~`, `!~`, regexes fully anchored, RE2).
//
// Thread-safety: value types; Matcher is immutable after parsing.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pgdr/core/status.h"

namespace re2 {
class RE2;
}

namespace pgdr::actions {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;
using LabelMap = std::map<std::string, std::string>;

struct ActionAlert {
  enum class State { kPending, kFiring, kResolved };
  LabelMap labels;  // includes alertname
  LabelMap annotations;
  State state = State::kPending;
  TimePoint active_at{};    // first time the expression held
  TimePoint fired_at{};     // entered firing (Alertmanager's startsAt)
  TimePoint resolved_at{};  // meaningful when state is kResolved
  TimePoint valid_until{};  // last evaluation + 4 * max(interval, resend); epoch: unknown
  double value = 0;
  std::string generator_url;
};

// Alertmanager's fingerprint of a label set (FNV-1a 64 over the sorted
// labels), as 16 lower-case hex digits: the same value Alertmanager shows.
std::string Fingerprint(const LabelMap& labels);

// RFC 3339 with milliseconds in UTC ("2026-11-23T20:00:00.123Z").
std::string FormatRfc3339(TimePoint t);

class Matcher {
 public:
  enum class Op { kEqual, kNotEqual, kRegex, kNotRegex };

  // One matcher, e.g. `cluster="prod"` or `alertname=~"Postgres.*"`.
  static core::Result<Matcher> Parse(std::string_view text);
  bool Matches(const LabelMap& labels) const;
  std::string ToString() const;
  // A matcher from its parts; `op` is one of = != =~ !~.
  static core::Result<Matcher> Make(std::string name, std::string_view op, std::string value);

 private:
  std::string name_;
  Op op_ = Op::kEqual;
  std::string value_;
  std::shared_ptr<const re2::RE2> re_;  // for kRegex/kNotRegex
};

// A comma-separated list, optionally in braces:
// `{alertname="PostgresPrimaryMissing", cluster="prod"}`. Commas and braces
// inside quoted values are allowed; values use Go/PromQL string escapes.
core::Result<std::vector<Matcher>> ParseMatchers(std::string_view text);
bool MatchAll(const std::vector<Matcher>& matchers, const LabelMap& labels);

}  // namespace pgdr::actions
