"""The built-in evaluator inside the running exporter (issue 4): the shipped
rule files load and show in /api/v1/rules; an alert goes pending then firing
at the same moment a real Prometheus evaluating the same rule over the same
metrics says so."""

import json
import os
import time
import unittest

from harness import SOURCE_DIR, Exporter, PgCluster, Prometheus, TempDir, wait_until

RULE = """
groups:
  - name: live
    interval: 1s
    rules:
      - record: cluster:pgdr_up:sum
        expr: sum by (cluster) (pgdr_up)
      - alert: TestMemberDown
        expr: pgdr_up == 0
        for: 3s
        labels: {severity: critical}
        annotations:
          summary: "{{ $labels.member }} of {{ $labels.cluster }} is down"
"""


def sandbox(tmp, name, rule, replicas, shipped_rules=False):
    """A started cluster and an exporter config (1 s collection and
    evaluation) that loads `rule`, written to a file, and optionally the
    shipped rules. Returns (cluster, config, rule file path)."""
    rule_path = os.path.join(tmp.path, f"{name}.yml")
    with open(rule_path, "w") as f:
        f.write(rule)
    cluster = PgCluster(tmp, name, replicas=replicas)
    cluster.start()
    config = cluster.exporter_config(interval="1s")
    shipped = [os.path.join(SOURCE_DIR, "rules", "*.yml")] if shipped_rules else []
    config["rule_files"] = shipped + [rule_path]
    config["evaluation_interval"] = "1s"
    return cluster, config, rule_path


class EvaluatorLiveTest(unittest.TestCase):
    def test_shipped_rules_load_and_alert_states_match_prometheus(self):
        with TempDir() as tmp:
            cluster, config, rule_path = sandbox(tmp, "live", RULE, replicas=1, shipped_rules=True)
            exporter = Exporter(tmp, config).start()
            prom = Prometheus(tmp, [exporter.address], rule_files=[rule_path]).start()

            rules = json.loads(exporter.get("/api/v1/rules")[1])["data"]["groups"]
            names = {g["name"] for g in rules}
            self.assertIn("live", names)
            self.assertGreaterEqual(len(names), 7)  # the shipped groups too
            alert_rules = [r["name"] for g in rules for r in g["rules"] if r["type"] == "alerting"]
            self.assertIn("PostgresInstanceDown", alert_rules)

            # The recording rule writes back into the TSDB: the evaluator's own query sees it.
            wait_until(lambda: any(r.get("health") == "ok" and r["name"] == "cluster:pgdr_up:sum"
                                   for g in json.loads(exporter.get("/api/v1/rules")[1])["data"]["groups"]
                                   for r in g["rules"]), timeout=10, what="recording rule healthy")

            cluster.replicas[0].stop("immediate")
            stopped = time.monotonic()

            def state(source):
                if source == "pgdr":
                    alerts = json.loads(exporter.get("/api/v1/alerts")[1])["data"]["alerts"]
                else:
                    alerts = prom.api("/api/v1/alerts")["alerts"]
                for a in alerts:
                    if a["labels"].get("alertname") == "TestMemberDown" and a["labels"]["member"] == "live-2":
                        return a["state"]
                return None

            wait_until(lambda: state("pgdr") == "pending", timeout=10, what="pgdr pending")
            wait_until(lambda: state("prom") == "pending", timeout=10, what="prometheus pending")
            wait_until(lambda: state("pgdr") == "firing", timeout=15, what="pgdr firing")
            pgdr_fired = time.monotonic() - stopped
            wait_until(lambda: state("prom") == "firing", timeout=15, what="prometheus firing")
            prom_fired = time.monotonic() - stopped
            # Both fire `for` (3s) after they first see pgdr_up 0; Prometheus sees it
            # a scrape and an evaluation (1s + 1s) later, plus our polling.
            self.assertGreaterEqual(pgdr_fired, 3.0)
            self.assertGreater(prom_fired - pgdr_fired, -1.0)
            self.assertLess(prom_fired - pgdr_fired, 5.0)
            alerts = json.loads(exporter.get("/api/v1/alerts")[1])["data"]["alerts"]
            mine = [a for a in alerts if a["labels"].get("alertname") == "TestMemberDown"][0]
            self.assertEqual(mine["annotations"]["summary"], "live-2 of live is down")
            self.assertEqual(exporter.value("pgdr_alerts", alertname="TestMemberDown", state="firing"), 1.0)
            self.assertIn("TestMemberDown", exporter.get("/")[1])

            cluster.replicas[0].start()
            wait_until(lambda: state("pgdr") is None, timeout=20, what="alert resolved in pgdr")

    def test_retention_flag_bounds_what_the_evaluator_sees(self):
        """--storage.tsdb.retention.time=5s: a 1m window holds at most ~5 s of
        1 s samples, while the same window without the flag keeps growing."""
        rule = """
groups:
  - name: retention
    interval: 1s
    rules:
      - alert: SamplesInWindow
        expr: count_over_time(pgdr_up{member="ret-1"}[1m]) > 0
"""
        with TempDir() as tmp:
            _, config, _ = sandbox(tmp, "ret", rule, replicas=0)
            short = Exporter(tmp, config, args=["--storage.tsdb.retention.time=5s"]).start()
            default = Exporter(tmp, config).start()

            def samples(exporter):
                alerts = json.loads(exporter.get("/api/v1/alerts")[1])["data"]["alerts"]
                return float(alerts[0]["value"]) if alerts else None

            wait_until(lambda: (samples(default) or 0) >= 12, timeout=40,
                       what="12 samples in the default exporter's window")
            self.assertIsNotNone(samples(short))
            self.assertGreaterEqual(samples(short), 3)
            self.assertLessEqual(samples(short), 6)


if __name__ == "__main__":
    unittest.main()
