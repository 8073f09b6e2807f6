"""Native logical replication and pglogical between two real instances: the
subscription metrics, and the lag in bytes equal to psql's while the
subscriber is paused (issue 15, must-show 2)."""

import os
import unittest

from harness import SOURCE_DIR, Exporter, PgNode, TempDir, wait_until

CONF = "\n".join([
    "wal_level = logical", "max_wal_senders = 10", "max_replication_slots = 10",
    "max_worker_processes = 16", "shared_preload_libraries = 'pglogical'",
    "track_commit_timestamp = on", "fsync = off", "shared_buffers = '32MB'",
    "wal_retrieve_retry_interval = '1s'", "log_min_messages = warning",
])


class LogicalReplicationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir().__enter__()
        cls.pub = PgNode(cls.tmp, "lpub")
        cls.sub = PgNode(cls.tmp, "lsub")
        for node in (cls.pub, cls.sub):
            node.initdb(CONF)
            node.start()
            node.sql("CREATE TABLE t (id int PRIMARY KEY, pad text)")
            node.sql("CREATE DATABASE plg")
            node.sql("CREATE EXTENSION pglogical", db="plg")
            node.sql("CREATE TABLE p (id int PRIMARY KEY, pad text)", db="plg")
        pub_dsn = f"host=127.0.0.1 port={cls.pub.port} user=postgres"
        cls.pub.sql("CREATE PUBLICATION pub1 FOR TABLE t")
        cls.sub.sql(f"CREATE SUBSCRIPTION sub1 CONNECTION '{pub_dsn} dbname=postgres'"
                    " PUBLICATION pub1")
        cls.pub.sql(f"SELECT pglogical.create_node(node_name := 'prov',"
                    f" dsn := '{pub_dsn} dbname=plg')", db="plg")
        cls.pub.sql("SELECT pglogical.replication_set_add_table('default', 'p')", db="plg")
        cls.sub.sql(f"SELECT pglogical.create_node(node_name := 'subnode',"
                    f" dsn := 'host=127.0.0.1 port={cls.sub.port} user=postgres dbname=plg')",
                    db="plg")
        cls.sub.sql(f"SELECT pglogical.create_subscription(subscription_name := 'plsub',"
                    f" provider_dsn := '{pub_dsn} dbname=plg')", db="plg")
        wait_until(lambda: cls.sub.sql("SELECT status FROM pglogical.show_subscription_status()",
                                       db="plg") == "replicating", timeout=60,
                   what="pglogical replicating")
        cls.pub.sql("INSERT INTO t SELECT g, 'x' FROM generate_series(1, 10) g")
        cls.pub.sql("INSERT INTO p SELECT g, 'x' FROM generate_series(1, 10) g", db="plg")
        wait_until(lambda: cls.sub.sql("SELECT count(*) FROM t") == "10"
                   and cls.sub.sql("SELECT count(*) FROM p", db="plg") == "10",
                   timeout=60, what="both replicated")
        config = {
            "collection": {"interval": "1s"},
            "query_files": [os.path.join(SOURCE_DIR, "queries", "*.yml")],
            "targets": [{"cluster": "pub", "member": "lpub", "dsn": cls.pub.dsn},
                        {"cluster": "sub", "member": "lsub", "dsn": cls.sub.dsn}],
        }
        cls.exporter = Exporter(cls.tmp, config).start()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def lag_matches_psql(self, slot, db, labels):
        """The exporter's lag equals psql's, read on both sides of the scrape (one collection)."""
        sql = ("SELECT (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint"
               f" FROM pg_replication_slots WHERE slot_name = '{slot}'")
        seen = {}

        def agree():
            before = self.pub.sql(sql, db=db)
            got = self.exporter.value("pgdr_subscription_lag_bytes", member="lpub", **labels)
            after = self.pub.sql(sql, db=db)
            seen.update(before=before, got=got, after=after)
            return before == after and got is not None and got == float(after)
        wait_until(agree, timeout=30, interval=0.5, what=f"lag of {slot} == psql's ({seen})")
        return seen["got"]

    def test_1_native_paused_lag_equals_psql(self):
        self.sub.sql("ALTER SUBSCRIPTION sub1 DISABLE")
        wait_until(lambda: self.pub.sql("SELECT active FROM pg_replication_slots"
                                        " WHERE slot_name = 'sub1'") == "f",
                   timeout=30, what="sub1's walsender gone")
        self.pub.sql("INSERT INTO t SELECT g, repeat('y', 100) FROM generate_series(11, 2000) g")
        lag = self.lag_matches_psql("sub1", "postgres",
                                    {"subname": "sub1", "kind": "native", "provider": "postgres"})
        print(f"native sub1 paused: exporter lag_bytes={lag:.0f} (= psql)")
        self.assertGreater(lag, 1990 * 100)
        wait_until(lambda: self.exporter.value("pgdr_subscription_enabled", member="lsub",
                                               subname="sub1") == 0.0, timeout=10,
                   what="sub1 disabled")
        self.assertEqual(self.exporter.value("pgdr_subscription_worker_up", member="lsub",
                                             subname="sub1"), 0.0)
        self.assertEqual(self.exporter.value("pgdr_subscription_slot_active", member="lpub",
                                             slot_name="sub1"), 0.0)
        self.sub.sql("ALTER SUBSCRIPTION sub1 ENABLE")
        wait_until(lambda: self.sub.sql("SELECT count(*) FROM t") == "2000", timeout=60,
                   what="sub1 caught up")
        wait_until(lambda: self.exporter.value("pgdr_subscription_worker_up", member="lsub",
                                               subname="sub1") == 1.0, timeout=20,
                   what="sub1 worker up")
        self.lag_matches_psql("sub1", "postgres", {"subname": "sub1", "kind": "native"})

    def test_2_pglogical_paused_lag_equals_psql(self):
        slot = self.sub.sql("SELECT slot_name FROM pglogical.show_subscription_status()", db="plg")
        self.sub.sql("SELECT pglogical.alter_subscription_disable('plsub', true)", db="plg")
        wait_until(lambda: self.pub.sql("SELECT active FROM pg_replication_slots"
                                        f" WHERE slot_name = '{slot}'") == "f",
                   timeout=30, what="plsub's walsender gone")
        self.pub.sql("INSERT INTO p SELECT g, repeat('y', 100) FROM generate_series(11, 2000) g",
                     db="plg")
        labels = {"subname": "plsub", "provider": "prov", "kind": "pglogical", "datname": "plg"}
        lag = self.lag_matches_psql(slot, "plg", labels)
        print(f"pglogical plsub paused (slot {slot}): exporter lag_bytes={lag:.0f} (= psql)")
        self.assertGreater(lag, 1990 * 100)
        wait_until(lambda: self.exporter.value("pgdr_subscription_enabled", member="lsub",
                                               subname="plsub", provider="prov") == 0.0,
                   timeout=10, what="plsub disabled")
        self.sub.sql("SELECT pglogical.alter_subscription_enable('plsub', true)", db="plg")
        wait_until(lambda: self.exporter.value("pgdr_subscription_worker_up", member="lsub",
                                               subname="plsub") == 1.0, timeout=30,
                   what="plsub replicating")

    def test_3_apply_errors_counted_as_psql(self):
        self.sub.sql("INSERT INTO t VALUES (5000, 'conflict')")
        self.pub.sql("INSERT INTO t VALUES (5000, 'conflict')")
        sql = "SELECT apply_error_count FROM pg_stat_subscription_stats WHERE subname = 'sub1'"
        wait_until(lambda: int(self.sub.sql(sql)) > 0, timeout=30, what="an apply error")
        seen = {}

        def agree():
            before = self.sub.sql(sql)
            got = self.exporter.value("pgdr_subscription_apply_errors_total", member="lsub",
                                      subname="sub1")
            after = self.sub.sql(sql)
            seen.update(before=before, got=got, after=after)
            return before == after and got == float(after)
        wait_until(agree, timeout=30, interval=0.3, what=f"apply errors == psql's ({seen})")
        print(f"sub1 apply errors: exporter={seen['got']} psql={seen['after']}")
        self.sub.sql("DELETE FROM t WHERE id = 5000")

    def test_4_logical_collectors_have_no_errors(self):
        seen = 0
        for labels, value in self.exporter.samples("pgdr_collect_errors_total"):
            if labels["collector"].startswith("subscription"):
                seen += 1
                self.assertEqual(value, 0.0, labels)
        self.assertGreaterEqual(seen, 4)


if __name__ == "__main__":
    unittest.main()
