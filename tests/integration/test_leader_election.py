"""Only the lease holder acts (issue 12, must-show 3).

A real etcd (Debian etcd-server, patroni_support.Etcd) and, per scenario, a
real PostgreSQL primary with one streaming replica and two pgdr exporters
configured identically but for their `leader_election.identity`. Their
failover trigger uses the `exec` provider with a script that first POSTs to
the test's receiver (which exporter acted, for which candidate) and then runs
pg_promote() on the candidate, so every promotion any exporter performs is
counted on the receiver and checked with psql's pg_is_in_recovery().

1. The primary's postmaster is killed (SIGKILL): exactly one exporter, the
   lease holder named by the etcd key, acts (receiver count 1, from it); a
   webhook action on the same alert is also sent once; the other exporter
   records "not_leader" in its decision log and pgdr_actions_not_leader_total.
2. Kill -9 of the acting exporter mid-way: the failover waits `confirm_for`
   (the holder's decision log says "waiting") and the holder is SIGKILLed
   then. The other takes the lease once etcd expires it (the test prints the
   handover time from the kill) and acts once, never twice.
3. Fencing: etcd is frozen (SIGSTOP) under the new holder: it stops acting
   by its own clock, before etcd could expire its lease, and logs it; once
   etcd is back it takes the lease again.
"""

import base64
import json
import os
import signal
import sys
import time
import unittest
import urllib.request

import actions_harness as ah
import harness
from harness import PgCluster, TempDir, wait_until
from patroni_support import ETCD, Etcd

TTL_S = 6
RENEW_S = 1
RETRY_S = 0.5

PROMOTE_SCRIPT = """import json, os, subprocess, sys, urllib.request
url, identity, dsn = sys.argv[1:4]
body = json.dumps({"identity": identity, "candidate": os.environ["PGDR_CANDIDATE"],
                   "cluster": os.environ["PGDR_CLUSTER"]}).encode()
urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=10).read()
subprocess.run([sys.argv[4], dsn, "-Atc", "SELECT pg_promote()"], check=True, timeout=60)
"""


def promotions(receiver, cluster):
    """The promotions the exec provider reported to `receiver` (an
    actions_harness.Webhook) for `cluster`, in arrival order."""
    with receiver.lock:
        return [p for p in receiver.received if p.get("cluster") == cluster]


def etcd_holder(etcd, key):
    """The identity in `key` as etcd stores it (ground truth), or None."""
    body = json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode()
    req = urllib.request.Request(f"{etcd.url}/v3/kv/range", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=5) as r:
        kvs = json.loads(r.read()).get("kvs", [])
    return base64.b64decode(kvs[0]["value"]).decode() if kvs else None


def leader(exp):
    try:
        return exp.value("pgdr_leader")
    except Exception:  # noqa: BLE001 - a killed exporter answers nothing
        return None


def decisions(exp, cluster):
    status, body = exp.get("/api/v1/decisions")
    if status != 200:
        return []
    return [d for d in json.loads(body)["data"]["decisions"] if d["cluster"] == cluster]


