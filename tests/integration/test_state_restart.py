"""State that survives a restart (issue 13, Must show 2): --storage.path.

- test_window_and_alert_survive_kill9: a maintenance window opened through
  POST /api/v1/maintenance (--web.enable-admin-api) and an alert firing
  (`for: 20s`) survive a SIGKILL of the exporter and a restart with the same
  --storage.path: GET /api/v1/maintenance shows the window again, the alert
  is firing again within seconds with its old activeAt (not pending from
  zero), and a primary failure in the cluster is then refused with reason
  maintenance (log line, counter, /api/v1/decisions); nothing is promoted.
- test_guard_memory_survives_kill9: pgdr dies with the primary's node (the
  exporter is SIGKILLed and the primary stopped at the same moment) and is
  restarted elsewhere: the guards still know the last primary and its LSN
  from the state file, so the failover goes through (the replica is
  promoted, checked with psql) with the loss measured from that LSN,
  instead of being refused with unknown_primary_lsn.
- test_corrupt_and_stale_state: a corrupt state file is logged (file and
  reason), counted in pgdr_state_load_failures_total, kept aside as
  state.json.corrupt and replaced by a good one; a valid file naming a
  cluster no longer configured restores only the configured cluster's window.

Everything listens on loopback; every wait is bounded.
"""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import actions_harness as ah  # noqa: E402
from harness import Exporter, PgCluster, TempDir, wait_until  # noqa: E402

OPEN = json.dumps({"action": "open", "cluster": "demo", "duration": "30m",
                   "reason": "rolling upgrade"}).encode()

# Always true, so its only clock is `for`: firing 20 s after it first holds.
SLOW_RULES = """groups:
  - name: state-restart
    interval: 1s
    rules:
      - alert: TestAlwaysOn
        expr: vector(1)
        for: 20s
        labels:
          severity: info
"""


def alerts(exp, name):
    status, body = exp.get("/api/v1/alerts")
    if status != 200:
        return []
    return [a for a in json.loads(body)["data"]["alerts"] if a["labels"]["alertname"] == name]


def read_text(path):
    with open(path) as f:
        return f.read()


