#include "pgdr/actions/alert.h"

#include <re2/re2.h>

#include <cstdint>
#include <cstdio>
#include <ctime>

#include "pgdr/core/time_format.h"

namespace pgdr::actions {

std::string Fingerprint(const LabelMap& labels) {
  // Alertmanager: model.LabelSet.Fingerprint() hashes name, 0xff, value,
  // 0xff for each label in name order with FNV-1a 64.
  uint64_t h = 14695981039346656037ULL;
  auto add = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
  };
  const std::string_view sep("\xff", 1);
  for (const auto& [name, value] : labels) {
    add(name);
    add(sep);
    add(value);
    add(sep);
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string FormatRfc3339(TimePoint t) {
  return core::FormatRfc3339(t, core::Fraction::kMilliseconds);
}

namespace {

bool IsNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (!first && c >= '0' && c <= '9');
}

void SkipSpace(std::string_view text, size_t& i) {
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n')) ++i;
}

// Reads a quoted string starting at text[i] (a quote); advances past it.
core::Result<std::string> ReadQuoted(std::string_view text, size_t& i) {
  const char quote = text[i++];
  std::string out;
  while (i < text.size() && text[i] != quote) {
    char c = text[i++];
    if (c == '\\' && i < text.size()) {
      const char e = text[i++];
      switch (e) {
        case 'n':
          c = '\n';
          break;
        case 't':
          c = '\t';
          break;
        default:
          c = e;
      }
    }
    out.push_back(c);
  }
  if (i >= text.size()) return core::Status::InvalidArgument("unterminated string in matcher");
  ++i;
  return out;
}

// Parses one matcher at text[i]; advances past it.
core::Result<Matcher> ParseOne(std::string_view text, size_t& i);

}  // namespace

core::Result<Matcher> Matcher::Parse(std::string_view text) {
  auto all = ParseMatchers(text);
  if (!all.ok()) return all.status();
  if (all->size() != 1) {
    return core::Status::InvalidArgument("expected exactly one matcher in \"" + std::string(text) +
                                         "\"");
  }
  return std::move(all->front());
}

bool Matcher::Matches(const LabelMap& labels) const {
  const auto it = labels.find(name_);
  const std::string& v = it == labels.end() ? std::string() : it->second;
  switch (op_) {
    case Op::kEqual:
      return v == value_;
    case Op::kNotEqual:
      return v != value_;
    case Op::kRegex:
      return RE2::FullMatch(v, *re_);
    case Op::kNotRegex:
      return !RE2::FullMatch(v, *re_);
  }
  return false;
}

std::string Matcher::ToString() const {
  static constexpr const char* kOps[] = {"=", "!=", "=~", "!~"};
  std::string out = name_ + kOps[static_cast<int>(op_)] + "\"";
  for (char c : value_) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

namespace {

core::Result<Matcher> ParseOne(std::string_view text, size_t& i) {
  SkipSpace(text, i);
  const size_t start = i;
  while (i < text.size() && IsNameChar(text[i], i == start)) ++i;
  if (i == start) {
    return core::Status::InvalidArgument("expected a label name at offset " +
                                         std::to_string(start) + " in matchers \"" +
                                         std::string(text) + "\"");
  }
  std::string name(text.substr(start, i - start));
  SkipSpace(text, i);
  std::string op;
  if (text.substr(i, 2) == "=~" || text.substr(i, 2) == "!~" || text.substr(i, 2) == "!=") {
    op = std::string(text.substr(i, 2));
    i += 2;
  } else if (i < text.size() && text[i] == '=') {
    op = "=";
    ++i;
  } else {
    return core::Status::InvalidArgument("expected =, !=, =~ or !~ after \"" + name +
                                         "\" in matchers \"" + std::string(text) + "\"");
  }
  SkipSpace(text, i);
  if (i >= text.size() || (text[i] != '"' && text[i] != '\'')) {
    return core::Status::InvalidArgument("expected a quoted value after \"" + name + op +
                                         "\" in matchers \"" + std::string(text) + "\"");
  }
  auto value = ReadQuoted(text, i);
  if (!value.ok()) return value.status();
  return Matcher::Make(std::move(name), op, std::move(*value));
}

}  // namespace

core::Result<Matcher> Matcher::Make(std::string name, std::string_view op, std::string value) {
  Matcher m;
  m.name_ = std::move(name);
  m.value_ = std::move(value);
  if (op == "=") {
    m.op_ = Op::kEqual;
  } else if (op == "!=") {
    m.op_ = Op::kNotEqual;
  } else if (op == "=~" || op == "!~") {
    m.op_ = op == "=~" ? Op::kRegex : Op::kNotRegex;
    RE2::Options opts;
    opts.set_log_errors(false);
    opts.set_dot_nl(true);
    auto re = std::make_shared<RE2>("^(?:" + m.value_ + ")$", opts);
    if (!re->ok()) {
      return core::Status::InvalidArgument("invalid regex \"" + m.value_ + "\" for label \"" +
                                           m.name_ + "\": " + re->error());
    }
    m.re_ = std::move(re);
  } else {
    return core::Status::InvalidArgument("unknown matcher operator \"" + std::string(op) + "\"");
  }
  return m;
}

core::Result<std::vector<Matcher>> ParseMatchers(std::string_view text) {
  std::vector<Matcher> out;
  size_t i = 0;
  SkipSpace(text, i);
  bool braces = false;
  if (i < text.size() && text[i] == '{') {
    braces = true;
    ++i;
  }
  while (true) {
    SkipSpace(text, i);
    if (i >= text.size() || (braces && text[i] == '}')) break;
    auto m = ParseOne(text, i);
    if (!m.ok()) return m.status();
    out.push_back(std::move(*m));
    SkipSpace(text, i);
    if (i < text.size() && text[i] == ',') {
      ++i;
      continue;
    }
    break;
  }
  SkipSpace(text, i);
  if (braces) {
    if (i >= text.size() || text[i] != '}') {
      return core::Status::InvalidArgument("missing closing brace in matchers \"" +
                                           std::string(text) + "\"");
    }
    ++i;
    SkipSpace(text, i);
  }
  if (i != text.size()) {
    return core::Status::InvalidArgument("unexpected \"" + std::string(text.substr(i)) +
                                         "\" in matchers \"" + std::string(text) + "\"");
  }
  if (out.empty()) return core::Status::InvalidArgument("empty matcher list");
  return out;
}

bool MatchAll(const std::vector<Matcher>& matchers, const LabelMap& labels) {
  for (const auto& m : matchers) {
    if (!m.Matches(labels)) return false;
  }
  return true;
}

}  // namespace pgdr::actions
