"""Regional disaster (issue 11): a standby region that follows the primary
region from the WAL archive only, as a CloudNativePG replica cluster does.

Region "a": a primary and a streaming replica; the primary archives with
`barman-cloud-wal-archive --gzip` into s3rver, `archive_timeout = 3s` so
segments flow. Region "b": a standby made with pg_basebackup, no
primary_conninfo, `restore_command = barman-cloud-wal-restore` from that
archive. The exporter watches all three (region labels) and runs a
`region_failover` for region b with `approval: manual`.

- test_regional_promotion_manual (Must show 1): writes run continuously
  through PgBouncer; every member of region a is killed with SIGKILL. The
  decision is held pending (b stays in recovery) until
  `pgdr_exporter promote-region` confirms it; then b's member is promoted and
  PgBouncer points at it. The RPO pgdr reported before the promotion
  (pgdr_rpo_bytes{scope="region"}) matches what was lost: the committed ids
  missing on b, and in bytes a's end of WAL (pg_waldump on its pg_wal) minus
  b's replay LSN, within one WAL segment.
- test_partition_no_promotion (Must show 2): the exporter reaches region a
  through TCP proxies the test cuts; b keeps restoring: refused
  (standby_receiving), nothing promoted.
- test_standby_region_stalled_fires (Must show 5): the shipped
  PostgresStandbyRegionStalled rule (its windows shortened) fires in the
  exporter when b's restore_command is pointed at a dead endpoint.
"""

import json
import os
import re
import signal
import subprocess
import threading
import time
import unittest

import yaml

import actions_harness as ah
import harness
from backup_support import S3_KEY, S3rver
from harness import SOURCE_DIR, Exporter, PgBouncer, PgCluster, PgNode, TempDir, wait_until

SEGMENT = 16 << 20
CONFIRM_FOR = "8s"


def lsn_bytes(text):
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) + int(lo, 16)


def aws_env():
    return (f"env AWS_ACCESS_KEY_ID={S3_KEY} AWS_SECRET_ACCESS_KEY={S3_KEY} "
            f"AWS_DEFAULT_REGION=us-east-1")


def restore_command(endpoint):
    return (f"{aws_env()} barman-cloud-wal-restore --endpoint-url {endpoint} "
            f"s3://backups/pfx demo %f %p")


def archive_standby(tmp, primary, name, endpoint):
    """A standby of `primary` fed by the archive only (no primary_conninfo)."""
    node = PgNode(tmp, name)
    os.makedirs(node.datadir, exist_ok=True)
    if harness.AS_ROOT:
        import shutil
        shutil.chown(node.datadir, harness.PG_USER, harness.PG_USER)
    os.chmod(node.datadir, 0o700)
    harness.run(harness.as_pg_user([
        f"{harness.PG_BIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port),
        "-U", "postgres", "-D", node.datadir, "-X", "stream", "--no-sync", "-c", "fast"]),
        timeout=300)
    signal_file = os.path.join(node.datadir, "standby.signal")
    open(signal_file, "w").close()
    if harness.AS_ROOT:
        import shutil
        shutil.chown(signal_file, harness.PG_USER, harness.PG_USER)
    node.append_auto_conf(f"restore_command = '{restore_command(endpoint)}'\n"
                          "primary_conninfo = ''\narchive_mode = off\n"
                          "wal_retrieve_retry_interval = '500ms'")
    node.start()
    return node


def wal_end(node, start_lsn):
    """The end of the WAL a killed server left in pg_wal: pg_waldump reads from
    `start_lsn` (a position it had reached) and stops at the first invalid record."""
    start = f"{start_lsn >> 32:X}/{start_lsn & 0xFFFFFFFF:X}"
    r = subprocess.run(harness.as_pg_user([
        f"{harness.PG_BIN}/pg_waldump", "-p", os.path.join(node.datadir, "pg_wal"), "-s", start,
        "-q"]), capture_output=True, text=True, timeout=120)
    found = re.findall(r"at ([0-9A-F]+/[0-9A-F]+)", r.stderr)
    return max([start_lsn] + [lsn_bytes(x) for x in found])


def read_file(path):
    with open(path) as f:
        return f.read()


