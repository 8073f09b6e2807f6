// Alert templates against promtool 2.42's output for the same templates
// (the expected strings are what promtool printed; test_rules_conformance
// compares the two tools directly).
#include "rules/template.h"

#include <gtest/gtest.h>

namespace pgdr::rules {
namespace {

TemplateData Data(double value = 3) {
  TemplateData data;
  data.value = value;
  data.labels = {{"__name__", "g"}, {"a", "x"}, {"b", "q"}};
  data.external_labels = {{"region", "eu"}};
  data.external_url = "http://x:9090/pre";
  data.query = [](std::string_view q) -> core::Result<std::vector<TemplateSample>> {
    if (q == "g") {
      return std::vector<TemplateSample>{{{{"__name__", "g"}, {"a", "x"}, {"b", "q"}}, 3},
                                         {{{"__name__", "g"}, {"a", "y"}, {"b", "p"}}, 7},
                                         {{{"__name__", "g"}, {"a", "z"}, {"b", "r"}}, 1}};
    }
    if (q == "nothing") return std::vector<TemplateSample>{};
    return core::Status::InvalidArgument("1:1: parse error: unexpected");
  };
  return data;
}

std::string Expand(std::string_view text, const TemplateData& data = Data()) {
  return ExpandAlertTemplate("__alert_T", text, data);
}

// Go's message after "error executing template __alert_T: " for a failed
// expansion, empty when it succeeded.
std::string ExecError(std::string_view text) {
  std::string out = Expand(text);
  const std::string prefix = "<error expanding template: error executing template __alert_T: ";
  if (out.rfind(prefix, 0) != 0) return "";
  return out.substr(prefix.size(), out.size() - prefix.size() - 1);
}

std::string ParseError(std::string_view text) {
  auto t = Template::Parse("__alert_T", AlertTemplateText(text));
  return t.ok() ? "" : t.status().message();
}

TEST(Template, VariablesAndFields) {
  EXPECT_EQ(Expand("{{ $labels.a }} {{ .Labels.a }} {{ .Value }} {{ $.Labels.b }}"), "x x 3 q");
  EXPECT_EQ(Expand("[{{ $labels.missing }}]"), "[]");
  EXPECT_EQ(Expand("{{ $value }}", Data(1e6)), "1e+06");
  EXPECT_EQ(Expand("{{ $externalLabels.region }} {{ $externalURL }}"), "eu http://x:9090/pre");
  EXPECT_EQ(Expand("{{ . }}"), "{map[__name__:g a:x b:q] map[region:eu] http://x:9090/pre 3}");
  EXPECT_EQ(Expand("{{ $labels }} {{ true }} {{ 1 }} {{ 1.5 }} {{ 0x1F }} {{ 1e3 }} {{ 'a' }}"),
            "map[__name__:g a:x b:q] true 1 1.5 31 1000 97");
  EXPECT_EQ(Expand("{{ 07 }} {{ 0b101 }} {{ 1_000 }} {{ -3 }} {{ +3 }} {{ .5 }} {{ 0o17 }}"),
            "7 5 1000 -3 3 0.5 15");
}

TEST(Template, IfElseIfWith) {
  const char* t = "{{ if gt $value 5.0 }}big{{ else if gt $value 1.0 }}mid{{ else }}small{{ end }}";
  EXPECT_EQ(Expand(t, Data(7)), "big");
  EXPECT_EQ(Expand(t, Data(3)), "mid");
  EXPECT_EQ(Expand(t, Data(0)), "small");
  EXPECT_EQ(Expand("{{ if $v := $labels.a }}v={{ $v }}{{ end }}"), "v=x");
  EXPECT_EQ(Expand("{{ with $labels.missing }}has {{ . }}{{ else }}none{{ end }} "
                   "{{ with $labels.a }}a={{ . }}{{ end }}"),
            "none a=x");
  EXPECT_EQ(Expand("{{ with $x := $labels.a }}{{ $x }}{{ . }}{{ end }}"), "xx");
}

TEST(Template, Range) {
  EXPECT_EQ(Expand("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}"),
            "__name__=g;a=x;b=q;");
  EXPECT_EQ(Expand("{{ range $v := $labels }}{{ $v }},{{ end }}"), "g,x,q,");
  EXPECT_EQ(Expand("{{ range $labels }}[{{ . }}]{{ end }}"), "[g][x][q]");
  EXPECT_EQ(Expand("{{ range query \"nothing\" }}x{{ else }}empty{{ end }}"), "empty");
  EXPECT_EQ(Expand("{{ range $i, $s := query \"g\" | sortByLabel \"b\" }}{{ $i }}={{ $s.Value }} "
                   "{{ end }}"),
            "0=7 1=3 2=1 ");
  EXPECT_EQ(Expand("{{ range $i, $s := sortByLabel \"a\" (query \"g\") }}{{ if eq $i 1 }}"
                   "{{ continue }}{{ end }}{{ if ge $i 2 }}{{ break }}{{ end }}{{ $s.Labels.a }}"
                   "{{ end }}"),
            "x");
  EXPECT_EQ(Expand("{{ range $i, $e := query \"nothing\" }}{{ else }}[{{ $i }}]{{ end }}"), "[[]]");
  EXPECT_EQ(ExecError("{{ range $value }}{{ end }}"),
            "template: __alert_T:1:121: executing \"__alert_T\" at <$value>: range can't "
            "iterate over 3");
}

TEST(Template, DefineTemplateBlock) {
  EXPECT_EQ(Expand("{{ define \"x\" }}[{{ . }}]{{ end }}{{ template \"x\" $labels.a }}"
                   "{{ template \"x\" }}"),
            "[x][<no value>]");
  EXPECT_EQ(Expand("{{ block \"b\" $value }}v={{ . }}{{ end }}"), "v=3");
  EXPECT_EQ(Expand("{{ define \"inner\" }}({{ . }}){{ end }}{{ define \"outer\" }}<{{ template "
                   "\"inner\" . }}>{{ end }}{{ template \"outer\" \"z\" }}"),
            "<(z)>");
  EXPECT_EQ(ExecError("{{ template \"nope\" }}"),
            "template: __alert_T:1:124: executing \"__alert_T\" at <{{template \"nope\"}}>: "
            "template \"nope\" not defined");
  // The alert's variables are not declared inside a definition.
  EXPECT_EQ(ParseError("{{ define \"x\" }}{{ $labels.a }}{{ end }}"),
            "template: __alert_T:1: undefined variable \"$labels\"");
}

TEST(Template, VariablesPipelinesCommentsTrim) {
  EXPECT_EQ(Expand("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}{{ if true }}{{ $x = 3 }}{{ $y := 4 }}"
                   "{{ $y }}{{ end }}{{ $x }}"),
            "243");
  EXPECT_EQ(Expand("{{ $a := \"outer\" }}{{ with $labels.a }}{{ $a := \"inner\" }}{{ $a }}"
                   "{{ end }} {{ $a }}"),
            "inner outer");
  EXPECT_EQ(Expand("{{ $value | printf \"%.1f\" | printf \"<%s>\" }}"), "<3.0>");
  EXPECT_EQ(Expand("{{ printf \"%s-%s\" (toUpper $labels.a) (.Labels.b | title) }}"), "X-Q");
  EXPECT_EQ(Expand("a  {{- /* c */ -}}  b {{/* x */}} c {{- 1 }} {{ 2 -}} d"), "ab  c1 2d");
  EXPECT_EQ(Expand("line1\n{{ if true -}}\n  line2\n{{- end }}\n{{ $labels.a }}"),
            "line1\nline2\nx");
}

TEST(Template, Printf) {
  EXPECT_EQ(Expand("{{ printf \"%v|%s|%d|%f|%g|%e|%q|%x|%X|%t|%5.2f|%-6s|%06d|%+d|%T|%%|%o|%c\" "
                   "$value \"s\" 42 $value 1e21 123.456 \"q\" 255 \"hi\" true 3.14159 \"ab\" 42 5 "
                   "$value 8 65 }}"),
            "3|s|42|3.000000|1e+21|1.234560e+02|\"q\"|ff|6869|true| 3.14|ab    |000042|+5|"
            "float64|%|10|A");
  EXPECT_EQ(Expand("{{ printf \"%d %s %z\" 1.5 2 \"x\" }} {{ printf \"%d\" }} "
                   "{{ printf \"x\" 1 \"y\" }} {{ printf \"%\" }}"),
            "%!d(float64=1.5) %!s(int=2) %!z(string=x) %!d(MISSING) x%!(EXTRA int=1, "
            "string=y) %!(NOVERB)");
  EXPECT_EQ(Expand("{{ printf \"[%8.2f][%-8.2f][%08.2f][%+08.2f][%8v][%-8v]\" 3.14159 3.14159 "
                   "-3.14159 3.14159 2.5 \"ab\" }}"),
            "[    3.14][3.14    ][-0003.14][+0003.14][     2.5][ab      ]");
  EXPECT_EQ(Expand("{{ 1e21 }} {{ 123456789.0 }} {{ 0.0001 }} {{ 0.00001 }} {{ 100000.0 }}"),
            "1e+21 1.23456789e+08 0.0001 1e-05 100000");
  EXPECT_EQ(Expand("{{ print 1 2 \"a\" \"b\" 3 }}|{{ println 1 \"x\" }}|{{ print nil }}"),
            "1 2ab3|1 x\n|<nil>");
}

TEST(Template, Escapers) {
  EXPECT_EQ(Expand("{{ html \"<a href=\\\"x\\\">&'</a>\" }}"),
            "&lt;a href=&#34;x&#34;&gt;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(Expand("{{ js \"it's <b> \\\"q\\\" = \\\\\" }}"),
            "it\\'s \\u003Cb\\u003E \\\"q\\\" \\u003D \\\\");
  EXPECT_EQ(Expand("{{ urlquery \"a b&c=d/\xc3\xa9\" }} {{ urlquery \"a\" \"b\" }}"),
            "a+b%26c%3Dd%2F%C3%A9 ab");
  EXPECT_EQ(Expand("{{ safeHtml \"<b>bold</b>\" }}"), "<b>bold</b>");
}

TEST(Template, LenIndexSliceArgs) {
  EXPECT_EQ(Expand("{{ len $labels }} {{ len \"abc\" }} {{ index $labels \"a\" }} "
                   "{{ index \"abc\" 1 }} {{ slice \"abcdef\" 1 3 }} {{ slice \"abc\" 1 }} "
                   "{{ len (query \"g\") }} [{{ index $labels \"nope\" }}]"),
            "3 3 x 98 bc bc 3 []");
  EXPECT_EQ(Expand("{{ index (args 1 2) \"arg1\" }} {{ args 1 \"x\" }} [{{ (args 1).arg5 }}]"),
            "2 map[arg0:1 arg1:x] [<no value>]");
  EXPECT_EQ(ExecError("{{ index \"abc\" 5 }}"),
            "template: __alert_T:1:115: executing \"__alert_T\" at <index \"abc\" 5>: error "
            "calling index: index out of range: 5");
}

TEST(Template, ComparisonsAndLogic) {
  EXPECT_EQ(Expand("{{ eq 1 1 }} {{ eq \"a\" \"b\" \"a\" }} {{ ne 1 2 }} {{ lt 1.5 2.5 }} "
                   "{{ le \"a\" \"b\" }} {{ gt 3 2 }} {{ ge $value 0.0 }} {{ lt \"b\" \"a\" }}"),
            "true true true true true true true false");
  EXPECT_EQ(Expand("{{ and 1 0 }} {{ or 0 \"\" \"x\" }} {{ not true }} {{ or 0 $value }} "
                   "{{ \"v\" | and 1 }}"),
            "0 x false 3 v");
  // and/or stop at the deciding argument: the failing call is never made.
  EXPECT_EQ(Expand("{{ and false (first (query \"nothing\")) }} "
                   "{{ or true (first (query \"nothing\")) }}"),
            "false true");
  EXPECT_EQ(ExecError("{{ gt $value 1 }}"),
            "template: __alert_T:1:115: executing \"__alert_T\" at <gt $value 1>: error calling "
            "gt: incompatible types for comparison");
  EXPECT_EQ(ExecError("{{ lt true false }}"),
            "template: __alert_T:1:115: executing \"__alert_T\" at <lt true false>: error calling "
            "lt: invalid type for comparison");
}

TEST(Template, QueryFunctions) {
  EXPECT_EQ(Expand("{{ range sortByLabel \"b\" (query \"g\") }}{{ .Labels.b }}{{ end }}"), "pqr");
  EXPECT_EQ(Expand("{{ with query \"g\" }}{{ . | first | label \"a\" }} {{ . | first | value }}"
                   "{{ end }} [{{ query \"g\" | first | strvalue }}]"),
            "x 3 []");
  EXPECT_EQ(Expand("{{ (query \"g\" | first).Labels.a }} {{ query \"g\" | first }}"),
            "x {map[__name__:g a:x b:q] 3}");
  EXPECT_EQ(Expand("{{ printf \"%v\" (query \"g\" | first) }}"), "&{map[__name__:g a:x b:q] 3}");
  EXPECT_EQ(ExecError("{{ first (query \"nothing\") }}"),
            "template: __alert_T:1:115: executing \"__alert_T\" at <first (query \"nothing\")>: "
            "error calling first: first() called on vector with no elements");
  EXPECT_EQ(ExecError("{{ query \"bad\" }}"),
            "template: __alert_T:1:115: executing \"__alert_T\" at <query \"bad\">: error calling "
            "query: 1:1: parse error: unexpected");
  EXPECT_EQ(ExecError("{{ value (query \"g\") }}"),
            "template: __alert_T:1:128: executing \"__alert_T\" at <\"g\">: wrong type for value; "
            "expected *template.sample; got template.queryResult");
}

TEST(Template, Humanize) {
  EXPECT_EQ(Expand("{{ humanize 1234567 }} {{ humanize \"0.000012\" }} {{ humanize 0 }} "
                   "{{ humanize -1500 }} {{ humanize 1e30 }} {{ humanize 0.5 }}"),
            "1.235M 12u 0 -1.5k 1e+06Y 500m");
  EXPECT_EQ(Expand("{{ humanize1024 1073741824 }} {{ humanize1024 1 }} {{ humanize1024 -3000 }}"),
            "1Gi 1 -2.93ki");
  EXPECT_EQ(
      Expand("{{ humanizeDuration 90061 }} {{ humanizeDuration 0.0005 }} "
             "{{ humanizeDuration 0 }} {{ humanizeDuration -75 }} {{ humanizeDuration 59.5 }}"),
      "1d 1h 1m 1s 500us 0s -1m 15s 59.5s");
  EXPECT_EQ(Expand("{{ humanizePercentage 0.12345 }}"), "12.35%");
  // Milliseconds: Prometheus converts through model.Time.
  EXPECT_EQ(Expand("{{ humanizeTimestamp 1700000000.123 }} {{ humanizeTimestamp 1.5555 }}"),
            "2023-11-14 22:13:20.122 +0000 UTC 1970-01-01 00:00:01.555 +0000 UTC");
  EXPECT_EQ(Expand("{{ toTime 1700000000 }} {{ (toTime 1.5).UnixMilli }}"),
            "2023-11-14 22:13:20 +0000 UTC 1500");
  EXPECT_EQ(ExecError("{{ humanize true }}"),
            "template: __alert_T:1:115: executing \"__alert_T\" at <humanize true>: error calling "
            "humanize: can't convert bool to float");
  EXPECT_EQ(ExecError("{{ humanize \"x\" }}"),
            "template: __alert_T:1:115: executing \"__alert_T\" at <humanize \"x\">: error calling "
            "humanize: strconv.ParseFloat: parsing \"x\": invalid syntax");
}

TEST(Template, Strings) {
  EXPECT_EQ(Expand("{{ title \"hello wORLD foo-bar it's a_b x.y\" }} {{ toUpper \"abc-d\" }} "
                   "{{ toLower \"ABC-D\" }}"),
            "Hello WORLD Foo-Bar It'S A_b X.Y ABC-D abc-d");
  EXPECT_EQ(Expand("{{ match \"^x\" \"xy\" }} {{ match \"^y\" $labels.a }}"), "true false");
  EXPECT_EQ(Expand("{{ reReplaceAll \"(a+)\" \"<$1>\" \"baaad\" }} {{ reReplaceAll \"\" \"-\" "
                   "\"abc\" }} {{ reReplaceAll \"a*\" \"X\" \"baaac\" }} {{ reReplaceAll "
                   "\"(?P<w>\\\\w+)@(\\\\w+)\" \"${2}:$w$$\" \"me@host\" }}"),
            "b<aaa>d -a-b-c- XbXcX host:me$");
  EXPECT_EQ(Expand("{{ stripPort \"host:9090\" }} {{ stripPort \"[::1]:80\" }} "
                   "{{ stripPort \"noport\" }} {{ stripDomain \"a.b.c:80\" }} "
                   "{{ stripDomain \"10.0.0.1:80\" }} {{ stripDomain \"[::1]:9\" }}"),
            "host ::1 noport a:80 10.0.0.1:80 [::1]:9");
  EXPECT_EQ(Expand("{{ graphLink \"rate(x[5m]) > 1\" }} {{ tableLink \"up\" }}"),
            "/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+1&g0.tab=0 /graph?g0.expr=up&g0.tab=1");
  EXPECT_EQ(Expand("{{ parseDuration \"1h30m\" }} {{ parseDuration \"250ms\" }}"), "5400 0.25");
  EXPECT_EQ(ExecError("{{ reReplaceAll \"(\" \"x\" \"y\" }}"),
            "template: __alert_T:1:115: executing \"__alert_T\" at <reReplaceAll \"(\" \"x\" "
            "\"y\">: error calling reReplaceAll: regexp: Compile(`(`): error parsing regexp: "
            "missing closing ): `(`");
}

TEST(Template, UrlFunctionsNeedAUrl) {
  EXPECT_EQ(ExecError("{{ externalURL }}"),
            "template: __alert_T:1:115: executing \"__alert_T\" at <externalURL>: error calling "
            "externalURL: runtime error: invalid memory address or nil pointer dereference");
  TemplateData data = Data();
  data.url_object = "https://prom.example/sub/path";
  EXPECT_EQ(Expand("{{ externalURL }} {{ pathPrefix }}", data),
            "https://prom.example/sub/path /sub/path");
}

TEST(Template, ExecErrorsNameLineColumnAndNode) {
  EXPECT_EQ(ExecError("{{ toUpper 1 }}"),
            "template: __alert_T:1:123: executing \"__alert_T\" at <1>: expected string; found 1");
  EXPECT_EQ(ExecError("{{ humanize }}"),
            "template: __alert_T:1:115: executing \"__alert_T\" at <humanize>: wrong number of "
            "args for humanize: want 1 got 0");
  EXPECT_EQ(ExecError("{{ $labels.a.b }}"),
            "template: __alert_T:1:122: executing \"__alert_T\" at <$labels.a.b>: can't evaluate "
            "field b in type string");
  EXPECT_EQ(ExecError("{{ nil }}"),
            "template: __alert_T:1:115: executing \"__alert_T\" at <nil>: nil is not a command");
  EXPECT_EQ(ExecError("ok\n{{ if true }}\n  {{ range $labels }}{{ humanize . }}{{ end }}\n"
                      "{{ end }}"),
            "template: __alert_T:3:24: executing \"__alert_T\" at <humanize .>: error calling "
            "humanize: strconv.ParseFloat: parsing \"g\": invalid syntax");
}

TEST(Template, ParseErrorsReadAsGo) {
  EXPECT_EQ(ParseError("{{ nosuch }}"), "template: __alert_T:1: function \"nosuch\" not defined");
  EXPECT_EQ(ParseError("{{ tmpl \"x\" . }}"),
            "template: __alert_T:1: function \"tmpl\" not defined");
  EXPECT_EQ(ParseError("{{ if }}x{{ end }}"), "template: __alert_T:1: missing value for if");
  EXPECT_EQ(ParseError("{{ end }}"), "template: __alert_T:1: unexpected {{end}}");
  EXPECT_EQ(ParseError("{{ with $labels.a }}x{{ else with $labels.b }}y{{ end }}"),
            "template: __alert_T:1: unexpected <with> in else");
  EXPECT_EQ(ParseError("{{ break }}"), "template: __alert_T:1: {{break}} outside {{range}}");
  EXPECT_EQ(ParseError("{{ 1 | 2 }}"),
            "template: __alert_T:1: non executable command in pipeline stage 2");
  EXPECT_EQ(ParseError("x\n\n{{ if true }}\n{{ nosuch }}"),
            "template: __alert_T:4: function \"nosuch\" not defined");
  EXPECT_EQ(ParseError("{{ define \"a\" }}1{{ end }}{{ define \"a\" }}2{{ end }}"),
            "template: __alert_T:1: template: multiple definition of template \"a\"");
  EXPECT_EQ(ParseError(R"t({{ reReplaceAll "(\w+)" "x" "y" }})t"),
            "template: __alert_T:1: invalid syntax");
}

TEST(Template, NestingIsBounded) {
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "{{ if true }}";
  EXPECT_FALSE(Template::Parse("x", deep).ok());
  std::string parens = "{{ " + std::string(10000, '(') + "1" + std::string(10000, ')') + " }}";
  EXPECT_FALSE(Template::Parse("x", parens).ok());
  // Recursion through {{template}} stops with Go's error, not a crash.
  std::string out = Expand("{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" }}");
  EXPECT_NE(out.find("exceeded maximum template depth (1000)"), std::string::npos) << out;
  // So does recursion whose body nests: all levels together are bounded.
  out = Expand(
      "{{ define \"r\" }}{{ if true }}{{ with 1 }}{{ if 1 }}{{ template \"r\" }}"
      "{{ end }}{{ end }}{{ end }}{{ end }}{{ template \"r\" }}");
  EXPECT_NE(out.find("template nesting deeper than 3000"), std::string::npos) << out;
}

}  // namespace
}  // namespace pgdr::rules
