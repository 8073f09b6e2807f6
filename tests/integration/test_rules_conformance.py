"""`pgdr_exporter test-rules` / `check-rules` must agree with promtool 2.42.

For every file of $PGDR_CONFORMANCE_DIR/promtool/ whose name ends in
`test.yml` or is unittest.yml, long-period.yml or failing.yml (and for the
shipped rules/tests/*.yml), both tools run in the file's directory and must
exit alike. check-rules is compared on the conformance rule files too.
Without the conformance directory, the tests that read it are skipped
(harness.conformance_suite); the generated comparisons always run.

Environment: PGDR_EXPORTER (the built binary), PGDR_CONFORMANCE_DIR,
PGDR_SOURCE_DIR. Needs promtool (Debian `prometheus`).
"""

import glob
import os
import random
import shutil
import subprocess
import tempfile
import unittest

import harness
import template_cases

EXPORTER = os.environ.get("PGDR_EXPORTER", "")
SOURCE_DIR = os.environ.get(
    "PGDR_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
PROMTOOL = shutil.which("promtool")
EXTRA = {"unittest.yml", "long-period.yml", "failing.yml"}


def conformance_files():
    """(directory, names) of the promtool suite's unit-test files."""
    directory = harness.conformance_suite("promtool")
    names = sorted(os.listdir(directory))
    return directory, [n for n in names if n.endswith("test.yml") or n in EXTRA]


# Expressions whose results promtool prints in full (17 digits) when a
# promql_expr_test expects nothing: both tools' reports must be identical.
# Left out: transcendental functions (Go's math library and glibc may differ
# in the last bit) and stddev/stdvar/avg across series (promtool's series
# order follows a Go map, so their rounding is not reproducible).
DIFF_EXPRS = [
    'm', 'rate(c[5m])', 'irate(c[5m])', 'increase(c[10m])', 'delta(g[10m])', 'idelta(g[5m])',
    'deriv(g[10m])', 'predict_linear(g[10m], 3600)', 'holt_winters(g[10m], 0.5, 0.5)',
    'changes(g[10m])', 'resets(c[30m])', 'avg_over_time(g[10m])', 'sum_over_time(g[10m])',
    'min_over_time(g[10m])', 'max_over_time(g[10m])', 'count_over_time(g[10m])',
    'last_over_time(g[10m])', 'quantile_over_time(0.3, g[10m])', 'stddev_over_time(g[10m])',
    'stdvar_over_time(g[10m])', 'present_over_time(g[10m])', 'absent_over_time(nope[5m])',
    'absent(nope{a="x"})', 'sum by (a) (g)', 'count(g)', 'group by (b) (g)', 'topk(2, g)',
    'bottomk(1, g) by (a)', 'quantile(0.9, g)', 'count_values("v", round(g))', 'max(g) - min(g)',
    'g > 3', 'g > bool 3', '3 < g', 'g == on(a, b) g', 'g * on(a) group_left(b) sum by (a) (g)',
    'g and on(a) (g > 5)', 'g or m', 'g unless on(b) (g > 5)', 'g ^ 2 % 7', '-g', 'abs(-g)',
    'ceil(g / 3)', 'floor(g / 3)', 'round(g / 3, 0.5)', 'sqrt(g)', 'ln(g)', 'log2(g)', 'log10(g)',
    'sgn(g - 5)', 'clamp(g, 2, 6)', 'clamp_min(g, 4)', 'clamp_max(g, 4)', 'deg(g)', 'rad(g)',
    'pi()', 'time()', 'timestamp(g)', 'vector(time())', 'scalar(sum(g))', 'year()',
    'month(vector(1700000000))', 'day_of_week(vector(1700000000))', 'day_of_month()',
    'day_of_year(vector(1600000000))', 'days_in_month(vector(1709251200))',
    'hour(timestamp(g))', 'minute()', 'label_replace(g, "x", "$1-$2", "a", "(.)(.*)")',
    'label_join(g, "ab", ":", "a", "b")', 'sort(g)', 'sort_desc(g)',
    'histogram_quantile(0.9, rate(h_bucket[10m]))', 'histogram_quantile(0.5, sum by (le) (h_bucket))',
    'sum_over_time(g[10m:1m])', 'max_over_time(rate(c[2m])[10m:])', 'g offset 5m', 'g @ 300',
    'sum(g @ end())', 'rate(c[5m] offset 3m)', 'g{a=~"a|b"}', 'g{b!~"x.*"}',
    '{__name__=~"g|m", a="a"}', 'count_over_time(m[10m])', 'm offset -2m',
    'sum(rate(c[5m])) by (a) * 60', 'quantile by (a) (0.25, g)', 'topk by (a) (1, g)',
    'count(count by (a) (g))', '(g > 2) * 2', 'absent(g)', 'g != 5', '1 - g / 10', 'g / 0',
    '0 / g', 'max_over_time(g[1h:5m])', 'changes(m[15m])',
]


def differential_test_file(path):
    rng = random.Random(7)
    series = []
    for a in "abc":
        for b in "xy":
            start, step = rng.randint(0, 10), rng.randint(-2, 3)
            series.append((f'g{{a="{a}",b="{b}"}}', f"{start}{step:+d}x20"))
            series.append((f'c{{a="{a}",b="{b}"}}',
                           f"0+{rng.randint(1, 9)}x10 {rng.randint(0, 5)}+{rng.randint(1, 4)}x9"))
    series.append(('m{a="a"}', "1 2 _ _ 5 stale 7 8 9 10 _ 12"))
    series.append(('m{a="b"}', "3x6 stale _x3 4x5"))
    for le, n in [("0.1", 1), ("0.5", 3), ("1", 4), ("+Inf", 5)]:
        series.append((f'h_bucket{{le="{le}"}}', f"0+{n}x20"))
    lines = ["evaluation_interval: 1m", "tests:", "  - interval: 1m", "    input_series:"]
    for s, v in series:
        lines += [f"      - series: '{s}'", f"        values: '{v}'"]
    lines.append("    promql_expr_test:")
    for e in DIFF_EXPRS:
        for t in ["0m", "7m", "15m"]:
            lines += [f"      - expr: '{e}'", f"        eval_time: {t}", "        exp_samples: []"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


ALERT_RULES = r"""groups:
  - name: t
    rules:
      - alert: T
        expr: g
        for: 2m
        keep_firing_for: 3m
        labels:
          sev: '{{ if gt $value 5.0 }}high{{ else }}low{{ end }}'
          up: '{{ $labels.a | toUpper }}'
        annotations:
          h: '{{ $value | humanize }} {{ humanize1024 $value }} {{ $value | humanizeDuration }} {{ humanizePercentage $value }}'
          ts: '{{ $value | humanizeTimestamp }}'
          p: '{{ printf "%.3f|%d|%s|%5.1f|%v|%q" $value 7 "x" $value $value "y" }}'
          t: '{{ title "hello wORLD foo-bar" }} {{ toLower "ABC" }} {{ reReplaceAll "(\\w+)-(\\w+)" "$2_$1" $labels.b }}'
          m: '{{ if match "^x" $labels.b }}match{{ end }} {{ $externalLabels.region }} {{ $externalURL }} {{ .Value }} {{ .Labels.a }}'
          v: '{{ $value }}'
      - alert: Big
        expr: g * 123456.789
      - alert: Small
        expr: g / 1234567
"""

ALERT_TEST_HEAD = """rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    external_labels: {region: eu}
    external_url: http://x:9090
    input_series:
      - series: 'g{a="a",b="x-y"}'
        values: '1+1x3 _ _ 0 9 9 9 _x8 7'
      - series: 'g{a="b",b="q-r"}'
        values: '0.000123 6 7 8 9x20'
      - series: 'g{a="c",b="x"}'
        values: '1e9 1e9x20'
    alert_rule_test:
"""


BAD_RULE_FILES = {
    'b1.yml': 'groups:\n  - name: g\n    rules:\n      - record: x\n        alert: y\n        expr: up\n',
    'b2.yml': 'groups:\n  - name: g\n    rules:\n      - expr: up\n',
    'b3.yml': 'groups:\n  - name: g\n    rules:\n      - record: "bad name"\n        expr: up\n        annotations: {a: b}\n        for: 5m\n',
    'b4.yml': 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        labels: {"bad-label": x, __name__: y}\n        annotations: {"bad-ann": x}\n',
    'b5.yml': 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        foo: bar\n',
    'b6.yml': 'groups:\n  - name: g\n    rules: []\n  - name: g\n    rules: []\n  - rules: []\n',
    'b7.yml': 'groups:\n  - name: g\n    interval: 5x\n    rules:\n      - alert: A\n        expr: up\n        for: 1q\n',
    'b8.yml': 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations:\n          s: "{{ $labels.x | nosuchfn }}"\n          t: "{{ if }}"\n',
    'b9.yml': 'groups: [\n',
    'b10.yml': 'group:\n  - name: g\n',
    'b11.yml': 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(up) by (job) > bool 1 offset 5m\n',
    'b12.yml': 'groups:\n  - name: g\n    limit: 5\n    rules:\n      - record: a:b\n        expr: rate(x[5m:]) @ start()\n        keep_firing_for: 1m\n',
}
# Files whose YAML does not even parse: only the exit code is compared.
YAML_SYNTAX_ERRORS = {'b9.yml'}


def report_errors(text):
    """promtool splits its report between stdout and stderr: the error lines."""
    return [line for line in text.splitlines()
            if line.strip() and not line.startswith(("Unit Testing:", "  FAILED:"))]


def run(cmd, cwd):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


@unittest.skipUnless(EXPORTER and os.path.exists(EXPORTER), "PGDR_EXPORTER not built")
@unittest.skipUnless(PROMTOOL, "promtool not installed")
class RulesConformanceTest(unittest.TestCase):

    def assert_same_exit(self, subcommand, promtool_args, path):
        cwd, name = os.path.split(path)
        ours, our_out = run([EXPORTER, subcommand, name], cwd)
        theirs, their_out = run([PROMTOOL, *promtool_args, name], cwd)
        self.assertEqual(ours, theirs,
                         f"{name}: pgdr {ours} vs promtool {theirs}\n--- pgdr\n{our_out}"
                         f"\n--- promtool\n{their_out}")

    def test_test_rules_agrees_with_promtool(self):
        directory, names = conformance_files()
        self.assertGreaterEqual(len(names), 7, f"promtool unit-test files in {directory}")
        for name in names:
            with self.subTest(file=name):
                self.assert_same_exit("test-rules", ["test", "rules"], os.path.join(directory, name))

    def test_shipped_rule_tests_agree_with_promtool(self):
        paths = sorted(glob.glob(os.path.join(SOURCE_DIR, "rules", "tests", "*.yml")))
        self.assertTrue(paths, "no rule tests in rules/tests")
        for path in paths:
            with self.subTest(file=os.path.basename(path)):
                self.assert_same_exit("test-rules", ["test", "rules"], path)

    def test_check_rules_agrees_with_promtool(self):
        directory = harness.conformance_suite("promtool")
        for name in ["rules.yml", "rules_duplicates.yml", "bad-rules-syntax.yml",
                     "bad-rules-error.yml", "at-modifier.yml", "negative-offset.yml"]:
            with self.subTest(file=name):
                path = os.path.join(directory, name)
                # A missing file fails both tools alike: that is no agreement.
                self.assertTrue(os.path.isfile(path), path)
                self.assert_same_exit("check-rules", ["check", "rules"], path)

    def test_engine_results_identical_to_promtool(self):
        with tempfile.TemporaryDirectory() as tmp:
            differential_test_file(os.path.join(tmp, "diff_test.yml"))
            ours, our_out = run([EXPORTER, "test-rules", "diff_test.yml"], tmp)
            theirs, their_out = run([PROMTOOL, "test", "rules", "diff_test.yml"], tmp)
        self.assertEqual(ours, theirs)
        self.assertGreater(their_out.count("got:"), 200, their_out[:2000])
        our_lines, their_lines = report_errors(our_out), report_errors(their_out)
        diffs = [(o, t) for o, t in zip(our_lines, their_lines) if o != t]
        self.assertEqual(len(our_lines), len(their_lines))
        self.assertEqual(diffs, [])

    def test_alert_states_and_templates_identical_to_promtool(self):
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "rules.yml"), "w") as f:
                f.write(ALERT_RULES)
            text = ALERT_TEST_HEAD
            for t in ["0m", "1m", "2m", "3m", "4m", "5m", "6m", "8m", "10m", "12m", "15m", "20m"]:
                for name in ["T", "Big", "Small"]:
                    text += f"      - eval_time: {t}\n        alertname: {name}\n        exp_alerts: []\n"
            with open(os.path.join(tmp, "test.yml"), "w") as f:
                f.write(text)
            ours, our_out = run([EXPORTER, "test-rules", "test.yml"], tmp)
            theirs, their_out = run([PROMTOOL, "test", "rules", "test.yml"], tmp)
        self.assertEqual(ours, theirs)
        self.assertIn("humanize", ALERT_RULES)
        self.assertGreater(their_out.count("Annotations:{h="), 20, their_out[:2000])
        self.assertEqual(report_errors(our_out), report_errors(their_out))

    def test_check_rules_errors_identical_to_promtool(self):
        with tempfile.TemporaryDirectory() as tmp:
            for name, text in BAD_RULE_FILES.items():
                with open(os.path.join(tmp, name), "w") as f:
                    f.write(text)
            for name in BAD_RULE_FILES:
                with self.subTest(file=name):
                    ours, our_out = run([EXPORTER, "check-rules", name], tmp)
                    theirs, their_out = run([PROMTOOL, "check", "rules", name], tmp)
                    self.assertEqual(ours, theirs, our_out + their_out)
                    if name in YAML_SYNTAX_ERRORS:
                        continue

                    def lines(text):
                        return sorted(line for line in text.splitlines()
                                      if line.strip() and not line.startswith("Checking"))
                    self.assertEqual(lines(our_out), lines(their_out))

    def test_templates_identical_to_promtool(self):
        """Every action and function of alert templates, expanded by both
        tools (output and Go's errors), and the parse errors check-rules
        reports: byte-identical."""
        cases = template_cases.EXPAND
        names = [n for n, _ in cases] + [n for n, _ in template_cases.REFUSE]
        self.assertEqual(len(set(names)), len(names), "case names must be unique")
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "rules.yml"), "w") as f:
                f.write(template_cases.rules_text(cases))
            with open(os.path.join(tmp, "test.yml"), "w") as f:
                f.write(template_cases.test_text(cases))
            ours, our_out = run([EXPORTER, "test-rules", "test.yml"], tmp)
            theirs, their_out = run([PROMTOOL, "test", "rules", "test.yml"], tmp)
            our_blocks = template_cases.got_blocks(our_out)
            their_blocks = template_cases.got_blocks(their_out)
            self.assertEqual(len(their_blocks), len(cases), their_out[:3000])
            expand_same = [n for n, _ in cases
                           if n in their_blocks and our_blocks.get(n) == their_blocks[n]]

            refuse_same = []
            for name, text in template_cases.REFUSE:
                path = f"refuse_{name}.yml"
                with open(os.path.join(tmp, path), "w") as f:
                    f.write(template_cases.rules_text([(name, text)]))
                o_rc, o_out = run([EXPORTER, "check-rules", path], tmp)
                t_rc, t_out = run([PROMTOOL, "check", "rules", path], tmp)

                def lines(text):
                    return sorted(line for line in text.splitlines()
                                  if line.strip() and not line.startswith("Checking"))
                self.assertEqual(t_rc, 1, f"{name}: promtool accepted it\n{t_out}")
                if o_rc == t_rc and lines(o_out) == lines(t_out):
                    refuse_same.append(name)
                else:
                    print(f"refused {name}: pgdr {o_rc} vs promtool {t_rc}\n--- pgdr\n{o_out}"
                          f"--- promtool\n{t_out}")
        total = len(cases) + len(template_cases.REFUSE)
        same = len(expand_same) + len(refuse_same)
        print(f"templates: {total} cases, {same} identical "
              f"({len(cases)} expansions, {len(template_cases.REFUSE)} parse errors)")
        self.assertEqual(ours, theirs)
        for name, _ in cases:
            with self.subTest(case=name):
                self.assertEqual(our_blocks.get(name), their_blocks.get(name))
        self.assertEqual(same, total)

    def test_failure_report_reads_like_promtool(self):
        cwd = harness.conformance_suite("promtool")
        self.assertTrue(os.path.isfile(os.path.join(cwd, "failing.yml")))
        _, ours = run([EXPORTER, "test-rules", "failing.yml"], cwd)
        _, theirs = run([PROMTOOL, "test", "rules", "failing.yml"], cwd)
        self.assertEqual(ours.split(), theirs.split())


if __name__ == "__main__":
    unittest.main()
