"""Fleet sharding (issue 12, Must show 4).

Three exporters share one config of 30 clusters (one member each, all on one
real PostgreSQL) with --shard.total=3 and --shard.index 0, 1, 2. Each cluster
must be collected by exactly one of them: the clusters in each /metrics are
those whose Prometheus hashmod (md5 of the name, last 8 bytes big-endian,
modulo 3) is its index, the three sets are disjoint and cover all 30, and
PostgreSQL itself sees exactly 30 pgdr_exporter connections (one per
cluster, none twice). A fourth start with --shard.index=3 is refused.
"""

import hashlib
import unittest

import harness
from harness import EXPORTER, Exporter, PgCluster, TempDir, run, wait_until

CLUSTERS = [f"fleet-{i:02d}" for i in range(30)]


def hashmod(name, modulus):
    return int.from_bytes(hashlib.md5(name.encode()).digest()[8:], "big") % modulus


class ShardingTest(unittest.TestCase):
    def test_three_shards_split_thirty_clusters(self):
        with TempDir() as tmp:
            pg = PgCluster(tmp, "fleet", replicas=0)
            pg.start()
            dsn = pg.targets()[0]["dsn"]
            cfg = pg.exporter_config(interval="1s")
            cfg["targets"] = [{"cluster": c, "member": "m1", "dsn": dsn} for c in CLUSTERS]
            exporters = [Exporter(tmp, cfg, args=["--shard.total=3", f"--shard.index={i}"])
                         for i in range(3)]
            for e in exporters:
                e.start()

            def clusters_of(e):
                return {l["cluster"] for l, v in e.samples("pgdr_up") if v == 1.0}

            seen = {}
            for i, e in enumerate(exporters):
                expected = {c for c in CLUSTERS if hashmod(c, 3) == i}
                self.assertTrue(expected, "every shard gets some of 30 clusters")
                wait_until(lambda: clusters_of(e) == expected, timeout=30,
                           what=f"shard {i} collects {sorted(expected)}")
                listed = {l["cluster"] for l, _ in e.samples("pgdr_up")}
                self.assertEqual(listed, expected, "no other shard's cluster, even as down")
                self.assertIn(f"shard {i}/3: {len(expected)} of 30 clusters", e.log())
                seen[i] = expected
                print(f"shard {i}/3: {len(expected)} clusters")
            self.assertEqual(set().union(*seen.values()), set(CLUSTERS), "no gap")
            self.assertEqual(sum(len(s) for s in seen.values()), 30, "no overlap")
            connections = int(pg.primary.sql(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgdr_exporter'"))
            self.assertEqual(connections, 30, "one collection connection per cluster in all")

            bad = run([EXPORTER, f"--config.file={exporters[0].config_path}", "--shard.total=3",
                       "--shard.index=3", f"--web.listen-address=127.0.0.1:{harness.free_port()}"],
                      check=False, timeout=30)
            self.assertEqual(bad.returncode, 2)
            self.assertIn("--shard.index: 3 is not below --shard.total 3", bad.stderr)
            for e in exporters:
                e.stop()


if __name__ == "__main__":
    unittest.main()
