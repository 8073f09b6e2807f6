"""The soak (scripts/soak.sh): the demo's sandbox (scripts/demo_sandbox.py)
with the shipped rules, a rate-limited pgbench load through PgBouncer and a
real failover every few minutes, for a fixed duration. The primary's
postmaster is killed with SIGKILL; pgdr's guarded failover must promote a
replica and repoint PgBouncer; the old primary then comes back as a standby
through `pgdr_exporter rejoin`, so the next failover can happen.

Each minute it samples the exporter's RSS, open fds, threads, sockets and
PostgreSQL connections (pg_stat_activity on every reachable member) and the
size of its TSDB; in between it reads /metrics, the status page and the API
as a Prometheus and an operator would. At the end it prints, and writes
under "## Soak" in the report file, the figures at start / middle / end, the
failovers and the verdict: RSS flat over the last half (growth < 1 %, both
by least squares and end against middle), no growth of fds, threads or
connections, every failover done by pgdr and survived, the exporter alive.
"""

import argparse
import datetime
import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

from demo_sandbox import SOURCE_DIR, render_config, start_sandbox

import harness  # noqa: E402 - demo_sandbox put tests/integration on sys.path

FLAT_LIMIT_PERCENT = 1.0


def parse_duration(text):
    m = re.fullmatch(r"(\d+)([smh])", text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r}: a duration is <number>s|m|h")
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]


def log(msg):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S")
    print(f"soak {stamp} {msg}", flush=True)


class WebhookSink:
    """The webhook receiver the exporter notifies: counts messages."""

    def __init__(self):
        self.messages = 0
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sink.messages += 1
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", harness.free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Load(threading.Thread):
    """pgbench through PgBouncer, rate-limited and niced, in short runs so a
    failover costs one run at most."""

    def __init__(self, bouncer, rate, clients=2, chunk=30):
        super().__init__(daemon=True)
        self.cmd = ["nice", "-n", "10", "pgbench", "-h", "127.0.0.1", "-p", str(bouncer.port),
                    "-U", "postgres", "-n", "-c", str(clients), "-j", "1", "-R", str(rate),
                    "-T", str(chunk), "postgres"]
        self.transactions = 0
        self.runs = 0
        self.failed_runs = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            r = subprocess.run(self.cmd, capture_output=True, text=True, timeout=120, check=False)
            self.runs += 1
            m = re.search(r"number of transactions actually processed: (\d+)", r.stdout)
            self.transactions += int(m.group(1)) if m else 0
            if r.returncode != 0:
                self.failed_runs += 1
                self.stop.wait(1)


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return int(fields["VmRSS"][0]) * 1024, int(fields["Threads"][0])


def open_fds(pid):
    fds = sockets = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        fds += 1
        try:
            sockets += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return fds, sockets


def answer(node, query):
    """psql's answer, or None when the server does not answer."""
    try:
        return node.sql(query, timeout=5)
    except (RuntimeError, subprocess.TimeoutExpired):
        return None


