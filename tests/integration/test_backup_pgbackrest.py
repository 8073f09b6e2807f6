"""A real pgBackRest repository (posix) read back by the monitor.

A PostgreSQL 15 primary archives with `pgbackrest archive-push`, a real
`pgbackrest backup --type=full` runs; the monitor must agree with
`pgbackrest info --output=json`, follow new WAL and see a deleted segment.
"""

import glob
import json
import os
import shutil
import unittest

import harness
from backup_support import require_poller, stores_poller

SEGMENT = 16 << 20


def segment_lsn_end(name):
    log, seg = int(name[8:16], 16), int(name[16:24], 16)
    return (log * 256 + seg + 1) * SEGMENT


class PgBackRestTest(unittest.TestCase):
    def setUp(self):
        require_poller(self)
        if shutil.which("pgbackrest") is None:
            self.skipTest("pgbackrest not installed")
        self.tmp = harness.TempDir().__enter__()
        self.addCleanup(self.tmp.__exit__, None, None, None)
        self.repo = self.tmp.sub("pgbr-repo", for_postgres=True)
        for d in ("pgbr-log", "pgbr-lock", "pgbr-spool"):
            self.tmp.sub(d, for_postgres=True)
        self.conf = os.path.join(self.tmp.path, "pgbackrest.conf")
        self.cluster = harness.PgCluster(self.tmp, "demo", replicas=0)
        self.pg = self.cluster.primary
        with open(self.conf, "w") as f:
            f.write("\n".join([
                "[global]", f"repo1-path={self.repo}", f"log-path={self.tmp.path}/pgbr-log",
                f"lock-path={self.tmp.path}/pgbr-lock", f"spool-path={self.tmp.path}/pgbr-spool",
                "start-fast=y", "log-level-console=warn", "log-level-file=off",
                "[demo]", f"pg1-path={self.pg.datadir}", f"pg1-port={self.pg.port}",
                f"pg1-socket-path={self.pg.sockdir}", "pg1-user=postgres", ""]))
        os.chmod(self.conf, 0o644)
        self.cluster.extra_conf = "\n".join([
            "archive_mode = on", "archive_timeout = 0",
            f"archive_command = 'pgbackrest --config={self.conf} --stanza=demo archive-push %p'"])
        self.cluster.start()

    def pgbackrest(self, *args, timeout=300):
        return harness.run(harness.as_pg_user(
            ["pgbackrest", f"--config={self.conf}", "--stanza=demo"] + list(args)), timeout=timeout)

    def segments(self):
        # archive-push writes "<name>.pgbackrest.tmp" and renames it when complete.
        return sorted(p for p in glob.glob(os.path.join(self.repo, "archive/demo/*/*/" + "?" * 24 + "-*"))
                      if not p.endswith(".tmp"))

    def switch_and_wait(self):
        self.pg.sql("CREATE TABLE IF NOT EXISTS t(i int); INSERT INTO t SELECT generate_series(1,100)")
        name = self.pg.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")
        self.pg.sql("SELECT pg_switch_wal()")
        harness.wait_until(lambda: any(os.path.basename(p).startswith(name)
                                       for p in self.segments()),
                           timeout=60, what=f"{name} archived")
        return name

    def test_backup_wal_and_gap(self):
        self.pgbackrest("stanza-create")
        self.pgbackrest("backup", "--type=full")
        info = json.loads(self.pgbackrest("info", "--output=json").stdout)
        backup = info[0]["backup"][-1]
        for _ in range(3):
            self.switch_and_wait()
        probe = stores_poller(self.tmp, [{
            "name": "repo1", "cluster": "demo", "layout": "pgbackrest", "stanza": "demo",
            "url": f"file://{self.repo}", "full_list_interval": "0s"}])
        m = probe.poll()
        self.assertEqual(probe.value(m, "pgdr_backup_store_up"), 1.0, probe.logs())
        self.assertEqual(probe.value(m, "pgdr_backup_last_completed_timestamp_seconds",
                                     type="full"), float(backup["timestamp"]["stop"]))
        self.assertEqual(probe.value(m, "pgdr_backup_last_duration_seconds"),
                         float(backup["timestamp"]["stop"] - backup["timestamp"]["start"]))
        self.assertEqual(probe.value(m, "pgdr_wal_archive_gap_segments"), 0.0)
        newest = os.path.basename(self.segments()[-1])[:24]
        lsn1 = probe.value(m, "pgdr_wal_archive_newest_lsn_bytes")
        self.assertEqual(lsn1, segment_lsn_end(newest))

        self.switch_and_wait()
        m = probe.poll()
        self.assertGreater(probe.value(m, "pgdr_wal_archive_newest_lsn_bytes"), lsn1)

        start = backup["archive"]["start"]
        middle = [p for p in self.segments() if os.path.basename(p)[:24] > start][1]
        os.remove(middle)
        m = probe.poll()
        self.assertEqual(probe.value(m, "pgdr_wal_archive_gap_segments"), 1.0)
        self.assertIn(os.path.basename(middle)[:24], probe.logs())

        # A truncated backup.info (and its copy): a counted parse error naming
        # the key, the store stays up, the WAL side keeps working.
        for name in ("backup.info", "backup.info.copy"):
            path = os.path.join(self.repo, "backup/demo", name)
            with open(path, "r+") as f:
                f.truncate(40)
        m = probe.poll()
        self.assertEqual(probe.value(m, "pgdr_backup_store_up"), 1.0)
        self.assertEqual(probe.value(m, "pgdr_backup_store_parse_errors_total"), 2.0)
        self.assertIn("key=backup/demo/backup.info", probe.logs())
        self.assertIn("store=repo1", probe.logs())


if __name__ == "__main__":
    unittest.main()
