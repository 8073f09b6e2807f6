"""Shared set-up of the restore tests (no tests here): a real PostgreSQL 15
primary archiving through barman-cloud into s3rver, a base backup, and the
exporter's CLI run against a config naming that store.

Python 3 standard library only; every wait is bounded.
"""

import json
import os
import subprocess

import harness
from backup_support import S3_KEY, S3rver


class BarmanArchive:
    """A primary archiving with barman-cloud-wal-archive into s3rver, as
    CloudNativePG runs it, and the config entry of that store."""

    def __init__(self, tmp, cluster="demo"):
        self.tmp = tmp
        self.name = cluster
        self.s3 = S3rver(tmp).start()
        os.environ.update({"AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_KEY,
                           "AWS_DEFAULT_REGION": "us-east-1"})
        self.url = "s3://backups/pfx"
        archive = (f"barman-cloud-wal-archive --endpoint-url {self.s3.endpoint} "
                   f"{self.url} {cluster} %p")
        self.cluster = harness.PgCluster(tmp, cluster, replicas=0, extra_conf="\n".join([
            "archive_mode = on", f"archive_command = '{archive}'", "archive_timeout = 0"]))
        self.cluster.start()
        self.pg = self.cluster.primary

    def store(self, **extra):
        store = {"name": "s3", "cluster": self.name, "layout": "barman-cloud", "url": self.url,
                 "server_name": self.name, "endpoint": self.s3.endpoint, "timeout": "10s"}
        store.update(extra)
        return store

    def wal_keys(self):
        return [k for k in self.s3.keys(f"pfx/{self.name}/wals/") if len(os.path.basename(k)) == 24]

    def switch_and_wait(self):
        """Switches WAL and waits until the segment holding what was just
        committed is in the bucket; returns its name."""
        name = self.pg.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")
        self.pg.sql("SELECT pg_switch_wal()")
        harness.wait_until(lambda: any(k.endswith(name) for k in self.wal_keys()), timeout=60,
                           what=f"{name} archived")
        return name

    def backup(self):
        harness.run(harness.as_pg_user([
            "barman-cloud-backup", "--endpoint-url", self.s3.endpoint, "-h", self.pg.sockdir,
            "-p", str(self.pg.port), "-U", "postgres", self.url, self.name]), timeout=300)


def write_config(tmp, config, name="restore.yml"):
    path = os.path.join(tmp.path, name)
    with open(path, "w") as f:
        json.dump(config, f)  # JSON is YAML
    return path


def cli(args, timeout=300):
    """Runs pgdr_exporter with args; returns (returncode, stdout, stderr)."""
    r = subprocess.run([harness.EXPORTER] + args, capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def psql_socket(data_dir, port, query):
    """psql to a scratch server through its socket (in its data directory)."""
    r = harness.run(["psql", "-X", "-h", data_dir, "-p", str(port), "-U", "postgres", "-d",
                     "postgres", "-v", "ON_ERROR_STOP=1", "-Atc", query], timeout=60)
    return r.stdout.strip()


def stop_scratch(data_dir):
    if os.path.exists(os.path.join(data_dir, "postmaster.pid")):
        harness.run(harness.as_pg_user([f"{harness.PG_BIN}/pg_ctl", "-D", data_dir, "-m",
                                        "immediate", "-w", "stop"]), check=False)


ROWS_SQL = "SELECT string_agg(id || ':' || note, ',' ORDER BY id) FROM items"


def restore_before_xid(test, config, xid, label):
    """Runs `restore --before-xid=xid --keep-running --format=json` into a new
    directory of test.tmp; asserts it succeeded and prints its figures.
    Returns (report, data_dir, port); the copy is stopped at cleanup."""
    data_dir = os.path.join(test.tmp.path, f"restored-{harness.free_port()}")
    port = harness.free_port()
    rc, out, err = cli(["restore", f"--config.file={config}", "--cluster=demo",
                        f"--before-xid={xid}", f"--data-dir={data_dir}", f"--port={port}",
                        "--keep-running", "--format=json"])
    test.addCleanup(stop_scratch, data_dir)
    test.assertEqual(rc, 0, out + err)
    report = json.loads(out)
    print(f"\nrestore ({label}) --before-xid={xid}: backup {report['backup_id']}, WAL replayed "
          f"{report['wal_replayed_bytes']} bytes, recovered LSN {report['recovered_lsn']}, "
          f"fetch {report['fetch_seconds']:.2f}s, replay {report['replay_seconds']:.2f}s, "
          f"total {report['total_seconds']:.2f}s")
    test.assertEqual(report["result"], "ok")
    test.assertTrue(report["running"])
    # The copy is isolated: it does not archive.
    test.assertEqual(psql_socket(data_dir, port, "SHOW archive_mode"), "off")
    return report, data_dir, port
