"""Helpers for the DR-action scenario tests (test_actions_*.py).

Python 3 standard library only; every wait is bounded; loopback only.

    TcpProxy(target_port)        a TCP proxy the test can cut (partition)
    Alertmanager(tmp)            a real Alertmanager (Debian prometheus-alertmanager)
    Webhook()                    a receiver of webhook messages
    WriteLoop(port)              a client writing one row per transaction through
                                 PgBouncer, recording what committed and when
    actions_config(...)          an exporter config with the actions module enabled
"""

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import free_port, http_get, spawn, wait_until  # noqa: E402

ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
PGBOUNCER = "/usr/sbin/pgbouncer"
# The runbook pgdr serves; the rules link it under $externalURL (the harness's
# exporter: http://127.0.0.1:<port>).
RUNBOOK_PATH = "/runbooks/PostgresPrimaryMissing"

# Test-only rules: short `for`, evaluated every second by the exporter.
TEST_RULES = f"""groups:
  - name: actions-scenarios
    interval: 1s
    rules:
      - alert: TestPrimaryLost
        expr: pgdr_cluster_primaries == 0
        for: 2s
        labels:
          severity: critical
        annotations:
          summary: "cluster {{{{ $labels.cluster }}}} has no reachable primary"
          runbook_url: "{{{{ $externalURL }}}}{RUNBOOK_PATH}"
      - alert: TestSplitBrain
        expr: pgdr_cluster_primaries > 1
        for: 2s
        labels:
          severity: critical
        annotations:
          summary: "cluster {{{{ $labels.cluster }}}} has {{{{ $value }}}} primaries"
          runbook_url: "{{{{ $externalURL }}}}/runbooks/PostgresSplitBrain"
"""


def missing_tools():
    """Names of what the scenarios need but this machine lacks."""
    checks = [
        ("exporter binary " + harness.EXPORTER, os.access(harness.EXPORTER, os.X_OK)),
        ("postgresql-15", os.path.exists(os.path.join(harness.PG_BIN, "initdb"))),
        ("pgbouncer", os.access(PGBOUNCER, os.X_OK)),
        ("prometheus-alertmanager", os.access(ALERTMANAGER, os.X_OK)),
    ]
    return [what for what, ok in checks if not ok]


def write_rules(tmp):
    path = os.path.join(tmp.path, "actions-test-rules.yml")
    with open(path, "w") as f:
        f.write(TEST_RULES)
    return path


def actions_config(cluster, tmp, triggers, dry_run=None, poolers=(), alertmanagers=(),
                   targets=None, maintenance=None, extra_rule_files=()):
    """An exporter config: 1s collection and evaluation, the test rules, the
    given triggers (dry_run omitted unless given, so the default applies)."""
    actions = {"triggers": triggers}
    if dry_run is not None:
        actions["dry_run"] = dry_run
    cfg = cluster.exporter_config(interval="1s")
    cfg.update({
        "rule_files": [write_rules(tmp)] + list(extra_rule_files),
        "evaluation_interval": "1s",
        "actions": actions,
    })
    if targets is not None:
        cfg["targets"] = targets
    if poolers:
        cfg["pgbouncers"] = [{"name": p.name, "cluster": cluster.name, "dsn": p.admin_dsn,
                              "databases_file": p.databases_file} for p in poolers]
    if alertmanagers:
        cfg["alerting"] = {"resend_delay": "2s",
                           "alertmanagers": [{"url": a.url} for a in alertmanagers]}
    if maintenance is not None:
        cfg["maintenance"] = maintenance
    return cfg


def failover_trigger(**extra):
    t = {"name": "promote-demo",
         "match": 'alertname=~"TestPrimaryLost|TestSplitBrain", cluster="demo"',
         "action": "failover", "provider": "pg_promote", "confirm_for": "2s",
         "max_lag_bytes": 64 * 1024 * 1024, "cooldown": "10m", "timeout": "30s"}
    t.update(extra)
    return t


