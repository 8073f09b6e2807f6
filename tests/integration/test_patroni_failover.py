"""Issue 12, Must show 1, against real Patroni 3.x + etcd (patroni_support):

1. pgdr discovers the 3 members from `discovery.patroni` (no static
   target): their targets appear with their roles, and pgdr_patroni_* equal
   `patronictl list`;
2. kill -9 of the leader while Patroni is healthy and not paused: Patroni
   fails over, pgdr reports it (PostgresFailoverOccurred fires) and does not
   act itself: its failover trigger is refused with reason patroni_manages
   (log, /api/v1/decisions, pgdr_failover_requests_total) while the alert
   that pages still fires; the dead member leaves /cluster and its target
   goes, and comes back when it rejoins;
3. `patronictl pause --wait`, kill -9 of the leader: Patroni does nothing,
   pgdr's guarded failover goes through the patroni provider and
   `patronictl list` shows the new leader.
Timings are printed."""

import contextlib
import json
import os
import re
import time
import unittest

import actions_harness as ah
from harness import SOURCE_DIR, Exporter, TempDir, wait_until
from patroni_support import Etcd, PatroniCluster, patronictl_view, pgdr_view

SECRET = "pgdr-patroni-secret-0x5f3759df"


def target_roles(exp, cluster):
    """member -> role from /api/v1/targets."""
    _, body = exp.get("/api/v1/targets")
    return {t["labels"]["member"]: t["role"] for t in json.loads(body)["data"]["activeTargets"]
            if t["labels"].get("cluster") == cluster}


def decisions(exp, cluster):
    _, body = exp.get("/api/v1/decisions")
    return [d for d in json.loads(body)["data"]["decisions"] if d["cluster"] == cluster]


def firing(exp, alertname, cluster):
    _, body = exp.get("/api/v1/alerts")
    return [a for a in json.loads(body)["data"]["alerts"]
            if a["labels"]["alertname"] == alertname and a["labels"].get("cluster") == cluster
            and a["state"] == "firing"]


def other_leader(cluster, old):
    leader = cluster.leader()
    return leader if leader and leader != old else None


