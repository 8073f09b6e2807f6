"""Figures that outlive the primary (issue 17, must-show 1).

A primary archiving to s3rver with barman-cloud-wal-archive and two streaming
replicas. demo-3's WAL receiver is stopped (primary_conninfo emptied and
reloaded), rows are written, then demo-2's, and more rows: each replica
lacks a byte range the test proves with pg_wal_lsn_diff. The primary's
postmaster is killed with SIGKILL. In every scrape from the kill until a
replica is promoted, the replica-scope and archive-scope RPO and both
replicas' lag bytes are present and equal to those proven gaps, measured
from the primary's last LSN (psql's pg_current_wal_lsn() before the kill),
and the dry-run failover decision reports the same loss. After pg_promote()
on demo-2 the figures follow the new primary.
"""

import os
import re
import signal
import time
import unittest

import actions_harness as ah
import harness
from backup_support import S3_KEY, S3rver
from harness import PgCluster, TempDir, wait_until

SEGMENT = 16 << 20


def segment_end_lsn(name):
    log, seg = int(name[8:16], 16), int(name[16:24], 16)
    return (log * 256 + seg + 1) * SEGMENT


def lsn_text(node, expr):
    return node.sql(f"SELECT {expr}")


def diff(node, a, b):
    """pg_wal_lsn_diff(a, b) computed by `node`'s server."""
    return int(node.sql(f"SELECT pg_wal_lsn_diff('{a}', '{b}')::bigint"))


def lsn_bytes(node, lsn):
    return diff(node, lsn, "0/0")


def stop_receiver(replica, primary):
    """Stops the replica's WAL receiver: nothing more reaches it."""
    replica.sql("ALTER SYSTEM SET primary_conninfo = ''")
    replica.sql("SELECT pg_reload_conf()")
    wait_until(lambda: replica.sql("SELECT count(*) FROM pg_stat_wal_receiver") == "0",
               timeout=30, what=f"{replica.name}'s WAL receiver stopped")
    wait_until(lambda: primary.sql(
        f"SELECT count(*) FROM pg_stat_replication WHERE application_name = '{replica.name}'")
        == "0", timeout=30, what=f"{replica.name} gone from pg_stat_replication")


def figures(samples):
    """The figures under test from one parsed scrape: {name: value or None}."""
    def one(metric, **labels):
        for n, l, v in samples:
            if n == metric and all(l.get(k) == val for k, val in labels.items()):
                return v
        return None
    return {
        "rpo_replica": one("pgdr_rpo_bytes", cluster="demo", scope="replica"),
        "rpo_archive": one("pgdr_rpo_bytes", cluster="demo", scope="archive"),
        "rpo_replica_seconds": one("pgdr_rpo_seconds", cluster="demo", scope="replica"),
        "rpo_archive_seconds": one("pgdr_rpo_seconds", cluster="demo", scope="archive"),
        "lag_demo-2": one("pgdr_replication_lag_bytes", member="demo-2"),
        "lag_demo-3": one("pgdr_replication_lag_bytes", member="demo-3"),
        "last_seen_lsn": one("pgdr_primary_last_seen_lsn_bytes", cluster="demo"),
        "last_seen_ts": one("pgdr_primary_last_seen_timestamp_seconds", cluster="demo"),
        "basis_replica": next((l["basis"] for n, l, v in samples if n == "pgdr_rpo_basis"
                               and l.get("scope") == "replica" and v == 1), None),
        "basis_archive": next((l["basis"] for n, l, v in samples if n == "pgdr_rpo_basis"
                               and l.get("scope") == "archive" and v == 1), None),
        "primary_up": one("pgdr_up", member="demo-1"),
        "primaries": one("pgdr_cluster_primaries", cluster="demo"),
        "dry_runs": one("pgdr_failover_requests_total", cluster="demo", result="dry_run"),
        "dry_run_loss": one("pgdr_failover_loss_bytes_total", cluster="demo", result="dry_run"),
    }


