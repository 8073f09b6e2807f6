#!/usr/bin/env python3
"""pgdr benchmark suite (issue 7). Python 3 standard library + PyYAML.

Phases, all on loopback, all against real PostgreSQL 15 servers started here:

  1. comparison  pgdr_exporter vs prometheus-postgres-exporter (Debian 0.11.1),
                 one after the other against the same primary + 2 replicas,
                 running the same SQL (pgdr's queries/*.yml, converted), each
                 scraped N times at the same rate. Measures exporter CPU,
                 PostgreSQL backend CPU, connections opened, peak RSS,
                 /metrics latency, series.
  2. latency     one member's collection wall time vs the physical floor
                 (pg_stat_statements plan+exec time of what the exporter ran,
                 plus one loopback round trip).
  3. scale       one pgdr_exporter with 10 / 100 / 500 / 2,000 members (3 per
                 cluster, DSNs to 4 servers) at a 15 s interval with the
                 shipped rules evaluated: CPU %, RSS, collection delay,
                 rule-group duration.
  4. restore     `pgdr_exporter restore` of a pgbench database (scale 70, ~1 GiB)
                 plus 10 minutes of pgbench WAL from a barman-cloud store in
                 s3rver, against the same restore by hand (bench/restore_bench.py).
                 Not in the default --phases: it takes ~30 minutes.
  5. retention   pgdr with the shipped rules at 1 s collection on the three
                 members until its TSDB retention (--retention-minutes, 60)
                 fills, next to three postgres_exporters: pgdr RSS and TSDB
                 bytes per sample against 1/3 of their peak RSS. Not in the
                 default --phases (it takes the retention).

Writes a JSON file (default bench/results.json) and prints Markdown tables.
Every loop is bounded in count and time; every process started is stopped
on exit (harness.TempDir), also on SIGTERM/SIGINT.

    bench/bench.py --exporter build-bench/exporter/pgdr_exporter [--smoke]
    bench/bench.py --render bench/results.json     # tables only
    bench/bench.py --phases restore [--restore-scale 70 --restore-minutes 10]

A run of only some phases into an existing results file replaces those
phases' entries and keeps the others (each phase records when it ran).
"""

import argparse
import datetime
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from harness import PgCluster, PgNode, TempDir, free_port, http_get, parse_metrics, wait_until  # noqa: E402
import pgwire  # noqa: E402
import restore_bench  # noqa: E402

POSTGRES_EXPORTER = "/usr/bin/prometheus-postgres-exporter"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGESIZE")


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------- /proc helpers

def proc_stat(pid):
    """(own utime+stime, reaped children's cutime+cstime) in seconds, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    f = text[text.rfind(")") + 2:].split()
    # after ")": state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return ((int(f[11]) + int(f[12])) / CLK_TCK, (int(f[13]) + int(f[14])) / CLK_TCK, int(f[1]))


def proc_cpu_ns(pid):
    """CPU time the task has run, in seconds at nanosecond resolution
    (/proc/<pid>/schedstat; /proc/<pid>/stat counts in CLK_TCK ticks, too
    coarse for ~1 ms per cycle), or None."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return None


def proc_status_bytes(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def runqueue_wait_s(pid):
    """Seconds all threads of pid spent runnable but waiting for a CPU
    (/proc/<pid>/task/*/schedstat, field 2): how much the host starved it."""
    total = 0
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[1])
            except (OSError, IndexError, ValueError):
                pass
    except OSError:
        return None
    return total / 1e9


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def children(ppid):
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st and st[2] == ppid:
            out.append(int(name))
    return out


def is_client_backend(cmd):
    # PostgreSQL's process title: "postgres: <user> <database> <host(port)> <state>";
    # walsenders read "postgres: walsender ...", auxiliary processes have no user.
    return cmd.startswith("postgres: postgres postgres ")


def pg_snapshot(nodes):
    """Per node: the postmaster's reaped-children CPU and every client backend's CPU."""
    snap = {}
    for node in nodes:
        pm = node.pid()
        st = proc_stat(pm)
        backends = {}
        for pid in children(pm):
            if is_client_backend(cmdline(pid)):
                s = proc_stat(pid)
                if s:
                    backends[pid] = s[0]
        snap[node.name] = {"pm": pm, "reaped": st[1] if st else 0.0, "backends": backends}
    return snap


def pg_backend_cpu(s0, s1, app_of=None, apps=None):
    """CPU seconds of client backends between two snapshots, short-lived ones included.

    Backends alive at the end count their delta; backends that exited during the
    window are in the postmaster's cutime+cstime (it reaps them), minus what those
    alive at the start had already used. With app_of (pid -> application_name,
    from the connection log), the CPU is split per application; reaped CPU goes to
    the applications whose backends exited, in proportion to how many exited
    (exact when only one application's backends exit, as in every run so far)."""
    apps = list(apps or [])
    per_app = {a: 0.0 for a in apps}
    exits = {a: 0 for a in apps}
    detail = {}
    total = 0.0
    for name, a in s0.items():
        b = s1[name]
        app = (lambda pid: (app_of or {}).get((name, pid)))
        alive = 0.0
        for pid, cpu in b["backends"].items():
            d = cpu - a["backends"].get(pid, 0.0)
            alive += d
            if app(pid) in per_app:
                per_app[app(pid)] += d
        gone = [pid for pid in a["backends"] if pid not in b["backends"]]
        gone_before = sum(a["backends"][pid] for pid in gone)
        exited = max(0.0, b["reaped"] - a["reaped"] - gone_before)
        born_gone = b.get("born_gone", [])
        exited_apps = [app(pid) for pid in gone + born_gone]
        counted = [x for x in exited_apps if x in per_app]
        for x in counted:
            per_app[x] += exited / len(counted)
            exits[x] += 1
        detail[name] = {"alive_backends_s": round(alive, 3), "exited_backends_s": round(exited, 3),
                        "backends_at_end": len(b["backends"]), "exited_backends": len(exited_apps),
                        "backends_at_end_by_app": {
                            x: sum(1 for pid in b["backends"] if app(pid) == x) for x in apps}}
        total += alive + exited
    return total, detail, per_app, exits


