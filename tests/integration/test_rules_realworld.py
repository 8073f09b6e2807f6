"""check-rules / test-rules agree with promtool 2.42 on YAML as public rule
collections write it.

Each case is a minimal file written for this test; it pins one class of
disagreement that scripts/rules_agreement.py found (or could find) between
pgdr and promtool on public rule files and their unit tests (docs/evaluator.md,
"Agreement with promtool on public rule files"): YAML features that
yaml-cpp treats differently from Go's yaml.v2/v3 (merge keys, repeated keys,
UTF-8, type mismatches, null values) and comment lines inside expressions.
Both tools run in the file's directory; exit codes and the report lines
(sorted: promtool splits them between stdout and stderr) must be identical,
except for YAML syntax errors, whose wording is the parser's own.

Environment: PGDR_EXPORTER (the built binary). Needs promtool (Debian
`prometheus`).
"""

import os
import shutil
import subprocess
import tempfile
import unittest

EXPORTER = os.environ.get("PGDR_EXPORTER", "")
PROMTOOL = shutil.which("promtool")

# name -> (text, promtool's exit code): check-rules cases.
RULE_FILES = {
    # Comment lines and trailing comments inside a multi-line expression.
    "comment_in_expr.yml": ("""groups:
  - name: g
    rules:
      - record: job:up:sum
        expr: |
          # the number of targets up, by job
          sum by (job) (  # trailing comment
            up
          )
""", 0),
    # Anchors and `<<` merge keys: in labels, in a whole rule, from a list.
    "merge_keys.yml": ("""groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        labels: &base
          severity: page
          team: a
      - alert: B
        expr: up == 0
        labels:
          <<: *base
          team: b
      - &rule
        alert: C
        expr: up == 0
        for: 5m
      - <<: *rule
        alert: D
      - alert: E
        expr: up == 0
        labels:
          <<: [{a: "1"}, {a: "2", b: "3"}]
""", 0),
    # A merge key at the top level is a field of the file like any other.
    "merge_unknown_field.yml": ("""x-common: &common
  severity: page
groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        labels:
          <<: *common
""", 1),
    "repeated_annotation.yml": ("""groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        annotations:
          summary: one
          summary: two
""", 1),
    "repeated_rule_key.yml": ("""groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        expr: up == 1
""", 1),
    "label_value_list.yml": ("""groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        annotations:
          summary: [a, b]
""", 1),
    "label_value_map.yml": ("""groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        labels:
          prio: {a: b}
""", 1),
    # Every decoding error of the file in one block, in the file's order;
    # a repeated key hides the rest of its map; a null `for` is no duration.
    "decoding_errors.yml": ("""groups:
  - name: g
    foo: 1
    rules:
      - alert: A
        expr: up
        bar: 2
        labels:
          a: [1]
          b: x
          b: y
      - alert: B
        expr: up
        labels: [x]
        for:
      - record: r
        expr: up
        for: 5m
    limit: 1.5
""", 1),
    "groups_null.yml": ("groups:\n", 0),
    "groups_map.yml": ("groups:\n  name: g\n", 1),
    "rules_map.yml": ("groups:\n  - name: g\n    rules:\n      record: a\n", 1),
    "root_list.yml": ("- name: g\n", 1),
    "root_scalar.yml": ("hello\n", 1),
    "limit_string.yml": ("groups:\n  - name: g\n    limit: abc\n    rules: []\n", 1),
    # yaml.v3 truncates a float into an int field.
    "limit_float.yml": ("groups:\n  - name: g\n    limit: 2.7\n    rules: []\n", 0),
    "null_fields.yml": ("""groups:
  - name: g
    interval:
    rules:
      - alert: A
        expr: up
        for:
        keep_firing_for:
        labels:
        annotations:
""", 0),
    "for_without_unit.yml": ("""groups:
  - name: g
    rules:
      - alert: A
        expr: up
        for: 300
""", 1),
    # Only the first YAML document counts.
    "two_documents.yml": ("""---
groups:
  - name: g
    rules:
      - record: a:b
        expr: up
---
groups:
  - name: h
    rules:
      - record: 'bad name'
        expr: up
""", 0),
    "scalar_kinds.yml": ("""groups:
  - name: 1
    rules:
      - alert: 2
        expr: 1
        labels: {prio: 1, flag: true, f: 1.50, n: null, e: , hex: 0x1F}
""", 0),
}

