"""Exporter core against a real primary + 2 streaming replicas (issue 2).

Ground truth comes from psql on the same servers."""

import socket
import threading
import time
import unittest

from harness import Exporter, PgCluster, TempDir, wait_until


def wait_collected(exporter, members, after, timeout=15):
    """Waits until every member's last collection ended after `after` (Unix
    time; pgdr_collect_timestamp_seconds is set when a cycle ends)."""
    def done():
        return all((exporter.value("pgdr_collect_timestamp_seconds", member=m.name) or 0) > after
                   for m in members)
    wait_until(done, timeout=timeout, interval=0.1, what=f"collections ending after {after:.1f}")


class CollectionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir().__enter__()
        cls.cluster = PgCluster(cls.tmp, "core", replicas=2, archive_dir=True, region="eu-west")
        cls.cluster.start()
        cls.cluster.primary.sql("SELECT pg_create_physical_replication_slot('spare_slot', true)")
        config = cls.cluster.exporter_config(interval="1s")
        for t in config["targets"]:
            t["memory"] = {"local": True}
        cls.exporter = Exporter(cls.tmp, config).start()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def test_all_members_up_with_their_labels_and_roles(self):
        wait_until(lambda: len(self.exporter.samples("pgdr_up")) == 3, timeout=10, what="3 members")
        for node in self.cluster.members:
            samples = self.exporter.samples("pgdr_up", member=node.name)
            self.assertEqual(len(samples), 1, node.name)
            labels, value = samples[0]
            self.assertEqual(value, 1.0)
            self.assertEqual(labels, {"cluster": "core", "member": node.name, "region": "eu-west"})
            truth = 1.0 if node.sql("SELECT pg_is_in_recovery()") == "t" else 0.0
            self.assertEqual(self.exporter.value("pgdr_in_recovery", member=node.name), truth)
            self.assertEqual(self.exporter.value("pgdr_server_version_num", member=node.name),
                             float(node.sql("SHOW server_version_num")))
        scraped = {n for n, _, _ in self.exporter.scrape()}
        for forbidden in ("instance", "job"):
            for _, labels, _ in self.exporter.scrape():
                self.assertNotIn(forbidden, labels)
        for name in ("pgdr_timeline_id", "pgdr_max_connections", "pgdr_xid_age", "pgdr_connections",
                     "pgdr_setting", "pgdr_database_size_bytes", "pgdr_xact_commit_total",
                     "pgdr_replication_slot_active", "pgdr_wal_segments", "pgdr_wal_size_bytes",
                     "pgdr_probe_latency_seconds_bucket", "pgdr_collect_duration_seconds",
                     "pgdr_stat_replication_lag_bytes", "pgdr_wal_receiver_up",
                     "pgdr_memory_rss_bytes", "pgdr_memory_pss_bytes"):
            self.assertIn(name, scraped)
        # settings are in base units: shared_buffers = 32MB
        self.assertEqual(self.exporter.value("pgdr_setting", member="core-1", label_name="shared_buffers"),
                         32 * 1024 * 1024)
        self.assertEqual(self.exporter.value("pgdr_setting", member="core-1", label_name="checkpoint_timeout"),
                         float(self.cluster.primary.sql(
                             "SELECT setting FROM pg_settings WHERE name = 'checkpoint_timeout'")))

    def test_replication_slot_retained_bytes_equal_psql(self):
        primary = self.cluster.primary
        primary.sql("CREATE TABLE IF NOT EXISTS slot_test AS SELECT g FROM generate_series(1, 1000) g")

        def matches():
            truth = float(primary.sql("SELECT (pg_current_wal_lsn() - restart_lsn)::bigint "
                                      "FROM pg_replication_slots WHERE slot_name = 'spare_slot'"))
            got = self.exporter.value("pgdr_replication_slot_retained_bytes", member=primary.name,
                                      slot_name="spare_slot", slot_type="physical")
            return got == truth and truth > 0

        wait_until(matches, timeout=10, what="slot retained bytes == psql")
        self.assertEqual(self.exporter.value("pgdr_replication_slot_active", member=primary.name,
                                             slot_name="spare_slot"), 0.0)

    def test_local_memory_counts_the_postmaster_and_its_children(self):
        import os
        primary = self.cluster.primary
        pid = primary.pid()
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = f.read().split()
        processes = self.exporter.value("pgdr_processes", member=primary.name)
        # Our own backend and parallel workers come and go; the count is the postmaster's tree.
        self.assertLessEqual(abs(processes - (1 + len(children))), 2)
        rss = self.exporter.value("pgdr_memory_rss_bytes", member=primary.name)
        pss = self.exporter.value("pgdr_memory_pss_bytes", member=primary.name)
        page = os.sysconf("SC_PAGE_SIZE")
        with open(f"/proc/{pid}/statm") as f:
            postmaster_rss = int(f.read().split()[1]) * page
        self.assertGreater(rss, postmaster_rss)
        self.assertGreater(pss, 0)
        self.assertLessEqual(pss, rss)

    def test_paused_replica_lag_bytes_equals_lsn_difference_then_returns_to_zero(self):
        primary, replica = self.cluster.primary, self.cluster.replicas[1]
        replica.sql("SELECT pg_wal_replay_pause()")
        try:
            primary.sql("CREATE TABLE IF NOT EXISTS lag_test(i int, pad text)")
            primary.sql("INSERT INTO lag_test SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g")

            def matches_truth():
                truth = primary.lsn_bytes() - replica.lsn_bytes()
                got = self.exporter.value("pgdr_replication_lag_bytes", member=replica.name)
                return truth > 1_000_000 and got == truth

            wait_until(matches_truth, timeout=10, what="lag bytes == psql LSN difference")
            wait_until(lambda: self.exporter.value("pgdr_replication_lag_seconds", member=replica.name) > 0,
                       timeout=10, what="lag seconds > 0 while paused")
            # The other replica keeps up.
            wait_until(lambda: self.exporter.value("pgdr_replication_lag_bytes",
                                                   member=self.cluster.replicas[0].name) == 0,
                       timeout=10, what="unpaused replica at 0")
        finally:
            replica.sql("SELECT pg_wal_replay_resume()")
        wait_until(lambda: self.exporter.value("pgdr_replication_lag_bytes", member=replica.name) == 0,
                   timeout=15, what="lag bytes back to 0")
        wait_until(lambda: self.exporter.value("pgdr_replication_lag_seconds", member=replica.name) == 0,
                   timeout=15, what="lag seconds back to 0")

    def test_idle_primary_shows_no_growing_lag(self):
        # Collections 3 s from now: an idle primary's replicas still at 0.
        wait_collected(self.exporter, self.cluster.replicas, time.time() + 3)
        for r in self.cluster.replicas:
            self.assertEqual(self.exporter.value("pgdr_replication_lag_seconds", member=r.name), 0.0)

    def test_wal_lsn_advances_and_equals_psql(self):
        primary = self.cluster.primary
        before = self.exporter.value("pgdr_wal_lsn_bytes", member=primary.name)
        primary.sql("CREATE TABLE IF NOT EXISTS wal_test AS SELECT g FROM generate_series(1, 5000) g")
        wait_until(lambda: self.exporter.value("pgdr_wal_lsn_bytes", member=primary.name) ==
                   primary.lsn_bytes(), timeout=10, what="wal lsn == pg_current_wal_lsn")
        self.assertGreater(self.exporter.value("pgdr_wal_lsn_bytes", member=primary.name), before)

    def test_archiver_metrics_reflect_working_archive_command(self):
        primary = self.cluster.primary
        primary.sql("CREATE TABLE IF NOT EXISTS arch_test AS SELECT 1 AS i")
        primary.sql("SELECT pg_switch_wal()")
        wait_until(lambda: int(primary.sql("SELECT archived_count FROM pg_stat_archiver")) >= 1,
                   timeout=20, what="archive_command ran")

        def matches():
            truth_count = float(primary.sql("SELECT archived_count FROM pg_stat_archiver"))
            truth_time = float(primary.sql(
                "SELECT extract(epoch from last_archived_time) FROM pg_stat_archiver"))
            got_count = self.exporter.value("pgdr_archiver_archived_total", member=primary.name)
            got_time = self.exporter.value("pgdr_archiver_last_archived_timestamp_seconds",
                                           member=primary.name)
            return got_count == truth_count and abs(got_time - truth_time) < 1e-3

        wait_until(matches, timeout=10, what="archiver metrics == pg_stat_archiver")
        self.assertEqual(self.exporter.value("pgdr_archiver_failed_total", member=primary.name), 0.0)
        self.assertEqual(self.exporter.value("pgdr_wal_archive_ready_files", member=primary.name),
                         float(primary.sql(
                             "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'")))

    def test_one_persistent_connection_per_member(self):
        wait_collected(self.exporter, self.cluster.members, time.time() + 2)  # two more cycles
        for node in self.cluster.members:
            self.assertEqual(self.exporter.value("pgdr_connections_opened_total", member=node.name), 1.0)
            self.assertEqual(node.sql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgdr_exporter'"), "1")

    def test_one_round_trip_per_cycle_in_the_steady_state(self):
        wait_collected(self.exporter, self.cluster.members, time.time() + 2)  # two more cycles
        for node in self.cluster.members:
            self.assertEqual(self.exporter.value("pgdr_collect_round_trips", member=node.name), 1.0,
                             node.name)
        # The queries of each role still ran: replica-only and primary-only series where they belong.
        for node in self.cluster.replicas:
            self.assertEqual(self.exporter.value("pgdr_wal_receiver_up", member=node.name), 1.0)
        self.assertIsNotNone(self.exporter.value("pgdr_stat_replication_lag_bytes",
                                                 member=self.cluster.primary.name))

    def test_statements_prepared_once_per_connection_and_again_after_reconnect(self):
        primary = self.cluster.primary
        prepared = lambda: self.exporter.value("pgdr_statements_prepared_total", member=primary.name)
        opened = lambda: self.exporter.value("pgdr_connections_opened_total", member=primary.name)

        def query_errors():
            return sum(v for labels, v in self.exporter.samples("pgdr_collect_errors_total",
                                                                member=primary.name)
                       if labels["collector"] not in ("connect", "probe"))

        wait_until(lambda: (prepared() or 0) > 0, timeout=10, what="statements prepared")
        # The cycle that prepared them has ended, and one more.
        wait_collected(self.exporter, [primary], time.time() + 1)
        first, errors = prepared(), query_errors()
        wait_collected(self.exporter, [primary], time.time() + 2)  # executed, not prepared again
        self.assertEqual(prepared(), first)
        connections = opened()
        primary.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'pgdr_exporter'")
        wait_until(lambda: opened() == connections + 1 and prepared() > first, timeout=10,
                   what="reconnected and prepared again")
        wait_until(lambda: self.exporter.value("pgdr_up", member=primary.name) == 1.0, timeout=5)
        wait_collected(self.exporter, [primary], time.time() + 2)
        self.assertEqual(self.exporter.value("pgdr_up", member=primary.name), 1.0)
        self.assertEqual(query_errors(), errors)  # no query failed for want of its statement
        self.assertIsNotNone(self.exporter.value("pgdr_xid_age", member=primary.name))

    def test_targets_api_and_status_page(self):
        import json
        status, body = self.exporter.get("/api/v1/targets")
        self.assertEqual(status, 200)
        targets = json.loads(body)["data"]["activeTargets"]
        roles = {t["labels"]["member"]: t["role"] for t in targets}
        self.assertEqual(roles, {"core-1": "primary", "core-2": "replica", "core-3": "replica"})
        status, page = self.exporter.get("/")
        self.assertEqual(status, 200)
        self.assertIn("core-2", page)
        self.assertIn("replica", page)


class HungTcpServer:
    """Accepts TCP connections and never answers: the worst kind of target."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.sock.settimeout(0.5)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except OSError:
                continue

    def close(self):
        self.stop = True
        for c in self.conns:
            c.close()
        self.sock.close()


class FailureTest(unittest.TestCase):
    """A dead primary and a hung member must not disturb the others."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir().__enter__()
        cls.cluster = PgCluster(cls.tmp, "fail", replicas=2)
        cls.cluster.start()
        cls.hung = HungTcpServer()
        config = cls.cluster.exporter_config(interval="1s")
        config["collection"]["target_deadline"] = "800ms"
        config["targets"].append({"cluster": "other", "member": "hung",
                                  "dsn": f"host=127.0.0.1 port={cls.hung.port} user=postgres "
                                         "dbname=postgres sslmode=disable"})
        cls.exporter = Exporter(cls.tmp, config).start()

    @classmethod
    def tearDownClass(cls):
        cls.hung.close()
        cls.tmp.__exit__(None, None, None)

    def timestamps(self, nodes):
        return {n.name: self.exporter.value("pgdr_collect_timestamp_seconds", member=n.name) for n in nodes}

    def test_1_hung_target_does_not_slow_the_others(self):
        wait_until(lambda: self.exporter.value("pgdr_up", member="hung") == 0.0, timeout=10,
                   what="hung target reported down")
        # Every collection end each member is seen at (polled at 20 Hz, cycles are 1 s).
        seen = {name: [ts] for name, ts in self.timestamps(self.cluster.members).items()}

        def three_more_cycles():
            for name, ts in self.timestamps(self.cluster.members).items():
                if ts != seen[name][-1]:
                    seen[name].append(ts)
            return all(len(v) >= 4 for v in seen.values())
        wait_until(three_more_cycles, timeout=15, interval=0.05, what="three more cycles per member")
        for name, ts in seen.items():
            # Collected every second although the hung member eats its whole
            # 800 ms deadline each cycle: held up by it, a cycle would be >= 1.8 s.
            period = (ts[-1] - ts[1]) / (len(ts) - 2)
            self.assertLess(period, 1.4, f"{name}: cycle ends {ts}")
            duration = self.exporter.value("pgdr_collect_cycle_duration_seconds", member=name)
            self.assertLess(duration, 0.3, name)
        self.assertGreater(len(self.hung.conns), 0)
        started = time.monotonic()
        self.assertEqual(self.exporter.get("/metrics")[0], 200)
        self.assertLess(time.monotonic() - started, 0.25)

    def test_2_killed_primary_goes_down_within_one_interval_replicas_keep_updating(self):
        primary = self.cluster.primary
        wait_until(lambda: self.exporter.value("pgdr_up", member=primary.name) == 1.0, timeout=10)
        before = self.timestamps(self.cluster.replicas)
        primary.stop("immediate")
        killed = time.monotonic()
        wait_until(lambda: self.exporter.value("pgdr_up", member=primary.name) == 0.0, timeout=5,
                   interval=0.05, what="pgdr_up 0 after kill")
        # One interval (1s) plus one composition gap.
        self.assertLess(time.monotonic() - killed, 1.5)
        # Scrapes stay fast while the replicas keep being collected (at least 10).
        scrapes = []

        def replicas_collected():
            started = time.monotonic()
            status, _ = self.exporter.get("/metrics")
            scrapes.append((status, time.monotonic() - started))
            after = self.timestamps(self.cluster.replicas)
            return len(scrapes) >= 10 and all(after[n] > before[n] + 1.0 for n in before)
        wait_until(replicas_collected, timeout=15, interval=0.2,
                   what="replicas collected after the primary's kill")
        self.assertEqual({status for status, _ in scrapes}, {200})
        self.assertLess(max(seconds for _, seconds in scrapes), 0.25)
        for name in before:
            self.assertEqual(self.exporter.value("pgdr_up", member=name), 1.0)
        # Replicas lost their upstream: the WAL receivers say so.
        wait_until(lambda: all(self.exporter.value("pgdr_wal_receiver_up", member=r.name) == 0.0
                               for r in self.cluster.replicas), timeout=15, what="wal receivers down")
        self.assertIn("fail-1", self.exporter.get("/api/v1/targets")[1])


if __name__ == "__main__":
    unittest.main()