class LsnSampler:
    """Polls the primary's pg_current_wal_lsn() until it dies: the last LSN the test saw."""

    def __init__(self, node):
        self.node = node
        self.last = None
        self.stop_flag = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop_flag:
            try:
                self.last = lsn_bytes(self.node.sql("SELECT pg_current_wal_lsn()", timeout=5))
            except Exception:  # noqa: BLE001 - the primary is dead: keep the last value
                return
            time.sleep(0.1)

    def start(self):
        self.thread.start()
        return self


class RegionalDisasterTest(unittest.TestCase):
    def setUp(self):
        missing = ah.missing_tools()
        if missing:
            self.fail("missing: " + ", ".join(missing))

    def topology(self, tmp, a_replicas=1):
        self.s3 = S3rver(tmp).start()
        archive = (f"{aws_env()} barman-cloud-wal-archive --gzip "
                   f"--endpoint-url {self.s3.endpoint} s3://backups/pfx demo %p")
        self.a = PgCluster(tmp, "demo", replicas=a_replicas, region="a", extra_conf="\n".join([
            "archive_mode = on", f"archive_command = '{archive}'", "archive_timeout = 3s"]))
        self.a.start()
        self.a.primary.sql("CREATE TABLE writes(id int PRIMARY KEY)")
        self.a.primary.sql("SELECT pg_switch_wal()")
        self.b = archive_standby(tmp, self.a.primary, "demo-b1", self.s3.endpoint)
        wait_until(lambda: self.b.sql("SELECT to_regclass('writes') IS NOT NULL") == "t",
                   timeout=60, what="the standby region restored the writes table")

    def config(self, tmp, a_dsns=None, poolers=(), rule_files=()):
        targets = []
        for node in self.a.members:
            dsn = (a_dsns or {}).get(node.name, node.dsn)
            targets.append({"cluster": "demo", "member": node.name, "dsn": dsn, "region": "a"})
        targets.append({"cluster": "demo", "member": self.b.name, "dsn": self.b.dsn,
                        "region": "b"})
        region = {"cluster": "demo", "standby_region": "b", "confirm_for": CONFIRM_FOR,
                  "max_rpo_bytes": 256 * SEGMENT, "approval": "manual", "cooldown": "10m",
                  "timeout": "30s"}
        if poolers:
            region["redirect"] = [p.name for p in poolers]
        cfg = {"collection": {"interval": "1s"},
               "query_files": [os.path.join(SOURCE_DIR, "queries", "*.yml")],
               "targets": targets,
               "evaluation_interval": "1s",
               "rule_files": list(rule_files),
               "actions": {"dry_run": False, "region_failover": [region]}}
        if poolers:
            cfg["pgbouncers"] = [{"name": p.name, "cluster": "demo", "dsn": p.admin_dsn,
                                  "databases_file": p.databases_file} for p in poolers]
        return cfg

    def region_state(self, exp):
        regions = json.loads(exp.get("/api/v1/actions")[1])["data"]["regions"]
        return regions[0]

    def count(self, exp, result):
        return exp.value("pgdr_failover_requests_total", cluster="demo", kind="region",
                         result=result) or 0.0

    def test_regional_promotion_manual(self):
        with TempDir() as tmp:
            self.topology(tmp)
            pooler = PgBouncer(tmp, self.a.primary).start()
            exp = Exporter(tmp, self.config(tmp, poolers=[pooler])).start()
            writes = ah.WriteLoop(pooler.port).start()
            sampler = LsnSampler(self.a.primary).start()
            try:
                wait_until(lambda: int(self.b.sql("SELECT count(*) FROM writes")) > 50,
                           timeout=60, what="writes restored in region b")
                wait_until(lambda: exp.value("pgdr_region_source", cluster="demo", region="b",
                                             source="archive") == 1.0,
                           timeout=20, what="region b reported as archive-fed")
                self.assertEqual(exp.value("pgdr_region_members_up", cluster="demo", region="a"), 2)
                self.assertEqual(exp.value("pgdr_region_members_up", cluster="demo", region="b"), 1)
                self.assertIsNotNone(exp.value("pgdr_rpo_bytes", cluster="demo", scope="region"))

                for node in self.a.members:
                    os.kill(node.pid(), signal.SIGKILL)
                killed_at = time.monotonic()
                sampler.stop_flag = True

                wait_until(lambda: self.region_state(exp)["state"] == "pending", timeout=60,
                           what="the regional promotion pending approval")
                pending_at = time.monotonic()
                # Manual approval: nothing is promoted while nobody confirms.
                wait_until(lambda: time.monotonic() - pending_at > 5, timeout=10,
                           what="five seconds of pending")
                self.assertEqual(ah.in_recovery(self.b), True)
                self.assertEqual(self.count(exp, "success"), 0)
                self.assertEqual(self.count(exp, "pending"), 1)
                state = self.region_state(exp)
                self.assertEqual(state["pending"]["candidate"], self.b.name)
                self.assertEqual({e["member"] for e in state["pending"]["evidence"]},
                                 {n.name for n in self.a.members} | {self.b.name})
                reported = exp.value("pgdr_rpo_bytes", cluster="demo", scope="region")
                self.assertEqual(exp.value("pgdr_rpo_basis", cluster="demo", scope="region",
                                           basis="last_known"), 1.0)
                b_replay = lsn_bytes(self.b.sql("SELECT pg_last_wal_replay_lsn()"))
                self.assertEqual(state["pending"]["rpo_bytes"], reported)

                confirmed = time.monotonic()
                r = subprocess.run([harness.EXPORTER, "promote-region", "--cluster", "demo",
                                    "--region", "b", "--web.address",
                                    f"http://127.0.0.1:{exp.port}"],
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                wait_until(lambda: ah.in_recovery(self.b) is False, timeout=60,
                           what="region b's member promoted")
                wait_until(lambda: f"port={self.b.port}" in read_file(pooler.databases_file),
                           timeout=30, what="PgBouncer repointed at region b")
                first = wait_until(lambda: writes.first_commit_started_after(confirmed),
                                   timeout=60, what="a write through PgBouncer after confirmation")
                wait_until(lambda: self.count(exp, "success") == 1, timeout=10,
                           what="success counted")
            finally:
                writes.stop()
                sampler.stop_flag = True

            committed_on_a = [i for i, _, returned in writes.committed if returned < killed_at]
            on_b = {int(x) for x in self.b.sql("SELECT id FROM writes").split()}
            missing = [i for i in committed_on_a if i not in on_b]
            a_end = wal_end(self.a.primary, sampler.last)
            lost_bytes = a_end - b_replay
            print(f"\nregional promotion: {len(committed_on_a)} writes committed on a, "
                  f"{len(missing)} missing on b; pgdr reported RPO {reported:.0f} bytes before "
                  f"promotion, lost {lost_bytes} bytes (a's end of WAL {a_end}, last LSN the "
                  f"test saw {sampler.last}, b's replay {b_replay}); "
                  f"confirmation to first write through PgBouncer {first - confirmed:.2f}s")
            self.assertLessEqual(abs(reported - lost_bytes), SEGMENT)
            # Ids are written in order: what b lacks is exactly a tail of what a committed.
            if missing:
                self.assertGreater(lost_bytes, 0)
                self.assertEqual(missing, committed_on_a[-len(missing):])
            self.assertRegex(exp.log(), r'msg="regional promotion finished".*result=success')

    def test_partition_no_promotion(self):
        with TempDir() as tmp:
            self.topology(tmp, a_replicas=0)
            proxy = ah.TcpProxy(self.a.primary.port)
            exp = Exporter(tmp, self.config(tmp, a_dsns={
                self.a.primary.name: self.a.primary.dsn.replace(
                    f"port={self.a.primary.port}", f"port={proxy.port}")})).start()
            writes = ah.WriteLoop(self.a.primary.port).start()
            try:
                wait_until(lambda: exp.value("pgdr_region_replay_lsn_bytes", cluster="demo",
                                             region="b") is not None,
                           timeout=30, what="region b's replay LSN")
                proxy.cut()
                cut_at = time.monotonic()
                wait_until(lambda: self.count(exp, "refused") >= 1, timeout=40,
                           what="the regional promotion refused")
                refused_after = time.monotonic() - cut_at
                b_before = lsn_bytes(self.b.sql("SELECT pg_last_wal_replay_lsn()"))
                wait_until(lambda: lsn_bytes(self.b.sql("SELECT pg_last_wal_replay_lsn()"))
                           > b_before, timeout=20, what="region b still restoring")
                self.assertEqual(exp.value("pgdr_region_members_up", cluster="demo", region="a"), 0)
                self.assertEqual(ah.in_recovery(self.b), True)
                self.assertEqual(self.count(exp, "pending"), 0)
                self.assertEqual(self.count(exp, "success"), 0)
                self.assertNotEqual(self.region_state(exp)["state"], "pending")
                log = exp.log()
                self.assertRegex(log, r'msg="regional promotion refused".*reason=standby_receiving')
                line = [ln for ln in log.splitlines() if "regional promotion refused" in ln][0]
                print(f"\npartition: refused {refused_after:.1f}s after the cut: {line}")
                # An approval now finds nothing to start.
                status, body = exp.post("/api/v1/actions/region/approve",
                                        json.dumps({"cluster": "demo", "region": "b"}).encode())
                self.assertEqual(status, 409, body)
                self.assertEqual(ah.in_recovery(self.b), True)
            finally:
                writes.stop()

    def test_standby_region_stalled_fires(self):
        with TempDir() as tmp:
            self.topology(tmp, a_replicas=0)
            with open(os.path.join(SOURCE_DIR, "rules", "replication.yml")) as f:
                shipped = yaml.safe_load(f)
            rule = [r for g in shipped["groups"] for r in g["rules"]
                    if r.get("alert") == "PostgresStandbyRegionStalled"][0]
            self.assertIn("[5m]", rule["expr"])
            rule["expr"] = rule["expr"].replace("[5m]", "[6s]")
            rule["for"] = "3s"
            path = os.path.join(tmp.path, "stalled.yml")
            with open(path, "w") as f:
                yaml.safe_dump({"groups": [{"name": "stalled", "interval": "1s",
                                            "rules": [rule]}]}, f)
            exp = Exporter(tmp, self.config(tmp, rule_files=[path])).start()
            writes = ah.WriteLoop(self.a.primary.port).start()

            def firing():
                alerts = json.loads(exp.get("/api/v1/alerts")[1])["data"]["alerts"]
                return [a for a in alerts if a["labels"].get("alertname") ==
                        "PostgresStandbyRegionStalled" and a["state"] == "firing"]
            try:
                b0 = wait_until(lambda: exp.value("pgdr_region_replay_lsn_bytes", cluster="demo",
                                                  region="b"), timeout=30, what="b's replay LSN")
                wait_until(lambda: (exp.value("pgdr_region_replay_lsn_bytes", cluster="demo",
                                              region="b") or 0) > b0, timeout=30,
                           what="b's replay LSN advancing")
                healthy_since = time.monotonic()
                wait_until(lambda: time.monotonic() - healthy_since > 12, timeout=20,
                           what="a healthy window longer than the rule's window and for")
                self.assertEqual(firing(), [], "fired while the archive feed worked")

                dead = f"http://127.0.0.1:{harness.free_port()}"
                self.b.sql(f"ALTER SYSTEM SET restore_command = '{restore_command(dead)}'")
                self.b.sql("SELECT pg_reload_conf()")
                cut_at = time.monotonic()
                alerts = wait_until(firing, timeout=60, what="PostgresStandbyRegionStalled firing")
                fired_after = time.monotonic() - cut_at
                self.assertEqual(alerts[0]["labels"]["region"], "b")
                self.assertEqual(alerts[0]["labels"]["cluster"], "demo")
                behind = float(alerts[0]["value"])
                primary = exp.value("pgdr_primary_last_seen_lsn_bytes", cluster="demo")
                replay = exp.value("pgdr_region_replay_lsn_bytes", cluster="demo", region="b")
                self.assertGreater(behind, 0)
                self.assertEqual(replay, lsn_bytes(self.b.sql("SELECT pg_last_wal_replay_lsn()")))
                self.assertGreaterEqual(primary - replay, behind)
                print(f"\nPostgresStandbyRegionStalled fired {fired_after:.1f}s after the archive "
                      f"feed was cut ({behind:.0f} bytes behind; rule windows 6s, for 3s)")
            finally:
                writes.stop()


if __name__ == "__main__":
    unittest.main()
