"""Every dashboard panel's expression returns data from a real Prometheus.

A sandbox cluster (PostgreSQL 15 primary + 2 streaming replicas) archives its
WAL into a barman-cloud layout on a file:// object store and gets a real base
backup (pg_basebackup, described by a barman backup.info); it also archives
with barman-cloud-wal-archive into s3rver, where barman-cloud-backup takes a
restorable backup that the exporter's restore drill restores (the drill
panels need a real drill). pgdr_exporter collects it all, a real Prometheus
scrapes the exporter with the shipped rules loaded. Each dashboard's variables are resolved through Prometheus's label
API, substituted, and every panel target is run as an instant query through
the HTTP API. Prints one line per panel target with its result count.

Some panels need what this sandbox cannot have: they may be empty only for the
reason listed in EXEMPT, and only while that reason holds (checked at run time).
"""

import datetime
import glob
import json
import os
import re
import shutil
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from backup_support import S3_KEY, S3rver  # noqa: E402
from harness import Exporter, PgBouncer, PgCluster, Prometheus, TempDir, run, as_pg_user, wait_until  # noqa: E402

DASHBOARDS = ["pgdr-fleet-overview.json", "pgdr-cluster.json", "pgdr-backups-dr.json"]
CLUSTER = "demo"
REGION = "eu-west"


def prerequisites():
    missing = []
    if not os.access(harness.EXPORTER, os.X_OK):
        missing.append(f"exporter binary {harness.EXPORTER}")
    if not shutil.which("prometheus"):
        missing.append("prometheus")
    if not os.path.exists(os.path.join(harness.PG_BIN, "initdb")):
        missing.append("postgresql-15")
    return missing


def cgroup_v2_dir():
    """The unified-hierarchy cgroup of this process, if it has a memory controller."""
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                if line.startswith("0::"):
                    path = "/sys/fs/cgroup" + line.strip()[3:].rstrip("/")
                    if os.path.exists(os.path.join(path, "memory.current")):
                        return path
    except OSError:
        pass
    return None


def metric_names(expr):
    return set(re.findall(r"(?<![:\w])(pgdr_[a-z0-9_]+|ALERTS)\b", expr))


