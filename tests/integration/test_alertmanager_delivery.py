"""Stopping the sandbox primary pages on-call through a real Alertmanager.

PostgreSQL 15 primary + 1 streaming replica, pgdr_exporter collecting them, a
real Prometheus (Debian `prometheus`) loading the shipped rules/*.yml
unchanged (their real `for` durations) and sending to a real Alertmanager
(Debian `prometheus-alertmanager`), which delivers to a webhook receiver run by
this test. After the primary is stopped, PostgresInstanceDown and
PostgresPrimaryMissing must arrive at the webhook, firing, with the cluster
label and a runbook_url naming an existing runbook; promoting the replica then
delivers PostgresFailoverOccurred and resolves PostgresPrimaryMissing. The exporter loads the same
rule files: once it serves /api/v1/rules, every shipped rule must be healthy in
its built-in evaluator and the same two alerts must fire there. Every wait is
bounded.
"""

import http.server
import json
import os
import re
import shutil
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import Exporter, PgCluster, Prometheus, TempDir, free_port, http_get, spawn, wait_until  # noqa: E402

ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
# {{ $externalURL }}/runbooks/<AlertName>: Prometheus fills in its own external URL.
RUNBOOK_URL = re.compile(r"^https?://[^/]+/runbooks/([A-Za-z]+)$")
EXPECTED = {"PostgresInstanceDown", "PostgresPrimaryMissing"}


class Webhook:
    """Collects Alertmanager webhook (version 4) notifications."""

    def __init__(self):
        self.notifications = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.notifications.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        return False

    def resolved(self):
        """Alert names of every resolved notification received so far."""
        with self.lock:
            return {a["labels"]["alertname"] for n in self.notifications for a in n.get("alerts", [])
                    if a.get("status") == "resolved"}

    def firing(self):
        """{alertname: alert} of every firing alert received so far."""
        with self.lock:
            out = {}
            for n in self.notifications:
                for a in n.get("alerts", []):
                    if a.get("status") == "firing":
                        out[a["labels"]["alertname"]] = a
            return out


