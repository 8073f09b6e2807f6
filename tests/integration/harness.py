"""Integration-test harness: real servers on loopback, on free ports, torn down.

Python 3 standard library only. Every wait is bounded.

    import harness
    from harness import PgCluster, Exporter, Prometheus, TempDir, wait_until

    with TempDir() as tmp:
        cluster = PgCluster(tmp, "demo", replicas=2, archive_dir=True)
        cluster.start()                       # primary + replicas (pg_basebackup -R)
        cluster.primary.sql("SELECT 1")       # psql -Atc as superuser "postgres" -> str
        cluster.replicas[0].sql("SELECT pg_wal_replay_pause()")
        exp = Exporter(tmp, cluster.exporter_config(interval="1s"))  # or any dict/str config
        exp.start()                           # $PGDR_EXPORTER on a free port, waits for /-/ready
        exp.value("pgdr_up", member="demo-1") # float or None (first matching series)
        exp.samples("pgdr_up")                # [(labels_dict, value), ...]
        exp.get("/api/v1/targets")            # (status, body)
        prom = Prometheus(tmp, [exp.address]) # real Prometheus scraping the exporter
        prom.start(); prom.query("pgdr_up")   # -> result list of the HTTP API
        ... cluster.primary.stop("immediate") ...
    # leaving the `with` stops every process started through the harness

Environment: PGDR_EXPORTER (the binary), PGDR_SOURCE_DIR (repo root),
PGDR_CONFORMANCE_DIR (Prometheus's conformance suites; else
PGDR_CONFORMANCE_DEFAULT, which CMake passes). PostgreSQL refuses to run as
root: when euid is 0 the servers run as the system user "postgres" (runuser).
"""

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
SOURCE_DIR = os.environ.get(
    "PGDR_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
CONFORMANCE_DIR = (os.environ.get("PGDR_CONFORMANCE_DIR")
                   or os.environ.get("PGDR_CONFORMANCE_DEFAULT", ""))
CNPG_DIR = os.environ.get("PGDR_CNPG_DIR") or os.environ.get("PGDR_CNPG_DEFAULT", "")
EXPORTER = os.environ.get("PGDR_EXPORTER", os.path.join(SOURCE_DIR, "build", "exporter", "pgdr_exporter"))
AS_ROOT = os.geteuid() == 0
PG_USER = "postgres"

_processes = []  # every Popen started here, stopped by TempDir.__exit__


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout=30.0, interval=0.2, what="condition"):
    """Polls predicate() until it returns a truthy value; raises after timeout."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last_error = e
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}" +
                       (f" (last error: {last_error})" if last_error else ""))


def conformance_suite(name):
    """The directory of one of Prometheus's conformance suites (promql,
    promtool). Raises unittest.SkipTest, naming the directory, when the
    conformance directory is absent; fails when it is there but the suite is
    missing or empty, so a checkout that has the suites always runs them."""
    if not CONFORMANCE_DIR or not os.path.isdir(CONFORMANCE_DIR):
        raise unittest.SkipTest(f"conformance directory {CONFORMANCE_DIR or '(none)'} absent "
                                "(set PGDR_CONFORMANCE_DIR)")
    path = os.path.join(CONFORMANCE_DIR, name)
    if not os.path.isdir(path) or not os.listdir(path):
        raise AssertionError(f"{path} is missing or empty although {CONFORMANCE_DIR} exists")
    return path


def cnpg_crd(plural):
    """The path of CloudNativePG's CRD postgresql.cnpg.io_<plural>.yaml in
    PGDR_CNPG_DIR (else PGDR_CNPG_DEFAULT, which CMake passes). Raises
    unittest.SkipTest, naming the directory, when it is absent; fails when the
    directory is there but the file is not."""
    if not CNPG_DIR or not os.path.isdir(CNPG_DIR):
        raise unittest.SkipTest(f"CloudNativePG CRD directory {CNPG_DIR or '(none)'} absent "
                                "(set PGDR_CNPG_DIR)")
    path = os.path.join(CNPG_DIR, f"postgresql.cnpg.io_{plural}.yaml")
    if not os.path.isfile(path):
        raise AssertionError(f"{path} is missing although {CNPG_DIR} exists")
    return path


def as_pg_user(cmd):
    return (["runuser", "-u", PG_USER, "--"] + cmd) if AS_ROOT else cmd


def run(cmd, check=True, timeout=120, env=None, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, **kw)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def spawn(cmd, log_path, env=None, cwd=None):
    with open(log_path, "ab") as log:
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                             start_new_session=True)
    _processes.append(p)
    return p


def stop_process(p, timeout=10):
    if p.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(p.pid, signal.SIGTERM)
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=timeout)


class TempDir:
    """A scratch directory readable by the postgres user; cleans up every
    process and PostgreSQL node started inside it."""

    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="pgdr-test-")
        os.chmod(self.path, 0o755)
        self.nodes = []
        return self

    def __exit__(self, *exc):
        for node in list(PgNode.all_nodes):
            if node.datadir.startswith(self.path):
                node.stop("immediate", check=False)
                PgNode.all_nodes.remove(node)
        while _processes:
            stop_process(_processes.pop())
        if os.environ.get("PGDR_KEEP_TMP") != "1":
            shutil.rmtree(self.path, ignore_errors=True)
        return False

    def __str__(self):
        return self.path

    def sub(self, name, for_postgres=False):
        path = os.path.join(self.path, name)
        os.makedirs(path, exist_ok=True)
        if for_postgres and AS_ROOT:
            shutil.chown(path, PG_USER, PG_USER)
        return path


class PgNode:
    all_nodes = []

    def __init__(self, tmp, name, port=None):
        self.tmp = tmp
        self.name = name
        self.port = port or free_port()
        self.datadir = os.path.join(tmp.path, name)
        self.sockdir = tmp.sub("sockets", for_postgres=True)
        self.logfile = os.path.join(tmp.path, f"{name}.log")
        PgNode.all_nodes.append(self)

    @property
    def dsn(self):
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres sslmode=disable"

    def _pg_ctl(self, *args, check=True, timeout=120):
        cmd = as_pg_user([f"{PG_BIN}/pg_ctl", "-D", self.datadir, "-l", self.logfile] + list(args))
        return run(cmd, check=check, timeout=timeout)

    def initdb(self, extra_conf=""):
        os.makedirs(self.datadir, exist_ok=True)
        if AS_ROOT:
            shutil.chown(self.datadir, PG_USER, PG_USER)
        run(as_pg_user([f"{PG_BIN}/initdb", "-D", self.datadir, "-U", "postgres", "--auth=trust",
                        "--no-sync", "-E", "UTF8", "--locale=C"]))
        self.append_conf(extra_conf)

    def append_conf(self, text):
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
            f.write("\n" + text + "\n")

    def append_auto_conf(self, text):
        """postgresql.auto.conf wins over postgresql.conf (pg_basebackup -R writes there)."""
        with open(os.path.join(self.datadir, "postgresql.auto.conf"), "a") as f:
            f.write("\n" + text + "\n")

    def start(self, timeout=60):
        with open(self.logfile, "a"):
            pass
        if AS_ROOT:
            shutil.chown(self.logfile, PG_USER, PG_USER)
        self._pg_ctl("-w", "-t", str(timeout), "-o",
                     f"-p {self.port} -k {self.sockdir} -c listen_addresses=127.0.0.1", "start",
                     timeout=timeout + 10)

    def stop(self, mode="fast", check=True):
        if not os.path.exists(os.path.join(self.datadir, "postmaster.pid")):
            return
        self._pg_ctl("-m", mode, "-w", "stop", check=check)

    def promote(self):
        self._pg_ctl("-w", "promote")

    def pid(self):
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def sql(self, query, db="postgres", timeout=60):
        r = run(["psql", "-X", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db,
                 "-v", "ON_ERROR_STOP=1", "-Atc", query], timeout=timeout)
        return r.stdout.strip()

    def lsn_bytes(self):
        return int(self.sql(
            "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
            "ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint"))


class PgCluster:
    """A primary and streaming replicas made with initdb and pg_basebackup -R."""

    def __init__(self, tmp, name="demo", replicas=2, archive_dir=False, region=None,
                 extra_conf=""):
        self.tmp = tmp
        self.name = name
        self.region = region
        self.primary = PgNode(tmp, f"{name}-1")
        self.replicas = [PgNode(tmp, f"{name}-{i + 2}") for i in range(replicas)]
        self.archive_dir = tmp.sub(f"{name}-archive", for_postgres=True) if archive_dir else None
        self.extra_conf = extra_conf

    @property
    def members(self):
        return [self.primary] + self.replicas

    def start(self):
        conf = [
            "wal_level = replica", "max_wal_senders = 10", "max_replication_slots = 10",
            "hot_standby = on", "wal_keep_size = '256MB'", "fsync = off",
            "synchronous_commit = on", "shared_buffers = '32MB'", "log_min_messages = warning",
            self.extra_conf,
        ]
        if self.archive_dir:
            conf += ["archive_mode = on", f"archive_command = 'cp %p {self.archive_dir}/%f'",
                     "archive_timeout = 0"]
        self.primary.initdb("\n".join(conf))
        self.primary.start()
        for r in self.replicas:
            os.makedirs(r.datadir, exist_ok=True)
            if AS_ROOT:
                shutil.chown(r.datadir, PG_USER, PG_USER)
            os.chmod(r.datadir, 0o700)
            run(as_pg_user([f"{PG_BIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port),
                            "-U", "postgres", "-D", r.datadir, "-R", "-X", "stream",
                            "--no-sync", "-c", "fast"]), timeout=300)
            r.append_auto_conf(f"primary_conninfo = 'host=127.0.0.1 port={self.primary.port} "
                          f"user=postgres application_name={r.name}'\narchive_mode = off")
            r.start()
        wait_until(lambda: int(self.primary.sql(
            "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) == len(self.replicas),
            timeout=60, what="replicas streaming")

    def targets(self, **extra):
        out = []
        for node in self.members:
            t = {"cluster": self.name, "member": node.name, "dsn": node.dsn}
            if self.region:
                t["region"] = self.region
            t.update(extra)
            out.append(t)
        return out

    def exporter_config(self, interval="1s", **extra):
        cfg = {
            "collection": {"interval": interval},
            "query_files": [os.path.join(SOURCE_DIR, "queries", "*.yml")],
            "targets": self.targets(),
        }
        cfg.update(extra)
        return cfg


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def shipped_rules_variant(tmp, name, edit):
    """rules/<name> rewritten by edit(text) -> text into tmp (a test's faster
    windows and `for`); returns the copy's path."""
    with open(os.path.join(SOURCE_DIR, "rules", name)) as f:
        text = edit(f.read())
    path = os.path.join(tmp.path, "fast-" + name)
    with open(path, "w") as f:
        f.write(text)
    return path


