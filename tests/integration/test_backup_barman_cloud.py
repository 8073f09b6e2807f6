"""barman-cloud into s3rver, as CloudNativePG runs it, read back by the monitor.

A real PostgreSQL 15 primary archives with
`barman-cloud-wal-archive --endpoint-url http://127.0.0.1:PORT s3://backups/pfx demo %p`
and a real `barman-cloud-backup` takes a base backup. The same bucket is then
mirrored into azurite to check the Azure driver against the same ground truth.
"""

import os
import unittest

import harness
from backup_support import (S3_KEY, AzureBlob, Azurite, S3rver, StoreProbe, barman_time,
                            parse_backup_info, require_poller, stores_poller)

SEGMENT = 16 << 20


def segment_lsn_end(name):
    tli, log, seg = int(name[:8], 16), int(name[8:16], 16), int(name[16:24], 16)
    return (log * 256 + seg + 1) * SEGMENT


class BarmanCloudTest(harness.ClassFixtureTest):
    @classmethod
    def _start(cls):
        cls.s3 = S3rver(cls.tmp).start()
        os.environ.update({"AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_KEY,
                           "AWS_DEFAULT_REGION": "us-east-1"})
        cls.url = "s3://backups/pfx"
        archive = (f"barman-cloud-wal-archive --endpoint-url {cls.s3.endpoint} "
                   f"{cls.url} demo %p")
        cls.cluster = harness.PgCluster(cls.tmp, "demo", replicas=0, extra_conf="\n".join([
            "archive_mode = on", f"archive_command = '{archive}'", "archive_timeout = 0"]))
        cls.cluster.start()
        cls.pg = cls.cluster.primary

    def wal_keys(self):
        return [k for k in self.s3.keys("pfx/demo/wals/") if len(os.path.basename(k)) == 24]

    def switch_and_wait(self):
        """Writes, switches WAL, waits until the segment is in the bucket; returns its name."""
        self.pg.sql("CREATE TABLE IF NOT EXISTS t(i int); INSERT INTO t SELECT generate_series(1,100)")
        name = self.pg.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")
        self.pg.sql("SELECT pg_switch_wal()")
        harness.wait_until(lambda: any(k.endswith(name) for k in self.wal_keys()), timeout=60,
                           what=f"{name} archived")
        return name

    def s3_store(self, **extra):
        store = {"name": "s3", "cluster": "demo", "layout": "barman-cloud", "url": self.url,
                 "server_name": "demo", "endpoint": self.s3.endpoint, "timeout": "5s",
                 "full_list_interval": "0s"}
        store.update(extra)
        return store

    def test_1_backup_wal_and_gap(self):
        require_poller(self)
        self.switch_and_wait()
        harness.run(harness.as_pg_user([
            "barman-cloud-backup", "--endpoint-url", self.s3.endpoint, "-h", self.pg.sockdir,
            "-p", str(self.pg.port), "-U", "postgres", self.url, "demo"]), timeout=300)
        infos = [k for k in self.s3.keys("pfx/demo/base/") if k.endswith("/backup.info")]
        self.assertEqual(len(infos), 1, infos)
        info = parse_backup_info(self.s3.read(infos[0]))
        self.assertEqual(info["status"], "DONE")
        for _ in range(3):
            self.switch_and_wait()

        probe = stores_poller(self.tmp, [self.s3_store()], targets=self.cluster.targets())
        m = probe.poll()
        self.assertEqual(probe.value(m, "pgdr_backup_store_up"), 1.0)
        self.assertAlmostEqual(
            probe.value(m, "pgdr_backup_last_completed_timestamp_seconds", type="full"),
            barman_time(info["end_time"]), places=3)
        self.assertEqual(probe.value(m, "pgdr_backups", status="done"), 1.0)
        self.assertEqual(probe.value(m, "pgdr_wal_archive_gap_segments"), 0.0)
        newest = max(os.path.basename(k) for k in self.wal_keys())
        lsn1 = probe.value(m, "pgdr_wal_archive_newest_lsn_bytes")
        self.assertEqual(lsn1, segment_lsn_end(newest))

        # pg_switch_wal(): the newest archived LSN advances, the archive RPO falls.
        self.pg.sql("INSERT INTO t SELECT generate_series(1,100000)")
        rpo_before = self.pg.lsn_bytes() - lsn1
        self.assertGreater(rpo_before, 1 << 20)
        if isinstance(probe, StoreProbe):
            rpo_metric = None
        else:
            rpo_metric = harness.wait_until(
                lambda: probe.exporter.value("pgdr_rpo_bytes", cluster="demo", scope="archive")
                if (probe.exporter.value("pgdr_rpo_bytes", cluster="demo", scope="archive") or 0)
                > (1 << 20) else None, timeout=30, what="archive RPO above 1MiB")
        self.switch_and_wait()
        m = probe.poll()
        lsn2 = probe.value(m, "pgdr_wal_archive_newest_lsn_bytes")
        self.assertGreater(lsn2, lsn1)
        self.assertLess(self.pg.lsn_bytes() - lsn2, rpo_before)
        if rpo_metric is not None:
            harness.wait_until(
                lambda: (probe.exporter.value("pgdr_rpo_bytes", cluster="demo", scope="archive")
                         or 1e18) < rpo_metric, timeout=30, what="archive RPO falls")

        # Delete one archived segment in the middle: a gap of exactly 1.
        begin = info["begin_wal"]
        middle = sorted(k for k in self.wal_keys() if os.path.basename(k) > begin)[1]
        self.s3.delete(middle)
        m = probe.poll()
        self.assertEqual(probe.value(m, "pgdr_wal_archive_gap_segments"), 1.0)
        self.assertIn(os.path.basename(middle)[:24], probe.logs())
        BarmanCloudTest.mirror_info = info

    def test_2_azure_mirror_through_azurite(self):
        require_poller(self)
        info = getattr(BarmanCloudTest, "mirror_info", None)
        if info is None:
            self.skipTest("needs test_1's backup")
        az = Azurite(self.tmp).start()
        blob = AzureBlob(az.endpoint)
        harness.wait_until(lambda: blob.create_container("backups") == 201, timeout=30,
                           what="container created")
        keys = self.s3.keys("pfx/demo/")
        for key in keys:
            blob.put("backups", key, self.s3.read(key))
        store = {"name": "azure", "cluster": "demo", "layout": "barman-cloud",
                 "url": "azure://backups/pfx", "server_name": "demo", "endpoint": az.endpoint,
                 "account_name": "devstoreaccount1", "account_key_env": "PGDR_AZ_KEY",
                 "full_list_interval": "0s", "timeout": "5s"}
        env = {"PGDR_AZ_KEY": "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
                              "K1SZFPTOtr/KBHBeksoGMGw=="}
        probe = stores_poller(self.tmp, [store], env=env)
        m = probe.poll()
        self.assertEqual(probe.value(m, "pgdr_backup_store_up"), 1.0, probe.logs())
        self.assertAlmostEqual(
            probe.value(m, "pgdr_backup_last_completed_timestamp_seconds", type="full"),
            barman_time(info["end_time"]), places=3)
        wal = sorted(k for k in keys if len(os.path.basename(k)) == 24 and "/wals/" in k)
        self.assertEqual(probe.value(m, "pgdr_wal_archive_newest_lsn_bytes"),
                         segment_lsn_end(os.path.basename(wal[-1])))
        self.assertEqual(probe.value(m, "pgdr_wal_archive_gap_segments"), 1.0)  # as in S3
        # A new segment appears: the incremental poll sees it.
        name = "%08X%08X%08X" % (1, 0, int(os.path.basename(wal[-1])[16:], 16) + 1)
        blob.put("backups", f"pfx/demo/wals/{name[:16]}/{name}", b"x")
        m = probe.poll()
        self.assertEqual(probe.value(m, "pgdr_wal_archive_newest_lsn_bytes"),
                         segment_lsn_end(name))
        # The same through a SAS token instead of the account key.
        sas = dict(store, name="azure-sas", account_key_env=None, sas_token_env="PGDR_AZ_SAS")
        del sas["account_key_env"]
        sas_probe = stores_poller(self.tmp, [sas], env={"PGDR_AZ_SAS": blob.account_sas()})
        m = sas_probe.poll()
        self.assertEqual(sas_probe.value(m, "pgdr_backup_store_up"), 1.0, sas_probe.logs())
        self.assertEqual(sas_probe.value(m, "pgdr_wal_archive_newest_lsn_bytes"),
                         segment_lsn_end(name))
        # Wrong key: store down with a clear log line, nothing crashes.
        bad = stores_poller(self.tmp, [dict(store, name="azure-bad")],
                            env={"PGDR_AZ_KEY": "AAAA" * 22})
        m = bad.poll()
        self.assertEqual(bad.value(m, "pgdr_backup_store_up"), 0.0)
        self.assertIn("store=azure-bad", bad.logs())
        self.assertIn("access denied", bad.logs())


