"""`pgdr_exporter test-rules` / `check-rules` must agree with promtool 2.42.

For every file of ../shared/conformance/promtool/ whose name ends in
`test.yml` or is unittest.yml, long-period.yml or failing.yml (and for the
shipped rules/tests/*.yml), both tools run in the file's directory and must
exit alike. check-rules is compared on the conformance rule files too.

Environment: PGDR_EXPORTER (the built binary), PGDR_SHARED_DIR,
PGDR_SOURCE_DIR. Needs promtool (Debian `prometheus`).
"""

import glob
import os
import shutil
import subprocess
import unittest

EXPORTER = os.environ.get("PGDR_EXPORTER", "")
SOURCE_DIR = os.environ.get(
    "PGDR_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
SHARED_DIR = os.environ.get("PGDR_SHARED_DIR", os.path.join(SOURCE_DIR, "..", "shared"))
PROMTOOL_DIR = os.path.join(SHARED_DIR, "conformance", "promtool")
PROMTOOL = shutil.which("promtool")
EXTRA = {"unittest.yml", "long-period.yml", "failing.yml"}


def conformance_files():
    names = sorted(os.listdir(PROMTOOL_DIR)) if os.path.isdir(PROMTOOL_DIR) else []
    return [n for n in names if n.endswith("test.yml") or n in EXTRA]


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

    def test_conformance_files_found(self):
        self.assertGreaterEqual(len(conformance_files()), 7)

    def test_test_rules_agrees_with_promtool(self):
        for name in conformance_files():
            with self.subTest(file=name):
                self.assert_same_exit("test-rules", ["test", "rules"],
                                      os.path.join(PROMTOOL_DIR, name))

    def test_shipped_rule_tests_agree_with_promtool(self):
        for path in sorted(glob.glob(os.path.join(SOURCE_DIR, "rules", "tests", "*.yml"))):
            with self.subTest(file=os.path.basename(path)):
                self.assert_same_exit("test-rules", ["test", "rules"], path)

    def test_check_rules_agrees_with_promtool(self):
        for name in ["rules.yml", "rules_duplicates.yml", "bad-rules-syntax.yml",
                     "bad-rules-error.yml", "at-modifier.yml", "negative-offset.yml"]:
            with self.subTest(file=name):
                self.assert_same_exit("check-rules", ["check", "rules"],
                                      os.path.join(PROMTOOL_DIR, name))

    def test_failure_report_reads_like_promtool(self):
        cwd = PROMTOOL_DIR
        _, ours = run([EXPORTER, "test-rules", "failing.yml"], cwd)
        _, theirs = run([PROMTOOL, "test", "rules", "failing.yml"], cwd)
        self.assertEqual(ours.split(), theirs.split())


if __name__ == "__main__":
    unittest.main()
