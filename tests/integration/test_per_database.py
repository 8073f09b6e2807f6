"""Queries with target_databases run in every database of the instance over
one connection per database, with a datname label (issue 15, must-show 3)."""

import os
import unittest

from harness import Exporter, PgCluster, TempDir, wait_until

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
DATABASES = {"app_a": 1, "app_b": 2, "app_c": 3}


class PerDatabaseQueriesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir().__enter__()
        cls.cluster = PgCluster(cls.tmp, "perdb", replicas=0)
        cls.cluster.start()
        p = cls.cluster.primary
        for db, tables in DATABASES.items():
            p.sql(f"CREATE DATABASE {db}")
            for i in range(tables):
                p.sql(f"CREATE TABLE t{i} (id int)", db=db)
        # Before the exporter starts: these queries are cached for 30 s.
        p.sql("CREATE SEQUENCE s_near MAXVALUE 100", db="app_a")
        p.sql("SELECT setval('s_near', 90)", db="app_a")
        p.sql("CREATE TABLE bloated AS SELECT g AS id, repeat('x', 200) AS pad"
              " FROM generate_series(1, 20000) g", db="app_b")
        p.sql("DELETE FROM bloated WHERE id % 10 <> 0", db="app_b")
        p.sql("ANALYZE bloated", db="app_b")
        config = cls.cluster.exporter_config(interval="1s")
        config["query_files"].append({"path": os.path.join(FIXTURES, "cnpg-per-database.yaml"),
                                      "metric_prefix": "cnpg_"})
        cls.exporter = Exporter(cls.tmp, config).start()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def series(self):
        return {labels["datname"]: value
                for labels, value in self.exporter.samples("cnpg_pg_tables_count_tables")}

    def psql(self, db):
        return float(self.cluster.primary.sql(
            "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = 'public'", db=db))

    def test_one_series_per_database_equal_to_psql(self):
        wait_until(lambda: set(DATABASES) <= set(self.series()), timeout=20,
                   what="a series per database")
        got = self.series()
        wait_until(lambda: set(self.series()) == set(DATABASES) | {"postgres"}, timeout=20,
                   what="exactly the databases of the instance")
        got = self.series()
        for db in got:
            self.assertEqual(got[db], self.psql(db), db)
            print(f"datname={db} exporter={got[db]} psql={self.psql(db)}")
        wait_until(lambda: self.exporter.value("pgdr_database_connections", member="perdb-1")
                   == float(len(got) - 1), timeout=20, what="one connection per other database")
        # One persistent connection per database (pgdr_exporter_db) but the
        # DSN's (postgres): its queries run over the member's own connection
        # (pgdr_exporter), the only backend pgdr has there.
        for db in got:
            n = int(self.cluster.primary.sql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgdr_exporter_db'"
                f" AND datname = '{db}'"))
            self.assertEqual(n, 0 if db == "postgres" else 1, db)
        self.assertEqual(self.cluster.primary.sql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgdr_exporter'"
            " AND datname = 'postgres'"), "1")
        self.assertEqual(self.exporter.value("pgdr_collect_errors_total", member="perdb-1",
                                             datname="postgres", collector="pg_tables_count"), 0.0)

    def test_new_and_dropped_databases_are_followed(self):
        p = self.cluster.primary
        p.sql("CREATE DATABASE app_new")
        p.sql("CREATE TABLE x (id int)", db="app_new")
        wait_until(lambda: self.series().get("app_new") == 1.0, timeout=20,
                   what="the new database collected")
        # The exporter's connection must go before DROP DATABASE: WITH (FORCE).
        p.sql("DROP DATABASE app_new WITH (FORCE)")
        wait_until(lambda: "app_new" not in self.series(), timeout=20,
                   what="the dropped database's series gone")
        wait_until(lambda: self.exporter.value("pgdr_database_connections", member="perdb-1")
                   == float(len(DATABASES)), timeout=20, what="its connection closed")

    def test_own_per_database_queries(self):
        p = self.cluster.primary
        wait_until(lambda: self.exporter.value("pgdr_sequence_used_ratio", datname="app_a",
                                               sequencename="s_near") is not None,
                   timeout=20, what="sequence ratio")
        self.assertAlmostEqual(
            self.exporter.value("pgdr_sequence_used_ratio", datname="app_a",
                                sequencename="s_near"), 0.9, places=6)
        wait_until(lambda: (self.exporter.value("pgdr_table_bloat_ratio", datname="app_b",
                                                relname="bloated") or 0) > 0.5,
                   timeout=20, what="bloat estimate")
        size = float(p.sql("SELECT pg_relation_size('bloated')", db="app_b"))
        bloat = self.exporter.value("pgdr_table_bloat_bytes", datname="app_b", relname="bloated")
        self.assertGreater(bloat, 0.5 * size)
        self.assertLessEqual(bloat, size)
        print(f"bloated: size={size} estimated bloat={bloat}")

    def test_no_collector_errors(self):
        for labels, value in self.exporter.samples("pgdr_collect_errors_total"):
            if labels.get("datname") == "app_new":
                continue  # dropped under its connection: a reconnect may fail before it is closed
            self.assertEqual(value, 0.0, labels)


if __name__ == "__main__":
    unittest.main()
