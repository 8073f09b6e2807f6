"""Real Patroni 3.x + etcd (patroni_support): pgdr_patroni_* match
`patronictl list` (role, state, timeline, lag); a kill -9 of the leader's
Patroni and PostgreSQL: Patroni fails over, pgdr_patroni_* follow it and
pgdr's evaluator fires PostgresFailoverOccurred. Timings are printed."""

import contextlib
import json
import os
import time
import unittest

from harness import SOURCE_DIR, Exporter, TempDir, wait_until
from patroni_support import Etcd, PatroniCluster, patronictl_view, pgdr_view


class PatroniTest(unittest.TestCase):
    def test_metrics_match_patronictl_and_follow_a_failover(self):
        # The ExitStack unwinds first: Patroni and its PostgreSQL are killed
        # before TempDir removes their directories.
        with TempDir() as tmp, contextlib.ExitStack() as stack:
            t0 = time.monotonic()
            etcd = Etcd(tmp).start()
            cluster = PatroniCluster(tmp, etcd, "pat", members=3)
            stack.callback(cluster.teardown)
            cluster.start()
            t_up = time.monotonic() - t0
            config = {
                "collection": {"interval": "1s"},
                "query_files": [os.path.join(SOURCE_DIR, "queries", "*.yml")],
                "targets": [{"cluster": "pat", "member": m.name, "dsn": m.dsn}
                            for m in cluster.members],
                "discovery": {"patroni": [{"cluster": "pat", "interval": "1s", "timeout": "1s",
                                           "urls": [m.rest_url for m in cluster.members]}]},
                "rule_files": [os.path.join(SOURCE_DIR, "rules", "availability.yml")],
                "evaluation_interval": "1s",
            }
            exp = Exporter(tmp, config).start()

            def matching():
                want = patronictl_view(cluster.list())
                got = pgdr_view(exp, "pat")
                return (want, got) if want == got and len(want) == 3 else None
            want, got = wait_until(matching, timeout=30, interval=1,
                                   what="pgdr_patroni_* equal to patronictl list")
            print(f"\npatroni up in {t_up:.1f}s; pgdr == patronictl list: {json.dumps(got, sort_keys=True)}")
            for m in cluster.members:
                self.assertEqual(exp.value("pgdr_patroni_up", cluster="pat", url=m.rest_url), 1.0)
            self.assertEqual(exp.value("pgdr_patroni_paused", cluster="pat"), 0.0)
            self.assertEqual(exp.value("pgdr_patroni_members", cluster="pat"), 3.0)
            seen = exp.value("pgdr_patroni_dcs_last_seen_timestamp_seconds", cluster="pat",
                             member=cluster.members[0].name)
            self.assertLess(abs(time.time() - seen), 30)

            old = cluster.leader()
            t_kill = time.monotonic()
            cluster.member(old).kill()
            new = wait_until(lambda: (lambda l: l if l and l != old else None)(cluster.leader()),
                             timeout=60, interval=0.5, what="Patroni electing a new leader")
            t_patroni = time.monotonic() - t_kill

            def pgdr_follows():
                got = pgdr_view(exp, "pat")
                m = got.get(new, {})
                return got if m.get("role") == "leader" and m.get("timeline") == 2 else None
            got = wait_until(pgdr_follows, timeout=30, interval=0.5, what="pgdr_patroni_role leader=new")
            t_pgdr = time.monotonic() - t_kill
            old_url = cluster.member(old).rest_url
            self.assertEqual(exp.value("pgdr_patroni_up", cluster="pat", url=old_url), 0.0)

            def firing():
                _, body = exp.get("/api/v1/alerts")
                return [a for a in json.loads(body)["data"]["alerts"]
                        if a["labels"]["alertname"] == "PostgresFailoverOccurred"
                        and a["labels"].get("cluster") == "pat" and a["state"] == "firing"]
            wait_until(firing, timeout=40, interval=1, what="PostgresFailoverOccurred firing")
            t_alert = time.monotonic() - t_kill
            print(f"kill -9 {old}: Patroni elected {new} in {t_patroni:.1f}s, pgdr_patroni_role "
                  f"showed it at {t_pgdr:.1f}s, PostgresFailoverOccurred firing at {t_alert:.1f}s; "
                  f"pgdr view {json.dumps(got, sort_keys=True)}")


if __name__ == "__main__":
    unittest.main()
