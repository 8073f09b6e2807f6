"""Restores from a pg_dump store (issue 10: the third driver).

A real PostgreSQL 15 primary is dumped with pg_dump in every format into a
file:// store, as test_backup_walg_pgdump feeds the pg_dump layout: custom
(two dumps, an hour apart by their mtimes, of different rows), directory,
tar, plain SQL and gzip'd plain SQL, and a truncated custom dump. Each case
runs `pgdr_exporter restore` (or a drill) against one of them and checks the
loaded copy against psql on the source database at the time of the dump:
row counts and an md5 over every row. Targets a dump cannot reach (xid,
LSN, immediate) are refused before anything is fetched; the truncated dump
fails as load_failed naming the object.
"""

import gzip
import json
import os
import time
import unittest

import harness
from restore_support import cli, psql_socket, stop_scratch, write_config

TRUTH_SQL = ("SELECT (SELECT count(*) FROM items), (SELECT md5(string_agg(id || ':' || note, ',' "
             "ORDER BY id)) FROM items), (SELECT count(*) FROM notes)")
POLL = 0.25


class PgDumpRestoreTest(harness.ClassFixtureTest):
    @classmethod
    def _start(cls):
        cls.cluster = harness.PgCluster(cls.tmp, "demo", replicas=0)
        cls.cluster.start()
        pg = cls.cluster.primary
        pg.sql("CREATE TABLE items(id int PRIMARY KEY, note text NOT NULL)")
        pg.sql("INSERT INTO items SELECT i, 'n' || i FROM generate_series(1, 100) i")
        pg.sql("CREATE TABLE notes AS SELECT generate_series(1, 10) AS n")
        cls.root = cls.tmp.sub("dumps")
        now = time.time()
        cls.old_truth = pg.sql(TRUTH_SQL)
        cls.old_mtime = now - 3600
        cls.dump("custom/demo-1.dump", "-Fc", mtime=cls.old_mtime)
        pg.sql("INSERT INTO items SELECT i, 'later ' || i FROM generate_series(101, 1500) i")
        pg.sql("DELETE FROM items WHERE id % 7 = 0")
        cls.truth = pg.sql(TRUTH_SQL)
        assert cls.truth != cls.old_truth
        cls.new_mtime = now - 60
        cls.dump("custom/demo-2.dump", "-Fc", mtime=cls.new_mtime)
        cls.dump("dir/demo.dir", "-Fd")
        cls.dump("tar/demo.tar", "-Ft")
        cls.dump("plain/demo.sql", "-Fp")
        with open(os.path.join(cls.root, "plain/demo.sql"), "rb") as f:
            plain = f.read()
        os.makedirs(os.path.join(cls.root, "gz"))
        with gzip.open(os.path.join(cls.root, "gz/demo.sql.gz"), "wb") as f:
            f.write(plain)
        with open(os.path.join(cls.root, "custom/demo-2.dump"), "rb") as f:
            good = f.read()
        os.makedirs(os.path.join(cls.root, "bad"))
        with open(os.path.join(cls.root, "bad/demo.dump"), "wb") as f:
            f.write(good[:len(good) // 2])  # a dump cut in the middle of its data
        patterns = {"custom": "*.dump", "dir": "*/toc.dat", "tar": "*.tar", "plain": "*.sql",
                    "gz": "*.sql.gz", "bad": "*.dump"}
        cls.stores = [{"name": name, "cluster": "demo", "layout": "pg_dump",
                       "url": f"file://{cls.root}/{name}", "pattern": pattern}
                      for name, pattern in patterns.items()]
        cls.config = cls.cluster.exporter_config(interval="1s")
        cls.config["backup_stores"] = cls.stores
        cls.config_path = write_config(cls.tmp, cls.config)

    @classmethod
    def dump(cls, key, fmt, mtime=None):
        path = os.path.join(cls.root, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        pg = cls.cluster.primary
        harness.run(["pg_dump", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", fmt,
                     "-f", path, "postgres"])
        if mtime is not None:
            os.utime(path, (mtime, mtime))

    def restore(self, *args, keep=True):
        data_dir = os.path.join(self.tmp.path, f"restored-{harness.free_port()}")
        port = harness.free_port()
        self.addCleanup(stop_scratch, data_dir)
        t0 = time.monotonic()
        rc, out, err = cli(["restore", f"--config.file={self.config_path}", "--cluster=demo",
                            f"--data-dir={data_dir}", f"--port={port}", "--format=json"]
                           + (["--keep-running"] if keep else []) + list(args), timeout=120)
        took = time.monotonic() - t0
        self.assertIn(rc, (0, 1), out + err)
        return rc, json.loads(out), data_dir, port, took

    def test_each_format_latest(self):
        for store, backup in (("custom", "demo-2.dump"), ("dir", "demo.dir/toc.dat"),
                              ("tar", "demo.tar"), ("plain", "demo.sql"), ("gz", "demo.sql.gz")):
            with self.subTest(store=store):
                rc, r, data_dir, port, _ = self.restore(f"--store={store}")
                print(f"\npg_dump {store}: backup {r['backup_id']} fetch {r['fetch_seconds']:.2f}s "
                      f"load {r['replay_seconds']:.2f}s total {r['total_seconds']:.2f}s")
                self.assertEqual(rc, 0, r)
                self.assertEqual((r["result"], r["backup_id"]), ("ok", backup))
                self.assertTrue(r["running"])
                self.assertEqual(psql_socket(data_dir, port, TRUTH_SQL), self.truth)
                # The copy is isolated, and the fetched dump is gone from it.
                self.assertEqual(psql_socket(data_dir, port, "SHOW archive_mode"), "off")
                self.assertFalse(os.path.exists(os.path.join(data_dir, "pgdr-dump")))
                self.assertIsNone(r["recovered_lsn"])
                self.assertGreater(r["fetch_seconds"], 0)
                self.assertGreater(r["replay_seconds"], 0)
                stop_scratch(data_dir)

    def test_to_time_picks_the_dump_before_it(self):
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.old_mtime + 600))
        rc, r, data_dir, port, _ = self.restore("--store=custom", f"--to-time={when}",
                                                "--dbname=copy")
        self.assertEqual(rc, 0, r)
        self.assertEqual(r["backup_id"], "demo-1.dump")
        self.assertAlmostEqual(r["recovered_time"], self.old_mtime, places=2)
        self.assertEqual(psql_socket(data_dir, port, "SELECT 1").strip(), "1")
        r2 = harness.run(["psql", "-X", "-h", data_dir, "-p", str(port), "-U", "postgres", "-d",
                          "copy", "-Atc", TRUTH_SQL], timeout=60)
        self.assertEqual(r2.stdout.strip(), self.old_truth)  # loaded into the database named
        # Before the oldest dump: nothing to restore.
        early = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.old_mtime - 600))
        rc, r, data_dir, _, _ = self.restore("--store=custom", f"--to-time={early}", keep=False)
        self.assertEqual((rc, r["result"], r["step"]), (1, "target_before_backup", "choose"))
        self.assertIn("demo-1.dump", r["message"])

    def test_targets_a_dump_cannot_reach(self):
        for flag in ("--to-xid=1000", "--before-xid=1000", "--to-lsn=0/3000000", "--immediate"):
            with self.subTest(flag=flag):
                rc, r, data_dir, _, took = self.restore("--store=custom", flag, keep=False)
                self.assertEqual((rc, r["result"], r["step"]), (1, "unsupported_target", "choose"))
                self.assertIn("pg_dump files, which have no WAL", r["message"])
                self.assertIn("store custom", r["message"])
                self.assertFalse(os.path.exists(data_dir), "nothing fetched")
                self.assertLess(took, 10.0)

    def test_corrupt_dump(self):
        rc, r, data_dir, _, _ = self.restore("--store=bad", keep=False)
        print(f"\ncorrupt dump: {r['result']} at {r['step']}: {r['object']}: {r['message']}")
        self.assertEqual((rc, r["result"], r["step"]), (1, "load_failed", "load"))
        self.assertEqual(r["object"], f"file://{self.root}/bad/demo.dump")
        self.assertIn(f"load file://{self.root}/bad/demo.dump: {harness.PG_BIN}/pg_restore exited "
                      "with status 1: pg_restore: error: could not read from input file",
                      r["message"])
        self.assertFalse(os.path.exists(data_dir), "the scratch data is removed")

    def run_drill(self, store, verify):
        scratch = self.tmp.sub(f"drill-{store}")
        first = harness.free_port()
        config = dict(self.config)
        config["drills"] = [{"cluster": "demo", "store": store, "interval": "1h",
                             "target": "latest", "scratch_dir": scratch,
                             "port_range": f"{first}-{first}", "verify": verify}]
        exporter = harness.Exporter(self.tmp, config).start()
        self.addCleanup(exporter.stop)
        deadline = time.time() + 180
        while time.time() < deadline:
            status, body = exporter.get("/api/v1/drills")
            self.assertEqual(status, 200)
            d = json.loads(body)["data"]["drills"][0]
            if d["last"] and not d["running"]:
                return d, exporter, scratch
            time.sleep(POLL)
        self.fail(f"drill of {store}: no result within 180s")

    def test_drills(self):
        count, md5, notes = self.truth.split("|")
        d, exporter, scratch = self.run_drill(
            "custom", [{"sql": "SELECT count(*) FROM items", "expect": count},
                       {"sql": "SELECT md5(string_agg(id || ':' || note, ',' ORDER BY id)) "
                               "FROM items", "expect": md5}])
        last = d["last"]
        print(f"\ndrill (pg_dump custom): {last['result']} fetch {last['fetch_seconds']:.2f}s "
              f"load {last['replay_seconds']:.2f}s verify {last['verify_seconds']:.3f}s "
              f"total {last['total_seconds']:.2f}s")
        self.assertEqual(last["result"], "ok", last)
        self.assertEqual(last["backup_id"], "demo-2.dump")
        self.assertEqual(os.listdir(scratch), [])
        harness.wait_until(lambda: exporter.value("pgdr_restore_drill_last_result",
                                                  cluster="demo", result="ok") == 1.0,
                           timeout=10, what="result ok exported")
        for phase in ("fetch", "replay", "verify", "total"):
            self.assertAlmostEqual(exporter.value("pgdr_restore_drill_duration_seconds",
                                                  cluster="demo", phase=phase),
                                   last[f"{phase}_seconds"], places=6)
        self.assertAlmostEqual(exporter.value("pgdr_restore_drill_recovered_timestamp_seconds",
                                              cluster="demo"), self.new_mtime, places=2)
        self.assertAlmostEqual(exporter.value("pgdr_restore_drill_last_success_timestamp_seconds",
                                              cluster="demo"), last["finished_at"], places=2)
        exporter.stop()
        d, exporter, scratch = self.run_drill("bad", [{"sql": "SELECT count(*) FROM items"}])
        self.assertEqual((d["last"]["result"], d["last"]["step"]), ("load_failed", "load"))
        results = harness.wait_until(
            lambda: {l["result"]: v for n, l, v in exporter.scrape()
                     if n == "pgdr_restore_drill_last_result" and l.get("cluster") == "demo"},
            timeout=10, what="pgdr_restore_drill_last_result")
        self.assertEqual(results, {"load_failed": 1.0})
        self.assertEqual(os.listdir(scratch), [])
        lines = [line for line in exporter.log().splitlines() if "restore drill finished" in line]
        self.assertEqual(len(lines), 1)
        for part in ("bad", "load", "load_failed", f"{self.root}/bad/demo.dump"):
            self.assertIn(part, lines[0])


if __name__ == "__main__":
    unittest.main()
