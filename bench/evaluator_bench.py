#!/usr/bin/env python3
"""Rule-evaluation cost: pgdr's built-in evaluator vs a real Prometheus 2.42.

Python 3 standard library (PyYAML not needed). Two workloads, each evaluated
by both sides from the same data and the same rule files, every 5 s:

  fleet  the shipped rules/*.yml over a simulated fleet of 50 clusters x 4
         members (one primary, two local replicas, one cross-region replica)
         with every metric the rules read (docs/metrics.md names), counters
         moving, and a few clusters in trouble so that alerts go pending and
         fire. The scrapes are written once as text exposition files
         (step-0000.prom, ...). An HTTP server on 127.0.0.1 hands the k-th
         request the k-th file; Prometheus scrapes it (scrape and evaluation
         interval 5 s) and its prometheus_rule_group_last_duration_seconds is
         read from its /metrics every 2.5 s, one value per evaluation
         (deduplicated by prometheus_rule_group_last_evaluation_timestamp_seconds).
         Then tests/bench/evaluator_bench appends the same files to a TSDB
         (with job/instance and `up`, as Prometheus adds them) and ticks a
         RuleManager over simulated time from the same start, one scrape and
         one evaluation per 5 s step, as many steps as Prometheus scraped.
  large  $PGDR_CONFORMANCE_DIR/promtool/rules_large.yml (10,002 recording
         rules of vector(1); data does not matter), Prometheus without targets;
         not run, and said so, when the conformance directory is absent.

Per side: median and p90 of each group's evaluation duration and of the sum
over groups per evaluation; evaluations in the first --warmup seconds are not
counted. Active alerts at the end are compared (same data, same rules: the
same alerts should be pending or firing). Writes bench/evaluator_results.json
and prints a Markdown table. Prometheus runs first and alone, then the driver,
so the two do not compete for the 2 cores. Every wait is bounded; every
process started is stopped on exit, error, SIGINT and SIGTERM
(harness.TempDir).

    bench/evaluator_bench.py --driver build-bench/tests/bench/evaluator_bench [--smoke]
"""

import argparse
import datetime
import glob
import http.server
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from harness import Prometheus, TempDir, http_get, parse_metrics, wait_until  # noqa: E402
from bench import log, machine, pct, rnd, write_results  # noqa: E402

INTERVAL_S = 5
CLUSTERS, MEMBERS = 50, 4
LARGE_RULES = os.path.join(harness.CONFORMANCE_DIR, "promtool", "rules_large.yml")
COLLECTORS = ["instance", "replication", "wal", "archiver", "memory", "slots"]
BUCKETS = ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"]


# ---------------------------------------------------------------- the fleet

class Exposition:
    """Collects samples grouped by family (the text format wants each family
    contiguous) and writes them as `name{labels} value` lines."""

    def __init__(self):
        self.families = {}  # name -> (type, [line])

    def add(self, name, labels, value, typ="gauge", family=None):
        fam = family or name
        if fam not in self.families:
            self.families[fam] = (typ, [])
        body = ",".join(f'{k}="{v}"' for k, v in labels.items())
        self.families[fam][1].append(f"{name}{{{body}}} {float(value)!r}" if body else f"{name} {float(value)!r}")

    def text(self):
        out = []
        for fam, (typ, lines) in self.families.items():
            out.append(f"# HELP {fam} Simulated by bench/evaluator_bench.py.")
            out.append(f"# TYPE {fam} {typ}")
            out.extend(lines)
        return "\n".join(out) + "\n"


def fleet_scrape(step, t0):
    """The exposition of one pgdr_exporter watching the whole fleet at `step`
    (scraped around t0 + step * 5 s). Deterministic."""
    now = t0 + step * INTERVAL_S
    e = Exposition()
    e.add("pgdr_build_info", {"version": "bench", "revision": "sim"}, 1)
    for c in range(CLUSTERS):
        cluster = f"pg-{c:02d}"
        for m in range(MEMBERS):
            member_scrape(e, c, m, step, now)
        cluster_scrape(e, c, cluster, step, now)
    for g in ["availability", "backups-rpo", "exporter", "pooler", "replication", "resources", "wal-archiving"]:
        e.add("pgdr_rule_group_last_duration_seconds", {"group": f"pgdr.{g}"}, 0.0004)
        e.add("pgdr_rule_evaluation_failures_total", {"group": f"pgdr.{g}"}, 0, "counter")
    return e.text()


