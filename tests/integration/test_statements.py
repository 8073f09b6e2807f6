"""Statement response time (issue 15): a real PostgreSQL with
pg_stat_statements, pgbench -S running and a slow statement injected. The
top-N series show the slow statement with the mean psql reads from
pg_stat_statements; 10,000 distinct statements keep the series at N+1 per
database; the shipped PostgresStatementResponseTimeRising rule, with a short
baseline window and `for`, fires in pgdr's evaluator."""

import json
import os
import time
import unittest

from harness import (SOURCE_DIR, Exporter, PgNode, TempDir, shipped_rules_variant, spawn,
                     wait_until)

TOP_N = 5  # collection.statements_top_n


def live_rule(tmp):
    """The shipped rule with a 20 s baseline and a 3 s `for` (same expression otherwise)."""
    def edit(text):
        assert "[1h]" in text and "for: 10m" in text
        return text.replace("[1h]", "[20s]").replace("for: 10m", "for: 3s")
    return shipped_rules_variant(tmp, "statements.yml", edit)


class StatementsTest(unittest.TestCase):
    def test_top_n_cardinality_and_response_time_alert(self):
        with TempDir() as tmp:
            node = PgNode(tmp, "stmt")
            node.initdb("shared_preload_libraries = 'pg_stat_statements'\n"
                        "pg_stat_statements.max = 20000\nfsync = off\n"
                        "shared_buffers = '32MB'\nmax_connections = 40")
            node.start()
            node.sql("CREATE EXTENSION pg_stat_statements")
            node.sql("CREATE DATABASE bench")
            pg = ["-h", "127.0.0.1", "-p", str(node.port), "-U", "postgres"]
            spawn(["pgbench", "-i", "-s", "1", "-q"] + pg + ["bench"],
                  os.path.join(tmp.path, "init.log")).wait(timeout=60)
            node.sql("; ".join(f"CREATE TABLE t{i} (c int)" for i in range(100)), db="bench")

            config = {
                "collection": {"interval": "1s", "statements_top_n": TOP_N},
                "query_files": [os.path.join(SOURCE_DIR, "queries", "*.yml")],
                "targets": [{"cluster": "s", "member": "stmt", "dsn": node.dsn}],
                "rule_files": [live_rule(tmp)],
                "evaluation_interval": "1s",
            }
            exporter = Exporter(tmp, config).start()
            spawn(["pgbench", "-S", "-n", "-c", "2", "-R", "200", "-T", "120"] + pg + ["bench"],
                  os.path.join(tmp.path, "pgbench.log"))

            def series(metric, db="bench"):
                return exporter.samples(metric, datname=db)

            def alert_state():
                alerts = json.loads(exporter.get("/api/v1/alerts")[1])["data"]["alerts"]
                states = [a["state"] for a in alerts
                          if a["labels"].get("alertname") == "PostgresStatementResponseTimeRising"
                          and a["labels"].get("datname") == "bench"]
                return states[0] if states else None

            # Baseline: pgbench's statements only.
            wait_until(lambda: series("pgdr_database_statement_mean_seconds"), timeout=20,
                       what="per-database mean")
            time.sleep(20)
            baseline = series("pgdr_database_statement_mean_seconds")[0][1]
            self.assertIsNone(alert_state())
            print(f"\nbaseline mean response on bench: {baseline * 1000:.3f} ms, "
                  f"calls/s {series('pgdr_database_statement_calls_per_second')[0][1]:.0f}")

            # 10,000 distinct statements (100 x 100 ordered pairs of tables).
            script = os.path.join(tmp.path, "distinct.sql")
            with open(script, "w") as f:
                for a in range(100):
                    for b in range(100):
                        f.write(f"SELECT count(*) FROM t{a} x, t{b} y;\n")
            start = time.monotonic()
            spawn(["psql", "-X", "-q", "-o", "/dev/null", "-f", script] + pg + ["bench"],
                  os.path.join(tmp.path, "distinct.log")).wait(timeout=120)
            distinct = int(node.sql("SELECT count(*) FROM pg_stat_statements s JOIN pg_database d "
                                    "ON d.oid = s.dbid WHERE d.datname = 'bench' "
                                    "AND query LIKE 'SELECT count(*) FROM t%'"))
            self.assertGreaterEqual(distinct, 10000)
            most = 0
            saw_other = False
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                per_db = {}
                for name, labels, _ in exporter.scrape():
                    if name == "pgdr_statement_calls_per_second":
                        per_db.setdefault(labels["datname"], set()).add(labels["queryid"])
                for db, ids in per_db.items():
                    self.assertLessEqual(len(ids), TOP_N + 1, db)
                most = max(most, len(per_db.get("bench", ())))
                saw_other = saw_other or "other" in per_db.get("bench", ())
                time.sleep(0.5)
            self.assertTrue(saw_other)
            self.assertEqual(most, TOP_N + 1)
            print(f"{distinct} distinct statements in pg_stat_statements (ran in "
                  f"{time.monotonic() - start - 10:.1f} s): at most {most} queryid series on bench")

            # Slow statement injected: 2 clients running pg_sleep(0.1).
            slow = os.path.join(tmp.path, "slow.sql")
            with open(slow, "w") as f:
                f.write("SELECT pg_sleep(0.1);\n")
            injected = time.monotonic()
            spawn(["pgbench", "-n", "-c", "2", "-T", "60", "-f", slow] + pg + ["bench"],
                  os.path.join(tmp.path, "slow.log"))
            sleep_id = None

            def slow_on_top():
                nonlocal sleep_id
                sleep_id = node.sql("SELECT queryid FROM pg_stat_statements WHERE query = "
                                    "'SELECT pg_sleep($1)' LIMIT 1") or None
                top = series("pgdr_statement_time_seconds_per_second")
                return sleep_id and top and max(top, key=lambda s: s[1])[0]["queryid"] == sleep_id

            wait_until(slow_on_top, timeout=15, what="pg_sleep statement first in the top N")
            time.sleep(3)
            calls = exporter.value("pgdr_statement_calls_per_second", datname="bench",
                                   queryid=sleep_id)
            spent = exporter.value("pgdr_statement_time_seconds_per_second", datname="bench",
                                   queryid=sleep_id)
            psql_mean = float(node.sql("SELECT total_exec_time / calls / 1000 FROM "
                                       f"pg_stat_statements WHERE queryid = {sleep_id}"))
            self.assertAlmostEqual(spent / calls, psql_mean, delta=0.1 * psql_mean)
            self.assertAlmostEqual(calls, 20, delta=6)  # 2 clients, 0.1 s each
            texts = [s for m in json.loads(exporter.get("/api/v1/statements")[1])["data"]
                     for s in m["statements"] if s["queryid"] == sleep_id]
            self.assertEqual(texts[0]["query"], "SELECT pg_sleep($1)")
            print(f"pg_sleep statement: pgdr mean {spent / calls * 1000:.1f} ms at "
                  f"{calls:.1f} calls/s, psql mean {psql_mean * 1000:.1f} ms")

            wait_until(lambda: alert_state() == "firing", timeout=30, what="alert firing")
            mean = series("pgdr_database_statement_mean_seconds")[0][1]
            print(f"PostgresStatementResponseTimeRising firing {time.monotonic() - injected:.1f} s "
                  f"after injection; mean {mean * 1000:.2f} ms vs baseline {baseline * 1000:.3f} ms")
            hist = [v for n, l, v in exporter.scrape()
                    if n == "pgdr_statement_response_seconds_bucket" and l.get("datname") == "bench"]
            self.assertEqual(len(hist), 13)
            self.assertEqual(hist, sorted(hist))
            exporter.stop()


if __name__ == "__main__":
    unittest.main()
