"""DR-action scenarios end to end: real PostgreSQL 15, real PgBouncer, real
Alertmanager, pgdr_exporter running its built-in evaluator on a test-only rule
file (`for: 2s`, evaluated every second) and its actions module.

- test_failover_node_failure: primary + 2 replicas (one synchronous) behind
  PgBouncer with a client writing through it; `pg_ctl stop -m immediate` on
  the primary. The exporter promotes the most advanced replica, repoints
  PgBouncer, the other replica follows; writes resume; every transaction
  committed before the kill is on the new primary; Alertmanager got the alert
  with its runbook link. Prints kill -> first successful write.
- test_partition_no_promotion: the exporter reaches the primary through a TCP
  proxy that the test cuts; the replicas keep streaming: alert, refusal
  counted, no promotion.
- test_maintenance_window_refuses: the same failure inside a maintenance
  window opened through POST /api/v1/maintenance: refused, nothing promoted.
- test_split_brain_no_action: two members answer as primary: alert, refusal,
  no action.
- test_dry_run_default: no `dry_run` in the config: the decision is logged and
  counted as dry_run, nothing is promoted.

Every wait is bounded; everything listens on loopback.
"""

import json
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import actions_harness as ah  # noqa: E402
from harness import Exporter, PgBouncer, PgCluster, TempDir, wait_until  # noqa: E402


