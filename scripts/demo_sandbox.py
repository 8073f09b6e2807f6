"""The demo sandbox: a PostgreSQL 15 primary and two streaming replicas on
loopback (initdb + pg_basebackup -R, run as an unprivileged user), and
pgdr_exporter on :9688 with scripts/demo/pgdr-demo.yml. Runs in the
foreground; Ctrl-C or SIGTERM stops everything and removes the sandbox."""

import json
import os
import signal
import string
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "integration"))

import harness  # noqa: E402
from backup_support import S3_KEY, S3rver  # noqa: E402


def report_drill(exporter):
    """Prints the start-up drill's measured RTO once it has finished."""
    try:
        drill = json.loads(exporter.get("/api/v1/drills")[1])["data"]["drills"][0]
    except (OSError, ValueError, KeyError, IndexError):
        return False
    last = drill.get("last")
    if not last or drill["running"]:
        return False
    if last["result"] == "ok":
        print(f"demo: restore drill ok: backup {last['backup_id']} restored and verified in "
              f"{last['total_seconds']:.1f}s (fetch {last['fetch_seconds']:.1f}s, replay "
              f"{last['replay_seconds']:.1f}s, verify {last['verify_seconds']:.2f}s)", flush=True)
    else:
        print(f"demo: restore drill failed: {last['result']} at {last['step']}: "
              f"{last['message']}", flush=True)
    return True


def start_sandbox(tmp, extra_conf=()):
    """s3rver, the cluster archiving to it with barman-cloud, a first base
    backup and PgBouncer in front of the primary: (s3, cluster, bouncer)."""
    s3 = S3rver(tmp)
    s3.start()
    os.environ.update({"AWS_ACCESS_KEY_ID": S3_KEY, "AWS_SECRET_ACCESS_KEY": S3_KEY,
                       "AWS_DEFAULT_REGION": "us-east-1"})
    archive = f"barman-cloud-wal-archive --endpoint-url {s3.endpoint} s3://backups/demo demo %p"
    cluster = harness.PgCluster(tmp, "demo", replicas=2, extra_conf="\n".join(
        ["archive_mode = on", f"archive_command = '{archive}'", "archive_timeout = 60s"]
        + list(extra_conf)))
    cluster.start()
    primary = cluster.primary
    print("demo: taking a base backup with barman-cloud-backup", flush=True)
    primary.sql("SELECT pg_switch_wal()")
    harness.run(harness.as_pg_user([
        "barman-cloud-backup", "--endpoint-url", s3.endpoint, "-h", primary.sockdir,
        "-p", str(primary.port), "-U", "postgres", "s3://backups/demo", "demo"]), timeout=300)
    bouncer = harness.PgBouncer(tmp, primary, name="demo-pooler").start()
    return s3, cluster, bouncer


def render_config(name, tmp, s3, cluster, bouncer, **extra):
    """scripts/demo/<name> with the sandbox's ports and paths filled in."""
    with open(os.path.join(HERE, "demo", name)) as f:
        return string.Template(f.read()).substitute(
            SOURCE_DIR=SOURCE_DIR, PORT_1=cluster.members[0].port,
            PORT_2=cluster.members[1].port, PORT_3=cluster.members[2].port,
            PGBOUNCER_PORT=bouncer.port, PGBOUNCER_DATABASES=bouncer.databases_file,
            S3_ENDPOINT=s3.endpoint, DRILL_DIR=tmp.sub("drills"), **extra)


def main():
    listen = os.environ.get("PGDR_LISTEN", ":9688")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with harness.TempDir() as tmp:
        print(f"demo: sandbox in {tmp.path}", flush=True)
        try:
            s3, cluster, bouncer = start_sandbox(tmp)
        except FileNotFoundError as e:
            sys.exit(f"demo: {e}")
        config = render_config("pgdr-demo.yml", tmp, s3, cluster, bouncer)
        exporter = harness.Exporter(tmp, config)
        exporter.address = ("127.0.0.1" + listen) if listen.startswith(":") else listen
        exporter.start(timeout=60)
        port = exporter.address.rsplit(":", 1)[1]
        print(f"""
demo: running. PostgreSQL primary 127.0.0.1:{cluster.primary.port}, replicas """
              f"""{", ".join(f"127.0.0.1:{r.port}" for r in cluster.replicas)}
  status page      http://localhost:{port}/
  metrics          http://localhost:{port}/metrics
  targets          http://localhost:{port}/api/v1/targets
  rules / alerts   http://localhost:{port}/api/v1/rules  /api/v1/alerts
  pgbouncer        psql -h 127.0.0.1 -p {bouncer.port} -U postgres postgres
  object store     {s3.endpoint} (s3rver; bucket "backups", barman-cloud layout)
  restore drill    http://localhost:{port}/api/v1/drills  (one runs now; its RTO follows)
  health           http://localhost:{port}/-/healthy  /-/ready
  exporter log     {exporter.log_path}
  try:             psql -h 127.0.0.1 -p {cluster.replicas[1].port} -U postgres -c 'SELECT pg_wal_replay_pause()'
Ctrl-C stops everything.""", flush=True)
        reported = False
        while not stop.wait(1):
            if not reported:
                reported = report_drill(exporter)
            if exporter.proc.poll() is not None:
                print("demo: pgdr_exporter exited; see its log above", file=sys.stderr)
                print(exporter.log()[-2000:], file=sys.stderr)
                break
        print("demo: stopping", flush=True)
        exporter.stop()
    print("demo: stopped; nothing left running", flush=True)


if __name__ == "__main__":
    main()
