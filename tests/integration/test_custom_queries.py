"""Users' existing custom queries load unchanged (issue 2, must-show 5), and a
misbehaving user query never breaks the scrape."""

import os
import unittest

from harness import Exporter, PgCluster, TempDir, wait_until

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")


class CnpgCustomQueriesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir().__enter__()
        cls.cluster = PgCluster(cls.tmp, "cnpg", replicas=1, archive_dir=True)
        cls.cluster.start()
        config = cls.cluster.exporter_config(interval="1s")
        config["query_files"].append({"path": os.path.join(FIXTURES, "cnpg-custom-queries.yaml"),
                                      "metric_prefix": "cnpg_"})
        cls.exporter = Exporter(cls.tmp, config).start()
        wait_until(lambda: cls.exporter.value("cnpg_pg_replication_in_recovery", member="cnpg-2")
                   is not None, timeout=10, what="cnpg metrics")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def test_check_config_accepts_the_file(self):
        from harness import EXPORTER, run
        r = run([EXPORTER, "check-config", self.exporter.config_path])
        self.assertIn("SUCCESS", r.stdout)

    def test_metrics_appear_with_cnpg_names_and_values_from_psql(self):
        e, primary, replica = self.exporter, self.cluster.primary, self.cluster.replicas[0]
        self.assertEqual(e.value("cnpg_pg_replication_in_recovery", member=primary.name), 0.0)
        self.assertEqual(e.value("cnpg_pg_replication_in_recovery", member=replica.name), 1.0)
        self.assertEqual(e.value("cnpg_pg_replication_streaming_replicas", member=primary.name), 1.0)
        self.assertEqual(e.value("cnpg_pg_replication_is_wal_receiver_up", member=replica.name), 1.0)
        self.assertEqual(e.value("cnpg_pg_postmaster_start_time", member=primary.name),
                         float(primary.sql("SELECT EXTRACT(EPOCH FROM pg_postmaster_start_time())")))

    def test_primary_flag_restricts_to_the_primary(self):
        self.assertIsNone(self.exporter.value("cnpg_pg_postmaster_start_time", member="cnpg-2"))

    def test_predicate_query_skips_the_replica(self):
        self.assertIsNotNone(self.exporter.value("cnpg_pg_stat_archiver_archived_count", member="cnpg-1"))
        self.assertIsNone(self.exporter.value("cnpg_pg_stat_archiver_archived_count", member="cnpg-2"))

    def test_runonserver_and_query_level_name(self):
        # PostgreSQL 15: the ">=14 <17" variant runs, under the shared name pg_stat_bgwriter.
        # buffers_alloc moves while buffers are allocated; on this idle cluster it
        # settles, and then the exporter's value must be psql's exactly. Read
        # psql on both sides of the scrape so that a stale match cannot pass.
        def agree():
            before = self.cluster.primary.sql("SELECT buffers_alloc FROM pg_stat_bgwriter")
            got = self.exporter.value("cnpg_pg_stat_bgwriter_buffers_alloc", member="cnpg-1")
            after = self.cluster.primary.sql("SELECT buffers_alloc FROM pg_stat_bgwriter")
            return before == after and float(after) > 0 and got == float(after)
        wait_until(agree, timeout=30, interval=0.5, what="buffers_alloc == psql's")
        self.assertIsNone(self.exporter.value("cnpg_pg_stat_bgwriter_buffers_backend_fsync", member="cnpg-1"))

    def test_mapped_metric(self):
        self.assertEqual(self.exporter.value("cnpg_pg_database_state_state", member="cnpg-1",
                                             datname="postgres"), 1.0)
        self.assertEqual(self.exporter.value("cnpg_pg_database_state_state", member="cnpg-1",
                                             datname="template0"), 0.0)

    def test_no_collector_errors(self):
        for labels, value in self.exporter.samples("pgdr_collect_errors_total"):
            self.assertEqual(value, 0.0, labels)


class BadUserQueriesTest(unittest.TestCase):
    """A failing query, duplicate rows and a label explosion: counted, never a broken scrape."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir().__enter__()
        cls.cluster = PgCluster(cls.tmp, "bad", replicas=0)
        cls.cluster.start()
        path = os.path.join(cls.tmp.path, "bad-queries.yml")
        with open(path, "w") as f:
            f.write("""
broken:
  query: "SELECT no_such_column FROM pg_class"
  metrics:
    - no_such_column: {usage: GAUGE, description: never}
dupes:
  query: "SELECT 'same' AS l, g AS v FROM generate_series(1, 3) g"
  metrics:
    - l: {usage: LABEL, description: label}
    - v: {usage: GAUGE, description: value}
explosion:
  query: "SELECT g::text AS id, g AS v FROM generate_series(1, 500) g"
  metrics:
    - id: {usage: LABEL, description: label}
    - v: {usage: GAUGE, description: value}
slow:
  query: "SELECT 1 AS v FROM pg_sleep(5)"
  metrics:
    - v: {usage: GAUGE, description: value}
""")
        config = cls.cluster.exporter_config(interval="2s", query_files=[path])
        config["collection"].update({"max_series_per_query": 100, "statement_timeout": "500ms"})
        cls.exporter = Exporter(cls.tmp, config).start()
        wait_until(lambda: (cls.exporter.value("pgdr_collect_errors_total", collector="slow") or 0) >= 1,
                   timeout=15, what="statement timeout counted")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def test_failing_query_counts_an_error_and_others_still_collect(self):
        self.assertGreaterEqual(self.exporter.value("pgdr_collect_errors_total", collector="broken"), 1)
        self.assertEqual(self.exporter.value("pgdr_up", member="bad-1"), 1.0)

    def test_statement_timeout_cancels_slow_query(self):
        self.assertGreaterEqual(self.exporter.value("pgdr_collect_errors_total", collector="slow"), 1)
        self.assertIn("statement timeout", self.exporter.log())
        self.assertIsNone(self.exporter.value("pgdr_slow_v"))

    def test_duplicates_dropped_and_counted(self):
        self.assertEqual(len(self.exporter.samples("pgdr_dupes_v")), 1)
        self.assertGreaterEqual(self.exporter.value("pgdr_series_dropped_total", reason="duplicate"), 2)

    def test_series_limit(self):
        self.assertEqual(len(self.exporter.samples("pgdr_explosion_v")), 100)
        self.assertGreaterEqual(self.exporter.value("pgdr_series_dropped_total", reason="limit"), 400)


if __name__ == "__main__":
    unittest.main()
