"""Restore drills under bad input and faults (issue 10, "Bad input and faults").

One real setup shared by every case: a PostgreSQL 15 primary archiving
through barman-cloud into s3rver, one base backup, rows committed after it
and archived. Each case starts an exporter whose one drill (run at start)
meets one fault: no base backup in the store, a target before the oldest
backup, a target after the newest archived WAL, a store that cuts the
connection in the middle of the base backup's download, a scratch disk too
small for the backup and its WAL (a real tmpfs), the scratch port taken, a
verification query that fails and one that returns the wrong value.

Each asserts against ground truth: pgdr_restore_drill_last_result and
/api/v1/drills name the cause; the exporter's log line "restore drill
finished" names the store, the object and the step; the scratch directory
is empty again; and the primary is still collected (pgdr_up == 1 and
pgdr_collect_timestamp_seconds fresh) while and after the drill runs.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time
import unittest

import harness
from restore_support import BarmanArchive, cli, write_config

POLL = 0.25
ROWS = "SELECT count(*), max(id) FROM items"


class CuttingProxy:
    """A TCP proxy on 127.0.0.1 in front of s3rver that closes any connection
    once it has forwarded `limit` bytes of response: catalog requests are
    small and pass, the base backup's download is cut in the middle."""

    def __init__(self, upstream_port, limit):
        self.upstream_port = upstream_port
        self.limit = limit
        self.cuts = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, self.limit),
                             daemon=True).start()

    def _pipe(self, src, dst, limit):
        sent = 0
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if limit is not None and sent + len(data) > limit:
                    dst.sendall(data[:max(0, limit - sent)])
                    self.cuts += 1
                    break
                dst.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.closed = True
        self.sock.close()