class PrimaryDeathTest(unittest.TestCase):
    def test_rpo_and_lag_survive_the_primary(self):
        missing = ah.missing_tools()
        if missing:
            self.skipTest("missing: " + ", ".join(missing))
        with TempDir() as tmp:
            s3 = S3rver(tmp).start()
            os.environ.update({"AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_KEY,
                               "AWS_DEFAULT_REGION": "us-east-1"})
            url = "s3://backups/demo"
            archive = f"barman-cloud-wal-archive --endpoint-url {s3.endpoint} {url} demo %p"
            cluster = PgCluster(tmp, "demo", replicas=2, extra_conf="\n".join(
                ["archive_mode = on", f"archive_command = '{archive}'", "archive_timeout = 0",
                 "autovacuum = off", "checkpoint_timeout = '1h'"]))
            cluster.start()
            pg, r1, r2 = cluster.primary, cluster.replicas[0], cluster.replicas[1]

            pg.sql("CREATE TABLE t(i int, pad text)")
            segment = pg.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")
            pg.sql("SELECT pg_switch_wal()")
            wait_until(lambda: any(k.endswith(segment) for k in s3.keys("demo/demo/wals/")),
                       timeout=60, what=f"{segment} archived")
            archived_lsn = segment_end_lsn(segment)

            cfg = ah.actions_config(cluster, tmp, [ah.failover_trigger()])  # dry run
            cfg["backup_stores"] = [{"name": "s3", "cluster": "demo", "layout": "barman-cloud",
                                     "url": url, "server_name": "demo", "endpoint": s3.endpoint,
                                     "interval": "1s", "full_list_interval": "0s"}]
            exp = harness.Exporter(tmp, cfg).start()
            wait_until(lambda: exp.value("pgdr_wal_archive_newest_lsn_bytes", store="s3")
                       == archived_lsn, timeout=30, what="newest archived LSN")

            # demo-3 misses batch 1 and 2, demo-2 misses batch 2.
            stop_receiver(r2, pg)
            pg.sql("INSERT INTO t SELECT i, repeat('x', 100) FROM generate_series(1, 3000) i")
            sent = pg.sql("SELECT pg_current_wal_lsn()")
            wait_until(lambda: diff(r1, r1.sql("SELECT pg_last_wal_replay_lsn()"), sent) >= 0,
                       timeout=30, what="demo-2 replayed batch 1")
            stop_receiver(r1, pg)
            pg.sql("INSERT INTO t SELECT i, repeat('y', 100) FROM generate_series(1, 2000) i")

            # Ground truth: the primary's LSN, once pgdr has seen exactly it.
            def settled():
                lsn = pg.sql("SELECT pg_current_wal_lsn()")
                seen = exp.value("pgdr_wal_lsn_bytes", member="demo-1")
                return lsn if seen == lsn_bytes(pg, lsn) and \
                    pg.sql("SELECT pg_current_wal_lsn()") == lsn else None
            primary_lsn = wait_until(settled, timeout=30, what="pgdr saw the primary's LSN")
            # Still in the segment after the archived one: the archive is unchanged.
            self.assertEqual(pg.sql(f"SELECT pg_walfile_name('{primary_lsn}')") > segment, True)
            self.assertEqual(segment_end_lsn(pg.sql(f"SELECT pg_walfile_name('{primary_lsn}')")),
                             archived_lsn + SEGMENT)
            # Nothing reaches the replicas any more: once each has replayed all it
            # received, their positions are fixed; recorded before the kill so the
            # scrapes below start the moment it happens.
            positions = {}
            for node in (r1, r2):
                wait_until(lambda: node.sql("SELECT pg_last_wal_replay_lsn() = "
                                            "pg_last_wal_receive_lsn()") == "t",
                           timeout=30, what=f"{node.name} replayed all it received")
                replay = node.sql("SELECT pg_last_wal_replay_lsn()")
                receive = node.sql("SELECT pg_last_wal_receive_lsn()")
                positions[node.name] = (replay, receive)
            proven = {
                # What each replica lacks: the primary's last LSN minus its replay LSN.
                "lag_demo-2": diff(r1, primary_lsn, positions["demo-2"][0]),
                "lag_demo-3": diff(r2, primary_lsn, positions["demo-3"][0]),
                # What promoting the best replica loses: it replays all it received.
                "rpo_replica": min(
                    diff(r1, primary_lsn, max(positions["demo-2"], key=lambda l: lsn_bytes(r1, l))),
                    diff(r2, primary_lsn, max(positions["demo-3"], key=lambda l: lsn_bytes(r2, l)))),
                "rpo_archive": lsn_bytes(r1, primary_lsn) - archived_lsn,
            }
            print(f"\nprimary last LSN {primary_lsn}; replay/receive {positions}; "
                  f"archived up to {archived_lsn}")
            print(f"proven missing bytes: {proven}")
            self.assertGreater(proven["rpo_replica"], 100_000)
            self.assertGreater(proven["lag_demo-3"], proven["lag_demo-2"])
            os.kill(pg.pid(), signal.SIGKILL)
            killed_at = time.time()

            # Every scrape from the kill until the dry-run decision and then for a
            # few seconds more (until demo-2 is promoted).
            scrapes, last_known, decided_at = 0, 0, None
            while True:
                f = figures(harness.parse_metrics(exp.get("/metrics")[1]))
                scrapes += 1
                for key, want in proven.items():
                    self.assertEqual(f[key], want, f"scrape {scrapes}: {key} {f}")
                self.assertIsNotNone(f["rpo_replica_seconds"], f"scrape {scrapes}: {f}")
                self.assertIsNotNone(f["rpo_archive_seconds"], f"scrape {scrapes}: {f}")
                self.assertEqual(f["last_seen_lsn"], lsn_bytes(r1, primary_lsn))
                self.assertLessEqual(f["last_seen_ts"], killed_at)
                if f["primary_up"] == 0:
                    last_known += 1
                    self.assertEqual((f["basis_replica"], f["basis_archive"]),
                                     ("last_known", "last_known"), f)
                if decided_at is None and (f["dry_runs"] or 0) >= 1:
                    decided_at = time.monotonic()
                    self.assertEqual(f["dry_run_loss"], proven["rpo_replica"])
                if decided_at is not None and time.monotonic() - decided_at > 3:
                    break
                self.assertLess(time.time() - killed_at, 60, "no dry-run decision within 60s")
                time.sleep(0.1)
            print(f"{scrapes} scrapes from kill to promotion, {scrapes - last_known} before pgdr "
                  f"saw the primary down (basis live), {last_known} after (basis last_known); "
                  f"last one: {f}")
            self.assertGreater(last_known, 10)
            line = re.search(r'.*msg="failover dry run: would promote".*', exp.log()).group(0)
            print(line)
            self.assertIn("candidate=demo-2", line)
            self.assertIn(f"lag_bytes={proven['rpo_replica']}", line)
            self.assertIn(f"primary_lsn_bytes={lsn_bytes(r1, primary_lsn)}", line)

            # Promotion: demo-2's position takes over.
            r1.sql("SELECT pg_promote()")

            def follow():
                f = figures(exp.scrape())
                new_lsn = r1.sql("SELECT pg_current_wal_lsn()")
                r2_replay, r2_receive = positions["demo-3"]
                want = {
                    "last_seen_lsn": lsn_bytes(r1, new_lsn),
                    "lag_demo-3": diff(r1, new_lsn, r2_replay),
                    "rpo_replica": diff(r1, new_lsn, max(r2_replay, r2_receive,
                                                         key=lambda l: lsn_bytes(r1, l))),
                    "rpo_archive": lsn_bytes(r1, new_lsn) - archived_lsn,
                    "basis_replica": "live", "basis_archive": "live", "primaries": 1,
                    "lag_demo-2": None,  # a primary has no replica lag
                }
                got = {k: f[k] for k in want}
                return (want, got) if got == want else None
            want, got = wait_until(follow, timeout=30, what="figures follow the new primary")
            print(f"after pg_promote() on demo-2: {got}")


if __name__ == "__main__":
    unittest.main()