def ah_lsn(node):
    """pg_current_wal_lsn() in bytes, as pgdr reports LSNs."""
    return float(node.sql("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))


def manual_windows(exp):
    status, body = exp.get("/api/v1/maintenance")
    if status != 200:
        return []
    return [w for w in json.loads(body)["data"]["windows"] if w["kind"] == "manual"]


class StateRestartTest(unittest.TestCase):
    def setUp(self):
        missing = ah.missing_tools()
        if missing:
            self.skipTest("missing: " + ", ".join(missing))

    def test_window_and_alert_survive_kill9(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "demo", replicas=2)
            cluster.start()
            slow = os.path.join(tmp.path, "slow-rules.yml")
            with open(slow, "w") as f:
                f.write(SLOW_RULES)
            cfg = ah.actions_config(cluster, tmp, [ah.failover_trigger()], dry_run=False,
                                    extra_rule_files=[slow])
            exp = Exporter(tmp, cfg).start()
            self.addCleanup(exp.stop)
            wait_until(lambda: exp.value("pgdr_cluster_primaries", cluster="demo") == 1,
                       timeout=30, what="the exporter sees the primary")
            status, body = exp.post("/api/v1/maintenance", OPEN)
            self.assertEqual(status, 200, body)
            # Written before the answer: the file already holds the window.
            with open(os.path.join(exp.storage_path, "state.json")) as f:
                kept = json.load(f)
            self.assertEqual(kept["version"], 1)
            self.assertEqual([(w["cluster"], w["reason"]) for w in kept["maintenance"]],
                             [("demo", "rolling upgrade")])
            until = manual_windows(exp)[0]["until"]
            wait_until(lambda: [a["state"] for a in alerts(exp, "TestAlwaysOn")] == ["firing"],
                       timeout=40, what="TestAlwaysOn firing")
            active_at = alerts(exp, "TestAlwaysOn")[0]["activeAt"]
            time.sleep(1.5)  # the evaluator's next tick writes the alert's for-state

            exp.kill()
            log_offset = len(exp.log())
            restarted = time.monotonic()
            exp.start()
            self.assertEqual([(w["cluster"], w["until"], w["reason"]) for w in manual_windows(exp)],
                             [("demo", until, "rolling upgrade")])
            wait_until(lambda: exp.value("pgdr_maintenance_active", cluster="demo") == 1,
                       timeout=10, what="pgdr_maintenance_active 1 after the restart")
            # Firing again well inside `for` (20 s), with the ActiveAt from before the kill.
            wait_until(lambda: [a["state"] for a in alerts(exp, "TestAlwaysOn")] == ["firing"],
                       timeout=10, what="TestAlwaysOn firing again after the restart")
            firing_after = time.monotonic() - restarted
            self.assertLess(firing_after, 15)
            self.assertEqual(alerts(exp, "TestAlwaysOn")[0]["activeAt"], active_at)
            self.assertEqual(exp.value("pgdr_state_load_failures_total"), 0)
            print(f"\nrestart: window kept until {until}; TestAlwaysOn firing again "
                  f"{firing_after:.1f}s after restart, activeAt {active_at}", file=sys.stderr)

            wait_until(lambda: exp.value("pgdr_cluster_primaries", cluster="demo") == 1,
                       timeout=30, what="the restarted exporter sees the primary")
            cluster.primary.stop("immediate")
            wait_until(lambda: "TestPrimaryLost" in ah.firing_alerts(exp), timeout=60,
                       what="TestPrimaryLost firing")
            wait_until(lambda: ah.failover_count(exp, "refused") >= 1, timeout=30,
                       what="the failover refused")
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                for r in cluster.replicas:
                    self.assertNotEqual(ah.in_recovery(r), False, f"{r.name} was promoted")
                time.sleep(0.5)
            self.assertEqual(ah.failover_count(exp, "success"), 0)
            self.assertRegex(exp.log()[log_offset:],
                             r'msg="failover refused".*reason=maintenance')
            decisions = json.loads(exp.get("/api/v1/decisions")[1])["data"]["decisions"]
            refused = [d for d in decisions if d["cluster"] == "demo" and d["action"] == "failover"]
            self.assertTrue(refused, decisions)
            self.assertEqual({d["reason"] for d in refused}, {"maintenance"}, refused)
            self.assertIn("rolling upgrade", refused[0]["summary"])

    def test_guard_memory_survives_kill9(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "demo", replicas=1)
            cluster.start()
            cfg = ah.actions_config(cluster, tmp, [ah.failover_trigger()], dry_run=False)
            exp = Exporter(tmp, cfg).start()
            self.addCleanup(exp.stop)
            state_path = os.path.join(exp.storage_path, "state.json")

            def kept_primary():
                try:
                    return json.loads(read_text(state_path)).get("primaries", {}).get("demo")
                except (OSError, ValueError):
                    return None

            wait_until(lambda: (kept_primary() or {}).get("lsn_bytes") is not None, timeout=30,
                       what="the state file holds the primary's LSN")
            # Quiet cluster: the LSN kept is the primary's last one.
            wait_until(lambda: kept_primary()["lsn_bytes"] == ah_lsn(cluster.primary),
                       timeout=20, what="the kept LSN equals pg_current_wal_lsn()")
            kept = kept_primary()
            self.assertEqual(kept["member"], cluster.primary.name)

            exp.kill()
            cluster.primary.stop("immediate")
            exp.start()
            wait_until(lambda: ah.failover_count(exp, "success") == 1, timeout=60,
                       what="the failover after the restart")
            replica = cluster.replicas[0]
            wait_until(lambda: ah.in_recovery(replica) is False, timeout=30,
                       what=f"{replica.name} promoted")
            self.assertEqual(ah.failover_count(exp, "refused"), 0)
            decisions = json.loads(exp.get("/api/v1/decisions")[1])["data"]["decisions"]
            done = [d for d in decisions if d["action"] == "failover" and d["result"] == "started"]
            self.assertTrue(done, decisions)
            evidence = done[0]["evidence"]
            self.assertEqual(evidence.get("old_primary"), cluster.primary.name, evidence)
            self.assertEqual(float(evidence["primary_lsn_bytes"]), kept["lsn_bytes"], evidence)
            print(f"\nafter kill -9 + primary stop: failover by the restarted exporter to "
                  f"{replica.name}, loss measured from the kept LSN {kept['lsn_bytes']:.0f}",
                  file=sys.stderr)

    def test_quiet_cluster_rewrites_state_rarely(self):
        """The kept primary's `seen` time moves with every snapshot; alone it is
        written at most every 10 s (it was an fsync'd rewrite per 500 ms tick)."""
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "demo", replicas=1)
            cluster.start()
            cfg = ah.actions_config(cluster, tmp, [ah.failover_trigger()], dry_run=True)
            exp = Exporter(tmp, cfg).start()
            self.addCleanup(exp.stop)
            state_path = os.path.join(exp.storage_path, "state.json")

            def kept():
                try:
                    return json.loads(read_text(state_path)).get("primaries", {}).get("demo")
                except (OSError, ValueError):
                    return None
            wait_until(lambda: (kept() or {}).get("lsn_bytes") == ah_lsn(cluster.primary),
                       timeout=30, what="the state file holds the primary's LSN")
            first_seen = kept()["seen_ms"]
            # Every write is a rename: a new inode.
            inodes, deadline = {os.stat(state_path).st_ino}, time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    inodes.add(os.stat(state_path).st_ino)
                except FileNotFoundError:
                    pass
                time.sleep(0.05)
            writes = len(inodes) - 1
            self.assertEqual(kept()["lsn_bytes"], ah_lsn(cluster.primary))
            self.assertGreaterEqual(writes, 1, "the seen time is still refreshed")
            self.assertLessEqual(writes, 2, f"{writes} rewrites in 15 s on a quiet cluster")
            self.assertGreater(kept()["seen_ms"], first_seen)
            print(f"\nquiet cluster: state file rewritten {writes} times in 15 s; "
                  f"seen advanced {(kept()['seen_ms'] - first_seen) / 1000:.1f} s", file=sys.stderr)

    def test_corrupt_and_stale_state(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "demo", replicas=0)
            cluster.start()
            cfg = ah.actions_config(cluster, tmp, [ah.failover_trigger()], dry_run=True)
            exp = Exporter(tmp, cfg)
            self.addCleanup(exp.stop)
            path = os.path.join(exp.storage_path, "state.json")
            os.makedirs(exp.storage_path)
            with open(path, "w") as f:
                f.write('{"version": 1, "maintenance": [{"cluster": "demo", "unt')
            exp.start()
            lines = [line for line in exp.log().splitlines() if "state file unreadable" in line]
            self.assertEqual(len(lines), 1, exp.log())
            self.assertIn(f"file={path} ", lines[0])
            self.assertIn("not valid JSON (truncated?)", lines[0])
            self.assertEqual(exp.value("pgdr_state_load_failures_total"), 1)
            self.assertEqual(manual_windows(exp), [])
            self.assertTrue(os.path.exists(path + ".corrupt"))
            wait_until(lambda: os.path.exists(path), timeout=10, what="a good state file")
            with open(path) as f:
                self.assertEqual(json.load(f)["version"], 1)
            exp.stop()

            until_ms = int((time.time() + 600) * 1000)
            with open(path, "w") as f:
                json.dump({"version": 1,
                           "maintenance": [{"cluster": "gone", "until_ms": until_ms, "reason": "old"},
                                           {"cluster": "demo", "until_ms": until_ms, "reason": "kept"}],
                           "last_failover_ms": {"gone": until_ms - 60000},
                           "alerts": [{"group": "no-such-group", "rule": "X", "labels": {},
                                       "active_at_ms": 1}]}, f)
            exp.start()
            self.assertEqual([(w["cluster"], w["reason"]) for w in manual_windows(exp)],
                             [("demo", "kept")])
            self.assertEqual(exp.value("pgdr_state_load_failures_total"), 0)
            wait_until(lambda: "gone" not in read_text(path), timeout=10,
                       what="the rewritten file drops the unconfigured cluster")
            with open(path) as f:
                kept = json.load(f)
            self.assertEqual(kept["last_failover_ms"], {})
            self.assertEqual(kept["alerts"], [])


if __name__ == "__main__":
    unittest.main()
