"""Issue 12: a Patroni standby cluster in a second region is promoted by the
regional action through Patroni's dynamic configuration, not pg_promote.

Real etcd and Patroni 3.x (patroni_support): cluster `pa` (region a, one
member) and its standby cluster `pb` (region b, one member, a "Standby
Leader" streaming from pa). pgdr watches both members as cluster `main`
with a region_failover for region b through the `patroni` provider
(approval: auto). Region a is lost (pa's Patroni and PostgreSQL SIGKILLed):
pgdr's regional guards confirm it, the provider PATCHes pb's /config with
{"standby_cluster": null}, and Patroni promotes pb-1: `patronictl list`
shows it as Leader, pg_is_in_recovery() is false, /config no longer holds
standby_cluster, and the regional promotion is counted once as a success.
Printed: the timings."""

import contextlib
import json
import os
import subprocess
import time
import unittest

import actions_harness as ah
from harness import SOURCE_DIR, Exporter, TempDir, http_get, wait_until
from patroni_support import Etcd, PatroniCluster


def sql(member, query):
    """psql's answer on `member`, or None when it does not answer."""
    try:
        out = subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(member.pg_port), "-U",
                              "postgres", "-Atc", query], capture_output=True, text=True,
                             timeout=10)
    except subprocess.TimeoutExpired:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def in_recovery(member):
    return sql(member, "SELECT pg_is_in_recovery()")


class PatroniStandbyRegionTest(unittest.TestCase):
    def setUp(self):
        missing = ah.missing_tools()
        if missing:
            self.skipTest("missing: " + ", ".join(missing))

    def test_standby_cluster_promoted_through_dynamic_config(self):
        with TempDir() as tmp, contextlib.ExitStack() as stack:
            t0 = time.monotonic()
            etcd = Etcd(tmp).start()
            pa = PatroniCluster(tmp, etcd, "pa", members=1)
            stack.callback(pa.teardown)
            pa.start()
            pb = PatroniCluster(tmp, etcd, "pb", members=1, standby_of=pa)
            stack.callback(pb.teardown)
            pb.start()
            a1, b1 = pa.members[0], pb.members[0]
            wait_until(lambda: in_recovery(b1) == "t", timeout=60,
                       what="pb-1 a standby of pa-1")
            t_up = time.monotonic() - t0
            config = {
                "collection": {"interval": "1s"},
                "query_files": [os.path.join(SOURCE_DIR, "queries", "*.yml")],
                "targets": [
                    {"cluster": "main", "member": a1.name, "dsn": a1.dsn, "region": "a"},
                    {"cluster": "main", "member": b1.name, "dsn": b1.dsn, "region": "b"}],
                "evaluation_interval": "1s",
                "actions": {"dry_run": False, "region_failover": [{
                    "cluster": "main", "standby_region": "b", "confirm_for": "3s",
                    "max_rpo_bytes": 64 * 1024 * 1024, "approval": "auto", "cooldown": "10m",
                    "timeout": "60s", "provider": "patroni", "url": b1.rest_url}]},
            }
            exp = Exporter(tmp, config).start()
            self.addCleanup(exp.stop)
            wait_until(lambda: exp.value("pgdr_cluster_primaries", cluster="main") == 1,
                       timeout=60, what="pgdr sees pa-1 as the primary")
            # Something committed in region a reaches region b before the loss.
            self.assertIsNotNone(sql(a1, "CREATE TABLE regional(x int); INSERT INTO regional "
                                         "SELECT generate_series(1, 1000)"))
            wait_until(lambda: sql(b1, "SELECT count(*) FROM regional") == "1000",
                       timeout=60, what="the rows replicated to region b")
            time.sleep(2)  # pgdr's next snapshot holds the primary's last LSN

            lost = time.monotonic()
            a1.kill()
            wait_until(lambda: (exp.value("pgdr_failover_requests_total", cluster="main",
                                          kind="region", result="success") or 0) == 1,
                       timeout=120, what="the regional promotion through Patroni")
            promoted_after = time.monotonic() - lost
            wait_until(lambda: pb.role_of(b1.name) == "Leader", timeout=30,
                       what="patronictl list: pb-1 Leader")
            self.assertEqual(in_recovery(b1), "f")
            status, body = http_get(f"{b1.rest_url}/config")
            self.assertEqual(status, 200, body)
            self.assertNotIn("standby_cluster", json.loads(body) or {}, body)
            self.assertEqual(sql(b1, "SELECT count(*) FROM regional"), "1000")
            self.assertEqual(exp.value("pgdr_failover_requests_total", cluster="main",
                                       kind="region", result="failed") or 0, 0)
            rows = [(r["Member"], r["Role"], r["State"]) for r in pb.list()]
            print(f"\nPatroni up {t_up:.1f} s; region a lost -> pgdr promoted the standby "
                  f"cluster through PATCH /config in {promoted_after:.1f} s; patronictl list: "
                  f"{rows}", flush=True)


if __name__ == "__main__":
    unittest.main()
