"""Planned switchover and rejoin (issue 11, Must-show 3 and 4) on real servers:
PostgreSQL 15 clusters, a real PgBouncer, `pgdr_exporter switchover` and
`pgdr_exporter rejoin` run as the data directories' owner."""

import json
import os
import signal
import subprocess
import threading
import time
import unittest

import harness
from harness import PG_BIN, PgBouncer, PgCluster, TempDir, as_pg_user, wait_until


def write_config(tmp, cluster, bouncer=None):
    """The cluster's targets with their control sections (data dir, tools, log)."""
    cfg = cluster.exporter_config()
    for target, node in zip(cfg["targets"], cluster.members):
        target["control"] = {"data_dir": node.datadir, "bin_dir": PG_BIN, "log_file": node.logfile}
    if bouncer:
        cfg["pgbouncers"] = [{"name": bouncer.name, "cluster": cluster.name,
                              "dsn": bouncer.admin_dsn, "databases_file": bouncer.databases_file}]
    path = os.path.join(tmp.path, f"{cluster.name}.yml")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def pgdr(*args, timeout=240):
    """Runs pgdr_exporter as the postgres user (pg_ctl and pg_rewind refuse root)."""
    r = subprocess.run(as_pg_user([harness.EXPORTER] + list(args)), capture_output=True, text=True,
                       timeout=timeout)
    print(f"$ pgdr_exporter {' '.join(args)}  (exit {r.returncode})\n{r.stdout}", flush=True)
    if r.returncode not in (0, 1):
        print(r.stderr, flush=True)
    return r


def streaming_names(node):
    return set(node.sql("SELECT application_name FROM pg_stat_replication "
                        "WHERE state = 'streaming'").split())


class Writer(threading.Thread):
    """Inserts numbered rows through PgBouncer, one psql per transaction,
    retrying with the next number on error; records acknowledged commits."""

    def __init__(self, bouncer):
        super().__init__(daemon=True)
        self.bouncer = bouncer
        self.acked = []  # (id, monotonic time of the acknowledgement)
        self.errors = 0
        self.stop = threading.Event()

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            r = subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(self.bouncer.port),
                                "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                                "-qAtc", f"INSERT INTO t (id) VALUES ({n})"],
                               capture_output=True, text=True, timeout=60)
            if r.returncode == 0:
                self.acked.append((n, time.monotonic()))
            else:
                self.errors += 1
                time.sleep(0.02)

    def max_gap(self):
        times = [t for _, t in self.acked]
        return max((b - a for a, b in zip(times, times[1:])), default=0.0)


class SwitchoverTest(unittest.TestCase):
    def test_switchover_under_write_load_loses_nothing(self):
        """Must-show 3."""
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "sw", replicas=2, extra_conf="wal_log_hints = on")
            cluster.start()
            old, new, other = cluster.primary, cluster.replicas[0], cluster.replicas[1]
            old.sql("CREATE TABLE t (id int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())")
            bouncer = PgBouncer(tmp, old, name="edge").start()
            config = write_config(tmp, cluster, bouncer)

            writer = Writer(bouncer)
            writer.start()
            try:
                wait_until(lambda: len(writer.acked) >= 30, timeout=30, what="writes flowing")
                r = pgdr("switchover", f"--config.file={config}", "--cluster", "sw", "--to", new.name,
                         "--timeout", "30s")
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn("switchover result=success", r.stdout)
                acked_at_end = len(writer.acked)
                wait_until(lambda: len(writer.acked) >= acked_at_end + 30, timeout=30,
                           what="writes through PgBouncer after the switchover")
            finally:
                writer.stop.set()
                writer.join(timeout=60)

            self.assertEqual(new.sql("SELECT pg_is_in_recovery()"), "f")
            self.assertEqual(old.sql("SELECT pg_is_in_recovery()"), "t")
            acked = {n for n, _ in writer.acked}
            on_new = {int(x) for x in new.sql("SELECT id FROM t").split()}
            lost = acked - on_new
            self.assertEqual(lost, set(), f"{len(lost)} acknowledged transactions lost")
            # The old primary and the other replica stream from the new primary.
            wait_until(lambda: {old.name, other.name} <= streaming_names(new), timeout=30,
                       what="old primary and other replica streaming from the new primary")
            wait_until(lambda: old.sql("SELECT count(*) FROM t") == new.sql("SELECT count(*) FROM t"),
                       timeout=30, what="old primary replaying the new primary's rows")
            gap = writer.max_gap()
            print(f"MUST-SHOW 3: {len(acked)} acknowledged commits, {len(lost)} lost, "
                  f"{writer.errors} client errors, max gap between acknowledged commits "
                  f"{gap:.3f}s; pg_stat_replication on {new.name}: {sorted(streaming_names(new))}",
                  flush=True)
            self.assertLessEqual(gap, 3.0)

    def test_switchover_aborts_when_candidate_disconnected_or_behind(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "ab", replicas=1, extra_conf="wal_log_hints = on")
            cluster.start()
            primary, replica = cluster.primary, cluster.replicas[0]
            primary.sql("CREATE TABLE t (id int PRIMARY KEY)")
            bouncer = PgBouncer(tmp, primary, name="edge").start()
            config = write_config(tmp, cluster, bouncer)
            conninfo = replica.sql("SHOW primary_conninfo")

            # Disconnected: refused before anything changes.
            replica.sql("ALTER SYSTEM SET primary_conninfo = ''")
            replica.sql("SELECT pg_reload_conf()")
            wait_until(lambda: streaming_names(primary) == set(), timeout=20, what="replica cut off")
            r = pgdr("switchover", f"--config.file={config}", "--cluster", "ab", "--timeout", "10s")
            self.assertEqual(r.returncode, 1)
            self.assertIn("result=refused", r.stdout)
            self.assertIn("no replica streams from the primary", r.stdout)
            bouncer.sql("INSERT INTO t VALUES (1)")
            self.assertEqual(primary.sql("SELECT pg_is_in_recovery()"), "f")

            # Behind (replay paused): the old primary was stopped, the candidate
            # never replays its final LSN, the switchover aborts and undoes.
            replica.sql(f"ALTER SYSTEM SET primary_conninfo = '{conninfo}'")
            replica.sql("SELECT pg_reload_conf()")
            wait_until(lambda: replica.name in streaming_names(primary), timeout=20,
                       what="replica streaming again")
            replica.sql("SELECT pg_wal_replay_pause()")
            r = pgdr("switchover", f"--config.file={config}", "--cluster", "ab", "--timeout", "5s")
            self.assertEqual(r.returncode, 1)
            self.assertIn("result=aborted", r.stdout)
            self.assertIn("fell behind", r.stdout)
            self.assertIn("step stop_old_primary ok", r.stdout)
            self.assertIn("step restart_old_primary ok", r.stdout)
            self.assertEqual(primary.sql("SELECT pg_is_in_recovery()"), "f")
            self.assertEqual(replica.sql("SELECT pg_is_in_recovery()"), "t")
            bouncer.sql("INSERT INTO t VALUES (2)")  # through PgBouncer, on the old primary
            self.assertEqual(primary.sql("SELECT count(*) FROM t"), "2")
            replica.sql("SELECT pg_wal_replay_resume()")
            wait_until(lambda: replica.sql("SELECT count(*) FROM t") == "2", timeout=30,
                       what="replica following the old primary again")


