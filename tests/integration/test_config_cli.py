"""Config errors name file:line:col; secrets never leak; reload keeps the old
config when the new one is invalid (issue 2)."""

import json
import os
import unittest

from harness import EXPORTER, Exporter, PgCluster, TempDir, run, wait_until


def check_config(tmp, text, name="pgdr.yml"):
    path = os.path.join(tmp.path, name)
    with open(path, "w") as f:
        f.write(text)
    return run([EXPORTER, "check-config", path], check=False), path


class CheckConfigTest(unittest.TestCase):
    def test_errors_name_file_line_and_column(self):
        cases = [
            ("targets:\n  - cluster: a\n    member: b\n    dns: host=x\n",
             ':4:5: unknown key "dns" in target'),
            ("targets:\n  - cluster: a\n    dsn: host=x\n", ':2:5: missing required key "member"'),
            ("collection:\n  interval: often\ntargets: []\n", ':2:13: interval: not a valid duration'),
            ("collection:\n  max_series_per_query: [1]\ntargets: []\n",
             ':2:25: max_series_per_query must be an integer'),
            ("targets: {a: 1}\n", ':1:10: targets must be a list'),
            ("targets:\n  - {cluster: a, member: b, dsn: 'host=x port'}\n", ':2:34: invalid dsn'),
            ("targets:\n - cluster: a\n  member: b\n", ':3:'),  # YAML syntax error
            ("targets: []\nquery_files: [nope/*.yml]\n", ':2:15: '),
            ("targets:\n  - {cluster: a, member: b, dsn: 'host=x'}\n  - {cluster: a, member: b, dsn: 'host=y'}\n",
             ':3:5: duplicate target a/b'),
        ]
        with TempDir() as tmp:
            for text, expected in cases:
                r, path = check_config(tmp, text)
                self.assertNotEqual(r.returncode, 0, text)
                self.assertIn(path + expected, r.stderr, text)

    def test_query_file_errors_name_the_query_file(self):
        with TempDir() as tmp:
            qpath = os.path.join(tmp.path, "q.yml")
            with open(qpath, "w") as f:
                f.write("q1:\n  query: SELECT 1 AS v\n  metrics:\n    - v:\n        usage: GAUGES\n")
            r, _ = check_config(tmp, f"query_files: [{qpath}]\ntargets: []\n")
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(qpath + ':5:16: unsupported usage "GAUGES"', r.stderr)

    def test_check_config_refuses_what_start_refuses(self):
        # A rule file with an unparsable expression: the exporter refuses to
        # start with it, so check-config must refuse it too, naming the file,
        # line and column.
        with TempDir() as tmp:
            rpath = os.path.join(tmp.path, "rules.yml")
            with open(rpath, "w") as f:
                f.write("groups:\n  - name: g\n    rules:\n      - alert: Broken\n"
                        "        expr: sum(up\n")
            text = f"targets: []\nrule_files: [{rpath}]\n"
            r, path = check_config(tmp, text)
            self.assertNotEqual(r.returncode, 0, r.stdout)
            self.assertIn(rpath + ":", r.stderr)
            self.assertIn('"Broken": could not parse expression', r.stderr)
            start = run([EXPORTER, "--config.file", path, "--web.listen-address", "127.0.0.1:0"],
                        check=False, timeout=20)
            self.assertNotEqual(start.returncode, 0)
            self.assertIn('could not parse expression', start.stderr)

    def test_valid_shipped_queries(self):
        with TempDir() as tmp:
            src = os.environ.get("PGDR_SOURCE_DIR")
            r, _ = check_config(tmp, f"query_files: ['{src}/queries/*.yml']\n"
                                     "targets:\n  - {cluster: a, member: b, dsn: 'host=127.0.0.1'}\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("1 targets", r.stdout)


class SecretsAndReloadTest(unittest.TestCase):
    SECRET = "s3cr3t-Pa55word"

    def test_password_from_env_never_appears_and_bad_reload_keeps_running(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "sec", replicas=0,
                                extra_conf="password_encryption = 'scram-sha-256'")
            cluster.start()
            p = cluster.primary
            p.sql(f"CREATE ROLE monitor LOGIN PASSWORD '{self.SECRET}' IN ROLE pg_monitor")
            hba = os.path.join(p.datadir, "pg_hba.conf")
            with open(hba, "w") as f:
                f.write("host all postgres 127.0.0.1/32 trust\nhost all monitor 127.0.0.1/32 scram-sha-256\n"
                        "local all all trust\n")
            p.sql("SELECT pg_reload_conf()")
            config = {
                "collection": {"interval": "1s"},
                "query_files": [os.path.join(os.environ["PGDR_SOURCE_DIR"], "queries", "*.yml")],
                "targets": [
                    {"cluster": "sec", "member": "good", "password_env": "PGDR_TEST_PW",
                     "dsn": f"host=127.0.0.1 port={p.port} user=monitor dbname=postgres"},
                    {"cluster": "sec", "member": "wrong", "password_file": os.path.join(tmp.path, "pw"),
                     "dsn": f"host=127.0.0.1 port={p.port} user=monitor dbname=postgres"},
                ],
            }
            with open(os.path.join(tmp.path, "pw"), "w") as f:
                f.write(self.SECRET + "-wrong\n")
            exporter = Exporter(tmp, config, env={"PGDR_TEST_PW": self.SECRET}).start()
            wait_until(lambda: exporter.value("pgdr_up", member="good") == 1.0, timeout=10)
            wait_until(lambda: exporter.value("pgdr_up", member="wrong") == 0.0, timeout=10)
            targets = exporter.get("/api/v1/targets")[1]
            self.assertIn("password authentication failed", targets)
            for body in (exporter.get("/metrics")[1], targets, exporter.get("/")[1], exporter.log()):
                self.assertNotIn(self.SECRET, body)

            # An invalid config on reload: refused, the old one keeps collecting.
            with open(exporter.config_path, "w") as f:
                f.write("targets: [oops\n")
            status, body = exporter.post("/-/reload")
            self.assertEqual(status, 500)
            self.assertIn(exporter.config_path, body)
            wait_until(lambda: exporter.value("pgdr_config_reload_failures_total") == 1.0, timeout=5)
            before = exporter.value("pgdr_collect_timestamp_seconds", member="good")
            wait_until(lambda: exporter.value("pgdr_collect_timestamp_seconds", member="good") > before,
                       timeout=5, what="still collecting after a failed reload")

            # A valid reload that drops a target.
            config["targets"] = config["targets"][:1]
            exporter.write_config(json.dumps(config))
            self.assertEqual(exporter.post("/-/reload")[0], 200)
            wait_until(lambda: exporter.value("pgdr_up", member="wrong") is None, timeout=5,
                       what="removed target gone")
            self.assertEqual(exporter.value("pgdr_exporter_targets"), 1.0)


class FlagsTest(unittest.TestCase):
    def test_version_and_log_format_json(self):
        r = run([EXPORTER, "--version"])
        self.assertIn("pgdr_exporter", r.stdout)
        with TempDir() as tmp:
            r, path = check_config(tmp, "targets: []\n")
            self.assertEqual(r.returncode, 0)
            exporter = Exporter(tmp, "targets: []\n", args=["--log.format=json"]).start()
            # Every line is one JSON object; the start is logged once.
            messages = [json.loads(line)["msg"] for line in exporter.log().splitlines()]
            self.assertEqual(messages.count("pgdr_exporter started"), 1, messages)

    def test_external_url_is_the_runbook_base(self):
        r = run([EXPORTER, "--web.external-url=ftp://pgdr.example"], check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--web.external-url: must start with http:// or https://", r.stderr)
        with TempDir() as tmp:
            rules = os.path.join(tmp.path, "always.yml")
            with open(rules, "w") as f:
                f.write('groups:\n  - name: g\n    interval: 1s\n    rules:\n'
                        '      - alert: PostgresPrimaryMissing\n        expr: vector(1)\n'
                        '        annotations:\n'
                        '          runbook_url: "{{ $externalURL }}/runbooks/PostgresPrimaryMissing"\n')
            cfg = json.dumps({"targets": [], "rule_files": [rules]})
            for args, base in (([], None), (["--web.external-url=https://pgdr.example/dr/"],
                                            "https://pgdr.example/dr")):
                exporter = Exporter(tmp, cfg, args=args).start()
                base = base or f"http://{exporter.address}"
                got = wait_until(lambda: [a["annotations"]["runbook_url"] for a in json.loads(
                    exporter.get("/api/v1/alerts")[1])["data"]["alerts"]], timeout=20,
                    what="the alert with its runbook_url")
                self.assertEqual(got, [f"{base}/runbooks/PostgresPrimaryMissing"])
                status, body = exporter.get("/runbooks/PostgresPrimaryMissing")
                self.assertEqual(status, 200)
                self.assertIn("<h1>PostgresPrimaryMissing</h1>", body)
                exporter.stop()


if __name__ == "__main__":
    unittest.main()
