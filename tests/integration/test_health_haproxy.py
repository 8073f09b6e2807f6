"""Health endpoints for load balancers against a real HAProxy (issue 15, Must show 4).

A primary and two replicas; one pgdr watches all three; HAProxy checks
every server with `option httpchk` against pgdr's per-member URLs: the
write backend with /member/ha/<server>/primary, the read backend with
/member/ha/<server>/replica?lag=1MB, `inter 200ms fall 2 rise 2`. Which
servers HAProxy has UP comes from its stats socket; where connections land
comes from psql through HAProxy's frontends (pg_is_in_recovery(), port)."""

import json
import threading
import time
import unittest

from harness import Exporter, PgCluster, TempDir, run, wait_until
from haproxy_support import HAProxy

LAG_BOUND = 1024 * 1024  # ?lag=1MB


def through(port, query="SELECT pg_is_in_recovery(), current_setting('port')"):
    """One new connection through HAProxy's frontend on `port`."""
    out = run(["psql", "-X", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres",
               "-v", "ON_ERROR_STOP=1", "-Atc", query], timeout=30).stdout.strip()
    return out


def replay_lag_bytes(primary, replica):
    """psql's figure: the primary's current LSN minus the replica's replay LSN."""
    current = primary.sql("SELECT pg_current_wal_lsn()")
    return int(replica.sql(f"SELECT ('{current}'::pg_lsn - pg_last_wal_replay_lsn())::bigint"))


class HealthHAProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir().__enter__()
        cls.cluster = PgCluster(cls.tmp, "ha", replicas=2)
        cls.cluster.start()
        cls.primary = cls.cluster.primary
        cls.replicas = cls.cluster.replicas
        cls.primary.sql("CREATE TABLE filler (id bigint, pad text)")
        cls.exporter = Exporter(cls.tmp, cls.cluster.exporter_config(interval="250ms"),
                                mutating=False).start()
        nodes = cls.cluster.members
        cls.haproxy = HAProxy(cls.tmp, cls.exporter.port, {
            "write": ("/member/ha/%[srv_name]/primary", nodes),
            "read": (f"/member/ha/%[srv_name]/replica?lag={LAG_BOUND // 1024}kB", nodes),
        }).start()
        names = {n.name for n in cls.replicas}
        wait_until(lambda: cls.haproxy.up("write") == {cls.primary.name}
                   and cls.haproxy.up("read") == names, timeout=30, interval=0.1,
                   what="haproxy: primary UP for writes, both replicas UP for reads")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def port_of(self, node):
        return str(node.port)

    def test_1_writes_reach_only_the_primary_and_reads_only_replicas(self):
        self.assertEqual(self.haproxy.up("write"), {self.primary.name})
        self.assertEqual(self.haproxy.up("read"), {r.name for r in self.replicas})
        for _ in range(6):
            self.assertEqual(through(self.haproxy.ports["write"]), f"f|{self.primary.port}")
        through(self.haproxy.ports["write"], "INSERT INTO filler VALUES (1, 'through haproxy')")
        self.assertEqual(self.primary.sql("SELECT count(*) FROM filler WHERE id = 1"), "1")
        seen = {through(self.haproxy.ports["read"]) for _ in range(8)}
        self.assertEqual(seen, {f"t|{r.port}" for r in self.replicas})

    def test_2_a_replica_past_the_lag_bound_is_marked_down_then_up_after_resume(self):
        paused, other = self.replicas
        read = self.haproxy.ports["read"]
        paused.sql("SELECT pg_wal_replay_pause()")
        wait_until(lambda: paused.sql("SELECT pg_get_wal_replay_pause_state()") == "paused",
                   timeout=10, interval=0.05, what="replay paused")
        try:
            # One commit writes well past the bound (about 4 MB of WAL).
            self.primary.sql("INSERT INTO filler SELECT g, repeat('x', 200) "
                             "FROM generate_series(1, 15000) g")
            crossed = time.monotonic()
            lag = replay_lag_bytes(self.primary, paused)
            self.assertGreater(lag, LAG_BOUND)
            wait_until(lambda: self.haproxy.servers("read")[paused.name].startswith("DOWN"),
                       timeout=15, interval=0.02, what=f"haproxy marks {paused.name} DOWN")
            to_down = time.monotonic() - crossed
            # The other replica replays the same burst: it may be out briefly too.
            wait_until(lambda: self.haproxy.up("read") == {other.name}, timeout=15, interval=0.05,
                       what=f"haproxy: only {other.name} UP for reads")
            self.assertEqual(self.haproxy.up("write"), {self.primary.name})
            for _ in range(6):
                self.assertEqual(through(read), f"t|{other.port}")
            # pgdr's answer carries the lag psql measures (writes stopped,
            # replay paused: the figure holds still).
            lag = replay_lag_bytes(self.primary, paused)

            def answer():
                status, body = self.exporter.get(
                    f"/member/ha/{paused.name}/replica?lag={LAG_BOUND // 1024}kB")
                return status, json.loads(body)
            wait_until(lambda: answer()[1].get("lag_bytes") == replay_lag_bytes(self.primary, paused),
                       timeout=10, interval=0.1, what="pgdr's lag equal to psql's")
            status, body = answer()
            self.assertEqual(status, 503)
            self.assertEqual(body["role"], "replica")
            self.assertGreater(body["lag_bytes"], LAG_BOUND)
            self.assertEqual(self.exporter.get(f"/member/ha/{paused.name}/replica")[0], 200)
            self.assertEqual(self.exporter.get(f"/member/ha/{paused.name}/health")[0], 200)
        finally:
            paused.sql("SELECT pg_wal_replay_resume()")
        resumed = time.monotonic()
        wait_until(lambda: self.haproxy.servers("read")[paused.name] == "UP",
                   timeout=15, interval=0.02, what=f"haproxy marks {paused.name} UP")
        to_up = time.monotonic() - resumed
        print(f"\nlag bound crossed -> HAProxy DOWN: {to_down:.2f} s; "
              f"replay resumed -> HAProxy UP: {to_up:.2f} s (lag {lag} bytes > {LAG_BOUND})",
              flush=True)
        seen = {through(read) for _ in range(8)}
        self.assertEqual(seen, {f"t|{r.port}" for r in self.replicas})

    def test_3_endpoint_answers(self):
        get = self.exporter.get
        p, r1, _ = self.cluster.members
        status, body = get(f"/member/ha/{p.name}/primary")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["role"], "primary")
        self.assertEqual(get(f"/member/ha/{p.name}/replica")[0], 503)
        self.assertEqual(get(f"/member/ha/{p.name}/read-only")[0], 200)
        self.assertEqual(get(f"/member/ha/{r1.name}/primary")[0], 503)
        self.assertEqual(get(f"/member/ha/{r1.name}/read-only?lag=1h")[0], 200)
        self.assertEqual(get(f"/member/ha/nobody/health")[0], 404)
        self.assertEqual(get(f"/member/ha/{r1.name}/leader")[0], 404)
        self.assertEqual(get(f"/member/ha/{r1.name}/replica?lag=ten")[0], 400)
        # Un-prefixed: the member is named by the query (or --web.member);
        # ambiguous without it.
        self.assertEqual(get("/primary")[0], 400)
        self.assertEqual(get(f"/primary?cluster=ha&member={p.name}")[0], 200)
        self.assertEqual(get(f"/replica?member={r1.name}&lag=1GB")[0], 200)


class WebMemberTest(unittest.TestCase):
    def test_web_member_answers_the_unprefixed_checks(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "wm", replicas=1)
            cluster.start()
            p, r = cluster.members
            exp = Exporter(tmp, cluster.exporter_config(interval="250ms"), mutating=False,
                           args=[f"--web.member=wm/{r.name}"]).start()
            wait_until(lambda: exp.get("/replica")[0] == 200, timeout=10, what="/replica 200")
            self.assertEqual(exp.get("/primary")[0], 503)
            self.assertEqual(exp.get("/health")[0], 200)
            self.assertEqual(json.loads(exp.get("/read-only")[1])["member"], r.name)
            self.assertEqual(exp.get(f"/primary?member={p.name}")[0], 200)
            r.stop("immediate")
            wait_until(lambda: exp.get("/health")[0] == 503, timeout=10, what="/health 503")
            self.assertEqual(json.loads(exp.get("/health")[1])["state"], "unreachable")


if __name__ == "__main__":
    unittest.main()
