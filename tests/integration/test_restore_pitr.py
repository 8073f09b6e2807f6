"""Point-in-time restore to just before a bad transaction (issue 10, Must show 1).

A real PostgreSQL 15 primary archives through barman-cloud into s3rver; a
base backup is taken; rows are committed; then an accidental DELETE and, in
a later transaction, a DROP TABLE. `pgdr_exporter find-transaction` must name
both (xids checked against the txid_current() each transaction returned),
and `pgdr_exporter restore --before-xid=<the DELETE>` must give a running
instance holding exactly the rows committed before the DELETE.
"""

import json
import os
import unittest

import harness
from restore_support import (ROWS_SQL, BarmanArchive, cli, psql_socket, restore_before_xid,
                             write_config)


class RestorePitrTest(harness.ClassFixtureTest):
    @classmethod
    def _start(cls):
        cls.archive = BarmanArchive(cls.tmp)
        pg = cls.archive.pg
        pg.sql("CREATE TABLE public.items(id int PRIMARY KEY, note text)")
        pg.sql("INSERT INTO items SELECT i, 'before backup ' || i FROM generate_series(1, 100) i")
        cls.archive.switch_and_wait()
        cls.archive.backup()
        pg.sql("INSERT INTO items SELECT i, 'after backup ' || i FROM generate_series(101, 200) i")
        pg.sql("UPDATE items SET note = note || ' (edited)' WHERE id IN (7, 150)")
        cls.expected = pg.sql(ROWS_SQL)
        cls.xid_delete = int(pg.sql(
            "BEGIN; DELETE FROM items WHERE id % 3 = 0; SELECT txid_current(); COMMIT;"
        ).splitlines()[-2])
        pg.sql("INSERT INTO items VALUES (1000, 'after the delete')")
        cls.xid_drop = int(pg.sql("BEGIN; DROP TABLE items; SELECT txid_current(); COMMIT;")
                           .splitlines()[-2])
        cls.archive.switch_and_wait()
        cls.config = write_config(cls.tmp, {"targets": cls.archive.cluster.targets(),
                                            "backup_stores": [cls.archive.store()]})

    def test_1_find_transaction_names_the_delete_and_the_drop(self):
        rc, out, err = cli(["find-transaction", f"--config.file={self.config}", "--cluster=demo",
                            "--relation=public.items", "--format=json"])
        self.assertEqual(rc, 0, err)
        report = json.loads(out)
        print(f"\nfind-transaction: {report['segments']} segments, {report['records']} records, "
              f"relation resolved by {report['resolved_by']}")
        for tx in report["transactions"]:
            print(f"  xid {tx['xid']} {tx['kinds']} rows={tx['rows_deleted']} "
                  f"commit {tx['commit_time']} at {tx['commit_lsn']}")
        print(f"  recorded by the test: DELETE xid {self.xid_delete}, DROP xid {self.xid_drop}")
        # The table is gone from the primary: its file is found in a restored copy.
        self.assertTrue(report["resolved_by"].startswith("restore of backup"), report)
        by_xid = {tx["xid"]: tx for tx in report["transactions"]}
        self.assertEqual(sorted(by_xid), [self.xid_delete, self.xid_drop])
        self.assertEqual(by_xid[self.xid_delete]["kinds"], "delete")
        self.assertEqual(by_xid[self.xid_delete]["rows_deleted"], 66)
        self.assertEqual(by_xid[self.xid_drop]["kinds"], "drop")
        self.assertLess(harness_lsn(by_xid[self.xid_delete]["commit_lsn"]),
                        harness_lsn(by_xid[self.xid_drop]["commit_lsn"]))

    def test_2_restore_before_the_delete_brings_every_row_back(self):
        report, data_dir, port = restore_before_xid(self, self.config, self.xid_delete,
                                                    "barman-cloud")
        self.assertEqual(psql_socket(data_dir, port, ROWS_SQL), self.expected)
        self.assertEqual(psql_socket(data_dir, port, "SELECT count(*) FROM items"), "200")
        self.assertEqual(psql_socket(data_dir, port,
                                     "SELECT count(*) FROM items WHERE id = 1000"), "0")
        self.assertEqual(psql_socket(data_dir, port, "SELECT pg_is_in_recovery()"), "f")
        self.assertGreater(report["fetch_seconds"], 0)
        self.assertGreater(report["replay_seconds"], 0)
        self.assertGreaterEqual(report["total_seconds"],
                                report["fetch_seconds"] + report["replay_seconds"])

        # The text form names what it restored.
        text_dir = os.path.join(self.tmp.path, "restored-text")
        rc, out, err = cli(["restore", f"--config.file={self.config}", "--cluster=demo",
                            f"--before-xid={self.xid_delete}", f"--data-dir={text_dir}"])
        self.assertEqual(rc, 0, out + err)
        print(out)
        self.assertIn(f"backup used:    {report['backup_id']}", out)
        self.assertIn("durations:      fetch", out)
        self.assertFalse(os.path.exists(text_dir), "the stopped copy is cleaned up")

    def test_3_bad_targets_fail_naming_the_cause(self):
        data_dir = os.path.join(self.tmp.path, "too-early")
        rc, out, err = cli(["restore", f"--config.file={self.config}", "--cluster=demo",
                            "--to-time=2000-01-01T00:00:00Z", f"--data-dir={data_dir}",
                            "--format=json"])
        self.assertEqual(rc, 1)
        report = json.loads(out)
        self.assertEqual(report["result"], "target_before_backup")
        self.assertEqual(report["step"], "choose")
        self.assertFalse(os.path.exists(data_dir))
        rc, out, err = cli(["restore", f"--config.file={self.config}", "--cluster=demo",
                            "--to-lsn=FF/0", f"--data-dir={data_dir}", "--format=json"])
        self.assertEqual(json.loads(out)["result"], "target_after_archive")
        rc, out, err = cli(["restore", f"--config.file={self.config}", "--cluster=nope",
                            f"--data-dir={data_dir}"])
        self.assertEqual(rc, 2)
        self.assertIn('no backup store of cluster "nope"', err)


def harness_lsn(text):
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


if __name__ == "__main__":
    unittest.main()
