"""Only the lease holder acts, with a Kubernetes Lease (issue 12), against a
MOCK of the Kubernetes API server (k8s_mock.py; no real API server can run
here). The mock serves coordination.k8s.io/v1 leases over HTTPS with a
throwaway CA and a bearer token, validates every Lease against the Lease's
OpenAPI shape (MicroTime with six fractional digits) and answers 409 to a
write with a stale resourceVersion, as the API server does.

A real PostgreSQL primary with one streaming replica and two pgdr exporters
configured identically but for their `leader_election.identity`; their
failover trigger is the `exec` provider of test_leader_election.py, which
POSTs to a receiver before pg_promote(), so every promotion is counted
(here after 4 s, so the non-holder surely decides while the alert fires).

1. Exactly one holds: pgdr_leader 1/0 and the mock's Lease names the holder
   (created by it: leaseTransitions 0); its renewTime advances.
2. The primary is killed: only the holder acts (receiver: one promotion, from
   it); the other records not_leader.
3. The holder is killed -9: the other takes the Lease once leaseDurationSeconds
   have passed on its own clock since it last saw the Lease renewed (the
   handover time is printed); pgdr_leader flips; nobody acts again.
4. Another writer changes the Lease behind the holder's back: the holder's
   renewal gets 409, it stops acting (pgdr_leader 0, a loss counted), waits
   out the intruder's leaseDurationSeconds and takes the Lease again.
5. A clean stop releases the Lease (holderIdentity "").
6. The Role in deploy/kubernetes (rendered by the real kustomize) grants on
   leases exactly the verbs the mock recorded from pgdr.
"""

import json
import os
import signal
import sys
import time
import unittest

import actions_harness as ah
import harness
import k8s_mock
import test_leader_election as tle
from harness import PgCluster, TempDir, wait_until

GROUP = "coordination.k8s.io"
NS = "pgdr"
LEASE = "pgdr-leader"
TOKEN = "mock-service-account-token"
TTL_S = 6
RENEW_S = 1
RETRY_S = 0.5
MICRO = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"


def promotions(receiver, cluster):
    """(identity, candidate) of each promotion the exec provider reported to
    `receiver` (an actions_harness.Webhook), in arrival order."""
    with receiver.lock:
        return [(p["identity"], p["candidate"]) for p in receiver.received
                if p.get("cluster") == cluster]