class PatroniFailoverTest(unittest.TestCase):
    def test_discovery_guard_and_provider(self):
        with TempDir() as tmp, contextlib.ExitStack() as stack:
            t0 = time.monotonic()
            etcd = Etcd(tmp).start()
            cluster = PatroniCluster(tmp, etcd, "pat", members=3)
            stack.callback(cluster.teardown)
            cluster.start()
            t_up = time.monotonic() - t0
            urls = [m.rest_url for m in cluster.members]
            trigger = ah.failover_trigger(
                name="patroni-pat", match='alertname="TestPrimaryLost", cluster="pat"',
                provider="patroni", url=urls[0], confirm_for="2s", timeout="60s")
            config = {
                "collection": {"interval": "1s"},
                "query_files": [os.path.join(SOURCE_DIR, "queries", "*.yml")],
                "targets": [],
                "discovery": {"patroni": [{
                    "cluster": "pat", "interval": "1s", "timeout": "1s", "urls": urls,
                    "targets": {"dsn": "user=postgres dbname=postgres sslmode=disable",
                                "password_env": "PGDR_PAT_PASSWORD"}}]},
                "rule_files": [ah.write_rules(tmp),
                               os.path.join(SOURCE_DIR, "rules", "availability.yml")],
                "evaluation_interval": "1s",
                "actions": {"dry_run": False, "triggers": [trigger]},
            }
            exp = Exporter(tmp, config, env={"PGDR_PAT_PASSWORD": SECRET}).start()

            # 1. Discovery: three targets with the roles PostgreSQL reports,
            # and pgdr_patroni_* equal to patronictl list.
            leader = cluster.leader()
            want_roles = {m.name: "primary" if m.name == leader else "replica"
                          for m in cluster.members}
            wait_until(lambda: target_roles(exp, "pat") == want_roles, timeout=30, interval=0.5,
                       what=f"discovered targets {want_roles}")
            t_discovered = time.monotonic() - t0

            def matching():
                want = patronictl_view(cluster.list())
                got = pgdr_view(exp, "pat")
                return got if want == got and len(want) == 3 else None
            got = wait_until(matching, timeout=30, interval=1,
                             what="pgdr_patroni_* equal to patronictl list")
            print(f"\npatroni up in {t_up:.1f}s; 3 targets discovered at {t_discovered:.1f}s "
                  f"{json.dumps(want_roles, sort_keys=True)}; pgdr == patronictl list: "
                  f"{json.dumps(got, sort_keys=True)}")
            self.assertEqual(exp.value("pgdr_up", cluster="pat", member=leader), 1.0)

            # 2. Patroni healthy, not paused: it fails over, pgdr refuses.
            old = leader
            t_kill = time.monotonic()
            cluster.member(old).kill()
            refused = wait_until(
                lambda: [d for d in decisions(exp, "pat") if d["reason"] == "patroni_manages"],
                timeout=30, interval=0.3, what="pgdr's failover refused: patroni_manages")
            t_refused = time.monotonic() - t_kill
            self.assertEqual(refused[0]["result"], "refused")
            self.assertEqual(refused[0]["alertname"], "TestPrimaryLost")
            self.assertIn("not paused", refused[0]["summary"])
            paged = bool(firing(exp, "TestPrimaryLost", "pat"))
            new = wait_until(lambda: other_leader(cluster, old), timeout=60, interval=0.5,
                             what="Patroni electing a new leader")
            t_patroni = time.monotonic() - t_kill
            wait_until(lambda: firing(exp, "PostgresFailoverOccurred", "pat"), timeout=40,
                       interval=1, what="PostgresFailoverOccurred firing")
            t_alert = time.monotonic() - t_kill
            self.assertTrue(paged, "TestPrimaryLost (the page) was not firing at the refusal")
            self.assertGreaterEqual(ah.failover_count(exp, "refused", cluster="pat"), 1)
            self.assertEqual(ah.failover_count(exp, "success", cluster="pat"), 0)
            self.assertEqual(ah.failover_count(exp, "failed", cluster="pat"), 0)
            self.assertFalse([d for d in decisions(exp, "pat") if d["result"] == "started"])
            self.assertRegex(exp.log(), r'msg="failover refused".*reason=patroni_manages')
            print(f"kill -9 {old} (not paused): pgdr refused (patroni_manages) at "
                  f"{t_refused:.1f}s while TestPrimaryLost fired, Patroni elected {new} at "
                  f"{t_patroni:.1f}s, PostgresFailoverOccurred firing at {t_alert:.1f}s")

            # The dead member leaves /cluster (its key's TTL): its target goes;
            # restarted, it rejoins and its target comes back.
            wait_until(lambda: old not in target_roles(exp, "pat"), timeout=60, interval=0.5,
                       what=f"target {old} removed after it left /cluster")
            t_removed = time.monotonic() - t_kill
            cluster.member(old).start()
            cluster.wait_healthy(2, timeout=120)
            wait_until(lambda: target_roles(exp, "pat").get(old) == "replica", timeout=60,
                       interval=0.5, what=f"target {old} back as a replica")
            t_back = time.monotonic() - t_kill
            print(f"target {old} removed at {t_removed:.1f}s, back as a replica at {t_back:.1f}s")

            # 3. Paused: Patroni leaves it to us; pgdr's guarded failover goes
            # through the patroni provider.
            cluster.patronictl("pause", "--wait")
            wait_until(lambda: exp.value("pgdr_patroni_paused", cluster="pat") == 1.0,
                       timeout=20, interval=0.5, what="pgdr_patroni_paused 1")
            old2 = cluster.leader()
            t_kill2 = time.monotonic()
            cluster.member(old2).kill()
            wait_until(lambda: ah.failover_count(exp, "success", cluster="pat") >= 1, timeout=90,
                       interval=0.5, what="pgdr's failover through the patroni provider")
            t_pgdr = time.monotonic() - t_kill2
            done = [d for d in decisions(exp, "pat") if d["result"] == "success"]
            candidate = done[0]["evidence"]["candidate"]
            self.assertNotEqual(candidate, old2)
            self.assertEqual(done[0]["evidence"]["provider"], "patroni")
            rows = cluster.list()
            leaders = [r["Member"] for r in rows if r["Role"] == "Leader"]
            self.assertEqual(leaders, [candidate], rows)
            self.assertTrue(all(r["State"] == "running" for r in rows
                                if r["Member"] == candidate), rows)
            started = re.search(r'msg="failover started".*candidate=' + re.escape(candidate),
                                exp.log())
            self.assertIsNotNone(started)
            self.assertEqual(ah.failover_count(exp, "success", cluster="pat"), 1)
            print(f"paused, kill -9 {old2}: pgdr promoted {candidate} through Patroni in "
                  f"{t_pgdr:.1f}s; patronictl list: "
                  f"{json.dumps([(r['Member'], r['Role'], r['State'], r['TL']) for r in rows])}")

            # The password given through the environment is never printed.
            for text in (exp.log(), exp.get("/api/v1/targets")[1], exp.get("/metrics")[1],
                         exp.get("/api/v1/decisions")[1]):
                self.assertNotIn(SECRET, text)


if __name__ == "__main__":
    unittest.main()