class RestoreFaultTest(harness.ClassFixtureTest):
    @classmethod
    def _start(cls):
        cls.archive = BarmanArchive(cls.tmp)
        pg = cls.archive.pg
        pg.sql("CREATE TABLE items(id int PRIMARY KEY)")
        pg.sql("INSERT INTO items SELECT generate_series(1, 100)")
        cls.archive.switch_and_wait()
        cls.archive.backup()
        pg.sql("INSERT INTO items SELECT generate_series(101, 150)")
        cls.archive.switch_and_wait()
        # Every case's target "now - 2s" or "latest" is after these commits.
        time.sleep(2.5)
        base = [k for k in cls.archive.s3.keys("pfx/demo/base/") if k.endswith("/data.tar")]
        assert len(base) == 1, base
        cls.data_tar = base[0]
        cls.backup_id = cls.data_tar.split("/")[-2]
        info = cls.archive.s3.read(f"pfx/demo/base/{cls.backup_id}/backup.info").decode()
        size = re.search(r"^size\s*=\s*([\d.]+)\s*$", info, re.M)
        # The size the engine reads (backup.info), else the tar's own.
        cls.backup_size = int(float(size.group(1))) if size else os.path.getsize(
            cls.archive.s3.object_path(cls.data_tar))
        cls.mounts = []

    @classmethod
    def tearDownClass(cls):
        for m in cls.mounts:
            subprocess.run(["umount", "-l", m], check=False)
        super().tearDownClass()

    def run_drill(self, name, store=None, port_range=None, **drill):
        """Starts an exporter with one drill run at start; watches it to its
        end while checking that the primary is collected. Returns (the drill
        of /api/v1/drills, the exporter, its scratch directory)."""
        scratch = drill.pop("scratch_dir", None) or self.tmp.sub(f"scratch-{name}")
        first = harness.free_port()
        config = self.archive.cluster.exporter_config(interval="1s")
        config["backup_stores"] = [store or self.archive.store(interval="1s")]
        entry = {"cluster": "demo", "interval": "1h", "target": "latest", "scratch_dir": scratch,
                 "port_range": port_range or f"{first}-{first}", "fetch_timeout": "60s",
                 "replay_timeout": "60s", "verify": [{"sql": ROWS, "expect": "150|150"}]}
        entry.update(drill)
        config["drills"] = [entry]
        exporter = harness.Exporter(self.tmp, config).start()
        self.addCleanup(exporter.stop)
        deadline = time.time() + 120
        while time.time() < deadline:
            status, body = exporter.get("/api/v1/drills")
            self.assertEqual(status, 200)
            d = json.loads(body)["data"]["drills"][0]
            self.assert_collected(exporter)
            if d["last"] and not d["running"]:
                return d, exporter, scratch
            time.sleep(POLL)
        self.fail(f"drill {name}: no result within 120s")

    def assert_collected(self, exporter):
        """The primary's collection is unaffected: /metrics answers quickly
        with pgdr_up == 1 and a collection less than 5 s old."""
        t0 = time.monotonic()
        samples = exporter.scrape()
        self.assertLess(time.monotonic() - t0, 2.0, "/metrics was slow")
        up = [v for n, l, v in samples if n == "pgdr_up" and l.get("member") == "demo-1"]
        ts = [v for n, l, v in samples
              if n == "pgdr_collect_timestamp_seconds" and l.get("member") == "demo-1"]
        if not up:  # the exporter's first cycle may not have ended yet
            return
        self.assertEqual(up, [1.0])
        self.assertEqual(len(ts), 1)
        self.assertLess(time.time() - ts[0], 5.0, "the primary's metrics are stale")

    def assert_fault(self, name, d, exporter, scratch, result, step, object_part):
        last = d["last"]
        print(f"\n{name}: result={last['result']} step={last['step']} object={last['object']} "
              f"total {last['total_seconds']:.2f}s: {last['message']}")
        self.assertEqual(last["result"], result, last)
        self.assertEqual(last["step"], step, last)
        self.assertIn(object_part, last["object"])
        self.assertIsNone(d["last_success"])
        # The metric names the cause, and only that one.
        results = harness.wait_until(
            lambda: {l["result"]: v for n, l, v in exporter.scrape()
                     if n == "pgdr_restore_drill_last_result" and l.get("cluster") == "demo"},
            timeout=10, what="pgdr_restore_drill_last_result")
        self.assertEqual(results, {result: 1.0})
        self.assertEqual(exporter.value("pgdr_restore_drill_last_success_timestamp_seconds",
                                        cluster="demo"), 0.0)
        # One log line names the store, the object and the step.
        lines = [line for line in exporter.log().splitlines()
                 if "restore drill finished" in line]
        self.assertEqual(len(lines), 1, exporter.log()[-3000:])
        for part in ("s3", step, result, object_part):
            self.assertIn(part, lines[0])
        self.assertEqual(os.listdir(scratch), [], "the scratch data is removed")
        self.assert_collected(exporter)

    def test_missing_backup(self):
        store = self.archive.store(interval="1s", server_name="ghost")
        d, exporter, scratch = self.run_drill("missing", store=store)
        self.assert_fault("missing backup", d, exporter, scratch, "no_backup", "choose",
                          self.archive.url)

    def test_target_before_oldest_backup(self):
        d, exporter, scratch = self.run_drill("before", target="now - 1h")
        self.assert_fault("target before the oldest backup", d, exporter, scratch,
                          "target_before_backup", "choose", "")
        self.assertIn(self.backup_id, d["last"]["message"])

    def test_target_after_newest_wal(self):
        # The archive's last commit is more than 2 s old: replay runs out of
        # archived WAL before reaching "now - 2s", and PostgreSQL 15 exits
        # with "recovery ended before configured recovery target was reached".
        newest = max(os.path.basename(k) for k in self.archive.wal_keys())
        d, exporter, scratch = self.run_drill("after", target="now - 2s", replay_timeout="300s")
        self.assert_fault("target after the newest archived WAL", d, exporter, scratch,
                          "target_after_archive", "replay", newest)
        self.assert_after_archive_message(d["last"], newest)
        # Noticed when the server exits, not at replay_timeout (300 s).
        self.assertLess(d["last"]["replay_seconds"], 60.0, d["last"])

    def assert_after_archive_message(self, last, newest):
        message = last["message"]
        self.assertIn("recovery ended before configured recovery target was reached", message)
        self.assertIn(f"store s3 ({self.archive.url})", message)
        self.assertIn(f"newest archived segment {newest}", message)
        self.assertRegex(message, r"the target time \S+ \(inclusive\)")
        # Where replay ended: the end of the last record, in the newest segment.
        lsn = re.search(r"replay ended at LSN ([0-9A-F]+)/([0-9A-F]+)", message)
        self.assertIsNotNone(lsn, message)
        end = (int(lsn.group(1), 16) << 32) | int(lsn.group(2), 16)
        self.assertEqual(end >> 24, int(newest[8:16], 16) << 8 | int(newest[16:24], 16), message)
        self.assertEqual(last["recovered_lsn_bytes"], end)

    def test_cli_target_after_newest_wal(self):
        """The same through `restore --to-time`: exit 1 and a FAILED line
        naming the result, the step, the segment and where replay ended."""
        newest = max(os.path.basename(k) for k in self.archive.wal_keys())
        config = self.archive.cluster.exporter_config(interval="1s")
        config["backup_stores"] = [self.archive.store()]
        path = write_config(self.tmp, config, "after-cli.yml")
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
        data_dir = os.path.join(self.tmp.path, "after-cli")
        t0 = time.monotonic()
        rc, out, err = cli(["restore", f"--config.file={path}", "--cluster=demo",
                            f"--to-time={when}", f"--data-dir={data_dir}",
                            f"--port={harness.free_port()}", "--format=json"], timeout=120)
        took = time.monotonic() - t0
        self.assertEqual(rc, 1, out + err)
        report = json.loads(out)
        print(f"\nrestore --to-time={when}: {report['result']} at {report['step']} in {took:.2f}s: "
              f"{report['message']}")
        self.assertEqual((report["result"], report["step"]), ("target_after_archive", "replay"),
                         report)
        self.assertEqual(report["object"], f"{self.archive.url} WAL {newest}")
        self.assert_after_archive_message(report, newest)
        self.assertIn(f"the target time {when} (inclusive)", report["message"])
        self.assertLess(took, 90.0)  # the CLI's replay_timeout is 1h
        self.assertFalse(os.path.exists(data_dir), "the scratch data is removed")
        rc, out, err = cli(["restore", f"--config.file={path}", "--cluster=demo",
                            f"--to-time={when}", f"--data-dir={data_dir}",
                            f"--port={harness.free_port()}"], timeout=120)
        self.assertEqual(rc, 1, out + err)
        self.assertIn(f"FAILED:         target_after_archive at step replay: {self.archive.url} "
                      f"WAL {newest}: the target time {when}", out)

    def test_store_fails_mid_fetch(self):
        proxy = CuttingProxy(self.archive.s3.port, limit=1 << 20)
        self.addCleanup(proxy.close)
        store = self.archive.store(interval="1s", endpoint=proxy.endpoint)
        d, exporter, scratch = self.run_drill("midfetch", store=store)
        self.assert_fault("store cuts the connection mid-fetch", d, exporter, scratch,
                          "fetch_failed", "fetch", self.backup_id)
        self.assertGreater(proxy.cuts, 0, "the proxy never cut a download")
        self.assertGreater(self.backup_size, 1 << 20)

    def test_disk_full(self):
        # A real tmpfs that holds the base backup but not its WAL as well.
        mount = self.tmp.sub("tmpfs")
        size = self.backup_size + (8 << 20)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=755", "tmpfs",
                            mount], capture_output=True, text=True)
        if r.returncode == 0:
            self.mounts.append(mount)
            drill = {"scratch_dir": mount}
        else:  # no mount permission: the same through max_disk
            drill = {"max_disk": str(size)}
        d, exporter, scratch = self.run_drill("disk", **drill)
        self.assert_fault("full disk", d, exporter, scratch, "disk_full", "prepare", scratch)
        self.assertIn(f"the limit is {size}" if "max_disk" in drill else "WAL",
                      d["last"]["message"])

    def test_disk_fills_during_replay(self):
        # A tmpfs that passes the free-space check; once the base backup is
        # fetched (recovery.signal written) the test fills it, so that
        # restoring WAL hits ENOSPC: disk_full, not start_failed.
        mount = self.tmp.sub("tmpfs-replay")
        segments = len(self.archive.wal_keys()) + 1
        size = self.backup_size + segments * (16 << 20) + (8 << 20)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=755", "tmpfs",
                            mount], capture_output=True, text=True)
        if r.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs: {r.stderr.strip()}")
        self.mounts.append(mount)
        filler = os.path.join(mount, "filler")
        filled = threading.Event()

        def fill():
            deadline = time.time() + 120
            while time.time() < deadline and not filled.is_set():
                for d in os.listdir(mount):
                    if os.path.exists(os.path.join(mount, d, "recovery.signal")):
                        free = shutil.disk_usage(mount).free
                        with open(filler, "wb") as f:
                            os.posix_fallocate(f.fileno(), 0, max(1, free - (1 << 20)))
                        filled.set()
                        return
                time.sleep(0.005)
        threading.Thread(target=fill, daemon=True).start()
        d, exporter, scratch = self.run_drill("replaydisk", scratch_dir=mount)
        self.assertTrue(filled.is_set(), "the fetch never finished")
        os.remove(filler)
        self.assert_fault("disk full during replay", d, exporter, scratch, "disk_full", "replay",
                          mount)
        self.assertIn("No space left on device", d["last"]["message"])

    def test_scratch_port_in_use(self):
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        self.addCleanup(taken.close)
        port = taken.getsockname()[1]
        d, exporter, scratch = self.run_drill("port", port_range=f"{port}-{port}")
        self.assert_fault("scratch port in use", d, exporter, scratch, "port_in_use", "prepare",
                          f"127.0.0.1:{port}")

    def test_verification_fails(self):
        sql = "SELECT count(*) FROM no_such_table"
        d, exporter, scratch = self.run_drill("verifyfail", verify=[{"sql": sql}])
        self.assert_fault("verification query fails", d, exporter, scratch, "verify_failed",
                          "verify", sql)
        self.assertIn("no_such_table", d["last"]["message"])

    def test_verification_wrong_value(self):
        d, exporter, scratch = self.run_drill("mismatch",
                                              verify=[{"sql": ROWS, "expect": "150|999"}])
        self.assert_fault("verification returns the wrong value", d, exporter, scratch,
                          "verify_mismatch", "verify", ROWS)
        self.assertIn('returned "150|150", expected "150|999"', d["last"]["message"])
        # The restore itself reached the archive's end before verifying.
        self.assertGreater(d["last"]["replay_seconds"], 0)

    def test_compare_with_primary(self):
        """compare_with_primary: the restored rows equal the primary's; once
        the primary has a row the archive lacks, the drill says so."""
        verify = [{"sql": ROWS, "compare_with_primary": True}]
        d, exporter, scratch = self.run_drill("compare", verify=verify)
        self.assertEqual(d["last"]["result"], "ok", d["last"])
        harness.wait_until(lambda: exporter.value("pgdr_restore_drill_last_result",
                                                  cluster="demo", result="ok") == 1.0,
                           timeout=10, what="result ok exported")
        exporter.stop()
        pg = self.archive.pg
        pg.sql("INSERT INTO items VALUES (151)")  # not archived: no WAL switch
        self.addCleanup(pg.sql, "DELETE FROM items WHERE id = 151")
        d, exporter, scratch = self.run_drill("compare2", verify=verify)
        self.assert_fault("restored rows differ from the primary's", d, exporter, scratch,
                          "verify_mismatch", "verify", ROWS)
        self.assertIn('returned "150|150", expected "151|151" (the primary\'s)',
                      d["last"]["message"])


if __name__ == "__main__":
    unittest.main()