class LogCounter:
    """Reads the servers' logs (log_connections, log_line_prefix '%m [%p] %a '):
    'connection authorized' lines per application_name between mark() and
    count(), and the pid -> application_name map of every client backend."""
    AUTH = re.compile(r"\[(\d+)\] .*connection authorized: .*application_name=(\S+)")

    def __init__(self, nodes):
        self.nodes = nodes
        self.offsets = {}

    def mark(self):
        self.offsets = {n.name: os.path.getsize(n.logfile) for n in self.nodes}

    def _lines(self, node, offset):
        with open(node.logfile, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
        for line in text.splitlines():
            if "replication connection" in line:
                continue
            m = self.AUTH.search(line)
            if m:
                yield int(m.group(1)), m.group(2).rstrip(",")

    def count(self):
        out = {}
        for n in self.nodes:
            for _, app in self._lines(n, self.offsets[n.name]):
                out[app] = out.get(app, 0) + 1
        return out

    def born_in_window(self):
        return {n.name: [pid for pid, _ in self._lines(n, self.offsets[n.name])] for n in self.nodes}

    def app_of(self):
        return {(n.name, pid): app for n in self.nodes for pid, app in self._lines(n, 0)}


def slope_per_min(trace):
    """Least-squares slope of [(monotonic_s, bytes)] in bytes per minute."""
    if len(trace) < 3:
        return None
    xs = [t for t, _ in trace]
    ys = [v for _, v in trace]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return int(sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den * 60) if den else None


def extrapolate_1h(rss_end, slope, window_s):
    """RSS after one hour if the growth seen in the window continues until the
    TSDB's 1 h retention fills (pgdr keeps every collected sample for 1 h)."""
    if rss_end is None or slope is None:
        return None
    return int(rss_end + max(0, slope) * max(0.0, 60 - window_s / 60))


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    k = (len(v) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def rnd(x, n=6):
    return None if x is None else round(x, n)


# ---------------------------------------------------------------- processes

class Proc:
    """An exporter process started through the harness (stopped by TempDir)."""

    def __init__(self, tmp, name, cmd, port, env=None):
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}/metrics"
        e = dict(os.environ)
        e.update(env or {})
        self.log_path = os.path.join(tmp.path, f"{name}.log")
        self.proc = harness.spawn(cmd, self.log_path, env=e)
        self.pid = self.proc.pid

    def wait_metrics(self, timeout=60):
        wait_until(lambda: self.proc.poll() is None and http_get(self.url, timeout=5)[0] == 200,
                   timeout=timeout, interval=0.3, what=f"{self.name} /metrics")

    def cpu(self):
        s = proc_stat(self.pid)
        return s[0] if s else None

    def stop(self):
        harness.stop_process(self.proc)


def start_pgdr(tmp, config, name="pgdr", extra_args=(), env=None, timeout=60):
    port = free_port()
    path = os.path.join(tmp.path, f"{name}.json")
    with open(path, "w") as f:
        json.dump(config, f, indent=1)
    # Its own state directory: the default (./data) would carry alert and
    # primary state from one run into the next.
    p = Proc(tmp, name, [harness.EXPORTER, f"--config.file={path}",
                         f"--web.listen-address=127.0.0.1:{port}", "--log.level=info",
                         f"--storage.path={os.path.join(tmp.path, name + '-data')}",
                         *extra_args], port, env)
    p.wait_metrics(timeout)
    return p


def pgexp_queries_file(tmp):
    """pgdr's queries/*.yml in postgres_exporter's --extend.query-path format
    (JSON is YAML): same SQL, same columns and usages, same cache_seconds."""
    import glob
    import yaml
    out = {}
    for path in sorted(glob.glob(os.path.join(ROOT, "queries", "*.yml"))):
        with open(path) as f:
            doc = yaml.safe_load(f) or {}
        for qname, q in doc.items():
            entry = {"query": q["query"], "metrics": []}
            if q.get("cache_seconds"):
                entry["cache_seconds"] = int(q["cache_seconds"])
            for col in q["metrics"]:
                (cname, spec), = col.items()
                entry["metrics"].append({cname: {"usage": spec["usage"],
                                                 "description": spec.get("description", cname)}})
            out[qname] = entry
    path = os.path.join(tmp.path, "postgres_exporter_queries.yml")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    return path, sorted(out)


def start_postgres_exporter(tmp, node, queries_path, name):
    port = free_port()
    dsn = (f"host=127.0.0.1 port={node.port} user=postgres dbname=postgres sslmode=disable "
           f"application_name=postgres_exporter")
    p = Proc(tmp, name, [POSTGRES_EXPORTER, f"--web.listen-address=127.0.0.1:{port}",
                         "--disable-default-metrics", "--disable-settings-metrics",
                         "--no-collector.database", "--no-collector.bgwriter",
                         f"--extend.query-path={queries_path}", "--log.level=warn"],
             port, env={"DATA_SOURCE_NAME": dsn})
    p.wait_metrics()
    return p


# ---------------------------------------------------------------- phase 1

def scrape_loop(urls, count, interval, on_body=None):
    """GETs every url once per round, `count` rounds `interval` apart (bounded)."""
    latencies, sizes, last = [], [], {}
    t0 = time.monotonic()
    for i in range(count):
        delay = t0 + i * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        for url in urls:
            t = time.perf_counter()
            status, body = http_get(url, timeout=max(5.0, interval * 5))
            latencies.append(time.perf_counter() - t)
            if status != 200:
                raise RuntimeError(f"{url} answered {status}")
            sizes.append(len(body))
            last[url] = body
            if on_body:
                on_body(url, body, time.time())
    return latencies, sizes, last, time.monotonic() - t0


def measure_together(groups, cluster, logs, scrapes, interval):
    """One measurement window, every exporter running and scraped at the same rate.

    groups: {application_name: [Proc, ...]}. Per group: process CPU, the CPU of
    its PostgreSQL backends (attributed by pid through the connection log),
    connections opened, peak RSS, /metrics latency, series."""
    procs = [p for ps in groups.values() for p in ps]
    urls = {p.url: app for app, ps in groups.items() for p in ps}
    logs.mark()
    pg0 = pg_snapshot(cluster.members)
    cpu0 = {p.name: p.cpu() for p in procs}
    rq0 = {p.name: runqueue_wait_s(p.pid) or 0.0 for p in procs}
    w0 = time.monotonic()
    lat = {app: [] for app in groups}
    sizes = {app: [] for app in groups}
    order = list(urls)
    last = {}
    rss_trace = {app: [] for app in groups}
    t0 = time.monotonic()
    for i in range(scrapes):  # bounded: `scrapes` rounds, `interval` apart
        delay = t0 + i * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        # alternate the order so no exporter is always scraped first
        for url in (order if i % 2 == 0 else order[::-1]):
            t = time.perf_counter()
            status, body = http_get(url, timeout=max(5.0, interval * 5))
            lat[urls[url]].append(time.perf_counter() - t)
            if status != 200:
                raise RuntimeError(f"{url} answered {status}")
            sizes[urls[url]].append(len(body))
            last[url] = body
        now = time.monotonic()
        for app, ps in groups.items():
            rss_trace[app].append((now, sum(proc_status_bytes(p.pid, "VmRSS") or 0 for p in ps)))
    wall = time.monotonic() - w0
    time.sleep(0.2)  # let the postmaster reap anything that just exited
    cpu1 = {p.name: p.cpu() for p in procs}
    rq1 = {p.name: runqueue_wait_s(p.pid) or 0.0 for p in procs}
    pg1 = pg_snapshot(cluster.members)
    born = logs.born_in_window()
    for name, pids in born.items():
        pg1[name]["born_gone"] = [pid for pid in pids if pid not in pg1[name]["backends"]
                                  and pid not in pg0[name]["backends"]]
    conns = logs.count()
    app_of = logs.app_of()
    pg_total, pg_detail, pg_per_app, pg_exits = pg_backend_cpu(pg0, pg1, app_of, list(groups))
    out = {}
    for app, ps in groups.items():
        exp_cpu = sum(cpu1[p.name] - cpu0[p.name] for p in ps)
        hwm = [proc_status_bytes(p.pid, "VmHWM") or 0 for p in ps]
        series = sum(len(parse_metrics(last[p.url])) for p in ps)
        r = {
            "processes": len(ps),
            "scrape_rounds": scrapes,
            "requests": len(lat[app]),
            "window_s": rnd(wall, 3),
            "exporter_cpu_s": rnd(exp_cpu, 3),
            "exporter_cpu_per_scrape_ms": rnd(exp_cpu / scrapes * 1000, 3),
            "exporter_runqueue_wait_s": rnd(sum(rq1[p.name] - rq0[p.name] for p in ps), 3),
            "pg_backend_cpu_s": rnd(pg_per_app[app], 3),
            "pg_backend_cpu_per_scrape_ms": rnd(pg_per_app[app] / scrapes * 1000, 3),
            "pg_backends_exited_in_window": pg_exits[app],
            "connections_opened": conns.get(app, 0),
            "client_backends_at_end": sum(v["backends_at_end_by_app"][app] for v in pg_detail.values()),
            "peak_rss_bytes": sum(hwm),
            "peak_rss_bytes_per_process": hwm,
            "rss_bytes": sum(proc_status_bytes(p.pid, "VmRSS") or 0 for p in ps),
            "rss_growth_bytes_per_min": slope_per_min(rss_trace[app]),
            "metrics_latency_p50_ms": rnd(pct(lat[app], 50) * 1000, 3),
            "metrics_latency_p99_ms": rnd(pct(lat[app], 99) * 1000, 3),
            "metrics_body_bytes": int(statistics.mean(sizes[app])) if sizes[app] else 0,
            "series": series,
        }
        out[app] = r
        log(f"{app}: cpu/scrape {r['exporter_cpu_per_scrape_ms']} ms, pg cpu/scrape "
            f"{r['pg_backend_cpu_per_scrape_ms']} ms, conns {r['connections_opened']}, "
            f"hwm {sum(hwm) >> 20} MiB, p50 {r['metrics_latency_p50_ms']} ms, series {series}")
    window = {"window_s": rnd(wall, 3), "pg_backend_cpu_all_clients_s": rnd(pg_total, 3),
              "pg_detail": pg_detail, "connections_opened_by_application": conns}
    return out, window, last


def wait_pgdr_up(p, n, timeout):
    def up():
        _, body = http_get(p.url, timeout=30)
        return sum(1 for name, _, v in parse_metrics(body) if name == "pgdr_up" and v == 1) >= n
    wait_until(up, timeout=timeout, interval=1.0, what=f"{n} members up")


def phase_comparison(tmp, cluster, args):
    logs = LogCounter(cluster.members)
    interval = args.interval
    res = {"scrape_interval_s": interval, "scrapes": args.scrapes}

    # Idle baseline: nothing connected; shows the noise floor of the PG-side method.
    logs.mark()
    pg0 = pg_snapshot(cluster.members)
    time.sleep(args.baseline)
    pg1 = pg_snapshot(cluster.members)
    cpu = pg_backend_cpu(pg0, pg1)[0]
    res["idle_baseline"] = {"window_s": args.baseline, "pg_backend_cpu_s": rnd(cpu, 3),
                            "connections_opened": logs.count()}

    # Both at once, same machine conditions (the host is shared): pgdr (one process,
    # three members, collection interval = scrape interval) and postgres_exporter (one
    # process per member, its documented deployment) running the same SQL.
    cfg = cluster.exporter_config(interval=f"{int(interval * 1000)}ms")
    p = start_pgdr(tmp, cfg, "pgdr")
    wait_pgdr_up(p, len(cluster.members), 30)
    qpath, qnames = pgexp_queries_file(tmp)
    res["postgres_exporter_queries"] = qnames
    procs = [start_postgres_exporter(tmp, node, qpath, f"postgres_exporter-{node.name}")
             for node in cluster.members]
    time.sleep(max(2 * interval, 2))
    groups = {"pgdr_exporter": [p], "postgres_exporter": procs}
    out, window, last = measure_together(groups, cluster, logs, args.scrapes, interval)
    res["window"] = window
    res["pgdr"], res["postgres_exporter"] = out["pgdr_exporter"], out["postgres_exporter"]
    samples = parse_metrics(last[p.url])
    res["pgdr"]["connections_opened_total_metric"] = sum(
        v for n, _, v in samples if n == "pgdr_connections_opened_total")
    errors = [l for n, l, v in parse_metrics(last[procs[0].url])
              if n.startswith("pg_exporter_user_queries_load_error") and v != 0]
    res["postgres_exporter"]["query_load_errors"] = errors
    res["postgres_exporter"]["single_process_peak_rss_bytes"] = max(
        res["postgres_exporter"]["peak_rss_bytes_per_process"])
    # pgdr keeps every sample for 1 h (TSDB), so its RSS grows until then; the
    # Go exporter keeps none (its RSS swings with garbage collection): its 1 h
    # figure is its peak.
    a = res["pgdr"]
    a["rss_extrapolated_1h_bytes"] = extrapolate_1h(a["rss_bytes"], a["rss_growth_bytes_per_min"],
                                                    a["window_s"])
    res["postgres_exporter"]["rss_extrapolated_1h_bytes"] = res["postgres_exporter"]["peak_rss_bytes"]
    for q in [p] + procs:
        q.stop()

    a, b = res["pgdr"], res["postgres_exporter"]

    def ratio(x, y):
        return rnd(x / y, 4) if y else None
    res["ratios_pgdr_over_postgres_exporter"] = {
        "exporter_cpu_per_scrape": ratio(a["exporter_cpu_per_scrape_ms"], b["exporter_cpu_per_scrape_ms"]),
        "pg_backend_cpu_per_scrape": ratio(a["pg_backend_cpu_per_scrape_ms"], b["pg_backend_cpu_per_scrape_ms"]),
        "peak_rss_vs_all_sidecars": ratio(a["peak_rss_bytes"], b["peak_rss_bytes"]),
        "peak_rss_vs_one_sidecar": ratio(a["peak_rss_bytes"], b["single_process_peak_rss_bytes"]),
        "rss_extrapolated_1h": ratio(a["rss_extrapolated_1h_bytes"] or 0, b["rss_extrapolated_1h_bytes"] or 0),
        "connections_opened": ratio(a["connections_opened"], b["connections_opened"]),
        "metrics_latency_p50": ratio(a["metrics_latency_p50_ms"], b["metrics_latency_p50_ms"]),
        "metrics_latency_p99": ratio(a["metrics_latency_p99_ms"], b["metrics_latency_p99_ms"]),
        "series": ratio(a["series"], b["series"]),
    }
    rr = res["ratios_pgdr_over_postgres_exporter"]
    res["targets"] = {
        "exporter_cpu_le_1_5": rr["exporter_cpu_per_scrape"] is not None and rr["exporter_cpu_per_scrape"] <= 0.2,
        "pg_cpu_le_1_2": rr["pg_backend_cpu_per_scrape"] is not None and rr["pg_backend_cpu_per_scrape"] <= 0.5,
        "rss_le_1_3_vs_all_sidecars": rr["peak_rss_vs_all_sidecars"] is not None and rr["peak_rss_vs_all_sidecars"] <= 1 / 3,
        "rss_le_1_3_vs_one_sidecar": rr["peak_rss_vs_one_sidecar"] is not None and rr["peak_rss_vs_one_sidecar"] <= 1 / 3,
        "one_persistent_connection_per_member": a["connections_opened"] == 0 and
        a["client_backends_at_end"] == len(cluster.members) and
        a["connections_opened_total_metric"] == len(cluster.members),
    }
    return res


# ---------------------------------------------------------------- phase 2

# pgdr's probe (exporter/collect/target_collector.cc, kProbeSql), run first in every cycle.
PROBE_SQL = ("SELECT pg_is_in_recovery(), (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
             "  ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::float8,"
             " (pg_last_wal_receive_lsn() - '0/0'::pg_lsn)::float8,"
             " extract(epoch from pg_last_xact_replay_timestamp())::float8,"
             " extract(epoch from clock_timestamp())::float8,"
             " (SELECT status = 'streaming' FROM pg_stat_wal_receiver),"
             " (SELECT sender_host || ':' || sender_port FROM pg_stat_wal_receiver),"
             " pg_backend_pid()")


def primary_cycle_statements():
    """The probe and the queries a primary's member collector runs in a cycle
    without cache hits."""
    import glob
    import yaml
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "queries", "*.yml"))):
        with open(path) as f:
            for q in (yaml.safe_load(f) or {}).values():
                # Per-database queries run on their own connections, not in the member's cycle.
                if q.get("role") == "replica" or q.get("cache_seconds") or q.get("target_databases"):
                    continue
                out.append(q["query"])
    return PROBE_SQL, out