class ActionScenarios(unittest.TestCase):
    def setUp(self):
        missing = ah.missing_tools()
        if missing:
            self.skipTest("missing: " + ", ".join(missing))

    def start_exporter(self, tmp, cfg):
        exp = Exporter(tmp, cfg).start()
        self.assertTrue(ah.actions_wired(exp), "the exporter serves no /api/v1/maintenance")
        wait_until(lambda: exp.value("pgdr_cluster_primaries", cluster="demo") == 1, timeout=30,
                   what="the exporter sees the primary")
        return exp

    def assert_no_promotion(self, cluster, seconds):
        """Waits `seconds`, checking every replica stays in recovery."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for r in cluster.replicas:
                self.assertNotEqual(ah.in_recovery(r), False, f"{r.name} was promoted")
            time.sleep(0.5)

    def test_failover_node_failure(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "demo", replicas=2)
            cluster.start()
            sync = cluster.replicas[0]
            cluster.primary.sql(f"ALTER SYSTEM SET synchronous_standby_names = '\"{sync.name}\"'")
            cluster.primary.sql("SELECT pg_reload_conf()")
            wait_until(lambda: cluster.primary.sql(
                f"SELECT sync_state FROM pg_stat_replication WHERE application_name = '{sync.name}'")
                == "sync", timeout=30, what="a synchronous standby")
            cluster.primary.sql("CREATE TABLE writes (id int PRIMARY KEY, at timestamptz DEFAULT now())")
            pooler = PgBouncer(tmp, cluster.primary, name="pb-demo").start()
            am = ah.Alertmanager(tmp).start()
            hook = ah.Webhook().start()
            cfg = ah.actions_config(cluster, tmp, [ah.failover_trigger(redirect=["pb-demo"])],
                                    dry_run=False, poolers=[pooler], alertmanagers=[am])
            cfg["alerting"]["webhooks"] = [{"name": "oncall", "url": hook.url}]
            exp = self.start_exporter(tmp, cfg)

            loop = ah.WriteLoop(pooler.port).start()
            try:
                wait_until(lambda: len(loop.committed) >= 20, timeout=30, what="writes through PgBouncer")
                killed = time.monotonic()
                cluster.primary.stop("immediate")  # pg_ctl -w: returns once it is gone
                dead = time.monotonic()
                # Acknowledged before the primary was gone: must survive the failover.
                committed_before = {i for i, _, returned in loop.committed if returned < dead}

                wait_until(lambda: ah.failover_count(exp, "success") >= 1, timeout=90, interval=0.5,
                           what="a successful failover")
                first = wait_until(lambda: loop.first_commit_started_after(dead), timeout=60,
                                   interval=0.2, what="a write through PgBouncer after failover")
            finally:
                loop.stop()
            print(f"\nfailover: kill -> first successful write through PgBouncer "
                  f"{first - killed:.2f}s ({len(committed_before)} writes before, "
                  f"{loop.failures} failed attempts during the outage)")

            new_primary = [r for r in cluster.replicas if ah.in_recovery(r) is False]
            self.assertEqual(len(new_primary), 1, "exactly one replica promoted")
            new_primary = new_primary[0]
            other = [r for r in cluster.replicas if r is not new_primary][0]
            self.assertEqual(ah.failover_count(exp, "refused"), 0)

            # Every transaction committed before the kill is on the new primary.
            present = set(int(x) for x in new_primary.sql("SELECT id FROM writes").split())
            self.assertEqual(committed_before - present, set(), "committed writes lost")

            # PgBouncer points at the new primary.
            with open(pooler.databases_file) as f:
                self.assertIn(f"port={new_primary.port}", f.read())
            self.assertEqual(pooler.sql("SELECT inet_server_port()"), str(new_primary.port))

            # The other replica follows the new primary.
            wait_until(lambda: other.sql(
                "SELECT status || ':' || sender_port FROM pg_stat_wal_receiver")
                == f"streaming:{new_primary.port}", timeout=60, what="the other replica following")
            new_primary.sql("INSERT INTO writes(id) VALUES (-1)")
            wait_until(lambda: other.sql("SELECT count(*) FROM writes WHERE id = -1") == "1",
                       timeout=30, what="the other replica replaying the new timeline")

            # Alertmanager got the alert with its runbook link.
            got = wait_until(lambda: am.seen.get("TestPrimaryLost"), timeout=30,
                             what="TestPrimaryLost in Alertmanager")
            am.stop_flag = True
            runbook = f"http://{exp.address}{ah.RUNBOOK_PATH}"
            self.assertEqual(got["annotations"].get("runbook_url"), runbook)
            self.assertEqual(exp.get(ah.RUNBOOK_PATH)[0], 200, "the runbook link answers")
            self.assertEqual(got["labels"].get("cluster"), "demo")

            # The webhook got the Alertmanager webhook message, firing then
            # resolved, with Alertmanager's own fingerprint.
            msgs = wait_until(lambda: (lambda m: m if {"firing", "resolved"} <= {x["status"] for x in m}
                                       else None)(hook.messages("TestPrimaryLost")),
                              timeout=30, what="TestPrimaryLost firing and resolved at the webhook")
            hook.stop()
            first = msgs[0]
            self.assertEqual(first["version"], "4")
            self.assertEqual(first["receiver"], "oncall")
            self.assertEqual(first["groupLabels"], {"alertname": "TestPrimaryLost", "cluster": "demo"})
            self.assertEqual(first["commonAnnotations"]["runbook_url"], runbook)
            self.assertEqual(first["alerts"][0]["fingerprint"], got["fingerprint"])

            log = exp.log()
            self.assertRegex(log, r'msg="failover started".*candidate=' + re.escape(new_primary.name))
            finished = re.search(r'msg="failover finished".*result=success.*duration_seconds=([0-9.]+)',
                                 log)
            self.assertIsNotNone(finished)
            print(f"  of which promotion, repointing and PgBouncer redirect took "
                  f"{float(finished.group(1)):.2f}s in the exporter (promoted {new_primary.name})")
            self.assertRegex(log, r'msg="pgbouncer redirected".*result=success')

    def test_partition_no_promotion(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "demo", replicas=2)
            cluster.start()
            proxy = ah.TcpProxy(cluster.primary.port)
            targets = cluster.targets()
            targets[0]["dsn"] = targets[0]["dsn"].replace(f"port={cluster.primary.port}",
                                                          f"port={proxy.port}")
            cfg = ah.actions_config(cluster, tmp, [ah.failover_trigger()], dry_run=False,
                                    targets=targets)
            exp = self.start_exporter(tmp, cfg)
            proxy.cut()
            wait_until(lambda: "TestPrimaryLost" in ah.firing_alerts(exp), timeout=60,
                       what="the exporter alerting that it lost the primary")
            wait_until(lambda: ah.failover_count(exp, "refused") >= 1, timeout=30,
                       what="the failover refused")
            self.assert_no_promotion(cluster, 8)
            self.assertEqual(ah.failover_count(exp, "success"), 0)
            self.assertEqual(ah.failover_count(exp, "failed"), 0)
            self.assertEqual(cluster.primary.sql("SELECT pg_is_in_recovery()"), "f")
            self.assertRegex(exp.log(), r'msg="failover refused".*reason=replica_streaming')

    def test_maintenance_window_refuses(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "demo", replicas=2)
            cluster.start()
            exporter_rules = os.path.join(ah.harness.SOURCE_DIR, "rules", "exporter.yml")
            cfg = ah.actions_config(cluster, tmp, [ah.failover_trigger()], dry_run=False,
                                    extra_rule_files=[exporter_rules])
            exp = self.start_exporter(tmp, cfg)
            status, body = exp.post("/api/v1/maintenance", json.dumps(
                {"action": "open", "cluster": "demo", "duration": "10m",
                 "reason": "scenario test"}).encode())
            self.assertEqual(status, 200, body)
            wait_until(lambda: exp.value("pgdr_maintenance_active", cluster="demo") == 1,
                       timeout=10, what="pgdr_maintenance_active 1")
            cluster.primary.stop("immediate")
            wait_until(lambda: "TestPrimaryLost" in ah.firing_alerts(exp), timeout=60,
                       what="the alert firing")
            wait_until(lambda: ah.failover_count(exp, "refused") >= 1, timeout=30,
                       what="the failover refused")
            self.assert_no_promotion(cluster, 6)
            self.assertEqual(ah.failover_count(exp, "success"), 0)
            self.assertRegex(exp.log(), r'msg="failover refused".*reason=maintenance')
            # The alert is marked: the maintenance alert fires alongside it (it
            # feeds the documented Alertmanager inhibition).
            wait_until(lambda: "PgdrMaintenanceWindowActive" in ah.firing_alerts(exp), timeout=90,
                       what="PgdrMaintenanceWindowActive firing")
            status, body = exp.get("/api/v1/maintenance")
            self.assertEqual(json.loads(body)["data"]["clusters"][0]["active"], True)

    def test_split_brain_no_action(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "demo", replicas=2)
            cluster.start()
            cfg = ah.actions_config(cluster, tmp, [ah.failover_trigger()], dry_run=False)
            exp = self.start_exporter(tmp, cfg)
            cluster.replicas[0].promote()  # now two members answer as primary
            wait_until(lambda: "TestSplitBrain" in ah.firing_alerts(exp), timeout=60,
                       what="the split-brain alert")
            wait_until(lambda: ah.failover_count(exp, "refused") >= 1, timeout=30,
                       what="the action refused")
            time.sleep(3)
            self.assertEqual(ah.failover_count(exp, "success"), 0)
            self.assertEqual(ah.in_recovery(cluster.replicas[1]), True)
            self.assertEqual(cluster.primary.sql("SELECT pg_is_in_recovery()"), "f")
            self.assertRegex(exp.log(), r'msg="failover refused".*reason=split_brain')

    def test_dry_run_default(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "demo", replicas=2)
            cluster.start()
            cfg = ah.actions_config(cluster, tmp, [ah.failover_trigger()])  # no dry_run key
            exp = self.start_exporter(tmp, cfg)
            cluster.primary.stop("immediate")
            wait_until(lambda: ah.failover_count(exp, "dry_run") >= 1, timeout=60,
                       what="a dry-run decision")
            self.assert_no_promotion(cluster, 5)
            self.assertEqual(ah.failover_count(exp, "success"), 0)
            line = re.search(r'.*msg="failover dry run: would promote".*', exp.log())
            self.assertIsNotNone(line)
            self.assertIn("candidate=demo-", line.group(0))
            print("\n" + line.group(0))


if __name__ == "__main__":
    unittest.main()