class LeaderElectionTest(unittest.TestCase):
    def setUp(self):
        missing = ah.missing_tools()
        if not os.access(ETCD, os.X_OK):
            missing.append("etcd-server")
        if missing:
            self.skipTest("missing: " + ", ".join(missing))

    def pair(self, tmp, etcd, cluster, receiver, key, confirm_for, extra_triggers=()):
        script = os.path.join(tmp.path, "promote.py")
        with open(script, "w") as f:
            f.write(PROMOTE_SCRIPT)
        replica = cluster.replicas[0]
        exporters = []
        for identity in ("a", "b"):
            trigger = {"name": "promote", "match": f'alertname="TestPrimaryLost", '
                       f'cluster="{cluster.name}"', "action": "failover", "provider": "exec",
                       "command": [sys.executable, script, receiver.url, identity, replica.dsn,
                                   os.path.join(harness.PG_BIN, "psql")],
                       "confirm_for": confirm_for, "max_lag_bytes": 64 << 20,
                       "cooldown": "10m", "timeout": "60s"}
            cfg = ah.actions_config(cluster, tmp, [trigger] + list(extra_triggers), dry_run=False)
            cfg["leader_election"] = {
                "identity": f"{cluster.name}-{identity}",
                "etcd": {"endpoints": [etcd.url], "key": key, "ttl": f"{TTL_S}s",
                         "renew_interval": f"{RENEW_S}s", "retry_interval": f"{int(RETRY_S * 1000)}ms",
                         "timeout": "1s", "fencing_margin": "2s"}}
            exporters.append(harness.Exporter(tmp, cfg))
        first, second = exporters
        first.start()
        wait_until(lambda: leader(first) == 1, timeout=20, what="the first exporter leads")
        second.start()
        wait_until(lambda: leader(second) == 0, timeout=20, what="the second one is not leader")
        self.assertEqual(etcd_holder(etcd, key), f"{cluster.name}-a")
        time.sleep(2 * RENEW_S)
        self.assertEqual((leader(first), leader(second)), (1.0, 0.0))
        return first, second

    def test_only_the_holder_acts_and_a_killed_holder_is_replaced_once(self):
        with TempDir() as tmp:
            etcd = Etcd(tmp).start()
            receiver = ah.Webhook().start()
            hook = ah.Webhook().start()

            # 1. Two exporters, one acts.
            one = PgCluster(tmp, "one", replicas=1)
            one.start()
            page = {"name": "page", "match": 'alertname="TestPrimaryLost", cluster="one"',
                    "action": "webhook", "url": hook.url, "max_retries": 0}
            a, b = self.pair(tmp, etcd, one, receiver, "/pgdr/one", "2s", [page])
            os.kill(one.primary.pid(), signal.SIGKILL)
            killed = time.monotonic()
            wait_until(lambda: ah.in_recovery(one.replicas[0]) is False, timeout=60,
                       what="one-2 promoted")
            promoted_after = time.monotonic() - killed
            time.sleep(2 * TTL_S)  # anything the other one would do, it has done by now
            acted = promotions(receiver, "one")
            print(f"\nscenario 1: primary killed, one-2 promoted after {promoted_after:.1f} s; "
                  f"receiver: {[(p['identity'], p['candidate']) for p in acted]}; "
                  f"webhook messages: {len(hook.messages('TestPrimaryLost'))}")
            self.assertEqual([(p["identity"], p["candidate"]) for p in acted], [("a", "one-2")])
            self.assertEqual(one.replicas[0].sql("SELECT pg_is_in_recovery()"), "f")
            self.assertEqual(len(hook.messages("TestPrimaryLost")), 1)
            self.assertEqual(a.value("pgdr_failover_requests_total", cluster="one",
                                     result="success"), 1)
            self.assertEqual(b.value("pgdr_failover_requests_total", cluster="one",
                                     result="success"), 0)
            withheld = {(d["trigger"], d["result"]) for d in decisions(b, "one")
                        if d["result"] == "not_leader"}
            print(f"scenario 1: the non-holder's not_leader decisions: {sorted(withheld)}; "
                  f"pgdr_actions_not_leader_total "
                  f"{b.samples('pgdr_actions_not_leader_total')}")
            self.assertEqual(withheld, {("promote", "not_leader"), ("page", "not_leader")})
            self.assertGreaterEqual(b.value("pgdr_actions_not_leader_total", trigger="promote"), 1)
            self.assertGreaterEqual(b.value("pgdr_actions_not_leader_total", trigger="page"), 1)
            self.assertEqual(a.value("pgdr_actions_not_leader_total", trigger="promote"), 0)
            self.assertEqual(etcd_holder(etcd, "/pgdr/one"), "one-a")
            a.stop()
            b.stop()
            # A clean stop revokes the lease: the key is gone at once.
            self.assertIsNone(etcd_holder(etcd, "/pgdr/one"))

            # 2. The holder is killed -9 while its failover waits for confirmation.
            two = PgCluster(tmp, "two", replicas=1)
            two.start()
            c, d = self.pair(tmp, etcd, two, receiver, "/pgdr/two", "10s")
            os.kill(two.primary.pid(), signal.SIGKILL)
            wait_until(lambda: any(x["result"] == "waiting" for x in decisions(c, "two")),
                       timeout=30, what="the holder's failover waits for confirmation")
            self.assertEqual(promotions(receiver, "two"), [])
            c.kill()
            killed = time.monotonic()
            self.assertEqual(etcd_holder(etcd, "/pgdr/two"), "two-a")  # until the TTL runs out
            wait_until(lambda: etcd_holder(etcd, "/pgdr/two") == "two-b", timeout=3 * TTL_S,
                       interval=0.05, what="the other exporter takes the lease")
            handover = time.monotonic() - killed
            wait_until(lambda: leader(d) == 1, timeout=5, what="pgdr_leader 1 on the new holder")
            wait_until(lambda: ah.in_recovery(two.replicas[0]) is False, timeout=60,
                       what="two-2 promoted")
            promoted = time.monotonic() - killed
            time.sleep(2 * TTL_S)
            acted = promotions(receiver, "two")
            print(f"scenario 2: holder killed -9 while waiting; lease handed over after "
                  f"{handover:.2f} s (ttl {TTL_S} s, renew {RENEW_S} s, retry {RETRY_S} s); "
                  f"two-2 promoted {promoted:.2f} s after the kill; receiver: "
                  f"{[(p['identity'], p['candidate']) for p in acted]}")
            self.assertEqual([(p["identity"], p["candidate"]) for p in acted], [("b", "two-2")])
            self.assertEqual(two.replicas[0].sql("SELECT pg_is_in_recovery()"), "f")
            # etcd expires the lease TTL after the last keepalive, at most renew_interval
            # before the kill; the other replica asks every retry_interval.
            self.assertGreaterEqual(handover, TTL_S - RENEW_S - 0.5)
            self.assertLessEqual(handover, TTL_S + RETRY_S + 2)
            self.assertEqual(d.value("pgdr_leader_acquisitions_total"), 1)
            self.assertEqual(d.value("pgdr_failover_requests_total", cluster="two",
                                     result="success"), 1)

            # 3. Fencing: etcd frozen (SIGSTOP), the holder stops acting by its own
            # clock, ttl - fencing_margin after its last keepalive, and logs it.
            os.kill(etcd.proc.pid, signal.SIGSTOP)
            frozen = time.monotonic()
            try:
                wait_until(lambda: "leader lease fenced" in d.log(), timeout=2 * TTL_S,
                           interval=0.05, what="the holder fenced itself")
                fenced = time.monotonic() - frozen
            finally:
                os.kill(etcd.proc.pid, signal.SIGCONT)
            line = next(x for x in d.log().splitlines() if "leader lease fenced" in x)
            print(f"scenario 3: etcd frozen; the holder stopped acting {fenced:.2f} s later "
                  f"(ttl {TTL_S} s - fencing_margin 2 s): {line}")
            self.assertLessEqual(fenced, TTL_S - 2 + 0.3)
            self.assertGreaterEqual(fenced, TTL_S - 2 - RENEW_S - 0.3)
            wait_until(lambda: d.value("pgdr_leader_losses_total") == 1, timeout=5,
                       what="the loss counted")
            self.assertGreaterEqual(d.value("pgdr_leader_keepalive_failures_total"), 1)
            # etcd back: the old lease is revoked (or expires) and the replica takes
            # the key again with a new one.
            wait_until(lambda: d.value("pgdr_leader_acquisitions_total") == 2,
                       timeout=3 * TTL_S, what="the lease acquired again")
            again = time.monotonic() - frozen
            self.assertEqual(etcd_holder(etcd, "/pgdr/two"), "two-b")
            print(f"scenario 3: acquired again {again:.2f} s after the freeze "
                  f"(etcd resumed at {fenced:.2f} s)")
            d.stop()


if __name__ == "__main__":
    unittest.main()
