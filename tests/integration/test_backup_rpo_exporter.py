"""Backup freshness, WAL chain and archive RPO end to end through the running
exporter (issue 3, must-show 1): a real primary archives into s3rver with
barman-cloud-wal-archive and takes a real barman-cloud-backup, exactly the
tools CloudNativePG runs; pgdr_exporter reads the bucket and the members."""

import os
import unittest

import harness
from backup_support import S3_KEY, S3rver, barman_time, parse_backup_info

SEGMENT = 16 << 20


def segment_end_lsn(name):
    log, seg = int(name[8:16], 16), int(name[16:24], 16)
    return (log * 256 + seg + 1) * SEGMENT


class BackupRpoThroughExporterTest(unittest.TestCase):
    def test_backup_time_archive_rpo_and_gap(self):
        with harness.TempDir() as tmp:
            s3 = S3rver(tmp)
            s3.start()
            os.environ.update({"AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_KEY,
                               "AWS_DEFAULT_REGION": "us-east-1"})
            url = "s3://backups/rpo"
            archive = f"barman-cloud-wal-archive --endpoint-url {s3.endpoint} {url} rpo %p"
            cluster = harness.PgCluster(tmp, "rpo", replicas=1, extra_conf="\n".join(
                ["archive_mode = on", f"archive_command = '{archive}'", "archive_timeout = 0"]))
            cluster.start()
            pg = cluster.primary

            def wal_keys():
                return [k for k in s3.keys("rpo/rpo/wals/") if len(os.path.basename(k)) == 24]

            def switch_and_wait():
                pg.sql("CREATE TABLE IF NOT EXISTS t(i int); INSERT INTO t SELECT generate_series(1, 1000)")
                name = pg.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")
                pg.sql("SELECT pg_switch_wal()")
                harness.wait_until(lambda: any(k.endswith(name) for k in wal_keys()), timeout=60,
                                   what=f"{name} archived")
                return name

            switch_and_wait()
            harness.run(harness.as_pg_user([
                "barman-cloud-backup", "--endpoint-url", s3.endpoint, "-h", pg.sockdir,
                "-p", str(pg.port), "-U", "postgres", url, "rpo"]), timeout=300)
            info_key = [k for k in s3.keys("rpo/rpo/base/") if k.endswith("/backup.info")][0]
            info = parse_backup_info(s3.read(info_key))
            for _ in range(3):
                switch_and_wait()

            config = cluster.exporter_config(interval="1s")
            config["backup_stores"] = [{"name": "s3", "cluster": "rpo", "layout": "barman-cloud",
                                        "url": url, "server_name": "rpo", "endpoint": s3.endpoint,
                                        "interval": "1s", "full_list_interval": "0s"}]
            exporter = harness.Exporter(tmp, config).start()
            e = exporter
            harness.wait_until(lambda: e.value("pgdr_backup_store_up", store="s3") == 1.0, timeout=20,
                               what="store up")
            self.assertAlmostEqual(e.value("pgdr_backup_last_completed_timestamp_seconds", store="s3",
                                           cluster="rpo"), barman_time(info["end_time"]), places=3)

            def newest_matches():
                newest = max(os.path.basename(k) for k in wal_keys())
                return e.value("pgdr_wal_archive_newest_lsn_bytes", store="s3") == segment_end_lsn(newest)

            harness.wait_until(newest_matches, timeout=20, what="newest archived LSN")
            lsn1 = e.value("pgdr_wal_archive_newest_lsn_bytes", store="s3")

            # Write without switching: the archive RPO grows to what is not archived yet.
            pg.sql("INSERT INTO t SELECT generate_series(1, 200000)")
            harness.wait_until(lambda: e.value("pgdr_rpo_bytes", cluster="rpo", scope="archive") ==
                               pg.lsn_bytes() - lsn1, timeout=20, what="archive RPO == LSN - archived")
            rpo_before = e.value("pgdr_rpo_bytes", cluster="rpo", scope="archive")
            self.assertGreater(rpo_before, 1_000_000)
            self.assertGreater(e.value("pgdr_rpo_seconds", cluster="rpo", scope="archive"), 0)

            # pg_switch_wal(): the newest archived LSN advances and the archive RPO falls.
            switch_and_wait()
            harness.wait_until(lambda: e.value("pgdr_wal_archive_newest_lsn_bytes", store="s3") > lsn1,
                               timeout=20, what="newest archived LSN advances")
            harness.wait_until(lambda: e.value("pgdr_rpo_bytes", cluster="rpo", scope="archive") <
                               rpo_before / 10, timeout=20, what="archive RPO falls")
            self.assertEqual(e.value("pgdr_wal_archive_gap_segments", store="s3"), 0.0)
            # Replica scope: the streaming replica is caught up.
            harness.wait_until(lambda: e.value("pgdr_rpo_bytes", cluster="rpo", scope="replica") == 0.0,
                               timeout=20, what="replica RPO 0")

            # Delete one archived segment in the middle of the chain: a gap of exactly 1.
            begin = info["begin_wal"]
            chain = sorted(k for k in wal_keys() if os.path.basename(k) > begin)
            s3.delete(chain[1])
            harness.wait_until(lambda: e.value("pgdr_wal_archive_gap_segments", store="s3") == 1.0,
                               timeout=30, what="gap of 1")
            # Members are unaffected by the store.
            self.assertEqual(e.value("pgdr_up", member="rpo-1"), 1.0)


if __name__ == "__main__":
    unittest.main()