def parse_metrics(text):
    """Parses the Prometheus text format into [(name, labels, value)]."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"unparsable exposition line: {line!r}")
        labels = {k: bytes(v, "utf-8").decode("unicode_escape") for k, v in _LABEL.findall(m.group(3) or "")}
        out.append((m.group(1), labels, float(m.group(4))))
    return out


def http_get(url, timeout=10, method="GET", data=None, headers=None):
    req = urllib.request.Request(url, method=method, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Exporter:
    # mutating=True passes --web.enable-lifecycle and --web.enable-admin-api
    # (the tests that POST /-/reload or /api/v1/maintenance need them).
    def __init__(self, tmp, config, port=None, args=(), env=None, mutating=True,
                 log_level="debug"):
        self.tmp = tmp
        self.log_level = log_level
        self.port = port or free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.config_path = os.path.join(tmp.path, f"pgdr-{self.port}.yml")
        self.log_path = os.path.join(tmp.path, f"pgdr-{self.port}.log")
        self.args = list(args)
        # The state file (--storage.path) goes to the scratch directory, never
        # the source tree; a restart of this object reads it back.
        self.storage_path = os.path.join(tmp.path, f"data-{self.port}")
        if not any(a.startswith("--storage.path") for a in self.args):
            self.args.append(f"--storage.path={self.storage_path}")
        if mutating:
            self.args += ["--web.enable-lifecycle", "--web.enable-admin-api"]
        self.env = env
        self.proc = None
        self.write_config(config)

    def write_config(self, config):
        text = config if isinstance(config, str) else json.dumps(config, indent=2)
        with open(self.config_path, "w") as f:
            f.write(text)

    def start(self, wait_ready=True, timeout=30):
        env = dict(os.environ)
        env.update(self.env or {})
        self.proc = spawn([EXPORTER, f"--config.file={self.config_path}",
                           f"--web.listen-address={self.address}", f"--log.level={self.log_level}"] + self.args,
                          self.log_path, env=env)
        if wait_ready:
            wait_until(lambda: self.get("/-/ready")[0] == 200, timeout=timeout, what="exporter ready")
        return self

    def stop(self):
        if self.proc:
            stop_process(self.proc)

    def kill(self):
        """SIGKILL, as a crash or an OOM kill: no orderly shutdown."""
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def get(self, path, timeout=10):
        return http_get(f"http://{self.address}{path}", timeout=timeout)

    def post(self, path, body=b"", timeout=30):
        return http_get(f"http://{self.address}{path}", timeout=timeout, method="POST", data=body)

    def scrape(self):
        status, body = self.get("/metrics")
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        return parse_metrics(body)

    def samples(self, metric, **labels):
        """Series of `metric` whose labels include `labels` (use label_name= for a label
        called "name")."""
        if "label_name" in labels:
            labels["name"] = labels.pop("label_name")
        return [(l, v) for n, l, v in self.scrape()
                if n == metric and all(l.get(k) == str(val) for k, val in labels.items())]

    def value(self, metric, **labels):
        s = self.samples(metric, **labels)
        return s[0][1] if s else None


class PgBouncer:
    """A real PgBouncer (Debian `pgbouncer`) in front of `node`, trust auth,
    admin user "postgres". Its [databases] live in an include file
    (`databases_file`) so a redirect can rewrite them and RELOAD."""

    def __init__(self, tmp, node, name="pooler", pool_size=5, pool_mode="transaction"):
        self.tmp = tmp
        self.name = name
        self.port = free_port()
        self.dir = tmp.sub(f"pgbouncer-{self.port}", for_postgres=True)
        self.databases_file = os.path.join(self.dir, "databases.ini")
        self.ini = os.path.join(self.dir, "pgbouncer.ini")
        self.point_at(node)
        with open(os.path.join(self.dir, "userlist.txt"), "w") as f:
            f.write('"postgres" ""\n')
        with open(self.ini, "w") as f:
            f.write(f"""[databases]
