"""Real Patroni (Debian `patroni` 3.x) members over a real 1-node etcd
(Debian `etcd-server`, v3 API) on loopback free ports, for the integration
tests. Every process is started through harness.spawn, so leaving the
harness.TempDir stops them all.

    with TempDir() as tmp:
        etcd = Etcd(tmp).start()
        cluster = PatroniCluster(tmp, etcd, "pat", members=3).start()
        cluster.leader()                  # member name per `patronictl list`
        cluster.patronictl("pause", "--wait")
        cluster.list()                    # [{"Member": ..., "Role": ..., "TL": ...}, ...]
        cluster.member("pat-1").kill()    # SIGKILL patroni and its postgres

pgdr_view(exp, cluster) and patronictl_view(rows) put pgdr_patroni_* and
`patronictl list -f json` in one shape (member -> role, state, timeline,
lag in MB) for comparison.
"""

import json
import os
import shutil
import signal
import contextlib

import harness
from harness import AS_ROOT, PG_BIN, PG_USER, free_port, http_get, run, spawn, wait_until

ETCD = "/usr/bin/etcd"
PATRONI = "/usr/bin/patroni"
PATRONICTL = "/usr/bin/patronictl"
# Patroni's Debian package runs under the system python (python3-etcd, psycopg2 ...).
PYTHON = "/usr/bin/python3"