def member_scrape(e, c, m, step, now):
    cluster, member = f"pg-{c:02d}", f"pg-{c:02d}-{m}"
    base = {"cluster": cluster, "member": member, "region": "us-east" if m == 3 else "eu-west"}
    fixed = random.Random(c * 100 + m)            # stable per member
    jitter = random.Random(c * 100000 + m * 1000 + step)  # varies per scrape
    primary = m == 0
    down = (c, m) == (7, 2)                          # PostgresInstanceDown
    e.add("pgdr_up", base, 0 if down else 1)
    for coll in COLLECTORS:
        lab = dict(base, collector=coll)
        e.add("pgdr_collect_duration_seconds", lab, round(0.002 + 0.01 * jitter.random(), 6))
        failing = down or ((c, m) == (3, 1) and coll == "replication")  # PgdrCollectorFailing
        e.add("pgdr_collect_errors_total", lab, step if failing else 0, "counter")
    if down:
        return
    # probe latency histogram: 1000 probes per scrape, p99 under 25 ms (one
    # member over 0.5 s: PostgresProbeLatencyHigh)
    n = 1000 * (step + 1)
    slow = (c, m) == (5, 0)
    shares = ([0.2, 0.5, 0.8, 0.9, 0.95, 0.96, 0.97, 0.975, 0.98, 0.985, 1] if slow else
              [0.2, 0.5, 0.8, 0.9, 0.995, 0.999, 1, 1, 1, 1, 1])
    for le, share in zip(BUCKETS, shares):
        e.add("pgdr_probe_latency_seconds_bucket", dict(base, le=le), round(n * share), "histogram",
              "pgdr_probe_latency_seconds")
    e.add("pgdr_probe_latency_seconds_sum", base, n * (0.05 if slow else 0.004), "histogram",
          "pgdr_probe_latency_seconds")
    e.add("pgdr_probe_latency_seconds_count", base, n, "histogram", "pgdr_probe_latency_seconds")
    # instance
    timeline = 2 if c == 13 and step >= 1 else 1        # PostgresFailoverOccurred
    e.add("pgdr_in_recovery", base, 0 if primary else 1)
    e.add("pgdr_timeline_id", base, timeline)
    e.add("pgdr_postmaster_start_time_seconds", base, now - 86400 * (3 + fixed.randrange(20)))
    e.add("pgdr_server_version_num", base, 150004 if (c, m) != (47, 2) else 150003)  # VersionSkew
    max_conn = 100
    busy = 0.95 if (c, m) == (37, 0) else 0.2 + 0.3 * fixed.random()  # ConnectionsNearLimit
    total = int(max_conn * busy)
    for state, share in [("active", 0.3), ("idle", 0.6), ("idle in transaction", 0.1)]:
        e.add("pgdr_connections", dict(base, state=state), round(total * share))
    e.add("pgdr_max_connections", base, max_conn)
    e.add("pgdr_xid_age", base, 1.6e9 if c == 43 else 2e7 + fixed.randrange(10**7) + step * 300)
    e.add("pgdr_longest_transaction_seconds", base, 2400 if (c, m) == (29, 1) else jitter.random() * 3)
    for db, size in [("app", 2e10 + fixed.randrange(10**9)), ("postgres", 8e6)]:
        e.add("pgdr_database_size_bytes", dict(base, datname=db), size)
    for name, rate in [("pgdr_xact_commit_total", 400), ("pgdr_xact_rollback_total", 2),
                       ("pgdr_deadlocks_total", 0.001)]:
        e.add(name, base, int(10**6 + rate * step * INTERVAL_S), "counter")
    # memory
    limit = 8 * 2**30
    e.add("pgdr_memory_rss_bytes", base, 1.5 * 2**30 + fixed.randrange(2**28))
    e.add("pgdr_memory_pss_bytes", base, 1.1 * 2**30 + fixed.randrange(2**28))
    e.add("pgdr_memory_cgroup_usage_bytes", base, limit * (0.93 if (c, m) == (41, 1) else 0.5))
    e.add("pgdr_memory_cgroup_limit_bytes", base, limit)
    e.add("pgdr_blocks_hit_total", base, 10**9 + 50000 * step * INTERVAL_S, "counter")
    e.add("pgdr_blocks_read_total", base, 10**7 + 500 * step * INTERVAL_S, "counter")
    e.add("pgdr_temp_bytes_total", base, 10**8, "counter")
    # replication
    lsn = 5 * 10**11 + c * 10**9 + step * INTERVAL_S * 2 * 10**6
    if primary:
        for r in range(1, MEMBERS):
            app = f"pg-{c:02d}-{r}"
            lab = dict(base, application_name=app, client_addr=f"10.{c}.0.{r}", state="streaming",
                       sync_state="async")
            for kind in ("write", "flush", "replay"):
                e.add("pgdr_stat_replication_lag_bytes", dict(lab, kind=kind), jitter.randrange(4096))
                e.add("pgdr_stat_replication_lag_seconds", dict(lab, kind=kind), round(jitter.random() * 0.01, 6))
            slot = dict(base, slot_name=f"slot_{r}", slot_type="physical")
            inactive = (c, r) == (23, 2)                     # PostgresReplicationSlotInactive
            e.add("pgdr_replication_slot_active", slot, 0 if inactive else 1)
            e.add("pgdr_replication_slot_retained_bytes", slot,
                  1.2e10 + step * 1e7 if inactive else jitter.randrange(10**6))
        e.add("pgdr_streaming_replicas", base, MEMBERS - 1 - (1 if c == 7 else 0))
    else:
        lag_s, lag_b = jitter.random() * 0.5, jitter.randrange(10**5)
        if (c, m) == (11, 1):
            lag_s, lag_b = 45 + jitter.random(), 3 * 2**28       # ReplicationLagHigh, LagBytesHigh
        if c == 17 and m == 3:
            lag_s = 150.0                                        # GeoReplicaLagging
        e.add("pgdr_replication_lag_seconds", base, round(lag_s, 6))
        e.add("pgdr_replication_lag_bytes", base, lag_b)
        e.add("pgdr_wal_receiver_up", base, 0 if (c, m) == (23, 2) else 1)  # ReplicaNotStreaming
        lsn -= lag_b
    # WAL and archiver
    e.add("pgdr_wal_lsn_bytes", base, lsn)
    e.add("pgdr_wal_segments", base, 64 + fixed.randrange(16))
    e.add("pgdr_wal_size_bytes", base, (64 + fixed.randrange(16)) * 16 * 2**20)
    e.add("pgdr_wal_archive_ready_files", base, 140 if (c, m) == (31, 0) else jitter.randrange(3) if primary else 0)
    failing = (c, m) == (31, 0)                                    # PostgresWALArchivingFailing
    e.add("pgdr_archiver_archived_total", base, 5000 + (0 if failing else step // 6) if primary else 0, "counter")
    e.add("pgdr_archiver_failed_total", base, 3 + (step if failing else 0) if primary else 0, "counter")
    if primary:
        e.add("pgdr_archiver_last_archived_timestamp_seconds", base, now - (600 if failing else 30))
        e.add("pgdr_archiver_last_failed_timestamp_seconds", base, now - (5 if failing else 86400))


def cluster_scrape(e, c, cluster, step, now):
    store = f"s3-{cluster}"
    lab = {"cluster": cluster, "store": store}
    e.add("pgdr_backup_store_up", lab, 0 if c == 47 else 1)       # BackupStoreUnreachable
    age = 100000 if c == 41 else 3600 * (2 + c % 20)              # BackupTooOld
    completed = now - age
    if c != 19:                                                    # 19: BackupMissing
        e.add("pgdr_backup_last_completed_timestamp_seconds", dict(lab, type="full"), completed)
    failed = now - 600 if c == 17 else completed - 7 * 86400      # 17: BackupFailed
    e.add("pgdr_backup_last_failed_timestamp_seconds", lab, failed)
    e.add("pgdr_backup_last_duration_seconds", lab, 1200 + 10 * c)
    e.add("pgdr_backup_last_size_bytes", lab, 2e10 + c * 1e8)
    e.add("pgdr_backups", dict(lab, status="done"), 7)
    e.add("pgdr_backups", dict(lab, status="failed"), 1 if c == 17 else 0)
    e.add("pgdr_backup_first_recoverability_point_timestamp_seconds", lab, now - 7 * 86400)
    e.add("pgdr_wal_archive_newest_segment_timestamp_seconds", lab, now - (2400 if c == 31 else 60))
    e.add("pgdr_wal_archive_newest_lsn_bytes", lab, 5 * 10**11 + c * 10**9 + step * INTERVAL_S * 2 * 10**6 - 2**24)
    e.add("pgdr_wal_archive_gap_segments", lab, 2 if c == 43 else 0)   # WALChainGap
    e.add("pgdr_logical_backup_last_completed_timestamp_seconds", lab, now - 3 * 3600)
    for scope, sec, byt in [("replica", 90 if c == 11 else 0.2, 3 * 2**28 if c == 11 else 4096),
                            ("archive", 1000 if c == 31 else 45, 2**24)]:  # RPO alerts
        e.add("pgdr_rpo_seconds", dict(cluster=cluster, scope=scope), sec)
        e.add("pgdr_rpo_bytes", dict(cluster=cluster, scope=scope), byt)
    e.add("pgdr_restore_drill_last_success_timestamp_seconds", {"cluster": cluster},
          now - (9 * 86400 if c == 3 else 2 * 86400))                # RestoreDrillStale
    e.add("pgdr_restore_drill_duration_seconds", {"cluster": cluster}, 1800 + c)
    pooler = f"pgbouncer-{cluster}"
    pl = {"cluster": cluster, "pooler": pooler}
    e.add("pgdr_pgbouncer_up", pl, 0 if c == 2 else 1)               # PoolerDown
    for db in ("app", "reporting"):
        waiting = 6 if (c == 29 and db == "app") else 0             # PoolerClientsWaiting
        for state, v in [("active", 20 + c % 7), ("waiting", waiting)]:
            e.add("pgdr_pgbouncer_clients", dict(pl, database=db, user="app", state=state), v)
        for state, v in [("active", 10), ("idle", 5)]:
            e.add("pgdr_pgbouncer_servers", dict(pl, database=db, user="app", state=state), v)
        e.add("pgdr_pgbouncer_max_wait_seconds", dict(pl, database=db, user="app"), 2.5 if waiting else 0)
    e.add("pgdr_maintenance_active", {"cluster": cluster}, 1 if c == 19 else 0)


def write_fleet(directory, steps, t0):
    os.makedirs(directory, exist_ok=True)
    for k in range(steps):
        with open(os.path.join(directory, f"step-{k:04d}.prom"), "w") as f:
            f.write(fleet_scrape(k, t0))
    with open(os.path.join(directory, "step-0000.prom")) as f:
        return sum(1 for line in f if line and not line.startswith("#"))


class ScrapeServer:
    """Serves /metrics on 127.0.0.1: the k-th request gets the k-th file
    (the last one again once they run out)."""

    def __init__(self, directory):
        self.files = sorted(glob.glob(os.path.join(directory, "*.prom")))
        self.served = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                with outer.lock:
                    k = min(outer.served, len(outer.files) - 1)
                    outer.served += 1
                with open(outer.files[k], "rb") as f:
                    body = f.read()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------- Prometheus

def summary(values):
    return {"median_s": rnd(pct(values, 50), 7), "p90_s": rnd(pct(values, 90), 7),
            "min_s": rnd(min(values), 7) if values else None,
            "max_s": rnd(max(values), 7) if values else None, "samples": len(values)}


def measure_prometheus(tmp, targets, rule_files, window_s, warmup_s, ready_timeout=120):
    """Starts Prometheus, lets it run warmup_s + window_s, and collects one
    duration per group evaluation made after warmup_s."""
    prom = Prometheus(tmp, targets, scrape_interval=f"{INTERVAL_S}s", rule_files=rule_files,
                      evaluation_interval=f"{INTERVAL_S}s")
    prom.start(timeout=ready_timeout)
    started = time.monotonic()
    url = f"http://127.0.0.1:{prom.port}/metrics"
    last_eval, per_group, totals = {}, {}, []
    group_rules = {}
    deadline = started + warmup_s + window_s
    polls = 0
    while time.monotonic() < deadline:
        time.sleep(INTERVAL_S / 2)
        polls += 1
        status, body = http_get(url, timeout=10)
        if status != 200:
            continue
        dur, ts = {}, {}
        for name, labels, value in parse_metrics(body):
            group = labels.get("rule_group", "").split(";", 1)[-1]
            if name == "prometheus_rule_group_last_duration_seconds":
                dur[group] = value
            elif name == "prometheus_rule_group_last_evaluation_timestamp_seconds":
                ts[group] = value
            elif name == "prometheus_rule_group_rules":
                group_rules[group] = int(value)
        counted = time.monotonic() - started >= warmup_s
        for group, t in ts.items():
            if t <= 0 or last_eval.get(group) == t or group not in dur:
                continue
            last_eval[group] = t
            if counted:
                per_group.setdefault(group, []).append(dur[group])
        # Groups run at their own offsets within the interval: the total is the
        # sum of every group's latest duration, taken once per interval.
        if counted and polls % 2 == 0 and dur and all(g in dur for g in group_rules):
            totals.append(sum(dur.values()))
    alerts = {}
    for a in prom.api("/api/v1/alerts")["alerts"]:
        by_state = alerts.setdefault(a["labels"]["alertname"], {})
        by_state[a["state"]] = by_state.get(a["state"], 0) + 1
    harness.stop_process(prom.proc)
    return {"groups": {g: dict(summary(v), rules=group_rules.get(g)) for g, v in sorted(per_group.items())},
            "total": dict(summary(totals), groups=len(per_group),
                          rules=sum(group_rules.get(g, 0) for g in per_group)),
            "alerts": alerts, "run_s": round(time.monotonic() - started, 1)}


def run_driver(driver, rule_files, steps, warmup_steps, start_ms, data_dir=None, target=None):
    cmd = [driver, "--steps", str(steps), "--warmup", str(warmup_steps), "--interval-ms",
           str(INTERVAL_S * 1000), "--start-ms", str(start_ms)]
    for f in rule_files:
        cmd += ["--rules", f]
    if data_dir:
        cmd += ["--data", data_dir, "--target-label", "job=pgdr", "--target-label", f"instance={target}"]
    started = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    out = json.loads(r.stdout)
    out["run_s"] = round(time.monotonic() - started, 1)
    for v in [out["total"], out["tick_wall"], *out["groups"].values()]:
        for k in ("median_s", "p90_s", "min_s", "max_s"):
            v[k] = rnd(v[k], 7)
    return out


def ratios(prom, pgdr):
    def r(a, b):
        return round(a / b, 1) if a and b else None
    return {"total_median": r(prom["total"]["median_s"], pgdr["total"]["median_s"]),
            "total_p90": r(prom["total"]["p90_s"], pgdr["total"]["p90_s"]),
            "groups_median": {g: r(v["median_s"], pgdr["groups"].get(g, {}).get("median_s"))
                              for g, v in prom["groups"].items()}}


def active_alerts(by_name):
    return {name: sum(states.values()) for name, states in sorted(by_name.items())}


# ---------------------------------------------------------------- report

def ms(s):
    return "–" if s is None else f"{s * 1000:.1f}" if s >= 0.001 else f"{s * 1000:.3f}"


def render(res):
    out = ["| workload | pgdr median / p90 (ms) | Prometheus 2.42 median / p90 (ms) | Prometheus / pgdr (median) |",
           "|---|---:|---:|---:|"]
    for key, title in [("large", "rules_large.yml"), ("fleet", "rules/*.yml, 200 members")]:
        w = res.get(key)
        if not w:
            continue
        p, q = w["pgdr"]["total"], w["prometheus"]["total"]
        out.append(f"| {title} ({p['rules']} rules, {p['groups']} groups) | {ms(p['median_s'])} / {ms(p['p90_s'])} | "
                   f"{ms(q['median_s'])} / {ms(q['p90_s'])} | {w['ratio_prometheus_over_pgdr']['total_median']}× |")
    f = res.get("fleet")
    if f:
        out += ["", "| fleet group | pgdr median (ms) | Prometheus median (ms) | ratio |", "|---|---:|---:|---:|"]
        for g, v in f["prometheus"]["groups"].items():
            out.append(f"| {g} | {ms(f['pgdr']['groups'].get(g, {}).get('median_s'))} | {ms(v['median_s'])} | "
                       f"{f['ratio_prometheus_over_pgdr']['groups_median'].get(g)}× |")
        out.append("")
        out.append(f"Active alerts at the end, same on both sides: {f['alerts_match']} "
                   f"({sum(f['active_alerts']['pgdr'].values())} pgdr, "
                   f"{sum(f['active_alerts']['prometheus'].values())} Prometheus).")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--driver", default=os.path.join(ROOT, "build-bench", "tests", "bench", "evaluator_bench"))
    ap.add_argument("--out", default=os.path.join(HERE, "evaluator_results.json"))
    ap.add_argument("--smoke", action="store_true", help="20 s per Prometheus run instead of 70 s")
    ap.add_argument("--workloads", default="fleet,large")
    args = ap.parse_args()
    driver = os.path.abspath(args.driver)
    if not os.access(driver, os.X_OK):
        print(f"evaluator_bench.py: no driver binary at {driver}", file=sys.stderr)
        return 1
    window_s, warmup_s = (15, 10) if args.smoke else (70, 10)
    workloads = set(args.workloads.split(","))
    if "large" in workloads and not os.path.isfile(LARGE_RULES):
        log(f"large: {LARGE_RULES} absent (set PGDR_CONFORMANCE_DIR): not run")
        workloads.discard("large")
    shipped = sorted(glob.glob(os.path.join(ROOT, "rules", "*.yml")))

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    started = time.time()
    info = machine()
    info["prometheus"] = subprocess.run(["prometheus", "--version"], stdout=subprocess.PIPE, text=True,
                                        timeout=10, stderr=subprocess.STDOUT).stdout.strip().splitlines()[0]
    res = {"schema": 1, "mode": "smoke" if args.smoke else "full",
           "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "git_commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True,
                                        text=True).stdout.strip(),
           "driver": driver, "interval_s": INTERVAL_S, "warmup_s": warmup_s, "window_s": window_s,
           "machine": info}
    log(f"evaluator bench ({res['mode']}): load average {info['loadavg_at_start']}")
    warmup_steps = warmup_s // INTERVAL_S
    server = None
    with TempDir() as tmp:
        try:
            if "fleet" in workloads:
                steps = (warmup_s + window_s) // INTERVAL_S + 12   # + Prometheus start-up, + slack
                t0 = int(time.time()) // INTERVAL_S * INTERVAL_S
                data = tmp.sub("fleet")
                series = write_fleet(data, steps, t0)
                log(f"fleet: {CLUSTERS} clusters x {MEMBERS} members, {series} series per scrape, {steps} scrapes")
                server = ScrapeServer(data)
                prom = measure_prometheus(tmp, [server.address], shipped, window_s, warmup_s)
                served, target = server.served, server.address
                server.close()
                server = None
                log(f"fleet: Prometheus scraped {served} times, total median {ms(prom['total']['median_s'])} ms")
                pgdr = run_driver(driver, shipped, max(served, warmup_steps + 1), warmup_steps, t0 * 1000,
                                  data, target)
                log(f"fleet: pgdr total median {ms(pgdr['total']['median_s'])} ms")
                a, b = active_alerts(pgdr["alerts"]), active_alerts(prom["alerts"])
                res["fleet"] = {"clusters": CLUSTERS, "members": CLUSTERS * MEMBERS,
                                "series_per_scrape": series, "scrapes": served,
                                "rule_files": [os.path.relpath(f, ROOT) for f in shipped],
                                "prometheus": prom, "pgdr": pgdr, "ratio_prometheus_over_pgdr": ratios(prom, pgdr),
                                "active_alerts": {"pgdr": a, "prometheus": b}, "alerts_match": a == b}
            if "large" in workloads:
                prom = measure_prometheus(tmp, [], [LARGE_RULES], window_s, warmup_s)
                log(f"large: Prometheus total median {ms(prom['total']['median_s'])} ms")
                steps = (warmup_s + window_s) // INTERVAL_S
                pgdr = run_driver(driver, [LARGE_RULES], steps, warmup_steps,
                                  int(time.time()) // INTERVAL_S * INTERVAL_S * 1000)
                log(f"large: pgdr total median {ms(pgdr['total']['median_s'])} ms")
                res["large"] = {"rule_file": "$PGDR_CONFORMANCE_DIR/promtool/rules_large.yml", "prometheus": prom,
                                "pgdr": pgdr, "ratio_prometheus_over_pgdr": ratios(prom, pgdr)}
        finally:
            if server:
                server.close()
    write_results(res, args.out, started, render)
    return 0


if __name__ == "__main__":
    sys.exit(main())
