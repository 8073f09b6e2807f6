// The PromQL test-script runner (load / eval / eval_ordered / eval_fail / clear).
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "pgdr/core/strings.h"
#include "pgdr/promql/engine.h"
#include "pgdr/promql/parser.h"
#include "pgdr/promql/test_runner.h"
#include "promql/lexer.h"

namespace pgdr::promql {
namespace {

constexpr double kEpsilon = 0.000001;
constexpr double kMinNormal = 2.2250738585072014e-308;

bool AlmostEqual(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  double diff = std::fabs(a - b);
  if (a == 0 || b == 0 || diff < kMinNormal) return diff < kEpsilon * kMinNormal;
  return diff / (std::fabs(a) + std::fabs(b)) < kEpsilon;
}

std::string Trim(std::string_view s) { return std::string(core::Trim(s)); }

tsdb::Options TestStorageOptions() {
  tsdb::Options o;
  o.retention = std::chrono::hours(24 * 365 * 100);
  o.max_samples_per_series = 10'000'000;
  o.max_series = 10'000'000;
  return o;
}

struct Expected {
  bool scalar = false;
  double scalar_value = 0;
  // Labels key -> (position, labels, value)
  std::map<std::string, std::tuple<int, tsdb::Labels, double>> samples;
};

std::string DescribeVector(const Vector& v) {
  std::string out;
  for (const Sample& s : v) {
    out += "\n      got " + tsdb::LabelsToString(s.metric) + " " + FormatFloat(s.value);
  }
  return out;
}

// Returns "" when the result matches.
std::string Compare(const Value& got, const Expected& want, bool ordered) {
  if (want.scalar) {
    const auto* s = std::get_if<Scalar>(&got);
    if (s == nullptr) return "expected a scalar, got another type";
    if (!AlmostEqual(want.scalar_value, s->value)) {
      return "expected scalar " + FormatFloat(want.scalar_value) + " but got " +
             FormatFloat(s->value);
    }
    return "";
  }
  const auto* v = std::get_if<Vector>(&got);
  if (v == nullptr) {
    if (std::holds_alternative<Scalar>(got) && want.samples.empty()) {
      return "expected an empty vector, got scalar " + FormatFloat(std::get<Scalar>(got).value);
    }
    if (std::holds_alternative<Scalar>(got)) return "expected a vector, got a scalar";
    return "received range result on instant evaluation";
  }
  std::map<std::string, bool> seen;
  for (size_t pos = 0; pos < v->size(); ++pos) {
    const Sample& s = (*v)[pos];
    auto it = want.samples.find(tsdb::LabelsKey(s.metric));
    if (it == want.samples.end()) {
      return "unexpected metric " + tsdb::LabelsToString(s.metric) + " in result" +
             DescribeVector(*v);
    }
    const auto& [want_pos, labels, value] = it->second;
    if (ordered && want_pos != static_cast<int>(pos) + 1) {
      return "expected metric " + tsdb::LabelsToString(labels) + " at position " +
             std::to_string(want_pos) + " but was at " + std::to_string(pos + 1);
    }
    if (!AlmostEqual(value, s.value)) {
      return "expected " + FormatFloat(value) + " for " + tsdb::LabelsToString(labels) +
             " but got " + FormatFloat(s.value);
    }
    seen[it->first] = true;
  }
  for (const auto& [key, entry] : want.samples) {
    if (!seen.contains(key)) {
      return "expected metric " + tsdb::LabelsToString(std::get<1>(entry)) + " with " +
             FormatFloat(std::get<2>(entry)) + " not found" + DescribeVector(*v);
    }
  }
  return "";
}

class Script {
 public:
  explicit Script(std::string file) : file_(std::move(file)), storage_(TestStorageOptions()) {}

  core::Result<TestFileResult> Run(const std::vector<std::string>& lines) {
    TestFileResult result;
    result.file = file_;
    for (size_t i = 0; i < lines.size();) {
      std::string line = Trim(lines[i]);
      const int line_no = static_cast<int>(i) + 1;
      if (line.empty() || line[0] == '#') {
        ++i;
        continue;
      }
      if (line == "clear") {
        storage_.Clear();
        ++i;
        continue;
      }
      std::vector<std::string> body;
      size_t j = i + 1;
      for (; j < lines.size(); ++j) {
        std::string b = Trim(lines[j]);
        if (b.empty()) break;
        if (b[0] == '#') continue;
        body.push_back(b);
      }
      i = j;
      if (line.rfind("load ", 0) == 0) {
        core::Status st = Load(line.substr(5), body, line_no);
        if (!st.ok()) return st;
        continue;
      }
      if (line.rfind("eval", 0) == 0) {
        std::string why = Eval(line, body);
        if (why.empty()) {
          ++result.passed;
        } else {
          ++result.failed;
          result.failures.push_back("line " + std::to_string(line_no) + ": " + line + "\n    " +
                                    why);
        }
        continue;
      }
      return core::Status::InvalidArgument(file_ + ":" + std::to_string(line_no) +
                                           ": unknown command \"" + line + "\"");
    }
    return result;
  }