%include {self.databases_file}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.dir}/userlist.txt
admin_users = postgres
pool_mode = {pool_mode}
default_pool_size = {pool_size}
logfile = {self.dir}/pgbouncer.log
pidfile = {self.dir}/pgbouncer.pid
server_connect_timeout = 3
server_login_retry = 1
""")
        if AS_ROOT:
            for fn in os.listdir(self.dir):
                shutil.chown(os.path.join(self.dir, fn), PG_USER, PG_USER)
        self.proc = None

    def point_at(self, node):
        with open(self.databases_file, "w") as f:
            f.write(f"postgres = host=127.0.0.1 port={node.port} dbname=postgres\n")
        if AS_ROOT:
            shutil.chown(self.databases_file, PG_USER, PG_USER)

    @property
    def admin_dsn(self):
        return f"host=127.0.0.1 port={self.port} dbname=pgbouncer user=postgres sslmode=disable"

    def start(self):
        self.proc = spawn(as_pg_user(["/usr/sbin/pgbouncer", self.ini]),
                          os.path.join(self.tmp.path, f"pgbouncer-{self.port}.out"))
        wait_until(lambda: self.admin("SHOW VERSION") is not None, timeout=15, what="pgbouncer up")
        return self

    def admin(self, command):
        return run(["psql", "-X", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                    "-d", "pgbouncer", "-Atc", command], timeout=10).stdout.strip()

    def sql(self, query, timeout=30):
        return run(["psql", "-X", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                    "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-Atc", query], timeout=timeout).stdout.strip()


class Prometheus:
    """A real Prometheus (Debian `prometheus`) scraping the given targets."""

    def __init__(self, tmp, targets, scrape_interval="1s", rule_files=(), alertmanagers=(),
                 evaluation_interval="1s"):
        self.tmp = tmp
        self.port = free_port()
        self.dir = tmp.sub(f"prometheus-{self.port}")
        cfg = {
            "global": {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval},
            "scrape_configs": [{"job_name": "pgdr", "static_configs": [{"targets": list(targets)}]}],
            "rule_files": list(rule_files),
        }
        if alertmanagers:
            cfg["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": list(alertmanagers)}]}]}
        self.config_path = os.path.join(self.dir, "prometheus.yml")
        with open(self.config_path, "w") as f:
            json.dump(cfg, f)
        self.proc = None

    def start(self, timeout=60):
        self.proc = spawn(["prometheus", f"--config.file={self.config_path}",
                           f"--storage.tsdb.path={self.dir}/data",
                           f"--web.listen-address=127.0.0.1:{self.port}"],
                          os.path.join(self.dir, "prometheus.log"))
        wait_until(lambda: http_get(f"http://127.0.0.1:{self.port}/-/ready")[0] == 200,
                   timeout=timeout, what="prometheus ready")
        return self

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        status, body = http_get(url)
        data = json.loads(body)
        if status != 200 or data.get("status") != "success":
            raise RuntimeError(f"prometheus {path} {params}: {status} {body[:300]}")
        return data["data"]

    def query(self, expr):
        return self.api("/api/v1/query", query=expr)["result"]


import urllib.parse  # noqa: E402  (used by Prometheus.api)


class ClassFixtureTest(unittest.TestCase):
    """A test class whose servers and stores are started once, by the
    subclass's _start() classmethod, under one TempDir (cls.tmp) that is
    removed after its last test, or at once when _start() fails."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir().__enter__()
        try:
            cls._start()
        except BaseException:
            cls.tmp.__exit__(None, None, None)
            raise

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    @classmethod
    def _start(cls):
        raise NotImplementedError(cls.__name__ + "._start")