class RejoinTest(unittest.TestCase):
    def _diverged_failover(self, tmp, name, extra_conf):
        """A real failover whose old primary has writes the replica never got."""
        cluster = PgCluster(tmp, name, replicas=1, extra_conf=extra_conf)
        cluster.start()
        old, new = cluster.primary, cluster.replicas[0]
        old.sql("CREATE TABLE t (id int PRIMARY KEY)")
        old.sql("INSERT INTO t SELECT generate_series(1, 100)")
        wait_until(lambda: new.sql("SELECT count(*) FROM t") == "100", timeout=30, what="replicated")
        new.sql("ALTER SYSTEM SET primary_conninfo = ''")
        new.sql("SELECT pg_reload_conf()")
        wait_until(lambda: streaming_names(old) == set(), timeout=20, what="replication stopped")
        old.sql("INSERT INTO t SELECT generate_series(101, 200)")  # never reaches the replica
        os.killpg(old.pid(), signal.SIGKILL)  # the postmaster leads its process group
        wait_until(lambda: subprocess.run(as_pg_user([f"{PG_BIN}/pg_ctl", "status", "-D", old.datadir]),
                                          capture_output=True).returncode == 3,
                   timeout=20, what="old primary dead")
        new.promote()
        new.sql("INSERT INTO t SELECT generate_series(1001, 1010)")
        return cluster, old, new

    def test_rejoin_rewinds_diverged_old_primary(self):
        """Must-show 4."""
        with TempDir() as tmp:
            cluster, old, new = self._diverged_failover(tmp, "rj", "wal_log_hints = on")
            config = write_config(tmp, cluster)
            r = pgdr("rejoin", f"--config.file={config}", "--cluster", "rj", "--member", old.name,
                     f"--data-dir={old.datadir}", "--timeout", "60s")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("rejoin result=success", r.stdout)
            self.assertIn("rewind=pg_rewind", r.stdout)
            self.assertIn("servers diverged at WAL location", r.stdout)
            self.assertIn(old.name, streaming_names(new))
            self.assertEqual(old.sql("SELECT pg_is_in_recovery()"), "t")
            wait_until(lambda: old.sql("SELECT count(*) FROM t WHERE id > 1000") == "10", timeout=30,
                       what="old primary replaying the new primary's rows")
            self.assertEqual(old.sql("SELECT count(*) FROM t WHERE id BETWEEN 101 AND 200"), "0")
            self.assertEqual(old.sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM t"),
                             new.sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM t"))
            print(f"MUST-SHOW 4: pg_rewind path taken; pg_stat_replication on {new.name}: "
                  f"{sorted(streaming_names(new))}; rows 101-200 written only on the old primary "
                  f"now on it: {old.sql('SELECT count(*) FROM t WHERE id BETWEEN 101 AND 200')}",
                  flush=True)

    def test_rejoin_refuses_when_rewind_impossible(self):
        with TempDir() as tmp:
            cluster, old, new = self._diverged_failover(tmp, "nr", "")  # no wal_log_hints, no checksums
            config = write_config(tmp, cluster)
            r = pgdr("rejoin", f"--config.file={config}", "--cluster", "nr", "--member", old.name)
            self.assertEqual(r.returncode, 1)
            self.assertIn("rejoin result=refused", r.stdout)
            self.assertIn("wal_log_hints", r.stdout)
            # Never started again: neither as a second primary nor as a standby.
            st = subprocess.run(as_pg_user([f"{PG_BIN}/pg_ctl", "status", "-D", old.datadir]),
                                capture_output=True)
            self.assertEqual(st.returncode, 3)
            self.assertEqual(streaming_names(new), set())


if __name__ == "__main__":
    unittest.main()
