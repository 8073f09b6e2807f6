"""bench.py phase `restore` (issue 10, Must show 5): the time of
`pgdr_exporter restore` against the same restore done by hand.

A PostgreSQL 15 primary is filled by `pgbench -i -s SCALE` (scale 70 is
about 1 GiB), archives through barman-cloud-wal-archive into s3rver (as
CloudNativePG does), takes a barman-cloud-backup, then runs pgbench for
MINUTES while archiving. When every segment is in the bucket the primary is
stopped and the archive is restored to its end, alternately:

  floor  what a DBA types: barman-cloud-restore of the backup, recovery.signal
         and postgresql.auto.conf with restore_command = barman-cloud-wal-restore,
         pg_ctl start, and the wait until recovery has finished (the server log's
         "database system is ready to accept connections", read every 20 ms).
  pgdr   pgdr_exporter restore --format=json (target latest), whose report gives
         fetch, replay and total seconds; its own wall time is recorded too.

Every process is stopped on exit (harness.TempDir); every wait is bounded.
"""

import json
import os
import shutil
import statistics
import subprocess
import time

import harness
from harness import PgNode, free_port, wait_until
from backup_support import S3_KEY, S3rver

SERVER = "bench"
URL = "s3://backups/pfx"


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def rnd(x, n=2):
    return None if x is None else round(x, n)


def nice(cmd):
    return ["nice", "-n", "10"] + cmd