# Files written as bytes: (bytes, promtool's exit code).
RAW_RULE_FILES = {
    "bom.yml": (b"\xef\xbb\xbfgroups:\n  - name: g\n    rules:\n      - record: a:b\n"
                b"        expr: up\n", 0),
    "crlf.yml": (b"groups:\r\n  - name: g\r\n    rules:\r\n      - record: a:b\r\n"
                 b"        expr: up\r\n", 0),
    "invalid_utf8.yml": (b"groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n"
                         b"        annotations:\n          a: \"\xff\"\n", 1),
}

# Files whose YAML does not parse: only the exit code is compared.
SYNTAX_ERRORS = {"tab_indent.yml": ("groups:\n\t- name: g\n", 1)}

UNIT_RULES = """groups:
  - name: g
    rules:
      - alert: A
        expr: up == 0
        for: 1m
        labels: {severity: page, prio: 1, hex: 0x1F, ratio: 1.50, flag: true}
        annotations: {summary: "down {{ $labels.instance }}"}
      - record: job:up:sum
        expr: |
          # one line of comment
          sum by (job) (up)
"""

# name -> (unit-test text, promtool's exit code); each runs against UNIT_RULES.
TEST_FILES = {
    "anchors_test.yml": ("""rule_files: [rules.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="j", instance="i"}'
        values: 0x5
    alert_rule_test:
      - eval_time: 3m
        alertname: A
        exp_alerts:
          - exp_labels: &l
              severity: page
              prio: 1
              hex: 0x1F
              ratio: 1.50
              flag: true
              job: j
              instance: i
            exp_annotations: &a {summary: "down i"}
      - eval_time: 4m
        alertname: A
        exp_alerts:
          - exp_labels:
              <<: *l
            exp_annotations: *a
    promql_expr_test:
      - expr: job:up:sum
        eval_time: 2m
        exp_samples:
          - labels: 'job:up:sum{job="j"}'
            value: 0
""", 0),
    "repeated_field_test.yml": ("""rule_files: [rules.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="j"}'
        values: 1x5
        values: 0x5
    promql_expr_test:
      - expr: job:up:sum
        eval_time: 2m
        exp_samples:
          - labels: 'job:up:sum{job="j"}'
            value: 1
            value: 2
""", 1),
    "repeated_label_test.yml": ("""rule_files: [rules.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="j", instance="i"}'
        values: 0x5
    alert_rule_test:
      - eval_time: 3m
        alertname: A
        exp_alerts:
          - exp_labels: {job: j, job: k}
""", 1),
    # The whole file decodes before any test runs: every unknown field of
    # every group in one block, and no test failure reported.
    "unknown_fields_test.yml": ("""rule_files: [rules.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="j"}'
        values: 1x5
    promql_expr_test:
      - expr: job:up:sum
        eval_time: 2m
        exp_samples:
          - labels: 'job:up:sum{job="j"}'
            value: 7
  - interval: 1m
    input_series: []
    promql_expr_test:
      - expr: up
        eval_time: 2m
        exp_samples:
          - labels: up
            histogram: '{{count:1}}'
        comment: new field
""", 1),
    # promtool 2.42 does not default a test group's interval: "load 0s" puts
    # every sample at time 0, and the first one stays.
    "no_interval_test.yml": ("""rule_files: [rules.yml]
evaluation_interval: 30s
tests:
  - input_series:
      - series: 'up{job="j", instance="i"}'
        values: 1 0 0 0 0 0
      - series: b
        values: _ _ 5 6 stale
      - series: c
        values: stale 3
    promql_expr_test:
      - {expr: up, eval_time: 0s, exp_samples: []}
      - {expr: up, eval_time: 2m, exp_samples: []}
      - {expr: b, eval_time: 1m, exp_samples: []}
      - {expr: c, eval_time: 1m, exp_samples: []}
      - {expr: "count_over_time(b[10m])", eval_time: 4m, exp_samples: []}
      - {expr: up, eval_time: 6m, exp_samples: []}
    alert_rule_test:
      - {eval_time: 3m, alertname: A, exp_alerts: []}
""", 1),
    "labels_list_test.yml": ("""rule_files: [rules.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="j", instance="i"}'
        values: 0x5
    alert_rule_test:
      - eval_time: 3m
        alertname: A
        exp_alerts:
          - exp_labels: [a]
""", 1),
    "bad_interval_test.yml": ("""rule_files: [rules.yml]
tests:
  - interval: 1.5m
    input_series: []
""", 1),
    "no_match_test.yml": ("""rule_files: [rules.yml, nope-*.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="j"}'
        values: 1x5
    promql_expr_test:
      - expr: job:up:sum
        eval_time: 2m
        exp_samples:
          - labels: 'job:up:sum{job="j"}'
            value: 1
""", 0),
    "null_expectations_test.yml": ("""rule_files: [rules.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="j", instance="i"}'
        values: 1x5
    alert_rule_test:
      - eval_time: 3m
        alertname: A
        exp_alerts:
    promql_expr_test:
      - expr: up == 0
        eval_time: 1m
        exp_samples:
""", 0),
}