class Soak:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.samples = []
        self.failovers = []
        self.reads = 0
        self.read_errors = 0
        self.stop = threading.Event()

    # --- setup -----------------------------------------------------------
    def start(self):
        self.s3, self.cluster, self.bouncer = start_sandbox(
            self.tmp, extra_conf=["wal_log_hints = on"])
        for replica in self.cluster.replicas:
            # A promoted replica archives as the primary did (PgCluster turns
            # archiving off on replicas).
            replica.append_auto_conf("archive_mode = on")
            replica.stop()
            replica.start()
        self.cluster.primary.sql("SELECT 1")
        harness.run(["pgbench", "-i", "-q", "-s", "1", "-h", "127.0.0.1", "-p",
                     str(self.cluster.primary.port), "-U", "postgres", "postgres"], timeout=300)
        self.sink = WebhookSink()
        extra = {"PG_BIN": harness.PG_BIN, "WEBHOOK_URL": self.sink.url,
                 "COOLDOWN": f"{self.args.cooldown}s"}
        for i, node in enumerate(self.cluster.members, start=1):
            extra[f"DATA_{i}"] = node.datadir
            extra[f"LOG_{i}"] = node.logfile
        config = render_config("pgdr-soak.yml", self.tmp, self.s3, self.cluster, self.bouncer,
                               **extra)
        self.exporter = harness.Exporter(
            self.tmp, config, log_level="info",
            args=[f"--storage.tsdb.retention.time={self.args.retention}s"])
        self.exporter.start(timeout=60)
        self.load = Load(self.bouncer, self.args.rate)
        self.load.start()
        log(f"exporter pid {self.exporter.proc.pid} on {self.exporter.address}, log "
            f"{self.exporter.log_path}; retention {self.args.retention}s, pgbench -R "
            f"{self.args.rate} through PgBouncer :{self.bouncer.port}")

    # --- what is measured ------------------------------------------------
    def metric(self, samples, name, **labels):
        return next((v for n, l, v in samples if n == name
                     and all(l.get(k) == val for k, val in labels.items())), None)

    def failover_successes(self):
        try:
            return self.metric(harness.parse_metrics(self.exporter.get("/metrics")[1]),
                               "pgdr_failover_requests_total", cluster="demo",
                               result="success") or 0
        except OSError:
            return None

    def read_outputs(self):
        """What a Prometheus and an operator read between the samples."""
        for path in ("/metrics", "/", "/api/v1/alerts", "/api/v1/rules", "/api/v1/targets",
                     "/-/healthy"):
            self.reads += 1
            try:
                if self.exporter.get(path, timeout=10)[0] != 200:
                    self.read_errors += 1
            except OSError:
                self.read_errors += 1

    def sample(self, t):
        pid = self.exporter.proc.pid
        rss, threads = proc_status(pid)
        fds, sockets = open_fds(pid)
        conns = 0
        for node in self.cluster.members:
            n = answer(node, "SELECT count(*) FROM pg_stat_activity "
                             "WHERE application_name = 'pgdr_exporter'")
            conns += int(n) if n else 0
        scraped = harness.parse_metrics(self.exporter.get("/metrics")[1])
        s = {"t": t, "rss": rss, "fds": fds, "threads": threads, "sockets": sockets,
             "pg_conns": conns, "tsdb_series": self.metric(scraped, "pgdr_tsdb_series"),
             "tsdb_samples": self.metric(scraped, "pgdr_tsdb_samples"),
             "cpu": self.metric(scraped, "process_cpu_seconds_total"),
             "failovers": len(self.failovers)}
        self.samples.append(s)
        log(f"sample t={t:5.0f}s rss={rss / 2**20:.2f}MiB fds={fds} threads={threads} "
            f"sockets={sockets} pg_conns={conns} tsdb_series={s['tsdb_series']:.0f} "
            f"tsdb_samples={s['tsdb_samples']:.0f} failovers={len(self.failovers)}")

    # --- failovers -------------------------------------------------------
    def primaries(self):
        return [n for n in self.cluster.members if answer(n, "SELECT pg_is_in_recovery()") == "f"]

    def failover(self):
        t0 = time.monotonic()
        current = self.primaries()
        if len(current) != 1:
            log(f"failover skipped: {len(current)} primaries")
            return
        old = current[0]
        before = self.failover_successes()
        record = {"old": old.name, "new": None, "by_pgdr": False, "promote_s": None,
                  "rejoin": None, "streaming": False, "pooler_on_primary": False}
        self.failovers.append(record)
        os.killpg(old.pid(), signal.SIGKILL)  # the postmaster leads its process group
        log(f"failover {len(self.failovers)}: killed {old.name} (SIGKILL)")
        others = [n for n in self.cluster.members if n is not old]
        try:
            new = harness.wait_until(
                lambda: next((n for n in others if answer(n, "SELECT pg_is_in_recovery()") == "f"),
                             None), timeout=240, interval=1, what="a promoted replica")
            # The counter moves once pg_promote's result is checked, just
            # after the replica answers as a primary.
            try:
                record["by_pgdr"] = harness.wait_until(
                    lambda: (self.failover_successes() or 0) > (before or 0), timeout=30,
                    interval=1, what="pgdr_failover_requests_total{result=\"success\"}")
            except TimeoutError:
                record["by_pgdr"] = False
        except TimeoutError:
            new = max(others, key=lambda n: int(answer(n, "SELECT (pg_last_wal_receive_lsn() "
                                                          "- '0/0')::bigint") or 0))
            log(f"pgdr did not promote within 240 s: promoting {new.name} by hand")
            new.promote()
        record["new"] = new.name
        record["promote_s"] = round(time.monotonic() - t0, 1)
        r = subprocess.run(harness.as_pg_user([
            harness.EXPORTER, "rejoin", f"--config.file={self.exporter.config_path}",
            "--cluster", "demo", "--member", old.name, f"--data-dir={old.datadir}",
            # 180 s, not the 60 s default: pg_rewind on a shared two-core host
            # under parallel builds once took longer than 60 s.
            "--timeout", "180s"]), capture_output=True, text=True, timeout=420, check=False)
        m = re.search(r"rejoin result=(\S+).*?rewind=(\S+)", r.stdout)
        record["rejoin"] = f"{m.group(1)} ({m.group(2)})" if m else f"exit {r.returncode}"
        if r.returncode != 0:
            log(f"rejoin of {old.name} failed: {r.stdout.strip()} {r.stderr.strip()}")
        # Checked apart: a standby that did not rejoin says nothing of PgBouncer.
        try:
            harness.wait_until(lambda: answer(new, "SELECT count(*) FROM pg_stat_replication "
                                                   "WHERE state = 'streaming'") == "2",
                               timeout=120, interval=1, what="both standbys streaming")
            record["streaming"] = True
        except (TimeoutError, RuntimeError) as e:
            log(f"after failover {len(self.failovers)}: {e}")
        try:
            harness.wait_until(lambda: self.bouncer.sql("SELECT pg_is_in_recovery()") == "f",
                               timeout=60, interval=1, what="PgBouncer on the new primary")
            record["pooler_on_primary"] = True
        except (TimeoutError, RuntimeError) as e:
            log(f"after failover {len(self.failovers)}: {e}")
        record["total_s"] = round(time.monotonic() - t0, 1)
        log(f"failover {len(self.failovers)}: {record}")

    def failover_loop(self, start, end):
        due = start + self.args.warmup
        while not self.stop.is_set():
            if self.stop.wait(max(0.0, due - time.monotonic())):
                return
            if end - time.monotonic() < 180:
                return
            self.failover()
            due += self.args.failover_every

    # --- the run ---------------------------------------------------------
    def run(self):
        start = time.monotonic()
        end = start + self.args.duration
        worker = threading.Thread(target=self.failover_loop, args=(start, end), daemon=True)
        worker.start()
        next_sample = start
        while time.monotonic() < end:
            if self.exporter.proc.poll() is not None:
                log(f"pgdr_exporter exited with {self.exporter.proc.returncode}")
                break
            if time.monotonic() >= next_sample:
                self.sample(time.monotonic() - start)
                next_sample += self.args.sample_every
            self.read_outputs()
            time.sleep(max(0.0, min(15.0, end - time.monotonic(), next_sample - time.monotonic())))
        if self.exporter.proc.poll() is None:
            self.sample(time.monotonic() - start)
        self.stop.set()
        worker.join(timeout=600)
        self.load.stop.set()
        self.load.join(timeout=120)
        self.alive = self.exporter.proc.poll() is None and self.exporter.get("/-/healthy")[0] == 200
        self.webhooks = self.sink.messages
        self.sink.close()
        self.exporter.stop()


