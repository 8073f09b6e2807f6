"""First snapshot complete (issue 17, must-show 2).

The exporter starts with three members: a live PostgreSQL primary, a dead
one (a port nothing listens on: connection refused) and a hung one (a
socket that accepts connections but never answers, so only the 3 s
connect_timeout ends its first cycle). /-/ready and /metrics answer 503
until the hung member's deadline has passed; the first 200 of /metrics
already has `pgdr_up 0` for both broken members and the live member's
series, and the members and series names do not change in the scrapes that
follow.
"""

import socket
import time
import unittest

import harness
from harness import Exporter, PgCluster, TempDir, wait_until

CONNECT_TIMEOUT = 3.0


def members_and_names(samples):
    """{member: set of metric names} of one parsed scrape."""
    out = {}
    for name, labels, _ in samples:
        if "member" in labels:
            out.setdefault(labels["member"], set()).add(name)
    return out


class FirstSnapshotTest(unittest.TestCase):
    def test_first_scrape_has_every_member(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "demo", replicas=0)
            cluster.start()
            hung = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            hung.bind(("127.0.0.1", 0))
            hung.listen(16)  # the kernel completes the handshake; nobody ever answers
            dead_port = harness.free_port()
            targets = cluster.targets() + [
                {"cluster": "demo", "member": "dead",
                 "dsn": f"host=127.0.0.1 port={dead_port} user=postgres dbname=postgres"},
                {"cluster": "demo", "member": "hung",
                 "dsn": f"host=127.0.0.1 port={hung.getsockname()[1]} user=postgres "
                        "dbname=postgres"},
            ]
            cfg = cluster.exporter_config(interval="4s")
            cfg["collection"].update({"connect_timeout": f"{CONNECT_TIMEOUT:.0f}s",
                                      "target_deadline": "4s", "statement_timeout": "2s"})
            cfg["targets"] = targets
            exp = Exporter(tmp, cfg)
            started = time.monotonic()
            exp.start(wait_ready=False)

            def answering():
                try:
                    return exp.get("/-/ready", timeout=2)[0]
                except OSError:
                    return None
            first_status = wait_until(answering, timeout=10, interval=0.05,
                                      what="HTTP server answering")
            first_answer_at = time.monotonic() - started
            statuses = [first_status]
            metrics_before = exp.get("/metrics")[0]
            while statuses[-1] != 200:
                self.assertLess(time.monotonic() - started, 20, f"never ready: {statuses[-5:]}")
                time.sleep(0.05)
                statuses.append(exp.get("/-/ready")[0])
            ready_after = time.monotonic() - started
            status, body = exp.get("/metrics")
            self.assertEqual(status, 200)
            first = harness.parse_metrics(body)
            print(f"\n/-/ready: {statuses.count(503)} x 503 from {first_answer_at:.2f}s, "
                  f"then 200 at {ready_after:.2f}s after start; /metrics before: {metrics_before}")
            self.assertEqual(first_status, 503)
            self.assertEqual(metrics_before, 503)
            self.assertEqual(set(statuses), {503, 200})
            # Only the hung member's connect_timeout can have ended its first cycle.
            self.assertGreaterEqual(ready_after, CONNECT_TIMEOUT - 0.5)

            up = {l["member"]: v for n, l, v in first if n == "pgdr_up"}
            print(f"first scrape pgdr_up: {up}")
            self.assertEqual(up, {"demo-1": 1.0, "dead": 0.0, "hung": 0.0})
            names = members_and_names(first)
            for metric in ("pgdr_in_recovery", "pgdr_wal_lsn_bytes", "pgdr_connections",
                           "pgdr_probe_latency_seconds_count", "pgdr_setting"):
                self.assertIn(metric, names["demo-1"])
            self.assertEqual(float(cluster.primary.lsn_bytes()) >= next(
                v for n, l, v in first if n == "pgdr_wal_lsn_bytes"), True)
            # Stable membership: later scrapes have the same members and series names.
            for _ in range(5):
                time.sleep(0.5)
                self.assertEqual(members_and_names(exp.scrape()), names)
            hung.close()


if __name__ == "__main__":
    unittest.main()