class Etcd:
    """A 1-node etcd on two free loopback ports (client, peer)."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.client_port = free_port()
        self.peer_port = free_port()
        self.dir = tmp.sub(f"etcd-{self.client_port}")
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.client_port}"

    def start(self, timeout=30):
        peer = f"http://127.0.0.1:{self.peer_port}"
        self.proc = spawn([ETCD, "--name", "etcd1", "--data-dir", os.path.join(self.dir, "data"),
                           "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
                           "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                           "--initial-cluster", f"etcd1={peer}", "--initial-cluster-state", "new",
                           "--enable-v2=false", "--log-level", "warn"],
                          os.path.join(self.dir, "etcd.log"))
        wait_until(lambda: http_get(f"{self.url}/health")[0] == 200, timeout=timeout,
                   what="etcd healthy")
        return self


class PatroniMember:
    def __init__(self, tmp, cluster, index):
        self.name = f"{cluster.name}-{index}"
        self.pg_port = free_port()
        self.rest_port = free_port()
        self.dir = tmp.sub(f"patroni-{self.name}", for_postgres=True)
        self.datadir = os.path.join(self.dir, "data")
        self.config_path = os.path.join(self.dir, "patroni.yml")
        self.log_path = os.path.join(self.dir, "patroni.log")
        self.proc = None
        config = {
            "scope": cluster.name,
            "namespace": "/service/",
            "name": self.name,
            "log": {"level": "INFO"},
            "restapi": {"listen": f"127.0.0.1:{self.rest_port}",
                        "connect_address": f"127.0.0.1:{self.rest_port}"},
            "etcd3": {"hosts": [f"127.0.0.1:{cluster.etcd.client_port}"]},
            "bootstrap": {
                "dcs": {"ttl": 10, "loop_wait": 1, "retry_timeout": 4,
                        "maximum_lag_on_failover": 1048576,
                        "postgresql": {"use_pg_rewind": True,
                                       "parameters": {"wal_level": "replica", "hot_standby": "on",
                                                      "max_wal_senders": 10,
                                                      "max_replication_slots": 10,
                                                      "wal_keep_size": "128MB",
                                                      "wal_log_hints": "on"}}},
                "initdb": [{"encoding": "UTF8"}, {"locale": "C"}, "no-sync"],
                "pg_hba": ["local all all trust", "host all all 127.0.0.1/32 trust",
                           "host replication all 127.0.0.1/32 trust"],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{self.pg_port}",
                "connect_address": f"127.0.0.1:{self.pg_port}",
                "data_dir": self.datadir,
                "bin_dir": PG_BIN,
                "pgpass": os.path.join(self.dir, "pgpass"),
                "authentication": {"superuser": {"username": "postgres", "password": "postgres"},
                                   "replication": {"username": "postgres",
                                                   "password": "postgres"}},
                "parameters": {"unix_socket_directories": self.dir, "fsync": "off",
                               "shared_buffers": "32MB"},
            },
            "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False,
                     "nosync": False},
        }
        if cluster.standby_of is not None:
            # A standby cluster (another region): its standby leader streams
            # from the other cluster's bootstrap leader.
            source = cluster.standby_of.members[0]
            config["bootstrap"]["dcs"]["standby_cluster"] = {
                "host": "127.0.0.1", "port": source.pg_port,
                "create_replica_methods": ["basebackup"]}
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=2)  # JSON is YAML
        if AS_ROOT:
            shutil.chown(self.config_path, PG_USER, PG_USER)

    @property
    def rest_url(self):
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def dsn(self):
        return f"host=127.0.0.1 port={self.pg_port} user=postgres dbname=postgres sslmode=disable"

    def start(self):
        self.proc = spawn(harness.as_pg_user([PYTHON, PATRONI, self.config_path]), self.log_path)
        return self

    def postmaster_pid(self):
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def kill(self):
        """SIGKILL patroni and its postgres (a host crash as far as both are concerned)."""
        pg = self.postmaster_pid()
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        if pg:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pg, signal.SIGKILL)

    def stop_postgres(self):
        """Leftover postgres after a SIGKILL of patroni (teardown)."""
        if os.path.exists(os.path.join(self.datadir, "postmaster.pid")):
            run(harness.as_pg_user([f"{PG_BIN}/pg_ctl", "-D", self.datadir, "-m", "immediate",
                                    "-w", "stop"]), check=False, timeout=30)


class PatroniCluster:
    # standby_of: another PatroniCluster this one is a standby cluster of
    # (Patroni's `standby_cluster`); its first member is a "Standby Leader".
    def __init__(self, tmp, etcd, name="pat", members=3, standby_of=None):
        self.tmp = tmp
        self.etcd = etcd
        self.name = name
        self.standby_of = standby_of
        self.members = [PatroniMember(tmp, self, i + 1) for i in range(members)]
        tmp.patroni_clusters = getattr(tmp, "patroni_clusters", []) + [self]

    def member(self, name):
        return next(m for m in self.members if m.name == name)

    def start(self, timeout=120):
        # The first member bootstraps alone (no race for the initialize key),
        # the others then clone from it.
        self.members[0].start()
        role = "Standby Leader" if self.standby_of is not None else "Leader"
        wait_until(lambda: self.role_of(self.members[0].name) == role, timeout=timeout,
                   what=f"patroni bootstrap {role.lower()}")
        for m in self.members[1:]:
            m.start()
        self.wait_healthy(len(self.members) - 1, timeout=timeout)
        return self

    def wait_healthy(self, replicas, timeout=120):
        def ok():
            rows = self.list()
            role = "Standby Leader" if self.standby_of is not None else "Leader"
            leaders = [r for r in rows if r["Role"] == role and r["State"] == "running"]
            # Patroni 3.0 says "running" for a replica (later versions "streaming"):
            # the leader's pg_stat_replication is the ground truth.
            members = [r for r in rows if r["Role"] == "Replica"
                       and r["State"] in ("running", "streaming")]
            if len(leaders) != 1 or len(members) != replicas:
                return False
            return self.streaming_count(leaders[0]["Member"]) == replicas
        wait_until(ok, timeout=timeout, interval=0.5,
                   what=f"patroni: 1 leader and {replicas} streaming replicas")

    def streaming_count(self, leader):
        m = self.member(leader)
        return int(run(["psql", "-X", "-h", "127.0.0.1", "-p", str(m.pg_port), "-U", "postgres",
                        "-Atc", "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"],
                       timeout=10).stdout.strip())

    def patronictl(self, *args, timeout=60):
        cmd = harness.as_pg_user([PYTHON, PATRONICTL, "-c", self.members[0].config_path] + list(args))
        return run(cmd, timeout=timeout).stdout

    def list(self):
        """`patronictl list -f json`: one dict per member (Member, Host, Role, State, TL, Lag in MB)."""
        return json.loads(self.patronictl("list", "-f", "json"))

    def role_of(self, member):
        rows = [r for r in self.list() if r["Member"] == member]
        return rows[0]["Role"] if rows else None

    def leader(self):
        rows = [r for r in self.list() if r["Role"] == "Leader"]
        return rows[0]["Member"] if rows else None

    def cluster_json(self, member=None):
        status, body = http_get(f"{(member or self.members[0]).rest_url}/cluster")
        return json.loads(body) if status == 200 else None

    def teardown(self):
        for m in self.members:
            m.kill()
            m.stop_postgres()


def pgdr_view(exp, cluster):
    """member -> {role, state, timeline, lag_mb} from pgdr's /metrics."""
    out = {}
    for name, labels, value in exp.scrape():
        if labels.get("cluster") != cluster or "member" not in labels:
            continue
        m = out.setdefault(labels["member"], {})
        if name == "pgdr_patroni_role" and value == 1:
            m["role"] = labels["role"]
        elif name == "pgdr_patroni_state" and value == 1:
            m["state"] = labels["state"]
        elif name == "pgdr_patroni_timeline":
            m["timeline"] = int(value)
        elif name == "pgdr_patroni_replication_lag_bytes":
            # patronictl prints round(lag / 1 MiB) (patroni.ctl's "Lag in MB").
            m["lag_mb"] = round(value / 1024 / 1024)
    return {k: v for k, v in out.items() if "role" in v}


def patronictl_view(rows):
    out = {}
    for r in rows:
        m = {"role": r["Role"].lower().replace(" ", "_"), "state": r["State"], "timeline": r["TL"]}
        if isinstance(r.get("Lag in MB"), int):
            m["lag_mb"] = r["Lag in MB"]
        out[r["Member"]] = m
    return out