 private:
  core::Status Load(const std::string& step_text, const std::vector<std::string>& body,
                    int line_no) {
    auto step = ParseDurationMs(Trim(step_text));
    if (!step.ok()) {
      return core::Status::InvalidArgument(file_ + ":" + std::to_string(line_no) + ": " +
                                           step.status().message());
    }
    for (const std::string& def : body) {
      auto desc = ParseSeriesDescription(def);
      if (!desc.ok()) {
        return core::Status::InvalidArgument(file_ + ":" + std::to_string(line_no) + ": " +
                                             desc.status().message());
      }
      for (size_t k = 0; k < desc->values.size(); ++k) {
        if (!desc->values[k]) continue;
        storage_.Append(desc->labels, static_cast<int64_t>(k) * *step, *desc->values[k]);
      }
    }
    return core::Status::OK();
  }

  // Returns "" on success, else why the eval failed.
  std::string Eval(const std::string& line, const std::vector<std::string>& body) {
    // eval[_fail|_ordered] instant [at <time>] <expr>
    std::istringstream in(line);
    std::string cmd, mode;
    in >> cmd >> mode;
    if ((cmd != "eval" && cmd != "eval_fail" && cmd != "eval_ordered") || mode != "instant") {
      return "malformed eval command";
    }
    std::string rest;
    std::getline(in, rest);
    rest = Trim(rest);
    int64_t t = 0;
    if (rest.rfind("at ", 0) == 0) {
      rest = Trim(rest.substr(3));
      size_t space = rest.find_first_of(" \t");
      auto parsed = ParseDurationMs(rest.substr(0, space));
      if (!parsed.ok()) return "bad time: " + parsed.status().message();
      t = *parsed;
      rest = space == std::string::npos ? "" : Trim(rest.substr(space));
    }
    const std::string expr = rest;
    Expected want;
    for (size_t k = 0; k < body.size(); ++k) {
      const std::string& b = body[k];
      char* end = nullptr;
      double v = std::strtod(b.c_str(), &end);
      if (end == b.c_str() + b.size()) {
        want.scalar = true;
        want.scalar_value = v;
        continue;
      }
      auto desc = ParseSeriesDescription(b);
      if (!desc.ok()) return "bad expected sample: " + desc.status().message();
      if (desc->values.size() != 1 || !desc->values[0]) return "expected exactly one value: " + b;
      want.samples[tsdb::LabelsKey(desc->labels)] = {static_cast<int>(k) + 1, desc->labels,
                                                     *desc->values[0]};
    }
    auto got = engine_.Query(storage_, expr, t);
    if (cmd == "eval_fail") return got.ok() ? "expected the query to fail, it succeeded" : "";
    if (!got.ok()) return "unexpected error: " + got.status().message();
    return Compare(*got, want, cmd == "eval_ordered");
  }

  std::string file_;
  tsdb::Tsdb storage_;
  Engine engine_;
};

}  // namespace

core::Result<TestFileResult> RunPromqlTestFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return core::Status::IOError("cannot read " + path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  Script script(path);
  return script.Run(lines);
}

int RunPromqlTestFiles(const std::vector<std::string>& files, std::ostream& out) {
  int total_passed = 0;
  int total_failed = 0;
  bool error = false;
  for (const std::string& file : files) {
    auto result = RunPromqlTestFile(file);
    if (!result.ok()) {
      out << file << ": error: " << result.status().message() << "\n";
      error = true;
      continue;
    }
    for (const std::string& f : result->failures) out << file << ": FAIL " << f << "\n";
    out << file << ": " << result->passed << " passed, " << result->failed << " failed\n";
    total_passed += result->passed;
    total_failed += result->failed;
  }
  const int total = total_passed + total_failed;
  out << "total: " << total_passed << "/" << total << " evals passed";
  if (total > 0) out << " (" << (100.0 * total_passed / total) << "%)";
  out << "\n";
  return (error || total_failed > 0) ? 1 : 0;
}

}  // namespace pgdr::promql
