"""WAL-G and pg_dump layouts through the exporter.

WAL-G has no Debian package: test_walg_layout_written_by_test writes the
layout itself, following WAL-G's documented names and sentinel fields
(basebackups_005/<name>_backup_stop_sentinel.json with StartTime,
FinishTime, LSN, CompressedSize, ...; wal_005/<segment>.lz4). The pg_dump
layout is fed by a real pg_dump of a real primary.
"""

import calendar
import json
import os
import time
import unittest

import harness
from backup_support import require_poller, stores_poller

SEGMENT = 16 << 20


def name(segno, tli=1):
    return "%08X%08X%08X" % (tli, segno // 256, segno % 256)


class WalGAndPgDumpTest(unittest.TestCase):
    def setUp(self):
        require_poller(self)
        self.tmp = harness.TempDir().__enter__()
        self.addCleanup(self.tmp.__exit__, None, None, None)

    def write(self, root, key, data):
        path = os.path.join(root, key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_walg_layout_written_by_test(self):
        root = self.tmp.sub("walg")
        finish = "2026-11-23T19:02:03.250000Z"
        sentinel = {"LSN": 2 * SEGMENT + 40, "FinishLSN": 2 * SEGMENT + 400,
                    "StartTime": "2026-11-23T19:00:00.000000Z", "FinishTime": finish,
                    "Hostname": "db1", "DataDir": "/var/lib/postgresql/15/main",
                    "PgVersion": 150005, "IsPermanent": False, "SystemIdentifier": 7300000000000000000,
                    "UncompressedSize": 30000000, "CompressedSize": 3000000, "UserData": None}
        self.write(root, f"basebackups_005/base_{name(2)}_backup_stop_sentinel.json",
                   json.dumps(sentinel).encode())
        self.write(root, f"basebackups_005/base_{name(2)}/tar_partitions/part_1.tar.lz4", b"x")
        for s in range(1, 8):
            self.write(root, f"wal_005/{name(s)}.lz4", b"x")
        os.remove(os.path.join(root, f"wal_005/{name(5)}.lz4"))
        probe = stores_poller(self.tmp, [{"name": "walg", "cluster": "demo", "layout": "wal-g",
                                          "url": f"file://{root}", "full_list_interval": "0s"}])
        m = probe.poll()
        self.assertEqual(probe.value(m, "pgdr_backup_store_up"), 1.0, probe.logs())
        end = calendar.timegm(time.strptime(finish[:19], "%Y-%m-%dT%H:%M:%S")) + 0.25
        self.assertAlmostEqual(
            probe.value(m, "pgdr_backup_last_completed_timestamp_seconds", type="full"), end, places=3)
        self.assertEqual(probe.value(m, "pgdr_backup_last_size_bytes"), 3000000.0)
        self.assertEqual(probe.value(m, "pgdr_wal_archive_newest_lsn_bytes"), 8.0 * SEGMENT)
        self.assertEqual(probe.value(m, "pgdr_wal_archive_gap_segments"), 1.0)
        self.assertIn(f"first_missing={name(5)}", probe.logs())
        # The hole is filled (a late upload): the next full listing sees it.
        self.write(root, f"wal_005/{name(5)}.lz4", b"x")
        m = probe.poll()
        self.assertEqual(probe.value(m, "pgdr_wal_archive_gap_segments"), 0.0)

    def test_pg_dump_of_a_real_primary(self):
        cluster = harness.PgCluster(self.tmp, "demo", replicas=0)
        cluster.start()
        root = self.tmp.sub("dumps")
        out = os.path.join(root, "demo", "demo-20261123.dump")
        os.makedirs(os.path.dirname(out))
        cluster.primary.sql("CREATE TABLE t AS SELECT generate_series(1, 1000) i")
        harness.run(["pg_dump", "-h", "127.0.0.1", "-p", str(cluster.primary.port), "-U",
                     "postgres", "-Fc", "-f", out, "postgres"])
        self.write(root, "demo/README", b"not a dump")
        probe = stores_poller(self.tmp, [{"name": "dumps", "cluster": "demo", "layout": "pg_dump",
                                          "url": f"file://{root}", "pattern": "demo/*.dump"}])
        m = probe.poll()
        self.assertEqual(probe.value(m, "pgdr_logical_backups"), 1.0)
        self.assertEqual(probe.value(m, "pgdr_logical_backup_last_size_bytes"),
                         float(os.path.getsize(out)))
        self.assertAlmostEqual(probe.value(m, "pgdr_logical_backup_last_completed_timestamp_seconds"),
                               os.path.getmtime(out), places=2)


if __name__ == "__main__":
    unittest.main()