class AlertmanagerDeliveryTest(unittest.TestCase):
    def test_primary_stop_pages_through_alertmanager(self):
        missing = [what for what, ok in (
            ("exporter binary " + harness.EXPORTER, os.access(harness.EXPORTER, os.X_OK)),
            ("prometheus", shutil.which("prometheus")),
            ("prometheus-alertmanager", os.access(ALERTMANAGER, os.X_OK)),
            ("postgresql-15", os.path.exists(os.path.join(harness.PG_BIN, "initdb")))) if not ok]
        self.assertEqual(missing, [], "scripts/setup.sh installs these")
        with TempDir() as tmp, Webhook() as hook:
            cluster = PgCluster(tmp, "demo", replicas=1, region="eu-west")
            cluster.start()
            rules = sorted(os.path.join(harness.SOURCE_DIR, "rules", f)
                           for f in os.listdir(os.path.join(harness.SOURCE_DIR, "rules")) if f.endswith(".yml"))
            # The exporter evaluates the same shipped rules with its built-in evaluator.
            exp = Exporter(tmp, cluster.exporter_config(interval="1s", rule_files=rules,
                                                        evaluation_interval="1s")).start()

            am_port = free_port()
            am_dir = tmp.sub("alertmanager")
            with open(os.path.join(am_dir, "alertmanager.yml"), "w") as f:
                json.dump({
                    "route": {"receiver": "test-webhook", "group_by": ["alertname", "cluster"],
                              "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"},
                    "receivers": [{"name": "test-webhook",
                                   "webhook_configs": [{"url": hook.url, "send_resolved": True}]}],
                }, f)
            spawn([ALERTMANAGER, f"--config.file={am_dir}/alertmanager.yml",
                   f"--storage.path={am_dir}/data", f"--web.listen-address=127.0.0.1:{am_port}",
                   "--cluster.listen-address="], os.path.join(am_dir, "alertmanager.log"))
            wait_until(lambda: http_get(f"http://127.0.0.1:{am_port}/-/ready")[0] == 200,
                       timeout=30, what="alertmanager ready")

            prom = Prometheus(tmp, [exp.address], rule_files=rules,
                              alertmanagers=[f"127.0.0.1:{am_port}"]).start()
            wait_until(lambda: len(prom.query('pgdr_up{cluster="demo"} == 1')) == 2,
                       timeout=60, what="both members up in Prometheus")
            wait_until(lambda: prom.query('pgdr_in_recovery{cluster="demo"} == 0'),
                       timeout=30, what="a primary in Prometheus")
            self.assertEqual(hook.firing().keys() & EXPECTED, set(), "paged before the primary stopped")

            stopped = time.monotonic()
            cluster.primary.stop("immediate")
            # for: 1m on both rules, plus detection, evaluation and delivery.
            got = wait_until(lambda: (lambda f: f if EXPECTED <= f.keys() else None)(hook.firing()),
                             timeout=180, interval=1, what="both alerts at the webhook")
            print(f"delivered {sorted(EXPECTED)} {time.monotonic() - stopped:.0f}s after stopping the primary")

            down, missing_primary = got["PostgresInstanceDown"], got["PostgresPrimaryMissing"]
            self.assertEqual(down["labels"]["cluster"], "demo")
            self.assertEqual(down["labels"]["member"], cluster.primary.name)
            self.assertEqual(down["labels"]["severity"], "critical")
            self.assertEqual(missing_primary["labels"]["cluster"], "demo")
            self.assertEqual(missing_primary["labels"]["severity"], "critical")
            for name, alert in got.items():
                if name not in EXPECTED:
                    continue
                ann = alert["annotations"]
                print(f"{name}: {ann.get('summary')} | runbook_url={ann.get('runbook_url')}")
                m = RUNBOOK_URL.match(ann.get("runbook_url", ""))
                self.assertIsNotNone(m, f"{name}: runbook_url {ann.get('runbook_url')!r}")
                self.assertEqual(m.group(1), name)
                self.assertTrue(os.path.isfile(os.path.join(harness.SOURCE_DIR, "docs", "runbooks", name + ".md")))
                self.assertEqual(exp.get(f"/runbooks/{name}")[0], 200, f"pgdr serves the {name} runbook")
                self.assertIn("demo", ann["description"])
            self.assertTrue(all(n.get("version") == "4" for n in hook.notifications))
            self.check_builtin_evaluator(exp)

            # Recovery: promoting the replica is seen as a failover, and the
            # no-primary page resolves.
            promoted = time.monotonic()
            cluster.replicas[0].promote()
            wait_until(lambda: "PostgresFailoverOccurred" in hook.firing(), timeout=120, interval=1,
                       what="PostgresFailoverOccurred at the webhook")
            wait_until(lambda: "PostgresPrimaryMissing" in hook.resolved(), timeout=120, interval=1,
                       what="PostgresPrimaryMissing resolved at the webhook")
            print(f"failover seen and no-primary resolved {time.monotonic() - promoted:.0f}s after promotion")

    def check_builtin_evaluator(self, exp):
        """pgdr's own evaluator, over the same rule files and the same outage:
        every shipped rule healthy, and the same two alerts firing."""
        status, body = exp.get("/api/v1/rules")
        self.assertEqual(status, 200, body[:300])
        groups = json.loads(body)["data"]["groups"]
        rules = [(g["name"], r) for g in groups for r in g["rules"]]
        self.assertGreater(len(rules), 0)
        unhealthy = [(g, r.get("name"), r.get("lastError")) for g, r in rules if r.get("health") not in ("ok", "unknown")]
        self.assertEqual(unhealthy, [], "shipped rules failing in pgdr's evaluator")

        def firing():
            st, b = exp.get("/api/v1/alerts")
            return {a["labels"]["alertname"] for a in json.loads(b)["data"]["alerts"] if a["state"] == "firing"}
        got = wait_until(lambda: (lambda f: f if EXPECTED <= f else None)(firing()),
                         timeout=60, interval=1, what="the same alerts firing in pgdr's evaluator")
        print(f"pgdr's evaluator: {len(rules)} rules healthy, firing {sorted(got)}")


if __name__ == "__main__":
    unittest.main()