class Archive:
    """The primary, its s3rver bucket and the barman-cloud options."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.s3 = S3rver(tmp).start()
        self.env = dict(os.environ, AWS_ACCESS_KEY_ID=S3_KEY, AWS_SECRET_ACCESS_KEY=S3_KEY,
                        AWS_DEFAULT_REGION="us-east-1")
        os.environ.update({k: self.env[k] for k in
                           ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})
        self.common = ["--cloud-provider", "aws-s3", "--endpoint-url", self.s3.endpoint]
        self.pg = PgNode(tmp, SERVER)

    def archive_command(self):
        return " ".join(["barman-cloud-wal-archive"] + self.common + [URL, SERVER, "%p"])

    def restore_command(self):
        return " ".join(["barman-cloud-wal-restore"] + self.common + [URL, SERVER, "%f", "%p"])

    def wal_names(self):
        return {os.path.basename(k) for k in self.s3.keys(f"pfx/{SERVER}/wals/")
                if len(os.path.basename(k)) == 24}

    def wait_archived(self, name, timeout):
        wait_until(lambda: name in self.wal_names() or any(n > name for n in self.wal_names()),
                   timeout=timeout, interval=1.0, what=f"{name} archived")

    def backup_ids(self):
        r = harness.run(["barman-cloud-backup-list", "--format", "json"] + self.common +
                        [URL, SERVER], env=self.env, timeout=120)
        return [b["backup_id"] for b in json.loads(r.stdout)["backups_list"]
                if b.get("status") == "DONE"]


def prepare(tmp, args):
    """Fills, backs up and loads the primary; returns (archive, facts)."""
    a = Archive(tmp)
    pg = a.pg
    # The initial fill's WAL precedes the backup: it is not archived (true).
    pg.initdb("\n".join([
        "archive_mode = on", "archive_command = 'true'", "archive_timeout = 0",
        "shared_buffers = '256MB'", "max_wal_size = '2GB'", "checkpoint_timeout = '5min'",
        "autovacuum = off", "log_min_messages = warning"]))
    pg.start()
    facts = {"scale": args.restore_scale, "load_minutes": args.restore_minutes,
             "load_rate_tps": args.restore_rate or None, "load_clients": 2}
    t = time.monotonic()
    harness.run(nice([f"{harness.PG_BIN}/pgbench", "-i", "-q", "-s", str(args.restore_scale),
                      "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "postgres"]),
                timeout=3600)
    facts["init_s"] = rnd(time.monotonic() - t)
    facts["database_bytes"] = int(pg.sql("SELECT pg_database_size('postgres')"))
    log(f"restore: pgbench -i -s {args.restore_scale}: {facts['database_bytes'] >> 20} MiB "
        f"in {facts['init_s']} s")
    pg.sql(f"ALTER SYSTEM SET archive_command = '{a.archive_command()}'")
    pg.sql("SELECT pg_reload_conf()")
    pg.sql("CHECKPOINT")
    a.wait_archived(pg.sql("SELECT pg_walfile_name(pg_switch_wal())"), 300)
    t = time.monotonic()
    harness.run(harness.as_pg_user(nice(["barman-cloud-backup"] + a.common[2:] + [
        "-h", pg.sockdir, "-p", str(pg.port), "-U", "postgres", URL, SERVER])),
        env=a.env, timeout=3600)
    facts["backup_s"] = rnd(time.monotonic() - t)
    start_lsn = int(pg.sql("SELECT pg_current_wal_lsn() - '0/0'"))
    log(f"restore: barman-cloud-backup {facts['backup_s']} s; pgbench for "
        f"{args.restore_minutes} min")
    t = time.monotonic()
    bench = [f"{harness.PG_BIN}/pgbench", "-n", "-c", "2", "-j", "2",
             "-T", str(max(1, int(args.restore_minutes * 60))),
             "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "postgres"]
    if args.restore_rate:
        bench[2:2] = ["-R", str(args.restore_rate)]
    r = harness.run(nice(bench), timeout=int(args.restore_minutes * 60) + 600)
    facts["load_s"] = rnd(time.monotonic() - t)
    for line in r.stdout.splitlines():
        if line.startswith("number of transactions actually processed"):
            facts["load_transactions"] = int(line.split(":")[1].split("/")[0])
        elif line.startswith("tps ="):
            facts["load_tps"] = rnd(float(line.split()[2]), 1)
    end_lsn = int(pg.sql("SELECT pg_current_wal_lsn() - '0/0'"))
    facts["wal_after_backup_bytes"] = end_lsn - start_lsn
    last = pg.sql("SELECT pg_walfile_name(pg_switch_wal())")
    t = time.monotonic()
    a.wait_archived(last, 3600)
    facts["archive_drain_s"] = rnd(time.monotonic() - t)
    facts["segments_archived"] = len(a.wal_names())
    facts["newest_segment"] = max(a.wal_names())
    pg.stop("fast")
    facts["backup_id"] = a.backup_ids()[-1]
    log(f"restore: {facts.get('load_transactions')} transactions, "
        f"{facts['wal_after_backup_bytes'] >> 20} MiB of WAL after the backup, "
        f"{facts['segments_archived']} segments archived (drained in {facts['archive_drain_s']} s)")
    return a, facts


def ready(logfile):
    try:
        with open(logfile, errors="replace") as f:
            text = f.read()
    except OSError:
        return False
    if "database system is ready to accept connections" in text:
        return True
    if "aborting startup" in text or "database system is shut down" in text:
        raise RuntimeError(f"the restored server exited: {logfile}")
    return False


def stop_and_remove(data_dir):
    if os.path.exists(os.path.join(data_dir, "postmaster.pid")):
        harness.run(harness.as_pg_user([f"{harness.PG_BIN}/pg_ctl", "-D", data_dir, "-m", "fast",
                                        "-w", "stop"]), check=False, timeout=120)
    shutil.rmtree(data_dir, ignore_errors=True)


def floor_restore(tmp, a, backup_id, timeout, n):
    """The restore by hand; returns its fetch, replay and total seconds."""
    data_dir = os.path.join(tmp.path, f"floor-{n}")
    os.makedirs(data_dir, mode=0o700)
    if harness.AS_ROOT:
        shutil.chown(data_dir, harness.PG_USER, harness.PG_USER)
    logfile = os.path.join(tmp.path, f"floor-{n}.log")
    port = free_port()
    t0 = time.monotonic()
    harness.run(harness.as_pg_user(["barman-cloud-restore"] + a.common +
                                   [URL, SERVER, backup_id, data_dir]), env=a.env,
                timeout=timeout)
    t1 = time.monotonic()
    with open(os.path.join(data_dir, "postgresql.auto.conf"), "a") as f:
        f.write("\n".join(["", f"restore_command = '{a.restore_command()}'",
                           f"port = {port}", "listen_addresses = '127.0.0.1'",
                           f"unix_socket_directories = '{data_dir}'", "archive_mode = off", ""]))
    open(os.path.join(data_dir, "recovery.signal"), "w").close()
    if harness.AS_ROOT:
        for name in ("postgresql.auto.conf", "recovery.signal"):
            shutil.chown(os.path.join(data_dir, name), harness.PG_USER, harness.PG_USER)
    open(logfile, "w").close()
    if harness.AS_ROOT:
        shutil.chown(logfile, harness.PG_USER, harness.PG_USER)
    harness.run(harness.as_pg_user([f"{harness.PG_BIN}/pg_ctl", "-D", data_dir, "-l", logfile,
                                    "-W", "start"]), env=a.env, timeout=60)
    wait_until(lambda: ready(logfile), timeout=timeout, interval=0.02, what="floor recovery")
    t2 = time.monotonic()
    r = harness.run(["psql", "-X", "-h", data_dir, "-p", str(port), "-U", "postgres", "-Atc",
                     "SELECT pg_is_in_recovery(), pg_current_wal_lsn() - '0/0'"], timeout=60)
    in_recovery, lsn = r.stdout.strip().split("|")
    assert in_recovery == "f", r.stdout
    stop_and_remove(data_dir)
    return {"fetch_s": rnd(t1 - t0), "replay_s": rnd(t2 - t1), "total_s": rnd(t2 - t0),
            "recovered_lsn_bytes": int(float(lsn))}


def pgdr_restore(tmp, config, timeout, n):
    data_dir = os.path.join(tmp.path, f"pgdr-{n}")
    t0 = time.monotonic()
    r = subprocess.run(nice([harness.EXPORTER, "restore", f"--config.file={config}",
                             f"--cluster={SERVER}", f"--data-dir={data_dir}",
                             f"--port={free_port()}", "--format=json"]),
                       capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError(f"pgdr_exporter restore failed ({r.returncode}): {r.stdout} {r.stderr}")
    rep = json.loads(r.stdout)
    assert not os.path.exists(data_dir), "pgdr removes its stopped copy"
    return {"fetch_s": rnd(rep["fetch_seconds"]), "replay_s": rnd(rep["replay_seconds"]),
            "total_s": rnd(rep["total_seconds"]), "process_wall_s": rnd(wall),
            "recovered_lsn_bytes": rep["recovered_lsn_bytes"], "backup_id": rep["backup_id"],
            "wal_replayed_bytes": rep["wal_replayed_bytes"]}


def phase_restore(tmp, args):
    a, facts = prepare(tmp, args)
    config = os.path.join(tmp.path, "restore-bench.yml")
    with open(config, "w") as f:
        json.dump({"targets": [{"cluster": SERVER, "member": f"{SERVER}-1", "dsn": a.pg.dsn}],
                   "backup_stores": [{"name": "s3", "cluster": SERVER, "layout": "barman-cloud",
                                      "url": URL, "server_name": SERVER,
                                      "endpoint": a.s3.endpoint, "timeout": "60s"}]}, f)
    timeout = 7200
    runs = {"floor": [], "pgdr": []}
    for n in range(args.restore_rounds):
        # Alternate which goes first: neither always gets the warmer page cache.
        order = ("floor", "pgdr") if n % 2 == 0 else ("pgdr", "floor")
        for who in order:
            log(f"restore: round {n + 1}/{args.restore_rounds}: {who}")
            r = (floor_restore(tmp, a, facts["backup_id"], timeout, n) if who == "floor"
                 else pgdr_restore(tmp, config, timeout, n))
            log(f"restore: {who}: fetch {r['fetch_s']} s, replay {r['replay_s']} s, "
                f"total {r['total_s']} s")
            runs[who].append(r)
    for f_run, p_run in zip(runs["floor"], runs["pgdr"]):
        # Both recovered to the end of the same archive.
        assert f_run["recovered_lsn_bytes"] >= p_run["recovered_lsn_bytes"] - (16 << 20), runs
    med = {who: {k: rnd(statistics.median(r[k] for r in rs))
                 for k in ("fetch_s", "replay_s", "total_s")} for who, rs in runs.items()}
    ratio = med["pgdr"]["total_s"] / med["floor"]["total_s"]
    res = {"setup": facts, "rounds": args.restore_rounds, "runs": runs, "median": med,
           "ratio_total_pgdr_over_floor": rnd(ratio, 3),
           "target_total_le_1_2_floor": ratio <= 1.2,
           "barman_cloud": subprocess.run(["barman-cloud-restore", "--version"],
                                          capture_output=True, text=True).stdout.strip()}
    log(f"restore: pgdr total {med['pgdr']['total_s']} s vs floor {med['floor']['total_s']} s "
        f"= x{res['ratio_total_pgdr_over_floor']}")
    return res


def render(r):
    s = r["setup"]
    rate = f", rate limit {s['load_rate_tps']} tps" if s.get("load_rate_tps") else ""
    out = [f"### Restore time (pgbench scale {s['scale']}, {s['database_bytes'] / 1073741824:.2f} GiB; "
           f"{s['load_minutes']} min of pgbench WAL)", "",
           f"pgbench -c {s['load_clients']}{rate}: {s.get('load_transactions')} transactions "
           f"({s.get('load_tps')} tps), {s['wal_after_backup_bytes'] / 1048576:.0f} MiB of WAL "
           f"after the base backup, {s['segments_archived']} segments archived by "
           f"barman-cloud-wal-archive into s3rver; base backup {s['backup_id']} "
           f"(barman-cloud-backup {s['backup_s']} s). {r['barman_cloud']}; median of "
           f"{r['rounds']} round(s), floor and pgdr alternating.", "",
           "| restore to the end of the archive | fetch | replay | total | ratio total / floor |",
           "|---|---:|---:|---:|---:|"]
    m = r["median"]
    out.append(f"| by hand (floor): barman-cloud-restore + restore_command + pg_ctl start | "
               f"{m['floor']['fetch_s']} s | {m['floor']['replay_s']} s | {m['floor']['total_s']} s | 1 |")
    out.append(f"| `pgdr_exporter restore` | {m['pgdr']['fetch_s']} s | {m['pgdr']['replay_s']} s | "
               f"{m['pgdr']['total_s']} s | {r['ratio_total_pgdr_over_floor']} "
               f"(≤ 1.2: {'met' if r['target_total_le_1_2_floor'] else 'MISSED'}) |")
    walls = [x["process_wall_s"] for x in r["runs"]["pgdr"]]
    out += ["", f"`pgdr_exporter restore` process wall time (config load, catalog, stop and "
            f"removal of the copy included): {', '.join(f'{w} s' for w in walls)}.", ""]
    return out