class DashboardQueriesTest(unittest.TestCase):
    def test_every_panel_returns_data(self):
        missing = prerequisites()
        if missing:
            self.skipTest("missing: " + ", ".join(missing))
        with TempDir() as tmp:
            self.run_in(tmp)

    def run_in(self, tmp):
        store = tmp.sub("store", for_postgres=True)
        server = os.path.join(store, CLUSTER)
        wals = os.path.join(server, "wals")
        os.makedirs(wals, exist_ok=True)
        if harness.AS_ROOT:
            for d in (server, wals):
                shutil.chown(d, harness.PG_USER, harness.PG_USER)
        # barman-cloud's layout: wals/<timeline+log, 16 hex>/<segment>.
        s3 = S3rver(tmp).start()
        os.environ.update({"AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_KEY,
                           "AWS_DEFAULT_REGION": "us-east-1"})
        archive = ("archive_mode = on\n"
                   f"archive_command = 'd={wals}/$(echo %f | cut -c1-16); mkdir -p $d && "
                   "test ! -f $d/%f && cp %p $d/%f && barman-cloud-wal-archive --endpoint-url "
                   f"{s3.endpoint} s3://backups/pfx {CLUSTER} %p'\n"
                   "archive_timeout = 0")
        cluster = PgCluster(tmp, CLUSTER, replicas=2, region=REGION, extra_conf=archive)
        cluster.start()
        p = cluster.primary
        p.sql("SELECT pg_create_physical_replication_slot('pgdr_test_slot', true)")
        p.sql("CREATE TABLE t AS SELECT g FROM generate_series(1, 20000) g")
        self.base_backup(tmp, p, server)
        run(as_pg_user(["barman-cloud-backup", "--endpoint-url", s3.endpoint, "-h", p.sockdir,
                        "-p", str(p.port), "-U", "postgres", "s3://backups/pfx", CLUSTER]),
            timeout=300)
        p.sql("INSERT INTO t SELECT g FROM generate_series(1, 1000) g")
        p.sql("SELECT pg_switch_wal()")
        wait_until(lambda: int(p.sql("SELECT archived_count FROM pg_stat_archiver")) >= 3,
                   timeout=60, what="WAL archived")

        cfg = cluster.exporter_config(interval="1s")
        cg = cgroup_v2_dir()
        for t in cfg["targets"]:
            t["memory"] = {"local": True}
            if cg:
                t["memory"]["cgroup_path"] = cg
        cfg["backup_stores"] = [{"name": "fs", "cluster": CLUSTER, "layout": "barman-cloud",
                                 "url": "file://" + store, "server_name": CLUSTER, "interval": "1s"},
                                {"name": "s3", "cluster": CLUSTER, "layout": "barman-cloud",
                                 "url": "s3://backups/pfx", "endpoint": s3.endpoint,
                                 "server_name": CLUSTER, "interval": "1s"}]
        cfg["drills"] = [{"cluster": CLUSTER, "store": "s3", "interval": "1h",
                          "scratch_dir": tmp.sub("drills"),
                          "verify": [{"sql": "SELECT count(*) >= 21000 FROM t", "expect": "t"}]}]
        bouncer = PgBouncer(tmp, p, name="edge").start()
        cfg["pgbouncers"] = [{"name": "edge", "cluster": CLUSTER, "dsn": bouncer.admin_dsn}]
        exp = Exporter(tmp, cfg).start()
        rules = sorted(glob.glob(os.path.join(harness.SOURCE_DIR, "rules", "*.yml")))
        prom = Prometheus(tmp, [exp.address], rule_files=rules).start()
        wait_until(lambda: len(prom.query('pgdr_up == 1')) == 3, timeout=60, what="3 members up in Prometheus")
        # rate() and the slot/backup/store collectors need a few scrapes.
        time.sleep(8)
        emitted = {name for name, _, _ in harness.parse_metrics(exp.get("/metrics")[1])}
        emitted = {re.sub(r"_(bucket|count|sum)$", "", n) for n in emitted}
        wait_until(lambda: prom.query('pgdr_backup_store_up == 1'), timeout=60, what="backup store read")
        # The drill run at start: the drill panels show a real, successful drill.
        wait_until(lambda: prom.query('pgdr_restore_drill_last_success_timestamp_seconds > 0'),
                   timeout=180, what="a successful restore drill in Prometheus")
        time.sleep(3)
        # A live database: pg_stat_replication shows NULL lag columns once an idle
        # standby has caught up, so keep writing while the panels are queried.
        stop = threading.Event()
        writer = threading.Thread(target=self.keep_writing, args=(p, stop), daemon=True)
        writer.start()
        try:
            self.check_panels(prom, emitted, cg)
        finally:
            stop.set()
            writer.join(timeout=30)

    @staticmethod
    def keep_writing(primary, stop, max_seconds=600):
        deadline = time.monotonic() + max_seconds
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                primary.sql("INSERT INTO t VALUES (1)", timeout=10)
            except Exception:  # noqa: BLE001 - best effort; the panels report what is missing
                pass
            stop.wait(0.5)

    def check_panels(self, prom, emitted, cg):
        exempt = self.exemptions(prom, emitted, cg)
        failures, counted, exempted = [], 0, 0
        for name in DASHBOARDS:
            with open(os.path.join(harness.SOURCE_DIR, "dashboards", name)) as f:
                board = json.load(f)
            values = self.resolve_variables(prom, board)
            for panel in board["panels"]:
                if panel["type"] == "row":
                    continue
                for target in panel["targets"]:
                    expr = self.substitute(target["expr"], values)
                    reason = next((why for metrics, why in exempt if metric_names(expr) & metrics), None)
                    result = self.query_until_data(prom, expr, timeout=3 if reason else 20)
                    counted += 1
                    label = f"{board['title']} / {panel['title']} [{target['refId']}]"
                    if result:
                        print(f"{label}: {len(result)} series")
                        continue
                    if reason:
                        exempted += 1
                        print(f"{label}: 0 series (allowed: {reason})")
                    else:
                        print(f"{label}: 0 series  <-- FAIL  {expr}")
                        failures.append(f"{label}: {expr}")
        print(f"panel targets: {counted}, with data: {counted - exempted - len(failures)}, "
              f"allowed empty: {exempted}, failed: {len(failures)}")
        self.assertEqual(failures, [], "panel expressions without data")

    def base_backup(self, tmp, primary, server):
        """A real base backup, described the way barman-cloud-backup does."""
        backup_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
        dest = os.path.join(server, "base", backup_id)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if harness.AS_ROOT:
            shutil.chown(os.path.dirname(dest), harness.PG_USER, harness.PG_USER)
        begin = datetime.datetime.now(datetime.timezone.utc)
        start_lsn = primary.sql("SELECT pg_current_wal_lsn()")
        begin_wal = primary.sql(f"SELECT pg_walfile_name('{start_lsn}')")
        run(as_pg_user([f"{harness.PG_BIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(primary.port),
                        "-U", "postgres", "-D", dest, "-Ft", "-X", "none", "-c", "fast", "--no-sync"]),
            timeout=300)
        end = datetime.datetime.now(datetime.timezone.utc)
        end_wal = primary.sql("SELECT pg_walfile_name(pg_current_wal_lsn())")
        size = sum(os.path.getsize(f) for f in glob.glob(os.path.join(dest, "*")))
        fmt = "%Y-%m-%d %H:%M:%S.%f+00:00"
        info = {"backup_id": backup_id, "backup_name": "None", "status": "DONE", "backup_type": "None",
                "begin_time": begin.strftime(fmt), "end_time": end.strftime(fmt),
                "begin_wal": begin_wal, "end_wal": end_wal, "begin_xlog": start_lsn,
                "timeline": "1", "size": str(size), "version": "150000", "mode": "concurrent",
                "systemid": primary.sql("SELECT system_identifier FROM pg_control_system()")}
        with open(os.path.join(dest, "backup.info"), "w") as f:
            f.write("".join(f"{k}={v}\n" for k, v in info.items()))

    def exemptions(self, prom, emitted, cgroup):
        """(metric names, reason) pairs that may legitimately be empty here."""
        out = []
        if not cgroup:
            out.append(({"pgdr_memory_cgroup_usage_bytes", "pgdr_memory_cgroup_limit_bytes"},
                        "no cgroup v2 memory controller for this process"))
        elif "pgdr_memory_cgroup_limit_bytes" not in emitted:
            out.append(({"pgdr_memory_cgroup_limit_bytes"}, "the cgroup has no memory limit"))
        firing = [a for a in prom.api("/api/v1/alerts")["alerts"] if a["state"] == "firing"]
        if not firing:
            out.append(({"ALERTS"}, "no alert is firing (checked with /api/v1/alerts)"))
        return out

    def resolve_variables(self, prom, board):
        """Each query variable's values through the label API, like Grafana's
        label_values(); All is the variable's allValue."""
        values = {}
        for var in board["templating"]["list"]:
            if var["type"] != "query":
                continue
            m = re.fullmatch(r"label_values\((?:(.+),\s*)?(\w+)\)", var["definition"].strip())
            self.assertIsNotNone(m, var["definition"])
            selector, label = m.group(1), m.group(2)
            params = {}
            if selector:
                params["match[]"] = self.substitute(selector, values)
            got = wait_until(lambda: prom.api(f"/api/v1/label/{label}/values", **params),
                             timeout=30, what=f"values of variable {var['name']}")
            print(f"{board['title']}: ${var['name']} = {got}")
            if var["name"] == "cluster":
                self.assertIn(CLUSTER, got)
                values["cluster"] = CLUSTER
            elif var.get("includeAll"):
                values[var["name"]] = var.get("allValue") or "|".join(map(re.escape, got))
            else:
                values[var["name"]] = got[0]
        return values

    @staticmethod
    def substitute(expr, values):
        expr = expr.replace("$__rate_interval", "1m").replace("$__interval", "15s")
        for name, value in values.items():
            expr = expr.replace("${" + name + "}", value).replace("$" + name, value)
        return expr

    @staticmethod
    def query_until_data(prom, expr, timeout):
        deadline = time.monotonic() + timeout
        while True:
            result = prom.query(expr)
            if result or time.monotonic() > deadline:
                return result
            time.sleep(1)


if __name__ == "__main__":
    unittest.main()