class KubernetesLeaseTest(unittest.TestCase):
    def setUp(self):
        missing = ah.missing_tools()
        if missing:
            self.skipTest("missing: " + ", ".join(missing))

    def lease(self, api):
        return api.get_object(GROUP, "leases", NS, LEASE)

    def holder(self, api):
        obj = self.lease(api)
        return obj["spec"].get("holderIdentity") if obj else None

    def exporter(self, tmp, cluster, receiver, api, ca, token, identity):
        script = os.path.join(tmp.path, "promote.py")
        with open(script, "w") as f:
            # The holder's promotion takes 4 s, so the other exporter evaluates
            # the firing trigger (and withholds it) before the alert resolves.
            f.write("import time\ntime.sleep(4)\n" + tle.PROMOTE_SCRIPT)
        replica = cluster.replicas[0]
        trigger = {"name": "promote", "match": f'alertname="TestPrimaryLost", '
                   f'cluster="{cluster.name}"', "action": "failover", "provider": "exec",
                   "command": [sys.executable, script, receiver.url, identity, replica.dsn,
                               os.path.join(harness.PG_BIN, "psql")],
                   "confirm_for": "2s", "max_lag_bytes": 64 << 20, "cooldown": "10m",
                   "timeout": "60s"}
        cfg = ah.actions_config(cluster, tmp, [trigger], dry_run=False)
        cfg["leader_election"] = {
            "identity": f"{cluster.name}-{identity}",
            "kubernetes": {"namespace": NS, "name": LEASE, "api_url": api.url,
                           "bearer_token_file": token, "tls_ca_file": ca.ca_file,
                           "ttl": f"{TTL_S}s", "renew_interval": f"{RENEW_S}s",
                           "retry_interval": f"{int(RETRY_S * 1000)}ms", "timeout": "1s",
                           "fencing_margin": "2s"}}
        return harness.Exporter(tmp, cfg)

    def test_one_holder_acts_and_a_killed_holder_is_replaced(self):
        with TempDir() as tmp:
            ca = k8s_mock.MockCa(tmp.sub("k8s-ca"))
            api = k8s_mock.KubernetesApiMock(ca, TOKEN)
            api.register(k8s_mock.lease_resource())
            api.start()
            self.addCleanup(api.stop)
            token = os.path.join(tmp.path, "sa-token")
            with open(token, "w") as f:
                f.write(TOKEN + "\n")
            receiver = ah.Webhook().start()
            self.addCleanup(receiver.stop)
            kl = PgCluster(tmp, "kl", replicas=1)
            kl.start()

            # 1. Exactly one holds, and the Lease says so.
            a = self.exporter(tmp, kl, receiver, api, ca, token, "a")
            b = self.exporter(tmp, kl, receiver, api, ca, token, "b")
            a.start()
            wait_until(lambda: tle.leader(a) == 1, timeout=20, what="a leads")
            b.start()
            wait_until(lambda: tle.leader(b) == 0, timeout=20, what="b is not leader")
            first = self.lease(api)
            time.sleep(2 * RENEW_S + 0.5)
            self.assertEqual((tle.leader(a), tle.leader(b)), (1.0, 0.0))
            lease = self.lease(api)
            spec = lease["spec"]
            print(f"\n1. Lease {NS}/{LEASE}: {json.dumps(spec)}")
            self.assertEqual(spec["holderIdentity"], "kl-a")
            self.assertEqual(spec["leaseDurationSeconds"], TTL_S)
            self.assertEqual(spec["leaseTransitions"], 0)
            self.assertRegex(spec["acquireTime"], MICRO)
            self.assertRegex(spec["renewTime"], MICRO)
            self.assertGreater(spec["renewTime"], first["spec"]["renewTime"])
            self.assertEqual(spec["acquireTime"], first["spec"]["acquireTime"])
            self.assertEqual(a.samples("pgdr_leader")[0][0],
                             {"backend": "kubernetes", "lock": f"{NS}/{LEASE}",
                              "identity": "kl-a"})
            creates = api.recorded(verb="create", resource="leases")
            self.assertEqual([r["code"] for r in creates], [201])  # b never created one
            self.assertEqual([r["code"] for r in api.recorded(verb="update", code=409)], [])

            # 2. The primary is killed: only the holder acts.
            os.kill(kl.primary.pid(), signal.SIGKILL)
            killed = time.monotonic()
            wait_until(lambda: ah.in_recovery(kl.replicas[0]) is False, timeout=60,
                       what="kl-2 promoted")
            promoted_after = time.monotonic() - killed
            time.sleep(2 * TTL_S)
            acted = promotions(receiver, "kl")
            withheld = {d["result"] for d in tle.decisions(b, "kl")}
            print(f"2. primary killed, kl-2 promoted after {promoted_after:.1f} s; receiver: "
                  f"{acted}; b's decision results: {sorted(withheld)}")
            self.assertEqual(acted, [("a", "kl-2")])
            self.assertEqual(kl.replicas[0].sql("SELECT pg_is_in_recovery()"), "f")
            self.assertIn("not_leader", withheld)
            self.assertGreaterEqual(b.value("pgdr_actions_not_leader_total", trigger="promote"), 1)
            self.assertEqual(b.value("pgdr_failover_requests_total", cluster="kl",
                                     result="success"), 0)

            # 3. kill -9 of the holder: b takes the Lease after leaseDurationSeconds.
            a.kill()
            killed = time.monotonic()
            self.assertEqual(self.holder(api), "kl-a")
            wait_until(lambda: self.holder(api) == "kl-b", timeout=3 * TTL_S, interval=0.05,
                       what="b takes the Lease")
            handover = time.monotonic() - killed
            wait_until(lambda: tle.leader(b) == 1, timeout=5, what="pgdr_leader 1 on b")
            spec = self.lease(api)["spec"]
            print(f"3. holder killed -9; Lease handed to kl-b after {handover:.2f} s "
                  f"(leaseDurationSeconds {TTL_S}, renew {RENEW_S} s, retry {RETRY_S} s); "
                  f"leaseTransitions {spec['leaseTransitions']}")
            # a's last renewal was at most renew_interval before the kill; b saw it
            # within a retry_interval and waits leaseDurationSeconds from then.
            self.assertGreaterEqual(handover, TTL_S - RENEW_S - 0.5)
            self.assertLessEqual(handover, TTL_S + 2 * RETRY_S + 2)
            self.assertEqual(spec["leaseTransitions"], 1)
            self.assertEqual(b.value("pgdr_leader_acquisitions_total"), 1)
            time.sleep(2 * TTL_S)
            self.assertEqual(promotions(receiver, "kl"), [("a", "kl-2")])  # kl-2 is the primary now: nothing to do

            # 4. Another writer takes the Lease behind b's back: b's renewal gets 409.
            obj = self.lease(api)
            obj["spec"].update(holderIdentity="intruder", leaseTransitions=2)
            api.put_object(GROUP, "leases", obj)  # a new resourceVersion
            intruded = time.monotonic()
            wait_until(lambda: tle.leader(b) == 0, timeout=5 * RENEW_S, interval=0.05,
                       what="b stops acting on 409")
            stopped = time.monotonic() - intruded
            self.assertEqual(b.value("pgdr_leader_losses_total"), 1)
            self.assertGreaterEqual(len(api.recorded(verb="update", code=409)), 1)
            self.assertIn("409 Conflict", b.log())
            wait_until(lambda: self.holder(api) == "kl-b", timeout=3 * TTL_S, interval=0.05,
                       what="b takes the Lease again after the intruder's duration")
            again = time.monotonic() - intruded
            print(f"4. Lease written by another holder: b stopped acting {stopped:.2f} s later "
                  f"(409 on renewal), took it again after {again:.2f} s")
            self.assertGreaterEqual(again, TTL_S)
            self.assertLessEqual(again, TTL_S + RENEW_S + 2 * RETRY_S + 2)
            wait_until(lambda: b.value("pgdr_leader_acquisitions_total") == 2, timeout=5,
                       what="the second acquisition counted")
            self.assertEqual(self.lease(api)["spec"]["leaseTransitions"], 3)

            # 5. A clean stop releases it.
            b.stop()
            spec = self.lease(api)["spec"]
            print(f"5. after b's clean stop: {json.dumps(spec)}")
            self.assertEqual(spec["holderIdentity"], "")
            self.assertEqual(spec["leaseDurationSeconds"], 1)

            # 6. RBAC: the Role grants on leases exactly what pgdr used.
            used = {(r["group"], r["resource"], r["verb"]) for r in api.requests}
            self.assertEqual({r["code"] for r in api.requests} & {401, 403, 422}, set())
            kustomize = k8s_mock.kustomize_binary()
            self.assertIsNotNone(kustomize, "kustomize is missing: run scripts/setup.sh")
            granted = k8s_mock.rbac_grants(kustomize, GROUP)
            print(f"6. RBAC for {GROUP}: granted {sorted(granted)}, used {sorted(used)}")
            self.assertEqual(granted, used)


if __name__ == "__main__":
    unittest.main()
