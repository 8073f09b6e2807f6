"""Lag-aware read pool through a real PgBouncer (issue 15, Must show 5).

A primary and two replicas, one PgBouncer whose `reads` database pgdr keeps
pointed at a fresh replica (read_pool: max_lag_bytes 1MB, readmit below
64kB for 2s). Where reads land is read through the pooler itself
(current_setting('port') of the server that answered)."""

import os
import shutil
import time
import unittest

from harness import AS_ROOT, PG_USER, Exporter, PgBouncer, PgCluster, TempDir, run, wait_until

MAX_LAG = 1024 * 1024
READMIT_AFTER = 2.0
INTERVAL = 0.25


class ReadPoolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir().__enter__()
        cls.cluster = PgCluster(cls.tmp, "rp", replicas=2)
        cls.cluster.start()
        cls.primary = cls.cluster.primary
        cls.primary.sql("CREATE TABLE filler (id bigint, pad text)")
        cls.bouncer = PgBouncer(cls.tmp, cls.primary)
        with open(cls.bouncer.databases_file, "w") as f:
            f.write(f"postgres = host=127.0.0.1 port={cls.primary.port} dbname=postgres\n"
                    f"reads = host=127.0.0.1 port={cls.primary.port} dbname=postgres\n")
        if AS_ROOT:
            shutil.chown(cls.bouncer.databases_file, PG_USER, PG_USER)
        cls.bouncer.start()
        config = cls.cluster.exporter_config(interval=f"{int(INTERVAL * 1000)}ms")
        config["pgbouncers"] = [{
            "name": "pooler", "cluster": "rp", "dsn": cls.bouncer.admin_dsn,
            "databases_file": cls.bouncer.databases_file,
            "read_pool": {"database": "reads", "max_lag_bytes": "1MB",
                          "readmit_lag_bytes": "64kB", "readmit_after": "2s"},
        }]
        cls.exporter = Exporter(cls.tmp, config, mutating=False).start()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def read_port(self):
        """The port of the server a read through the pooler reached."""
        return int(run(["psql", "-X", "-h", "127.0.0.1", "-p", str(self.bouncer.port), "-U",
                        "postgres", "-d", "reads", "-Atc", "SELECT current_setting('port')"],
                       timeout=30).stdout.strip())

    def node_at(self, port):
        return next(n for n in self.cluster.members if n.port == port)

    def admitted(self, member):
        return self.exporter.value("pgdr_read_pool_member_admitted", member=member,
                                   database="reads", pgbouncer="pooler")

    def test_reads_leave_a_lagging_replica_and_it_is_readmitted_after_the_hysteresis(self):
        replica_ports = {r.port for r in self.cluster.replicas}
        wait_until(lambda: self.read_port() in replica_ports, timeout=20, interval=0.1,
                   what="reads through the pooler reach a replica")
        first = self.node_at(self.read_port())
        other = next(r for r in self.cluster.replicas if r is not first)
        # The metric follows the repoint at the next snapshot.
        wait_until(lambda: self.exporter.value("pgdr_read_pool_target", member=first.name) == 1.0,
                   timeout=5, interval=0.1, what=f"pgdr_read_pool_target names {first.name}")
        wait_until(lambda: self.admitted(first.name) == 1.0 and self.admitted(other.name) == 1.0,
                   timeout=20, interval=0.1, what="both replicas admitted")
        self.assertIsNone(self.admitted(self.primary.name))
        changes_before = self.exporter.value("pgdr_read_pool_changes_total", database="reads")
        with open(self.bouncer.databases_file) as f:
            self.assertIn(f"reads = host=127.0.0.1 port={first.port} dbname=postgres", f.read())

        first.sql("SELECT pg_wal_replay_pause()")
        wait_until(lambda: first.sql("SELECT pg_get_wal_replay_pause_state()") == "paused",
                   timeout=10, interval=0.05, what="replay paused")
        try:
            self.primary.sql("INSERT INTO filler SELECT g, repeat('x', 200) "
                             "FROM generate_series(1, 15000) g")
            crossed = time.monotonic()
            current = self.primary.sql("SELECT pg_current_wal_lsn()")
            lag = int(first.sql(f"SELECT ('{current}'::pg_lsn - pg_last_wal_replay_lsn())::bigint"))
            self.assertGreater(lag, MAX_LAG)
            wait_until(lambda: self.read_port() != first.port, timeout=15, interval=0.02,
                       what="reads rerouted away from the paused replica")
            to_reroute = time.monotonic() - crossed
            # The other replica replays the same burst: while it catches up the
            # pool may fall back to the primary; never to the paused one.
            for _ in range(5):
                self.assertNotEqual(self.read_port(), first.port)
            wait_until(lambda: self.read_port() == other.port, timeout=15, interval=0.05,
                       what=f"reads on {other.name}")
            self.assertEqual(self.admitted(first.name), 0.0)
            self.assertGreaterEqual(
                self.exporter.value("pgdr_read_pool_changes_total", database="reads"),
                changes_before + 1)
            self.assertIn("read pool repointed", self.exporter.log())
            with open(self.bouncer.databases_file) as f:
                self.assertIn(f"reads = host=127.0.0.1 port={other.port} dbname=postgres", f.read())
            status, page = self.exporter.get("/?refresh=0")
            self.assertEqual(status, 200)
            self.assertIn("<h3>Read pools</h3>", page)
            self.assertIn(f"<td>reads</td><td>{other.name}</td><td>{other.name}</td>"
                          f"<td>{first.name}</td>", page)
        finally:
            first.sql("SELECT pg_wal_replay_resume()")
        resumed = time.monotonic()
        wait_until(lambda: self.admitted(first.name) == 1.0, timeout=20, interval=0.05,
                   what=f"{first.name} readmitted")
        to_readmit = time.monotonic() - resumed
        # Readmitted, but the pooler stays on the healthy replica it has (no flapping).
        self.assertEqual(self.read_port(), other.port)
        self.assertGreaterEqual(to_readmit, READMIT_AFTER)
        # The readmitted replica serves again once the other one lags.
        other.sql("SELECT pg_wal_replay_pause()")
        try:
            self.primary.sql("INSERT INTO filler SELECT g, repeat('y', 200) "
                             "FROM generate_series(1, 15000) g")
            wait_until(lambda: self.read_port() == first.port, timeout=15, interval=0.02,
                       what="reads back on the readmitted replica")
        finally:
            other.sql("SELECT pg_wal_replay_resume()")
        print(f"\nlag bound crossed -> reads rerouted: {to_reroute:.2f} s (interval {INTERVAL} s); "
              f"replay resumed -> readmitted: {to_readmit:.2f} s (readmit_after {READMIT_AFTER} s)",
              flush=True)

    def test_both_replicas_lagging_falls_back_to_the_primary(self):
        replica_ports = {r.port for r in self.cluster.replicas}
        wait_until(lambda: self.read_port() in replica_ports, timeout=20, interval=0.1,
                   what="reads on a replica")
        for r in self.cluster.replicas:
            r.sql("SELECT pg_wal_replay_pause()")
        try:
            self.primary.sql("INSERT INTO filler SELECT g, repeat('z', 200) "
                             "FROM generate_series(1, 15000) g")
            wait_until(lambda: self.read_port() == self.primary.port, timeout=15, interval=0.05,
                       what="reads fall back to the primary")
        finally:
            for r in self.cluster.replicas:
                r.sql("SELECT pg_wal_replay_resume()")
        wait_until(lambda: self.read_port() in replica_ports, timeout=20, interval=0.1,
                   what="reads back on a replica after the hysteresis")


if __name__ == "__main__":
    unittest.main()