def trend_growth_percent(points):
    """Least-squares growth across the points' time span, in % of the fit's start."""
    n = len(points)
    mt = sum(t for t, _ in points) / n
    mv = sum(v for _, v in points) / n
    var = sum((t - mt) ** 2 for t, _ in points)
    slope = sum((t - mt) * (v - mv) for t, v in points) / var if var else 0.0
    span = points[-1][0] - points[0][0]
    first = mv + slope * (points[0][0] - mt)
    return 100.0 * slope * span / first


def verdict(soak):
    s = soak.samples
    mid = min(range(len(s)), key=lambda i: abs(s[i]["t"] - s[-1]["t"] / 2))
    half = s[mid:]
    trend = trend_growth_percent([(x["t"], x["rss"]) for x in half])
    end_vs_mid = 100.0 * (s[-1]["rss"] - s[mid]["rss"]) / s[mid]["rss"]
    quarter = max(1, len(half) // 2)

    # A leak raises the floor; a sample that catches a scrape's socket or a
    # reconnect in flight raises only the ceiling (fds swing 15/17 with the
    # collection cycle), so the floors of the last two quarters are compared.
    def no_growth(key):
        return min(x[key] for x in half[quarter:]) <= min(x[key] for x in half[:quarter])

    by_pgdr = sum(1 for f in soak.failovers if f["by_pgdr"])
    survived = sum(1 for f in soak.failovers if f["by_pgdr"] and f["streaming"]
                   and f["pooler_on_primary"] and (f["rejoin"] or "").startswith("success"))
    checks = {
        f"RSS growth over the last half < {FLAT_LIMIT_PERCENT:g} % (least squares)":
            abs(trend) < FLAT_LIMIT_PERCENT,
        f"RSS end vs middle < {FLAT_LIMIT_PERCENT:g} %": end_vs_mid < FLAT_LIMIT_PERCENT,
        "fds: no growth of the floor over the last quarter": no_growth("fds"),
        "threads: no growth of the floor over the last quarter": no_growth("threads"),
        "PostgreSQL connections: no growth of the floor over the last quarter": no_growth("pg_conns"),
        "every failover done by pgdr and survived (rejoined, streaming, PgBouncer on the primary)":
            bool(soak.failovers) and survived == len(soak.failovers),
        "exporter alive and healthy at the end": soak.alive,
        "every read of /metrics, /, /api/v1/* answered 200": soak.read_errors == 0,
    }
    figures = {"mid": mid, "trend": trend, "end_vs_mid": end_vs_mid, "by_pgdr": by_pgdr,
               "survived": survived}
    return checks, figures


def row(label, x):
    return (f"| {label} | {x['t'] / 60:.1f} | {x['rss'] / 2**20:.2f} | {x['fds']} | "
            f"{x['threads']} | {x['sockets']} | {x['pg_conns']} | {x['tsdb_series']:.0f} | "
            f"{x['tsdb_samples']:.0f} | {x['failovers']} |")


def report(soak, checks, figures):
    a = soak.args
    s = soak.samples
    cpu = (s[-1]["cpu"] - s[0]["cpu"]) / max(1.0, s[-1]["t"] - s[0]["t"]) * 100
    lines = [
        "## Soak", "",
        f"`scripts/soak.sh --duration {a.duration_text}` on "
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC: the demo sandbox "
        "(PostgreSQL 15 primary + 2 streaming replicas, PgBouncer, s3rver with barman-cloud "
        "archiving, the shipped rules, a webhook receiver) with `pgbench -R "
        f"{a.rate} -c 2` through PgBouncer, `--storage.tsdb.retention.time={a.retention}s`, "
        f"and every {a.failover_every / 60:g} min (after {a.warmup / 60:g} min) a SIGKILL of the "
        "primary's postmaster: pgdr's failover (`dry_run: false`, cooldown "
        f"{a.cooldown}s) promotes a replica and repoints PgBouncer, then `pgdr_exporter rejoin` "
        "brings the old primary back as a standby. Sampled every "
        f"{a.sample_every}s from /proc/<pid> (RSS, fds, threads, sockets), pg_stat_activity on "
        "every member (connections with application_name pgdr_exporter) and /metrics (TSDB).", "",
        "| sample | minute | RSS MiB | fds | threads | sockets | PG conns | TSDB series | "
        "TSDB samples | failovers so far |",
        "|---|---|---|---|---|---|---|---|---|---|",
        row("start", s[0]), row("middle", s[figures["mid"]]), row("end", s[-1]), "",
        f"RSS over the last half: {figures['trend']:+.2f} % (least-squares trend), "
        f"{figures['end_vs_mid']:+.2f} % (end against middle); min / max over the run "
        f"{min(x['rss'] for x in s) / 2**20:.2f} / {max(x['rss'] for x in s) / 2**20:.2f} MiB. "
        f"Exporter CPU {cpu:.1f} % of one core on average. "
        f"{soak.load.transactions} pgbench transactions in {soak.load.runs} runs "
        f"({soak.load.failed_runs} cut short by a failover); {soak.webhooks} webhook messages; "
        f"{soak.reads} reads of /metrics, /, /api/v1/* ({soak.read_errors} failed).", "",
        f"Failovers: {len(soak.failovers)} killed primaries, {figures['by_pgdr']} promoted by pgdr, "
        f"{figures['survived']} survived (old primary rejoined, both standbys streaming, "
        "PgBouncer on the new primary).", "",
        "| # | killed | promoted | by pgdr | kill → promoted s | rejoin | streaming | "
        "PgBouncer on primary |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, f in enumerate(soak.failovers, start=1):
        lines.append(f"| {i} | {f['old']} | {f['new']} | {'yes' if f['by_pgdr'] else 'no'} | "
                     f"{f['promote_s']} | {f['rejoin']} | {'yes' if f['streaming'] else 'no'} | "
                     f"{'yes' if f['pooler_on_primary'] else 'no'} |")
    lines += ["", "Verdict: " + ("**PASS**" if all(checks.values()) else "**FAIL**"), ""]
    lines += [f"- {'pass' if ok else 'FAIL'}: {name}" for name, ok in checks.items()]
    return "\n".join(lines) + "\n"


def write_section(path, section):
    """Replaces the "## Soak" section of path (or appends it)."""
    text = open(path).read() if os.path.exists(path) else "# Reliability\n\n"
    start = text.find("## Soak\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        nxt = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[nxt:] if nxt >= 0 else "")
    with open(path, "w") as f:
        f.write(text)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", default="1h", help="how long (e.g. 1h, 5m); default 1h")
    p.add_argument("--failover-every", type=parse_duration, default=None,
                   help="default 4m (1m on runs shorter than 20m)")
    p.add_argument("--retention", type=parse_duration, default=None,
                   help="TSDB retention; default duration/6 (10m for 1h)")
    p.add_argument("--rate", type=int, default=20, help="pgbench -R, default 20")
    p.add_argument("--sample-every", type=parse_duration, default=60)
    p.add_argument("--report", default=os.path.join(SOURCE_DIR, "docs", "reliability.md"),
                   help="Markdown file whose \"## Soak\" section gets the report ('' for none)")
    a = p.parse_args()
    a.duration_text = a.duration
    a.duration = parse_duration(a.duration)
    short = a.duration < 20 * 60
    a.failover_every = a.failover_every or (60 if short else 240)
    a.warmup = 60 if short else 120
    a.cooldown = max(30, a.failover_every // 2)
    a.retention = a.retention or max(60, a.duration // 6)
    with harness.TempDir() as tmp:
        soak = Soak(a, tmp)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: sys.exit("soak: interrupted"))
        log(f"sandbox in {tmp.path}; duration {a.duration}s")
        soak.start()
        soak.run()
    checks, figures = verdict(soak)
    section = report(soak, checks, figures)
    print(section, flush=True)
    if a.report:
        write_section(a.report, section)
        log(f"report written to {a.report}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
