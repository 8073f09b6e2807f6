#include "rules/template.h"

#include <gtest/gtest.h>

namespace pgdr::rules {
namespace {

std::string Expand(std::string_view text, double value = 0,
                   std::map<std::string, std::string> labels = {}) {
  TemplateData data;
  data.value = value;
  data.labels = std::move(labels);
  data.external_labels = {{"region", "eu"}};
  return ExpandAlertTemplate("__alert_Test", text, data);
}

TEST(Template, VariablesAndFields) {
  EXPECT_EQ(Expand("{{ $labels.member }} of {{ .Labels.cluster }}", 0,
                   {{"member", "pg-1"}, {"cluster", "main"}}),
            "pg-1 of main");
  EXPECT_EQ(Expand("[{{ $labels.missing }}]"), "[]");
  EXPECT_EQ(Expand("{{ $value }}", 1e6), "1e+06");
  EXPECT_EQ(Expand("{{ $value }}", 0.5), "0.5");
  EXPECT_EQ(Expand("{{ $externalLabels.region }}"), "eu");
  EXPECT_EQ(Expand("{{- \" a \" -}}  x"), " a x");
}

TEST(Template, Humanize) {
  EXPECT_EQ(Expand("{{ $value | humanize }}", 1234567), "1.235M");
  EXPECT_EQ(Expand("{{ humanize $value }}", 0.0012), "1.2m");
  EXPECT_EQ(Expand("{{ $value | humanize1024 }}", 1048576), "1Mi");
  EXPECT_EQ(Expand("{{ $value | humanizeDuration }}", 3725), "1h 2m 5s");
  EXPECT_EQ(Expand("{{ $value | humanizeDuration }}", 0.25), "250ms");
  EXPECT_EQ(Expand("{{ $value | humanizePercentage }}", 0.1234), "12.34%");
  EXPECT_EQ(Expand("{{ $value | humanizeTimestamp }}", 1), "1970-01-01 00:00:01 +0000 UTC");
}

TEST(Template, FunctionsAndConditionals) {
  EXPECT_EQ(Expand("{{ printf \"%.2f\" $value }}", 3.14159), "3.14");
  EXPECT_EQ(Expand("{{ printf \"%d\" 3 }}"), "3");
  EXPECT_EQ(Expand("{{ \"hello world\" | title }}"), "Hello World");
  EXPECT_EQ(Expand("{{ toUpper \"a\" }}{{ toLower \"B\" }}"), "Ab");
  EXPECT_EQ(Expand("{{ reReplaceAll \"(a+)\" \"<$1>\" \"baaad\" }}"), "b<aaa>d");
  EXPECT_EQ(Expand("{{ if match \"^pg\" $labels.m }}yes{{ else }}no{{ end }}", 0, {{"m", "pg1"}}),
            "yes");
  EXPECT_EQ(
      Expand("{{ if gt $value 10.0 }}big{{ else if gt $value 1.0 }}mid{{ else }}small{{ end }}", 5),
      "mid");
  EXPECT_EQ(Expand("{{ $x := \"v\" }}{{ $x }}"), "v");
}

TEST(Template, ErrorsAreReported) {
  auto t = Template::Parse("__alert_X", "{{ nosuch $value }}");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "template: __alert_X:1: function \"nosuch\" not defined");
  EXPECT_FALSE(Template::Parse("x", "{{ if 1 }}").ok());
  EXPECT_EQ(Expand("{{ humanize \"abc\" }}").rfind("<error expanding template: ", 0), 0u);
}

}  // namespace
}  // namespace pgdr::rules

namespace pgdr::rules {
namespace {

TEST(Template, StringLiteralsUnquoteAsGo) {
  EXPECT_EQ(Expand(R"t({{ reReplaceAll "(\\w+)" "<$1>" "ab" }})t"), "<ab>");
  auto bad = Template::Parse("__alert_T", R"t({{ reReplaceAll "(\w+)" "x" "y" }})t");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "template: __alert_T:1: invalid syntax");
  EXPECT_EQ(Expand(R"t({{ "\x41\u00e9\101\t|" }}{{ `\w` }})t"),
            "A\xc3\xa9"
            "A\t|\\w");
}

TEST(Template, NestingIsBounded) {
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "{{ if true }}";
  EXPECT_FALSE(Template::Parse("x", deep).ok());
  std::string parens = "{{ " + std::string(10000, '(') + "1" + std::string(10000, ')') + " }}";
  EXPECT_FALSE(Template::Parse("x", parens).ok());
}

}  // namespace
}  // namespace pgdr::rules