def actions_wired(exp):
    """Whether this exporter runs the actions module (it serves the maintenance API)."""
    return exp.get("/api/v1/maintenance")[0] == 200


def failover_count(exp, result, cluster="demo"):
    v = exp.value("pgdr_failover_requests_total", cluster=cluster, result=result)
    return v or 0.0


def firing_alerts(exp):
    status, body = exp.get("/api/v1/alerts")
    if status != 200:
        return set()
    return {a["labels"]["alertname"] for a in json.loads(body)["data"]["alerts"]
            if a["state"] == "firing"}


def in_recovery(node):
    try:
        return node.sql("SELECT pg_is_in_recovery()", timeout=10) == "t"
    except Exception:  # noqa: BLE001 - a stopped node is not a primary
        return None


class TcpProxy:
    """Forwards 127.0.0.1:port to 127.0.0.1:target_port until cut()."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.conns = []
        self.lock = threading.Lock()
        self.cut_flag = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_flag:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """Drops every connection and refuses new ones (the exporter's side of a partition)."""
        self.cut_flag = True
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.conns = []


class Alertmanager:
    """A real Alertmanager with a null receiver; the test reads its API."""

    def __init__(self, tmp):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        d = tmp.sub(f"alertmanager-{self.port}")
        with open(os.path.join(d, "alertmanager.yml"), "w") as f:
            json.dump({"route": {"receiver": "null", "group_wait": "1s"},
                       "receivers": [{"name": "null"}]}, f)
        self.cmd = [ALERTMANAGER, f"--config.file={d}/alertmanager.yml", f"--storage.path={d}/data",
                    f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="]
        self.log = os.path.join(d, "alertmanager.log")

        self.seen = {}  # alertname -> the first alert Alertmanager listed with that name
        self.stop_flag = False

    def start(self):
        spawn(self.cmd, self.log)
        wait_until(lambda: http_get(f"{self.url}/-/ready")[0] == 200, timeout=30,
                   what="alertmanager ready")
        # Resolved alerts leave the API quickly: remember every alert listed.
        threading.Thread(target=self._watch, daemon=True).start()
        return self

    def _watch(self):
        while not self.stop_flag:
            try:
                for a in self.alerts():
                    self.seen.setdefault(a["labels"].get("alertname"), a)
            except Exception:  # noqa: BLE001 - polled again
                pass
            time.sleep(0.2)

    def alerts(self):
        status, body = http_get(f"{self.url}/api/v2/alerts", timeout=5)
        return json.loads(body) if status == 200 else []


class Webhook:
    """Receives webhook messages (Alertmanager webhook JSON) on a loopback port."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.received.append(json.loads(body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def messages(self, alertname):
        """Messages whose group is `alertname`, in arrival order."""
        with self.lock:
            return [m for m in self.received if m.get("groupLabels", {}).get("alertname") == alertname]


class WriteLoop:
    """One INSERT per transaction through PgBouncer, as fast as psql goes.
    Records the ids that committed (psql exit 0) with when the attempt
    started and when it returned."""

    def __init__(self, port):
        self.port = port
        self.committed = []  # [(id, started, returned)], monotonic seconds
        self.failures = 0
        self.stop_flag = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        i = 0
        env = dict(os.environ, PGCONNECT_TIMEOUT="2")
        while not self.stop_flag:
            i += 1
            started = time.monotonic()
            try:
                r = subprocess.run(
                    ["psql", "-X", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                     "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-Atc",
                     f"INSERT INTO writes(id) VALUES ({i})"],
                    capture_output=True, text=True, timeout=5, env=env)
                ok = r.returncode == 0
            except subprocess.TimeoutExpired:
                ok = False
            if ok:
                self.committed.append((i, started, time.monotonic()))
            else:
                self.failures += 1
                time.sleep(0.05)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stop_flag = True
        self.thread.join(timeout=10)

    def first_commit_started_after(self, t):
        """When the first write whose attempt started after `t` returned."""
        for _, started, returned in list(self.committed):
            if started > t:
                return returned
        return None