RAW_TEST_FILES = {"invalid_utf8_test.yml": (b"rule_files: [rules.yml]\n# \xff\ntests: []\n", 1)}


def run(cmd, cwd):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=120)
    text = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    return proc.returncode, sorted(line for line in text.splitlines() if line.strip())


@unittest.skipUnless(EXPORTER and os.path.exists(EXPORTER), "PGDR_EXPORTER not built")
@unittest.skipUnless(PROMTOOL, "promtool not installed")
class RulesRealWorldTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="rules_realworld_")
        self.addCleanup(shutil.rmtree, self.tmp)

    def write(self, name, data):
        with open(os.path.join(self.tmp, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())

    def compare(self, ours_cmd, theirs_cmd, name, want_exit, lines=True):
        ours, our_lines = run([EXPORTER, *ours_cmd, name], self.tmp)
        theirs, their_lines = run([PROMTOOL, *theirs_cmd, name], self.tmp)
        # The case still shows what it was written for.
        self.assertEqual(theirs, want_exit, "\n".join(their_lines))
        self.assertEqual(ours, theirs, "\n".join(["--- pgdr", *our_lines, "--- promtool",
                                                  *their_lines]))
        if lines:
            self.assertEqual(our_lines, their_lines)

    def test_check_rules_agrees(self):
        cases = {**RULE_FILES, **RAW_RULE_FILES, **SYNTAX_ERRORS}
        for name, (data, _) in cases.items():
            self.write(name, data)
        for name, (_, want) in cases.items():
            with self.subTest(file=name):
                self.compare(["check-rules"], ["check", "rules"], name, want,
                             lines=name not in SYNTAX_ERRORS)

    def test_test_rules_agrees(self):
        self.write("rules.yml", UNIT_RULES)
        cases = {**TEST_FILES, **RAW_TEST_FILES}
        for name, (data, _) in cases.items():
            self.write(name, data)
        for name, (_, want) in cases.items():
            with self.subTest(file=name):
                self.compare(["test-rules"], ["test", "rules"], name, want)

    def test_braces_inside_series_label_values(self):
        """A '}' inside a quoted label value of an input series does not end
        the selector (interface descriptions like "core {#12}")."""
        self.write("rules.yml", UNIT_RULES)
        self.write("braces_test.yml", """rule_files: [rules.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="j", desc="core: x {#12} y", other="a}b"}'
        values: 1x5
    promql_expr_test:
      - expr: 'up{desc="core: x {#12} y"}'
        eval_time: 2m
        exp_samples:
          - labels: 'up{job="j", desc="core: x {#12} y", other="a}b"}'
            value: 1
      - expr: job:up:sum
        eval_time: 2m
        exp_samples:
          - labels: 'job:up:sum{job="j"}'
            value: 1
""")
        ours, our_lines = run([EXPORTER, "test-rules", "braces_test.yml"], self.tmp)
        theirs, their_lines = run([PROMTOOL, "test", "rules", "braces_test.yml"], self.tmp)
        self.assertEqual((ours, theirs), (0, 0), "\n".join(our_lines + their_lines))
        self.assertEqual(our_lines, their_lines)

    def test_absent_labels_follow_the_printed_expression(self):
        """absent() keeps a label set by `=` after another matcher of that
        name, and rules run their expression as Prometheus prints it, with
        the matchers sorted: `j="x", j!~"y"` in a rule is `j!~"y",j="x"`."""
        self.write("absent.yml", """groups:
  - name: g
    rules:
      - alert: Gone
        expr: absent(m{n="c", j="abc", j !~ ".*_b_.*"})
        for: 5m
      - record: gone
        expr: absent(m{n="c", j="abc", j !~ ".*_b_.*"})
""")
        lines = ["rule_files: [absent.yml]", "tests:", "  - interval: 1m", "    input_series:",
                 "      - series: 'other'", "        values: 1x10", "    alert_rule_test:",
                 "      - eval_time: 6m", "        alertname: Gone", "        exp_alerts: []",
                 "    promql_expr_test:"]
        for expr in ['gone', 'absent(m{n="c", j="abc", j!~"q"})', 'absent(m{j!~"q", j="abc"})',
                     'absent(m{j="a", j="a"})', 'absent(m{j="a", j="b", k="c"})',
                     'absent(m{j=~"a", k=""})', 'absent_over_time(m{k!="", k="z", j="a"}[5m])']:
            lines += [f"      - expr: '{expr}'", "        eval_time: 6m", "        exp_samples: []"]
        self.write("absent_test.yml", "\n".join(lines) + "\n")
        ours, our_lines = run([EXPORTER, "test-rules", "absent_test.yml"], self.tmp)
        theirs, their_lines = run([PROMTOOL, "test", "rules", "absent_test.yml"], self.tmp)
        self.assertEqual((ours, theirs), (1, 1))
        report = "\n".join(their_lines)
        self.assertIn('Labels:{alertname="Gone", j="abc", n="c"}', report)
        self.assertIn('got: {__name__="gone", j="abc", n="c"} 1E+00', report)
        self.assertEqual(our_lines, their_lines)

    def test_merged_labels_reach_the_alert(self):
        """The merged labels are the alert's, not just accepted: promtool and
        pgdr both fail on the same wrong expectation, with the same report."""
        self.write("rules.yml", RULE_FILES["merge_keys.yml"][0])
        self.write("merged_test.yml", """rule_files: [rules.yml]
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="j"}'
        values: 0x10
    alert_rule_test:
      - eval_time: 6m
        alertname: B
        exp_alerts: [{exp_labels: {job: j, severity: page, team: a}}]
      - eval_time: 6m
        alertname: E
        exp_alerts: [{exp_labels: {job: j, a: "1", b: "3"}}]
      - eval_time: 6m
        alertname: D
        exp_alerts: [{exp_labels: {job: j}}]
""")
        ours, our_lines = run([EXPORTER, "test-rules", "merged_test.yml"], self.tmp)
        theirs, their_lines = run([PROMTOOL, "test", "rules", "merged_test.yml"], self.tmp)
        self.assertEqual((ours, theirs), (1, 1))
        self.assertIn('Labels:{alertname="B", job="j", severity="page", team="b"}',
                      "\n".join(their_lines))
        self.assertEqual(our_lines, their_lines)


if __name__ == "__main__":
    unittest.main()