class BarmanCloudPromotionTest(unittest.TestCase):
    """A replica is promoted: timeline 2, its history file and the old
    timeline's .partial segment land in the archive (barman-cloud), and the
    chain followed through the switch has no gap."""

    def test_timeline_switch(self):
        require_poller(self)
        tmp = harness.TempDir().__enter__()
        self.addCleanup(tmp.__exit__, None, None, None)
        s3 = S3rver(tmp).start()
        os.environ.update({"AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_KEY,
                           "AWS_DEFAULT_REGION": "us-east-1"})
        archive = (f"barman-cloud-wal-archive --endpoint-url {s3.endpoint} "
                   f"s3://backups/pfx demo %p")
        cluster = harness.PgCluster(tmp, "demo", replicas=1, extra_conf="\n".join([
            "archive_mode = on", f"archive_command = '{archive}'", "archive_timeout = 0"]))
        cluster.start()
        primary, replica = cluster.primary, cluster.replicas[0]
        replica.append_auto_conf(f"archive_mode = on\narchive_command = '{archive}'")
        replica.stop()
        replica.start()

        def wal_names():
            return {os.path.basename(k) for k in s3.keys("pfx/demo/wals/")}
        primary.sql("CREATE TABLE t AS SELECT generate_series(1, 1000) i")
        for _ in range(2):
            name = primary.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")
            primary.sql("SELECT pg_switch_wal()")
            harness.wait_until(lambda: name in wal_names(), timeout=60, what=f"{name} archived")
        primary.sql("INSERT INTO t SELECT generate_series(1, 1000)")
        harness.wait_until(lambda: primary.lsn_bytes() <= replica.lsn_bytes(), timeout=60,
                           what="replica caught up")
        primary.stop("immediate")
        replica.promote()
        harness.wait_until(lambda: "00000002.history" in wal_names(), timeout=60,
                           what="history file archived")
        name = replica.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")
        self.assertTrue(name.startswith("00000002"), name)
        replica.sql("INSERT INTO t SELECT generate_series(1, 1000)")
        replica.sql("SELECT pg_switch_wal()")
        harness.wait_until(lambda: name in wal_names(), timeout=60, what=f"{name} archived")
        harness.wait_until(lambda: any(n.endswith(".partial") for n in wal_names()), timeout=60,
                           what=".partial archived")

        probe = stores_poller(tmp, [{
            "name": "s3", "cluster": "demo", "layout": "barman-cloud", "server_name": "demo",
            "url": "s3://backups/pfx", "endpoint": s3.endpoint, "full_list_interval": "0s"}])
        m = probe.poll()
        self.assertEqual(probe.value(m, "pgdr_backup_store_up"), 1.0, probe.logs())
        self.assertEqual(probe.value(m, "pgdr_wal_archive_newest_timeline_id"), 2.0)
        self.assertEqual(probe.value(m, "pgdr_wal_archive_history_missing"), 0.0)
        self.assertGreaterEqual(probe.value(m, "pgdr_wal_archive_partial_segments"), 1.0)
        self.assertEqual(probe.value(m, "pgdr_wal_archive_gap_segments"), 0.0, sorted(wal_names()))
        self.assertEqual(probe.value(m, "pgdr_wal_archive_newest_lsn_bytes"), segment_lsn_end(name))


if __name__ == "__main__":
    unittest.main()
