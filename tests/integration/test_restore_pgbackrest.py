"""Point-in-time restore through a real pgBackRest repository (issue 10, Must show 2).

A PostgreSQL 15 primary archives with `pgbackrest archive-push` into a posix
repository; `pgbackrest backup --type=full` runs; rows are committed, then an
accidental DELETE and a DROP TABLE. `find-transaction` (pgbackrest
archive-get + pg_waldump) names both, and `restore --before-xid` of the
DELETE (pgbackrest restore --type=xid --target-exclusive) gives an instance
holding exactly the rows committed before it.
"""

import json
import os
import shutil
import unittest

import harness
from restore_support import ROWS_SQL, cli, psql_socket, restore_before_xid, write_config


class RestorePgBackRestTest(harness.ClassFixtureTest):
    @classmethod
    def setUpClass(cls):
        if shutil.which("pgbackrest") is None:
            raise unittest.SkipTest("pgbackrest not installed (scripts/setup.sh installs it)")
        super().setUpClass()

    @classmethod
    def _start(cls):
        tmp = cls.tmp
        cls.repo = tmp.sub("pgbr-repo", for_postgres=True)
        for d in ("pgbr-log", "pgbr-lock", "pgbr-spool"):
            tmp.sub(d, for_postgres=True)
        conf = os.path.join(tmp.path, "pgbackrest.conf")
        cluster = harness.PgCluster(tmp, "demo", replicas=0)
        pg = cluster.primary
        with open(conf, "w") as f:
            f.write("\n".join([
                "[global]", f"repo1-path={cls.repo}", f"log-path={tmp.path}/pgbr-log",
                f"lock-path={tmp.path}/pgbr-lock", f"spool-path={tmp.path}/pgbr-spool",
                "start-fast=y", "log-level-console=warn", "log-level-file=off",
                "[demo]", f"pg1-path={pg.datadir}", f"pg1-port={pg.port}",
                f"pg1-socket-path={pg.sockdir}", "pg1-user=postgres", ""]))
        os.chmod(conf, 0o644)
        cluster.extra_conf = "\n".join([
            "archive_mode = on", "archive_timeout = 0",
            f"archive_command = 'pgbackrest --config={conf} --stanza=demo archive-push %p'"])
        cluster.start()

        def pgbackrest(*args):
            return harness.run(harness.as_pg_user(
                ["pgbackrest", f"--config={conf}", "--stanza=demo"] + list(args)), timeout=300)
        pgbackrest("stanza-create")
        pg.sql("CREATE TABLE public.items(id int PRIMARY KEY, note text)")
        pg.sql("INSERT INTO items SELECT i, 'before backup ' || i FROM generate_series(1, 100) i")
        pgbackrest("backup", "--type=full")
        cls.backup = json.loads(pgbackrest("info", "--output=json").stdout)[0]["backup"][-1]
        pg.sql("INSERT INTO items SELECT i, 'after backup ' || i FROM generate_series(101, 200) i")
        cls.expected = pg.sql(ROWS_SQL)
        cls.xid_delete = int(pg.sql(
            "BEGIN; DELETE FROM items WHERE id % 4 = 0; SELECT txid_current(); COMMIT;"
        ).splitlines()[-2])
        pg.sql("INSERT INTO items VALUES (1000, 'after the delete')")
        cls.xid_drop = int(pg.sql("BEGIN; DROP TABLE items; SELECT txid_current(); COMMIT;")
                           .splitlines()[-2])
        # archive-push renames "<segment>-<sha1>.pgbackrest.tmp" when complete.
        name = pg.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")
        pg.sql("SELECT pg_switch_wal()")

        def archived():
            for _, _, files in os.walk(os.path.join(cls.repo, "archive")):
                if any(f.startswith(name) and not f.endswith(".tmp") for f in files):
                    return True
            return False
        harness.wait_until(archived, timeout=60, what=f"{name} archived")
        cls.config = write_config(tmp, {
            "targets": cluster.targets(),
            "backup_stores": [{"name": "repo1", "cluster": "demo", "layout": "pgbackrest",
                               "stanza": "demo", "url": f"file://{cls.repo}"}]})

    def test_1_find_transaction(self):
        rc, out, err = cli(["find-transaction", f"--config.file={self.config}", "--cluster=demo",
                            "--relation=public.items", "--format=json"])
        self.assertEqual(rc, 0, err)
        report = json.loads(out)
        txs = {tx["xid"]: tx for tx in report["transactions"]}
        print(f"\nfind-transaction (pgBackRest): {sorted(txs)} "
              f"(recorded DELETE {self.xid_delete}, DROP {self.xid_drop})")
        self.assertEqual(sorted(txs), [self.xid_delete, self.xid_drop])
        self.assertEqual(txs[self.xid_delete]["kinds"], "delete")
        self.assertEqual(txs[self.xid_delete]["rows_deleted"], 50)
        self.assertEqual(txs[self.xid_drop]["kinds"], "drop")

    def test_2_restore_before_the_delete(self):
        report, data_dir, port = restore_before_xid(self, self.config, self.xid_delete,
                                                    "pgBackRest")
        self.assertEqual(report["backup_id"], self.backup["label"])
        self.assertEqual(psql_socket(data_dir, port, ROWS_SQL), self.expected)
        self.assertEqual(psql_socket(data_dir, port, "SELECT count(*) FROM items"), "200")


if __name__ == "__main__":
    unittest.main()