def member_query_files(tmp):
    """queries/*.yml without the per-database queries (target_databases), as
    copies in tmp: those run on connections of their own, each with its own
    probe, and pg_stat_statements cannot tell them from the member's (the
    same statements, the same database), so they would leave the member's
    cycle count and its floor wrong (2026-12-03: the probe ran 40 times in
    20 cycles and the floor came out halved)."""
    import glob
    import yaml
    out_dir = os.path.join(tmp.path, "member-queries")
    os.makedirs(out_dir, exist_ok=True)
    paths = []
    for path in sorted(glob.glob(os.path.join(ROOT, "queries", "*.yml"))):
        with open(path) as f:
            queries = {k: q for k, q in (yaml.safe_load(f) or {}).items() if not q.get("target_databases")}
        if not queries:
            continue
        paths.append(os.path.join(out_dir, os.path.basename(path)))
        with open(paths[-1], "w") as f:
            yaml.safe_dump(queries, f, sort_keys=False)
    return paths


def start_floor_client(tmp, port, cycles):
    """bench/floor_client.c, built here, sending a primary's cycle statements
    prepared in one segment every second over its own connection."""
    exe = os.path.join(tmp.path, "floor_client")
    subprocess.run(["cc", "-O2", "-o", exe, os.path.join(HERE, "floor_client.c")], check=True)
    probe_sql, queries = primary_cycle_statements()
    path = os.path.join(tmp.path, "floor_statements")
    with open(path, "wb") as f:
        f.write(b"\0".join(q.encode() for q in [probe_sql] + queries))
    proc = subprocess.Popen([exe, str(port), path, str(cycles), "1000"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    proc.statements = 1 + len(queries)
    proc.backend_pid = int(proc.stdout.readline())  # printed once warmed up
    proc.backend_cpu0 = proc_cpu_ns(proc.backend_pid)
    return proc


def finish_floor_client(proc, cycles):
    """Its cycles' wall times and its backend's CPU per cycle."""
    walls = []
    for _ in range(cycles):  # bounded: one line per cycle
        line = proc.stdout.readline()
        if not line:
            break
        walls.append(int(line) / 1e9)
    cpu0, cpu1 = proc.backend_cpu0, proc_cpu_ns(proc.backend_pid)
    proc.stdin.close()
    proc.wait(timeout=30)
    if len(walls) < 3:
        raise RuntimeError(f"floor_client ran {len(walls)} cycles (exit {proc.returncode})")
    mean = statistics.mean(walls)
    walls.sort()
    return {"min": walls[0], "median": statistics.median(walls), "mean": mean, "count": len(walls),
            "statements": proc.statements,
            "backend_cpu_s_per_cycle": (cpu1 - cpu0) / len(walls)
            if cpu0 is not None and cpu1 is not None else None}


def phase_latency(tmp, cluster, args):
    primary = cluster.primary
    primary.sql("ALTER SYSTEM SET pg_stat_statements.track = 'top'")
    primary.sql("SELECT pg_reload_conf()")
    # The floor counts planning too (the cluster runs with track_planning on;
    # pgdr's statements are prepared without parameters, so PostgreSQL plans
    # each once per connection and then reuses the generic plan: ~0 per cycle).
    track_planning = primary.sql("SHOW pg_stat_statements.track_planning")
    cfg = cluster.exporter_config(interval="1s", query_files=member_query_files(tmp))
    cfg["targets"] = [t for t in cfg["targets"] if t["member"] == primary.name]
    p = start_pgdr(tmp, cfg, "pgdr-latency")
    wait_pgdr_up(p, 1, 30)
    time.sleep(1.5)
    # pgdr's own backend (the member's connection; per-database ones are
    # named pgdr_exporter_db): its CPU over the window pg_stat_statements covers.
    pgdr_pid = int(primary.sql("SELECT pid FROM pg_stat_activity WHERE application_name = 'pgdr_exporter' "
                               "ORDER BY backend_start DESC LIMIT 1"))
    primary.sql("SELECT pg_stat_statements_reset()")
    backend_cpu0 = proc_cpu_ns(pgdr_pid)
    cycles = {}

    def on_body(_url, body, _t):
        ts = dur = None
        for n, l, v in parse_metrics(body):
            if l.get("member") != primary.name:
                continue
            if n == "pgdr_collect_timestamp_seconds":
                ts = v
            elif n == "pgdr_collect_cycle_duration_seconds":
                dur = v
        if ts is not None and dur is not None:
            cycles[ts] = dur
    # The floor's client (bench/floor_client.c) in the same window, one cycle
    # a second like pgdr (its cycles land at other moments than pgdr's).
    floor_proc = start_floor_client(tmp, primary.port, int(args.latency_seconds))
    # 4 scrapes per cycle: every cycle is seen
    scrape_loop([p.url], int(args.latency_seconds * 4), 0.25, on_body)
    paced = finish_floor_client(floor_proc, int(args.latency_seconds))
    rows = primary.sql(
        "SELECT calls, total_plan_time, total_exec_time, "
        "replace(left(query, 60), E'\\n', ' ') FROM pg_stat_statements "
        "WHERE query NOT ILIKE '%pg_stat_statements%' AND query NOT ILIKE '%pg_reload_conf%' "
        "ORDER BY total_exec_time DESC")
    backend_cpu1 = proc_cpu_ns(pgdr_pid)
    _, body = http_get(p.url)
    probe = {n: v for n, l, v in parse_metrics(body)
             if l.get("member") == primary.name and n in ("pgdr_probe_latency_seconds_sum",
                                                          "pgdr_probe_latency_seconds_count")}
    p.stop()
    primary.sql("ALTER SYSTEM SET pg_stat_statements.track = 'none'")
    primary.sql("SELECT pg_reload_conf()")

    stmts = []
    for line in rows.splitlines():
        calls, plan, exe, text = line.split("|", 3)
        stmts.append({"calls": int(calls), "plan_ms": float(plan), "exec_ms": float(exe), "query": text})
    probe_calls = [s["calls"] for s in stmts if "pg_backend_pid()" in s["query"] or
                   s["query"].startswith("SELECT pg_is_in_recovery(), (CASE")]
    n_cycles = max(probe_calls) if probe_calls else max((s["calls"] for s in stmts), default=1)
    plan_ms = sum(s["plan_ms"] for s in stmts) / n_cycles
    exec_ms = sum(s["exec_ms"] for s in stmts) / n_cycles
    rtt = pgwire.loopback_round_trip("127.0.0.1", primary.port, 300)
    # The same statements sent by a minimal client (bench/pgwire.py) the way pgdr
    # sends them (Parse/Bind/Describe/Execute/Sync each, pipelined): what this
    # machine allows right now, scheduler latency included.
    probe_sql, queries = primary_cycle_statements()
    ideal2 = pgwire.pipeline_wall("127.0.0.1", primary.port, [[probe_sql], queries], 30)
    ideal1 = pgwire.pipeline_wall("127.0.0.1", primary.port, [[probe_sql] + queries], 30)
    # Prepared once, then Bind/Execute each and one Sync: pgdr's steady-state layout.
    ideal_seg = pgwire.prepared_wall("127.0.0.1", primary.port, [probe_sql] + queries, 200)
    # What preparing the statements once per connection would save PostgreSQL.
    prep = pgwire.backend_cpu_per_cycle("127.0.0.1", primary.port, [probe_sql] + queries,
                                        args.prepared_cycles, proc_cpu_ns)
    durations = list(cycles.values())[1:]  # the first may predate the reset
    wall_mean = statistics.mean(durations) * 1000 if durations else None
    floor_ms = plan_ms + exec_ms + rtt["min"] * 1000
    pgdr_backend_cpu_ms = (backend_cpu1 - backend_cpu0) * 1000 / n_cycles
    res = {
        "member": primary.name,
        "cycles_observed": len(durations),
        "cycles_in_pg_stat_statements": n_cycles,
        "statements_per_cycle": rnd(sum(s["calls"] for s in stmts) / n_cycles, 2),
        # One since 2026-12-03 (probe, predicates and queries in one pipeline); 2 before.
        "pgdr_round_trips_per_cycle": args.pgdr_round_trips,
        "cycle_wall_ms_mean": rnd(wall_mean, 3),
        "cycle_wall_ms_p50": rnd(pct(durations, 50) * 1000, 3) if durations else None,
        "cycle_wall_ms_min": rnd(min(durations) * 1000, 3) if durations else None,
        "pg_stat_statements_track_planning": track_planning,
        "pg_plan_ms_per_cycle": rnd(plan_ms, 3),
        "pg_exec_ms_per_cycle": rnd(exec_ms, 3),
        "loopback_round_trip_ms": {k: (rnd(v * 1000, 4) if k != "count" else v) for k, v in rtt.items()},
        "floor_ms": rnd(floor_ms, 3),
        # What PostgreSQL spends on pgdr's cycle beyond planning and executing:
        # protocol, transaction start/commit, result sending, wake-ups
        # (/proc/<pid>/schedstat of pgdr's backend over the window).
        "pgdr_backend_cpu_ms_per_cycle": rnd(pgdr_backend_cpu_ms, 3),
        "pgdr_backend_cpu_outside_plan_exec_ms_per_cycle": rnd(pgdr_backend_cpu_ms - plan_ms - exec_ms, 3),
        "ratio_wall_over_floor": rnd(wall_mean / floor_ms, 3) if wall_mean else None,
        "ratio_wall_over_floor_p50": rnd(pct(durations, 50) * 1000 / floor_ms, 3) if durations else None,
        "minimal_client_same_statements_ms": {
            "two_round_trips_like_pgdr": {"min": rnd(ideal2["min"] * 1000, 3),
                                          "median": rnd(ideal2["median"] * 1000, 3)},
            "one_round_trip": {"min": rnd(ideal1["min"] * 1000, 3),
                               "median": rnd(ideal1["median"] * 1000, 3)},
            "prepared_one_segment": {"min": rnd(ideal_seg["min"] * 1000, 3),
                                     "median": rnd(ideal_seg["median"] * 1000, 3)},
            "statements": 1 + len(queries)},
        "ratio_wall_over_minimal_client_two_rounds": rnd(wall_mean / (ideal2["median"] * 1000), 3)
        if wall_mean else None,
        "ratio_wall_over_minimal_client_one_round": rnd(wall_mean / (ideal1["median"] * 1000), 3)
        if wall_mean else None,
        "ratio_wall_over_minimal_client_prepared_one_segment": rnd(
            wall_mean / (ideal_seg["median"] * 1000), 3) if wall_mean else None,
        # The floor as a client that does nothing else gets it at pgdr's pace,
        # in the same window: the statements' whole time in PostgreSQL
        # (executor start and end, Bind, commit, sending: what
        # pg_stat_statements leaves out) + one round trip.
        "floor_paced_minimal_client_ms": {
            "mean": rnd(paced["mean"] * 1000, 3), "median": rnd(paced["median"] * 1000, 3),
            "min": rnd(paced["min"] * 1000, 3), "cycles": paced["count"],
            "statements": paced["statements"],
            "backend_cpu_per_cycle": rnd(paced["backend_cpu_s_per_cycle"] * 1000, 3)
            if paced["backend_cpu_s_per_cycle"] is not None else None},
        "ratio_wall_over_paced_floor": rnd(wall_mean / (paced["mean"] * 1000), 3)
        if wall_mean else None,
        "ratio_wall_over_paced_floor_p50": rnd(pct(durations, 50) / paced["median"], 3)
        if durations else None,
        "backend_cpu_per_cycle_ms": {
            mode: {"cpu": rnd(v["cpu_s_per_cycle"] * 1000, 4), "wall": rnd(v["wall_s_per_cycle"] * 1000, 4),
                   "cycles": v["cycles"]} for mode, v in prep.items()},
        "ratio_backend_cpu_prepared_over_unprepared": rnd(
            prep["prepared"]["cpu_s_per_cycle"] / prep["unprepared"]["cpu_s_per_cycle"], 3)
        if prep["unprepared"]["cpu_s_per_cycle"] else None,
        "probe_latency_mean_ms": rnd(probe["pgdr_probe_latency_seconds_sum"] /
                                     probe["pgdr_probe_latency_seconds_count"] * 1000, 3)
        if probe.get("pgdr_probe_latency_seconds_count") else None,
        "statements": stmts,
    }
    log(f"latency: wall {res['cycle_wall_ms_mean']} ms vs floor {res['floor_ms']} ms "
        f"(plan {res['pg_plan_ms_per_cycle']} + exec {res['pg_exec_ms_per_cycle']} + rtt "
        f"{res['loopback_round_trip_ms']['min']}) = x{res['ratio_wall_over_floor']}; pgdr backend CPU "
        f"{res['pgdr_backend_cpu_ms_per_cycle']} ms/cycle; minimal client prepared one segment "
        f"{res['minimal_client_same_statements_ms']['prepared_one_segment']['median']} ms "
        f"(x{res['ratio_wall_over_minimal_client_prepared_one_segment']}); the same at pgdr's pace "
        f"{res['floor_paced_minimal_client_ms']['mean']} ms mean, "
        f"{res['floor_paced_minimal_client_ms']['median']} p50 (wall x{res['ratio_wall_over_paced_floor']}, "
        f"p50 x{res['ratio_wall_over_paced_floor_p50']})")
    return res


# Allocation counts (bench/alloc_count.c, an LD_PRELOAD counter built here).
ALLOC_SLOTS = 64


def build_alloc_counter(tmp):
    so = os.path.join(tmp.path, "alloc_count.so")
    subprocess.run(["cc", "-O2", "-shared", "-fPIC", "-o", so, os.path.join(HERE, "alloc_count.c")],
                   check=True)
    return so


def read_alloc_counts(path, pid):
    """{thread name: (pgdr's own allocations so far, libpq's)} (threads of one name summed)."""
    import struct
    with open(path, "rb") as f:
        data = f.read(24 * ALLOC_SLOTS)
    out = {}
    for i in range(len(data) // 24):
        tid, own, libpq = struct.unpack_from("QQQ", data, i * 24)
        if own == 0 and libpq == 0:
            continue
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
        except OSError:
            name = "exited" if tid else "other"
        o, l = out.get(name, (0, 0))
        out[name] = (o + own, l + libpq)
    return out


def phase_allocations(tmp, cluster, args):
    """Allocations per collection cycle of one member (the primary, 1 s interval),
    per thread, over a window in the steady state: pgdr under the LD_PRELOAD
    counter, scraped once per cycle. A separate run: the counter's atomic
    increments would bias the CPU and wall figures of the other phases."""
    so = build_alloc_counter(tmp)
    counts = os.path.join(tmp.path, "alloc_counts.bin")
    cfg = cluster.exporter_config(interval="1s")
    cfg["targets"] = [t for t in cfg["targets"] if t["member"] == cluster.primary.name]
    p = start_pgdr(tmp, cfg, "pgdr-alloc", env={"LD_PRELOAD": so, "PGDR_ALLOC_COUNT_FILE": counts})
    wait_pgdr_up(p, 1, 30)
    time.sleep(3)  # past the first cycles (connect, prepare, first cached fetches)

    def cycle_ts():
        _, body = http_get(p.url)
        return next((v for n, l, v in parse_metrics(body) if n == "pgdr_collect_timestamp_seconds"), None)
    t0, c0 = cycle_ts(), read_alloc_counts(counts, p.pid)
    scrape_loop([p.url], args.alloc_seconds, 1.0)
    t1, c1 = cycle_ts(), read_alloc_counts(counts, p.pid)
    p.stop()
    cycles = round(t1 - t0) if t0 and t1 else args.alloc_seconds
    names = sorted(set(c0) | set(c1))

    def per_cycle(k, i):
        return rnd((c1.get(k, (0, 0))[i] - c0.get(k, (0, 0))[i]) / max(cycles, 1), 1)
    own = {k: per_cycle(k, 0) for k in names}
    libpq = {k: per_cycle(k, 1) for k in names}
    per_thread = {k: rnd(own[k] + libpq[k], 1) for k in names}
    res = {"member": cluster.primary.name, "cycles": cycles, "scrapes": args.alloc_seconds,
           "allocations_per_cycle_by_thread": per_thread,
           "allocations_per_cycle_total": rnd(sum(per_thread.values()), 1),
           # By caller: inside libpq (its PGresults) or not ("own": pgdr, libstdc++, ...).
           "own_allocations_per_cycle_by_thread": own,
           "own_allocations_per_cycle_total": rnd(sum(own.values()), 1),
           "libpq_allocations_per_cycle_by_thread": libpq,
           "libpq_allocations_per_cycle_total": rnd(sum(libpq.values()), 1)}
    log(f"allocations per cycle (own, libpq): {dict((k, (own[k], libpq[k])) for k in names)}")
    return res


# ---------------------------------------------------------------- phase 3

SCALE_PREFIXES = ("pgdr_up{", "pgdr_collect_timestamp_seconds{", "pgdr_collect_cycle_duration_seconds{",
                  "pgdr_rule_group_last_duration_seconds{", "pgdr_rule_group_last_evaluation_timestamp_seconds{",
                  "pgdr_rule_evaluation_failures_total{", "pgdr_tsdb_", "pgdr_alerts{")


def scale_metrics(body):
    """(series, [(name, labels, value)] of the few families the scale phase reads):
    at 2,000 members the body holds ~700k samples, too many to parse whole in Python."""
    series, keep = 0, []
    for line in body.splitlines():
        if not line or line[0] == "#":
            continue
        series += 1
        if line.startswith(SCALE_PREFIXES):
            keep.append(line)
    return series, parse_metrics("\n".join(keep))


def wait_scale_up(p, n, timeout):
    """Members up (pgdr_up 1) once all n are, or at the timeout: a host too
    loaded to connect them all is a result to report, not a reason to stop."""
    count = [0]

    def up():
        status, body = http_get(p.url, timeout=60)
        count[0] = sum(1 for line in body.splitlines()
                       if line.startswith("pgdr_up{") and line.endswith(" 1")) if status == 200 else 0
        return count[0] >= n
    try:
        wait_until(up, timeout=timeout, interval=2.0, what=f"{n} members up")
    except TimeoutError:
        log(f"scale {n}: only {count[0]} members up after {timeout} s; measuring anyway")
    return count[0]


def scale_run(tmp, nodes, n, interval, window):
    # Members grouped 3 per cluster; a cluster's members all on one server, the
    # clusters spread over the servers round robin.
    targets = [{"cluster": f"c{i // 3:04d}", "member": f"m{i:04d}",
                "dsn": nodes[(i // 3) % len(nodes)].dsn} for i in range(n)]
    cfg = {"collection": {"interval": f"{interval}s"},
           "query_files": [os.path.join(ROOT, "queries", "*.yml")],
           "rule_files": [os.path.join(ROOT, "rules", "*.yml")],
           "evaluation_interval": f"{interval}s",
           "targets": targets}
    t_start = time.monotonic()
    # /metrics answers 503 until every member has a first result; with at most
    # 64 cycles in flight, 2,000 members (4,000 connections) take ~1.5 min here.
    p = start_pgdr(tmp, cfg, f"pgdr-scale-{n}", timeout=max(60, n // 10))
    members_up = wait_scale_up(p, n, max(120, interval * 4, n // 7))
    up_s = time.monotonic() - t_start
    time.sleep(interval)  # every member has finished a full cycle (settings included)
    rss, obs, snapshot_lag, series = [], {}, [], []
    rule_rounds, rule_evals, tsdb = [], {}, []

    def on_body(_url, body, t):
        rss.append((time.monotonic(), proc_status_bytes(p.pid, "VmRSS")))
        count, samples = scale_metrics(body)
        series.append(count)
        ts, dur, gdur, gts, db = {}, {}, {}, {}, {}
        for name, l, v in samples:
            if name == "pgdr_collect_timestamp_seconds":
                ts[l["member"]] = v
            elif name == "pgdr_collect_cycle_duration_seconds":
                dur[l["member"]] = v
            elif name == "pgdr_rule_group_last_duration_seconds":
                gdur[l["group"]] = v
            elif name == "pgdr_rule_group_last_evaluation_timestamp_seconds":
                gts[l["group"]] = v
            elif name.startswith("pgdr_tsdb_"):
                db[name] = v
        for m, v in ts.items():
            obs.setdefault(m, []).append((t, v, dur.get(m)))
        if ts:
            # members finish cycles every interval/n seconds: the newest one in a
            # fresh snapshot is at most ~0.2 s (compose throttle) + compose time old
            snapshot_lag.append(t - max(ts.values()))
        if gdur:
            rule_rounds.append(max(gdur.values()))
            for g, v in gdur.items():
                rule_evals[(g, gts.get(g))] = v  # one entry per evaluation seen
        tsdb.append(db)
    pg0 = pg_snapshot(nodes)
    c0, w0, q0 = p.cpu(), time.monotonic(), runqueue_wait_s(p.pid)
    load0 = os.getloadavg()
    rounds = max(2, int(round(window / interval)) + 1)
    # VmRSS once a second in the background too: the growth fit needs more
    # points than one per scrape (serialisation buffers make RSS jumpy).
    stop = threading.Event()

    def sample_rss():
        while not stop.wait(1.0):
            v = proc_status_bytes(p.pid, "VmRSS")
            if v:
                rss_1s.append((time.monotonic(), v))
    rss_1s = []
    sampler = threading.Thread(target=sample_rss, daemon=True)
    sampler.start()
    try:
        latencies, sizes, last, _ = scrape_loop([p.url], rounds, interval, on_body)
    finally:
        stop.set()
        sampler.join(timeout=5)
    c1, w1, q1 = p.cpu(), time.monotonic(), runqueue_wait_s(p.pid)
    load1 = os.getloadavg()
    pg1 = pg_snapshot(nodes)
    pg_cpu = pg_backend_cpu(pg0, pg1)[0]
    hwm = proc_status_bytes(p.pid, "VmHWM")
    threads = len(os.listdir(f"/proc/{p.pid}/task"))
    fds = len(os.listdir(f"/proc/{p.pid}/fd"))
    p.stop()

    ages, durs, jitter = [], [], []
    for m, seq in obs.items():
        starts = []
        for t, ts, d in seq:
            ages.append(t - ts)
            if d is not None:
                durs.append(d)
                starts.append(ts - d)
        starts = sorted(set(round(s, 4) for s in starts))
        for a, b in zip(starts, starts[1:]):
            gap = b - a
            jitter.append(abs(gap - round(gap / interval) * interval))
    slope = slope_per_min(rss_1s or rss)
    cpu_pct = (c1 - c0) / (w1 - w0) * 100

    def quantiles_ms(values):
        return {k: rnd(pct(values, q) * 1000, 3) if values else None
                for k, q in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))}
    r = {
        "targets": n, "clusters": (n + 2) // 3, "servers": len(nodes), "interval_s": interval,
        "window_s": rnd(w1 - w0, 2), "startup_to_all_up_s": rnd(up_s, 2), "members_up_at_start": members_up,
        "loadavg_1m": [round(load0[0], 2), round(load1[0], 2)],
        "cpu_percent_of_one_core": rnd(cpu_pct, 2),
        "pg_backend_cpu_percent": rnd(pg_cpu / (w1 - w0) * 100, 2),
        "runqueue_wait_percent": rnd((q1 - q0) / (w1 - w0) * 100, 2) if q0 is not None and q1 is not None else None,
        "threads": threads, "open_fds": fds,
        "snapshot_lag_s": {k: rnd(pct(snapshot_lag, q), 3) if snapshot_lag else None
                           for k, q in (("p50", 50), ("max", 100))},
        "rss_bytes_end": rss[-1][1] if rss else None,
        "peak_rss_bytes": hwm,
        "rss_growth_bytes_per_min": slope,
        "rss_extrapolated_1h_bytes": extrapolate_1h(rss[-1][1] if rss else None, slope, w1 - w0),
        "series": series[-1] if series else None,
        "tsdb_at_end": {k.replace("pgdr_tsdb_", ""): int(v) for k, v in (tsdb[-1] if tsdb else {}).items()},
        "metrics_body_bytes": sizes[-1] if sizes else None,
        "metrics_latency_p50_ms": rnd(pct(latencies, 50) * 1000, 2),
        "metrics_latency_p99_ms": rnd(pct(latencies, 99) * 1000, 2),
        "metrics_latency_max_ms": rnd(max(latencies) * 1000, 2),
        "cycle_duration_ms": quantiles_ms(durs),
        # per scrape the slowest group's last evaluation; quantiles over the window
        "rule_group_duration_max_over_groups_ms": quantiles_ms(rule_rounds),
        "rule_evaluations_seen": len(rule_evals),
        "rule_group_duration_all_evaluations_ms": quantiles_ms(list(rule_evals.values())),
        "start_jitter_ms": quantiles_ms(jitter),
        "data_age_at_scrape_s": {k: rnd(pct(ages, q), 3) if ages else None
                                 for k, q in (("p50", 50), ("p90", 90), ("p99", 99), ("max", 100))},
        "cycles_observed": len(durs),
    }
    log(f"scale {n}: cpu {r['cpu_percent_of_one_core']}% rss {(r['rss_bytes_end'] or 0) >> 20} MiB "
        f"(peak {(hwm or 0) >> 20} MiB, +{(r['rss_growth_bytes_per_min'] or 0) >> 10} KiB/min) series {r['series']} "
        f"tsdb {r['tsdb_at_end']} cycle p99 {r['cycle_duration_ms']['p99']} ms rule group p99 "
        f"{r['rule_group_duration_max_over_groups_ms']['p99']} ms /metrics p50 {r['metrics_latency_p50_ms']} ms "
        f"age max {r['data_age_at_scrape_s']['max']} s threads {threads} fds {fds} load {r['loadavg_1m']}")
    return r


def phase_scale(tmp, args):
    # The bench's own limits only (never system-wide): pgdr holds one socket per
    # member, inherited from this process.
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # At most args.scale_per_server members per PostgreSQL (pgdr keeps one
    # prepared-statement session per member, so no transaction pooling).
    n_servers = max(1, -(-max(args.scale_sizes) // args.scale_per_server))
    per_server = -(-max(args.scale_sizes) // n_servers)
    nodes = []
    for i in range(n_servers):
        node = PgNode(tmp, f"scale{i}")
        # Two connections per member: its own and, for the per-database queries
        # (queries/per_database.yml, target_databases "*"), one to `postgres`.
        node.initdb(f"max_connections = {2 * per_server + 30}\nshared_buffers = '32MB'\n"
                    "autovacuum = off\nfsync = off\nlog_min_messages = warning\n")
        node.start()
        nodes.append(node)
    runs = []
    for n in args.scale_sizes:
        runs.append(scale_run(tmp, nodes, n, args.scale_interval,
                              args.scale_window_large if n >= 500 else args.scale_window))
    for node in nodes:
        node.stop()
    return {"server": f"{n_servers} PostgreSQL 15 (max_connections {2 * per_server + 30} each), "
                      "clusters of 3 members spread over them; shipped rules/*.yml evaluated",
            "runs": runs,
            "target_2000_under_one_core": next((r["cpu_percent_of_one_core"] < 100
                                                for r in runs if r["targets"] == 2000), None)}


# ---------------------------------------------------------------- report

def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = proc_status_bytes  # noqa: F841
    with open("/proc/meminfo") as f:
        total = int(f.readline().split()[1]) * 1024
    load = os.getloadavg()

    def version(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
        except Exception:  # noqa: BLE001
            return None
    return {"nproc": os.cpu_count(), "cpu_model": model, "memory_bytes": total,
            "kernel": platform.release(), "loadavg_at_start": [round(x, 2) for x in load],
            "postgresql": version([f"{harness.PG_BIN}/postgres", "--version"]),
            "postgres_exporter": version([POSTGRES_EXPORTER, "--version"]) or
            version(["sh", "-c", f"{POSTGRES_EXPORTER} --version 2>&1"]),
            "pgdr_exporter": version([harness.EXPORTER, "--version"])}


def tsdb_payload_1h(series, interval_s):
    """Lower bound of what pgdr's in-process TSDB holds after its 1 h retention
    fills: 16 bytes per sample (include/pgdr/tsdb.h: Sample{int64 t; double v}
    in a std::deque), ring capped at 4096 samples per series; label and index
    overhead not counted. Derived, not measured."""
    return int(series * min(3600 / interval_s, 4096) * 16)


def mib(b):
    return f"{b / 1048576:.1f} MiB" if b is not None else "–"


# ---------------------------------------------------------------- phase 5

def phase_retention(tmp, cluster, args):
    """pgdr with the shipped rules (rules/*.yml) on the three members at 1 s
    collection until its TSDB retention fills, next to three postgres_exporters
    scraped every second: pgdr's RSS and TSDB size against 1/3 of the three
    postgres_exporters' peak RSS."""
    minutes = args.retention_minutes
    interval = 1.0
    cfg = cluster.exporter_config(interval="1s",
                                  rule_files=[os.path.join(ROOT, "rules", "*.yml")])
    p = start_pgdr(tmp, cfg, "pgdr-retention",
                   extra_args=[f"--storage.tsdb.retention.time={int(minutes * 60)}s"])
    wait_pgdr_up(p, len(cluster.members), 30)
    qpath, _ = pgexp_queries_file(tmp)
    procs = [start_postgres_exporter(tmp, node, qpath, f"postgres_exporter-ret-{node.name}")
             for node in cluster.members]
    urls = [p.url] + [q.url for q in procs]
    rounds = int(minutes * 60 / interval) + 30  # the retention, then 30 s with it full
    trace = []
    t0 = time.monotonic()
    last = {}
    for i in range(rounds):  # bounded: `rounds` rounds, `interval` apart
        delay = t0 + i * interval - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        for url in urls:
            status, body = http_get(url, timeout=30)
            if status != 200:
                raise RuntimeError(f"{url} answered {status}")
            last[url] = body
        if i % 60 == 0 or i == rounds - 1:
            tsdb = {n: v for n, _, v in parse_metrics(last[p.url]) if n.startswith("pgdr_tsdb_")}
            trace.append({"elapsed_s": round(time.monotonic() - t0, 1),
                          "pgdr_rss_bytes": proc_status_bytes(p.pid, "VmRSS"),
                          "tsdb_series": tsdb.get("pgdr_tsdb_series"),
                          "tsdb_samples": tsdb.get("pgdr_tsdb_samples"),
                          "tsdb_bytes": tsdb.get("pgdr_tsdb_bytes")})
            log(f"retention: {trace[-1]}")
    tsdb = {n: v for n, _, v in parse_metrics(last[p.url]) if n.startswith("pgdr_tsdb_")}
    threads = None
    try:
        threads = len(os.listdir(f"/proc/{p.pid}/task"))
    except OSError:
        pass
    pe_hwm = [proc_status_bytes(q.pid, "VmHWM") or 0 for q in procs]
    # RSS split: anonymous (heap, stacks: the process's own) and file-backed
    # (binary and shared libraries' pages, which pgdr has many of and the
    # static Go binary few).
    split = {"pgdr": {k: proc_status_bytes(p.pid, k) for k in ("RssAnon", "RssFile")},
             "postgres_exporter": {k: sum(proc_status_bytes(q.pid, k) or 0 for q in procs)
                                   for k in ("RssAnon", "RssFile")}}
    res = {
        "retention_minutes": minutes,
        "collection_interval_s": interval,
        "window_s": rnd(time.monotonic() - t0, 1),
        "rule_files": "rules/*.yml",
        "pgdr_rss_end_bytes": proc_status_bytes(p.pid, "VmRSS"),
        "pgdr_peak_rss_bytes": proc_status_bytes(p.pid, "VmHWM"),
        "pgdr_threads": threads,
        "postgres_exporter_peak_rss_bytes": sum(pe_hwm),
        "postgres_exporter_peak_rss_bytes_per_process": pe_hwm,
        "tsdb_series": int(tsdb.get("pgdr_tsdb_series", 0)),
        "tsdb_samples": int(tsdb.get("pgdr_tsdb_samples", 0)),
        "tsdb_bytes": int(tsdb.get("pgdr_tsdb_bytes", 0)),
        "rss_split_end_bytes": split,
        "trace": trace,
    }
    for q in [p] + procs:
        q.stop()
    res["tsdb_bytes_per_sample"] = (rnd(res["tsdb_bytes"] / res["tsdb_samples"], 3)
                                    if res["tsdb_samples"] else None)
    pe = res["postgres_exporter_peak_rss_bytes"]
    res["ratio_peak_rss"] = rnd(res["pgdr_peak_rss_bytes"] / pe, 4) if pe else None
    res["ratio_rss_end"] = rnd(res["pgdr_rss_end_bytes"] / pe, 4) if pe else None
    # The figure: pgdr's RSS once the retention is full against the
    # sidecars' peak. pgdr's own peak comes at start, before it gives back
    # start-up's pages (app/startup_pages.h); it is reported beside it.
    res["targets"] = {
        "rss_le_1_3_of_three_postgres_exporters": res["ratio_rss_end"] is not None and
        res["ratio_rss_end"] <= 1 / 3,
        "bytes_per_sample_le_2": res["tsdb_bytes_per_sample"] is not None and
        res["tsdb_bytes_per_sample"] <= 2,
    }
    return res


ALL_PHASES = ("comparison", "latency_floor", "scale", "restore", "retention")  # results keys


def write_results(res, out, started, render_fn):
    """Stamps duration and load, writes the results file, prints its tables.
    When `out` exists and this run left some phases out, their entries are
    kept from it (with its top-level metadata); the phases run now carry
    their own `run` stamp."""
    res["duration_s"] = round(time.time() - started, 1)
    res["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    stamp = {k: res[k] for k in ("started_at", "git_commit", "exporter_source", "duration_s")}
    stamp["loadavg"] = [res["machine"]["loadavg_at_start"], res["machine"]["loadavg_at_end"]]
    for key in ALL_PHASES:
        if key in res:
            res[key]["run"] = stamp
    if os.path.exists(out) and any(key not in res for key in ALL_PHASES):
        with open(out) as f:
            old = json.load(f)
        if any(key in old for key in ALL_PHASES if key not in res):
            old.update({key: res[key] for key in ALL_PHASES if key in res})
            res = old
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    print(render_fn(res))
    log(f"wrote {out} in {res['duration_s']} s")


def render(res):
    out = []
    c = res.get("comparison")
    if c:
        a, b, r = c["pgdr"], c["postgres_exporter"], c["ratios_pgdr_over_postgres_exporter"]
        out += [f"### pgdr vs postgres_exporter ({c['scrapes']} scrapes every {c['scrape_interval_s']} s, "
                f"primary + 2 replicas)", "",
                "| measure | pgdr_exporter (1 process) | postgres_exporter (3 processes) | ratio pgdr/pe | target |",
                "|---|---:|---:|---:|---|"]
        t = c["targets"]
        out.append(f"| exporter CPU per scrape | {a['exporter_cpu_per_scrape_ms']} ms | "
                   f"{b['exporter_cpu_per_scrape_ms']} ms | {r['exporter_cpu_per_scrape']} | ≤ 0.2: "
                   f"{'met' if t['exporter_cpu_le_1_5'] else 'MISSED'} |")
        out.append(f"| PostgreSQL backend CPU per scrape | {a['pg_backend_cpu_per_scrape_ms']} ms | "
                   f"{b['pg_backend_cpu_per_scrape_ms']} ms | {r['pg_backend_cpu_per_scrape']} | "
                   f"≤ 0.25 (issue 16; 0.5 in issue 7): "
                   f"{'met' if r['pg_backend_cpu_per_scrape'] <= 0.25 else 'MISSED'} |")
        out.append(f"| peak RSS (VmHWM), sum | {mib(a['peak_rss_bytes'])} | {mib(b['peak_rss_bytes'])} | "
                   f"{r['peak_rss_vs_all_sidecars']} | ≤ 0.33: {'met' if t['rss_le_1_3_vs_all_sidecars'] else 'MISSED'} |")
        out.append(f"| peak RSS vs one postgres_exporter | {mib(a['peak_rss_bytes'])} | "
                   f"{mib(b['single_process_peak_rss_bytes'])} | {r['peak_rss_vs_one_sidecar']} | "
                   f"≤ 0.33: {'met' if t['rss_le_1_3_vs_one_sidecar'] else 'MISSED'} |")
        out.append(f"| RSS growth per minute (window) | {mib(a.get('rss_growth_bytes_per_min'))} | "
                   f"{mib(b.get('rss_growth_bytes_per_min'))} | – | |")
        out.append(f"| TSDB sample payload after 1 h with rule files (derived: series × 3600/interval × 16 B; none without rules) | "
                   f"{mib(tsdb_payload_1h(a['series'], c['scrape_interval_s']))} | none | – | |")
        out.append(f"| connections opened during the window | {a['connections_opened']} | "
                   f"{b['connections_opened']} | – | one persistent per member: "
                   f"{'met' if t['one_persistent_connection_per_member'] else 'MISSED'} |")
        out.append(f"| client backends at the end | {a['client_backends_at_end']} | {b['client_backends_at_end']} | – | |")
        out.append(f"| /metrics p50 | {a['metrics_latency_p50_ms']} ms | {b['metrics_latency_p50_ms']} ms | "
                   f"{r['metrics_latency_p50']} | |")
        out.append(f"| /metrics p99 | {a['metrics_latency_p99_ms']} ms | {b['metrics_latency_p99_ms']} ms | "
                   f"{r['metrics_latency_p99']} | |")
        out.append(f"| series exported (all endpoints) | {a['series']} | {b['series']} | {r['series']} | |")
        out.append(f"| exposition bytes per request | {a['metrics_body_bytes']} | {b['metrics_body_bytes']} | – | |")
        out.append("")
        ib = c["idle_baseline"]
        out.append(f"Idle baseline (nothing connected, {ib['window_s']} s): PostgreSQL backend CPU "
                   f"{ib['pg_backend_cpu_s']} s, connections {ib['connections_opened'] or 0}.")
        out.append("")
    lat = res.get("latency_floor")
    if lat:
        out += ["### Latency floor (one member, the primary)", "",
                "| cycle wall (mean / p50) | PG plan | PG exec | loopback RTT (min) | floor | ratio wall/floor (mean / p50) | target |",
                "|---:|---:|---:|---:|---:|---:|---|",
                f"| {lat['cycle_wall_ms_mean']} / {lat['cycle_wall_ms_p50']} ms | {lat['pg_plan_ms_per_cycle']} ms | "
                f"{lat['pg_exec_ms_per_cycle']} ms | {lat['loopback_round_trip_ms']['min']} ms | {lat['floor_ms']} ms | "
                f"{lat['ratio_wall_over_floor']} / {lat['ratio_wall_over_floor_p50']} | ≤ 1.5: "
                f"{'met' if (lat['ratio_wall_over_floor'] or 99) <= 1.5 else 'MISSED'} |", "",
                f"{lat['statements_per_cycle']} statements per cycle in {lat['pgdr_round_trips_per_cycle']} "
                f"pipelined round trips; {lat['cycles_observed']} cycles observed.", ""]
        pf = lat.get("floor_paced_minimal_client_ms")
        if pf:
            out += ["The floor measured whole: bench/floor_client.c (C, the wire protocol by hand, "
                    "no result parsing) sending the same prepared statements in pgdr's layout (one "
                    "segment) at pgdr's pace, one cycle a second, in the same window: what PostgreSQL "
                    "spends on them outside pg_stat_statements' executor time (Bind, executor start "
                    "and end, commit, sending) is in it, and the caches are as cold as pgdr finds "
                    "them.", "",
                    "| cycle wall pgdr (mean / p50) | paced minimal client (mean / p50) | its backend CPU per cycle | ratio (mean / p50) | target |",
                    "|---:|---:|---:|---:|---|",
                    f"| {lat['cycle_wall_ms_mean']} / {lat['cycle_wall_ms_p50']} ms | {pf['mean']} / "
                    f"{pf['median']} ms | {pf['backend_cpu_per_cycle']} ms | {lat['ratio_wall_over_paced_floor']} / "
                    f"{lat['ratio_wall_over_paced_floor_p50']} | ≤ 1.5: "
                    f"{'met' if (lat['ratio_wall_over_paced_floor'] or 99) <= 1.5 else 'MISSED'} |", ""]
        mc = lat.get("minimal_client_same_statements_ms")
        if mc:
            out += [f"The same {mc['statements']} statements from a minimal client on this machine: "
                    f"two pipelined round trips like pgdr {mc['two_round_trips_like_pgdr']['median']} ms "
                    f"(min {mc['two_round_trips_like_pgdr']['min']}), one round trip "
                    f"{mc['one_round_trip']['median']} ms (min {mc['one_round_trip']['min']}); "
                    f"pgdr's mean wall / minimal client = {lat['ratio_wall_over_minimal_client_two_rounds']} "
                    f"(two rounds), {lat.get('ratio_wall_over_minimal_client_one_round')} (one round)."
                    + (f" Prepared, Bind/Execute each and one Sync (pgdr's steady-state layout): "
                       f"{mc['prepared_one_segment']['median']} ms (min {mc['prepared_one_segment']['min']}); "
                       f"pgdr's mean wall / that = {lat['ratio_wall_over_minimal_client_prepared_one_segment']}."
                       if mc.get("prepared_one_segment") else ""), ""]
        if lat.get("pgdr_backend_cpu_ms_per_cycle") is not None:
            out += [f"PostgreSQL CPU of pgdr's own backend per cycle: {lat['pgdr_backend_cpu_ms_per_cycle']} ms, "
                    f"of which {lat['pgdr_backend_cpu_outside_plan_exec_ms_per_cycle']} ms outside planning and "
                    f"execution (protocol, transactions, sending results).", ""]
        al = lat.get("allocations")
        if al:
            threads = ", ".join(f"{k} {v}" for k, v in al["allocations_per_cycle_by_thread"].items())
            out += [f"Heap allocations per collection cycle in the steady state (LD_PRELOAD counter "
                    f"`bench/alloc_count.c`, {al['cycles']} cycles, one scrape each): "
                    f"{al['allocations_per_cycle_total']} in all; by thread: {threads}.", ""]
            own, libpq = al.get("own_allocations_per_cycle_by_thread"), al.get("libpq_allocations_per_cycle_by_thread")
            if own is not None and libpq is not None:
                out += ["By caller (libpq: called from inside libpq, its PGresults; own: everything else, "
                        "pgdr's code and libstdc++'s operator new):", "",
                        "| thread | own | libpq | all |", "|---|---|---|---|"]
                out += [f"| {k} | {own[k]} | {libpq.get(k, 0)} | {v} |"
                        for k, v in al["allocations_per_cycle_by_thread"].items()]
                out += [f"| all | {al['own_allocations_per_cycle_total']} | "
                        f"{al['libpq_allocations_per_cycle_total']} | {al['allocations_per_cycle_total']} |", ""]
        bc = lat.get("backend_cpu_per_cycle_ms")
        if bc:
            out += [f"PostgreSQL backend CPU per cycle for these statements from the minimal client, unprepared "
                    f"(unnamed Parse each cycle, as pgdr did before 2026-11-30): {bc['unprepared']['cpu']} ms; as statements prepared once per "
                    f"connection, a Sync each: {bc['prepared']['cpu']} ms (ratio {lat['ratio_backend_cpu_prepared_over_unprepared']}"
                    + (f"; in one segment, as pgdr sends them now: {bc['prepared_one_segment']['cpu']} ms"
                       if bc.get("prepared_one_segment") else "")
                    + f"; {bc['prepared']['cycles']} cycles each, back to back).", ""]
    s = res.get("scale")
    if s:
        r0 = s["runs"][0]
        out += [f"### Scale (one pgdr_exporter, interval {r0['interval_s']} s, "
                f"{s['server']})", "",
                "| members | servers | CPU (% of one core) | run-queue wait % | load (1 min, start/end) | "
                "PG backends CPU % | RSS end / peak | series | TSDB series | collection cycle p99 | "
                "rule group p99 (max over groups) | /metrics p50 / p99 |",
                "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in s["runs"]:
            load = r.get("loadavg_1m") or ["–", "–"]
            rg = r.get("rule_group_duration_max_over_groups_ms") or {}
            out.append(f"| {r['targets']} | {r.get('servers', 1)} | {r['cpu_percent_of_one_core']} | "
                       f"{r.get('runqueue_wait_percent')} | {load[0]} / {load[1]} | "
                       f"{r['pg_backend_cpu_percent']} | {mib(r['rss_bytes_end'])} / {mib(r['peak_rss_bytes'])} | "
                       f"{r['series']} | {(r.get('tsdb_at_end') or {}).get('series', '–')} | "
                       f"{r['cycle_duration_ms']['p99']} ms | {rg.get('p99')} ms | "
                       f"{r['metrics_latency_p50_ms']} / {r.get('metrics_latency_p99_ms')} ms |")
        out += ["", "Collection delay and rule evaluation:", "",
                "| members | cycles seen | cycle duration p50 / p99 / max | start jitter p50 / p99 / max | "
                "data age at scrape p50 / p99 / max | snapshot lag p50 / max | "
                "rule group duration, all evaluations seen p50 / p99 / max | threads | fds |",
                "|---:|---:|---|---|---|---|---|---:|---:|"]
        for r in s["runs"]:
            cd, sj, age = r["cycle_duration_ms"], r["start_jitter_ms"], r["data_age_at_scrape_s"]
            lag = r.get("snapshot_lag_s") or {}
            ra = r.get("rule_group_duration_all_evaluations_ms") or {}
            out.append(f"| {r['targets']} | {r['cycles_observed']} | {cd['p50']} / {cd['p99']} / {cd['max']} ms | "
                       f"{sj['p50']} / {sj['p99']} / {sj['max']} ms | {age['p50']} / {age['p99']} / {age['max']} s | "
                       f"{lag.get('p50')} / {lag.get('max')} s | {ra.get('p50')} / {ra.get('p99')} / {ra.get('max')} ms "
                       f"({r.get('rule_evaluations_seen')}) | {r.get('threads')} | {r.get('open_fds')} |")
        out.append("")
    rt = res.get("retention")
    if rt:
        t = rt["targets"]
        out += [f"### Retention filled: pgdr with the shipped rules, {rt['retention_minutes']} min at "
                f"{rt['collection_interval_s']} s collection (primary + 2 replicas)", "",
                f"pgdr ran with `--storage.tsdb.retention.time={int(rt['retention_minutes'] * 60)}s` and "
                f"`rule_files: {rt['rule_files']}` next to three postgres_exporters, all scraped every "
                f"second, for the retention plus 30 s ({rt['window_s']} s).", "",
                "| measure | value | target |", "|---|---:|---|",
                f"| pgdr RSS at the end (VmRSS) | {mib(rt['pgdr_rss_end_bytes'])} | |",
                f"| pgdr peak RSS (VmHWM) | {mib(rt['pgdr_peak_rss_bytes'])} | |",
                f"| three postgres_exporters' peak RSS, sum | {mib(rt['postgres_exporter_peak_rss_bytes'])} | |",
                f"| ratio pgdr RSS at the end / three postgres_exporters' peak | {rt['ratio_rss_end']} "
                f"(pgdr's peak, at start: {rt['ratio_peak_rss']}) | "
                f"≤ 0.33: {'met' if t['rss_le_1_3_of_three_postgres_exporters'] else 'MISSED'} |",
                f"| TSDB series / samples | {rt['tsdb_series']} / {rt['tsdb_samples']} | |",
                f"| TSDB bytes (pgdr_tsdb_bytes) | {mib(rt['tsdb_bytes'])} | |",
                f"| TSDB bytes per sample | {rt['tsdb_bytes_per_sample']} | ≤ 2: "
                f"{'met' if t['bytes_per_sample_le_2'] else 'MISSED'} |",
                f"| pgdr threads | {rt['pgdr_threads']} | |"]
        sp = rt.get("rss_split_end_bytes")
        if sp:
            out.append(f"| RSS at the end, anonymous / file-backed: pgdr | {mib(sp['pgdr']['RssAnon'])} / "
                       f"{mib(sp['pgdr']['RssFile'])} | |")
            out.append(f"| the same, three postgres_exporters | {mib(sp['postgres_exporter']['RssAnon'])} / "
                       f"{mib(sp['postgres_exporter']['RssFile'])} | |")
        out.append("")
    if res.get("restore"):
        out += restore_bench.render(res["restore"])
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--exporter", default=harness.EXPORTER)
    ap.add_argument("--out", default=os.path.join(HERE, "results.json"))
    ap.add_argument("--smoke", action="store_true", help="tiny N, for CI (< 2 minutes)")
    ap.add_argument("--render", metavar="RESULTS_JSON", help="print the tables of a results file")
    ap.add_argument("--phases", default="comparison,latency,scale",
                    help="comma-separated: comparison, latency, scale, restore, retention")
    ap.add_argument("--restore-scale", type=int,
                    default=int(os.environ.get("PGDR_BENCH_RESTORE_SCALE", "70")),
                    help="restore phase: pgbench scale (70 is ~1 GiB); env PGDR_BENCH_RESTORE_SCALE")
    ap.add_argument("--restore-minutes", type=float,
                    default=float(os.environ.get("PGDR_BENCH_RESTORE_MINUTES", "10")),
                    help="restore phase: minutes of pgbench load (WAL) after the base backup; "
                    "env PGDR_BENCH_RESTORE_MINUTES")
    ap.add_argument("--restore-rate", type=int,
                    default=int(os.environ.get("PGDR_BENCH_RESTORE_RATE", "200")),
                    help="restore phase: pgbench --rate in tps (0: unthrottled); "
                    "env PGDR_BENCH_RESTORE_RATE")
    ap.add_argument("--restore-rounds", type=int,
                    default=int(os.environ.get("PGDR_BENCH_RESTORE_ROUNDS", "1")),
                    help="restore phase: restores of each kind, alternating (median reported)")
    ap.add_argument("--retention-minutes", type=float, default=60,
                    help="retention phase: pgdr's TSDB retention and how long it runs (default 60)")
    ap.add_argument("--pgdr-round-trips", type=int, default=1,
                    help="round trips per steady-state cycle of the binary measured (recorded; "
                    "2 for builds before 2026-12-03)")
    ap.add_argument("--scale-sizes", help="scale phase: comma-separated member counts "
                    "(default 10,100,500,2000; smoke 10,50)")
    ap.add_argument("--exporter-source", default=os.environ.get("PGDR_EXPORTER_SOURCE", ""),
                    help="what the binary was built from (recorded in the results)")
    args = ap.parse_args()
    if args.render:
        with open(args.render) as f:
            print(render(json.load(f)))
        return 0
    harness.EXPORTER = os.path.abspath(args.exporter)
    if args.smoke:
        args.scrapes, args.interval, args.baseline = 6, 1.0, 2.0
        args.latency_seconds = 5
        args.alloc_seconds = 5
        args.prepared_cycles = 50
        args.scale_interval = 3
        args.scale_window = args.scale_window_large = 6
        args.scale_per_server = 25  # two servers: the multi-server path runs too
        args.restore_scale, args.restore_minutes, args.restore_rounds = 2, 0.25, 2
    else:
        args.scrapes, args.interval, args.baseline = 90, 1.0, 10.0
        args.latency_seconds = 20
        args.alloc_seconds = 20
        args.prepared_cycles = 500
        args.scale_interval = 15
        args.scale_window, args.scale_window_large = 60, 120
        args.scale_per_server = 500
    if args.scale_sizes:
        args.scale_sizes = [int(x) for x in args.scale_sizes.split(",")]
    else:
        args.scale_sizes = [10, 50] if args.smoke else [10, 100, 500, 2000]
    phases = set(args.phases.split(","))

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    started = time.time()
    res = {"schema": 1, "mode": "smoke" if args.smoke else "full",
           "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "git_commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True,
                                        text=True).stdout.strip(),
           "exporter_binary": os.path.abspath(args.exporter),
           "exporter_source": args.exporter_source or "working tree of git_commit",
           "machine": machine()}
    log(f"machine: {res['machine']}")
    with TempDir() as tmp:
        if phases & {"comparison", "latency", "retention"}:
            log("starting primary + 2 replicas")
            cluster = PgCluster(tmp, "bench", replicas=2, archive_dir=True, extra_conf="\n".join([
                "log_connections = on", "log_line_prefix = '%m [%p] %a '", "autovacuum = off",
                "shared_preload_libraries = 'pg_stat_statements'", "pg_stat_statements.track = 'none'",
                "pg_stat_statements.track_planning = on", "max_connections = 50"]))
            cluster.start()
            cluster.primary.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            cluster.primary.sql("CREATE TABLE bench_data AS SELECT g AS id FROM generate_series(1, 10000) g")
            wait_until(lambda: all(r.lsn_bytes() >= cluster.primary.lsn_bytes() for r in cluster.replicas),
                       timeout=30, what="replicas caught up")
            if "comparison" in phases:
                log("phase 1: pgdr vs postgres_exporter")
                res["comparison"] = phase_comparison(tmp, cluster, args)
            if "latency" in phases:
                log("phase 2: latency floor")
                res["latency_floor"] = phase_latency(tmp, cluster, args)
                log("phase 2b: allocations per cycle")
                res["latency_floor"]["allocations"] = phase_allocations(tmp, cluster, args)
            if "retention" in phases:
                log(f"phase 5: retention ({args.retention_minutes} min, shipped rules)")
                res["retention"] = phase_retention(tmp, cluster, args)
            for node in cluster.members:
                node.stop("fast", check=False)
        if "scale" in phases:
            log(f"phase 3: scale {args.scale_sizes}")
            res["scale"] = phase_scale(tmp, args)
        if "restore" in phases:
            log(f"phase 4: restore (scale {args.restore_scale}, {args.restore_minutes} min of WAL)")
            res["restore"] = restore_bench.phase_restore(tmp, args)
    write_results(res, args.out, started, render)
    return 0


if __name__ == "__main__":
    sys.exit(main())
