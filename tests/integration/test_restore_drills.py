"""Restore drills run by the exporter (issue 10, Must show 3).

A real PostgreSQL 15 primary archives through barman-cloud into s3rver and
has one base backup. The exporter is configured with a `drills:` entry: the
drill must run at start and again one interval after it ended, in its own
thread (/metrics keeps answering while it runs), restore into the scratch
directory and remove it, verify a query against the rows the test
committed, and export durations that match the test's own observation of
the drill (polling /api/v1/drills) within one poll. Then a WAL segment in
the middle of the chain is deleted from the store: the next drill fails with
result="wal_gap", naming the segment, and PostgresRestoreDrillStale's input
(last_success) stays at the last good drill.
"""

import json
import os
import time
import unittest

import harness
from restore_support import BarmanArchive

POLL = 0.25
INTERVAL = 12


class RestoreDrillTest(harness.ClassFixtureTest):
    @classmethod
    def _start(cls):
        cls.archive = BarmanArchive(cls.tmp)
        pg = cls.archive.pg
        pg.sql("CREATE TABLE items(id int PRIMARY KEY)")
        pg.sql("INSERT INTO items SELECT generate_series(1, 100)")
        cls.archive.switch_and_wait()
        cls.archive.backup()
        pg.sql("INSERT INTO items SELECT generate_series(101, 150)")
        for _ in range(3):  # segments after the backup: one can go missing in the middle
            pg.sql("CREATE TABLE IF NOT EXISTS filler(i int); INSERT INTO filler VALUES (1)")
            cls.archive.switch_and_wait()
        cls.scratch = cls.tmp.sub("drills")

    def exporter(self, interval):
        config = self.archive.cluster.exporter_config(interval="1s")
        config["backup_stores"] = [self.archive.store(interval="1s")]
        config["drills"] = [{"cluster": "demo", "interval": interval, "target": "latest",
                             "scratch_dir": self.scratch, "port_range": "25432-25531",
                             "verify": [{"sql": "SELECT count(*), max(id) FROM items",
                                         "expect": "150|150"}]}]
        return harness.Exporter(self.tmp, config).start()

    def drill(self, exporter):
        status, body = exporter.get("/api/v1/drills")
        self.assertEqual(status, 200)
        return json.loads(body)["data"]["drills"][0]

    def watch_one_drill(self, exporter, after=0.0, timeout=180, check_collection=True):
        """Polls /api/v1/drills every POLL s: (first seen running, first seen
        finished, the finished report) of the first drill that ends after `after`."""
        seen_running = None
        collected_while_running = False
        deadline = time.time() + timeout
        while time.time() < deadline:
            d = self.drill(exporter)
            now = time.time()
            if d["running"]:
                if seen_running is None:
                    seen_running = now
                # Collection and /metrics are not blocked by a drill in progress.
                t0 = time.monotonic()
                up = exporter.value("pgdr_up", member="demo-1")
                self.assertLess(time.monotonic() - t0, 2.0)
                collected_while_running |= up == 1.0
            last = d["last"]
            if last and last["finished_at"] > after and not d["running"]:
                if check_collection:
                    self.assertTrue(collected_while_running,
                                    "pgdr_up of the primary was never 1 while the drill ran")
                return seen_running, now, last, d
            time.sleep(POLL)
        self.fail(f"no drill finished within {timeout}s")

    def test_drills_on_schedule_then_wal_gap(self):
        exporter = self.exporter(f"{INTERVAL}s")
        running_at, finished_seen, first, d = self.watch_one_drill(exporter)
        print(f"\ndrill 1: {first['result']} backup {first['backup_id']} fetch "
              f"{first['fetch_seconds']:.2f}s replay {first['replay_seconds']:.2f}s verify "
              f"{first['verify_seconds']:.3f}s total {first['total_seconds']:.2f}s; seen running "
              f"for {finished_seen - running_at:.2f}s")
        self.assertEqual(first["result"], "ok", first)
        self.assertEqual(first["recovered_lsn_bytes"] is not None, True)
        # The test's own timing: the drill ran between two polls around what it reports.
        self.assertLessEqual(first["started_at"], running_at)
        self.assertLessEqual(first["finished_at"], finished_seen)
        self.assertGreater(first["finished_at"], finished_seen - POLL - 0.5)
        self.assertAlmostEqual(first["total_seconds"], finished_seen - running_at,
                               delta=2 * POLL + 0.5)
        self.assertEqual(os.listdir(self.scratch), [], "the scratch data is removed")

        # The metrics say the same (the exporter's own metrics refresh every second).
        def metrics_match():
            m = {n: v for n, l, v in exporter.scrape() if n.startswith("pgdr_restore_drill")
                 and l.get("cluster") == "demo" and l.get("phase") in (None, "total")}
            return m if m.get("pgdr_restore_drill_last_run_timestamp_seconds") else None
        m = harness.wait_until(metrics_match, timeout=10, what="drill metrics")
        self.assertAlmostEqual(m["pgdr_restore_drill_last_run_timestamp_seconds"],
                               first["finished_at"], delta=0.01)
        self.assertAlmostEqual(m["pgdr_restore_drill_last_success_timestamp_seconds"],
                               first["finished_at"], delta=0.01)
        self.assertAlmostEqual(m["pgdr_restore_drill_duration_seconds"], first["total_seconds"],
                               delta=0.01)
        self.assertEqual(m["pgdr_restore_drill_recovered_lsn_bytes"],
                         first["recovered_lsn_bytes"])
        self.assertEqual(exporter.value("pgdr_restore_drill_last_result", cluster="demo",
                                        result="ok"), 1.0)
        # Recovered to the end of the archive: the newest archived segment's end or before.
        newest = max(os.path.basename(k) for k in self.archive.wal_keys())
        newest_end = (int(newest[8:16], 16) * 256 + int(newest[16:24], 16) + 1) * (16 << 20)
        self.assertLessEqual(first["recovered_lsn_bytes"], newest_end)
        self.assertGreater(first["recovered_lsn_bytes"], newest_end - (16 << 20))

        # On schedule: the next drill starts one interval after the first ended.
        _, _, second, _ = self.watch_one_drill(exporter, after=first["finished_at"])
        gap = second["started_at"] - first["finished_at"]
        print(f"drill 2: {second['result']} started {gap:.2f}s after drill 1 ended "
              f"(interval {INTERVAL}s), total {second['total_seconds']:.2f}s")
        self.assertEqual(second["result"], "ok")
        self.assertAlmostEqual(gap, INTERVAL, delta=1.0)
        exporter.stop()

        # A segment missing in the middle of the chain: wal_gap, naming it.
        keys = sorted(k for k in self.archive.wal_keys()
                      if os.path.basename(k) > first["first_segment"])
        missing = keys[1]
        self.archive.s3.delete(missing)
        exporter = self.exporter("1h")
        # (This one fails at check_wal, before any fetch: too fast to watch collection.)
        _, _, failed, d = self.watch_one_drill(exporter, check_collection=False)
        print(f"drill with {os.path.basename(missing)} deleted: result={failed['result']} "
              f"step={failed['step']} object={failed['object']}")
        self.assertEqual(failed["result"], "wal_gap", failed)
        self.assertEqual(failed["step"], "check_wal")
        self.assertIn(os.path.basename(missing), failed["object"])
        self.assertEqual(d["last_success"], None)
        self.assertIn("wal_gap", exporter.log())
        harness.wait_until(lambda: exporter.value("pgdr_restore_drill_last_result",
                                                  cluster="demo", result="wal_gap") == 1.0,
                           timeout=10, what="wal_gap exported")
        # Never succeeded in this exporter: 0, so PostgresRestoreDrillStale fires.
        self.assertEqual(exporter.value("pgdr_restore_drill_last_success_timestamp_seconds",
                                        cluster="demo"), 0.0)
        self.assertEqual(os.listdir(self.scratch), [])


if __name__ == "__main__":
    unittest.main()
