"""PgBouncer admin-console collection against a real PgBouncer (DESIGN §3)."""

import subprocess
import time
import unittest

from harness import Exporter, PgBouncer, PgCluster, TempDir, wait_until


class PgBouncerTest(unittest.TestCase):
    def test_pools_clients_waiting_and_down(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "pool", replicas=0)
            cluster.start()
            bouncer = PgBouncer(tmp, cluster.primary, name="edge", pool_size=1).start()
            config = cluster.exporter_config(interval="500ms")
            config["pgbouncers"] = [{"name": "edge", "cluster": "pool", "dsn": bouncer.admin_dsn}]
            exporter = Exporter(tmp, config).start()
            wait_until(lambda: exporter.value("pgdr_pgbouncer_up", pooler="edge") == 1.0, timeout=10)

            # One server connection, three clients each holding it for 4s: two wait.
            clients = [subprocess.Popen(["psql", "-X", "-h", "127.0.0.1", "-p", str(bouncer.port),
                                         "-U", "postgres", "-d", "postgres", "-c", "SELECT pg_sleep(4)"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                       for _ in range(3)]
            try:
                def waiting_matches():
                    rows = [r.split("|") for r in bouncer.admin("SHOW POOLS").splitlines()]
                    truth = {r[0]: int(r[3]) for r in rows}  # database -> cl_waiting
                    got = exporter.value("pgdr_pgbouncer_clients", pooler="edge", database="postgres",
                                         state="waiting")
                    return truth.get("postgres") == 2 and got == 2.0

                wait_until(waiting_matches, timeout=8, interval=0.1, what="2 waiting clients")
                self.assertEqual(exporter.value("pgdr_pgbouncer_clients", pooler="edge",
                                                database="postgres", state="active"), 1.0)
                self.assertEqual(exporter.value("pgdr_pgbouncer_servers", pooler="edge",
                                                database="postgres", state="active"), 1.0)
                wait_until(lambda: exporter.value("pgdr_pgbouncer_max_wait_seconds", pooler="edge",
                                                  database="postgres") > 0.5, timeout=5)
            finally:
                for c in clients:
                    c.wait(timeout=20)
            bouncer.proc.terminate()
            wait_until(lambda: exporter.value("pgdr_pgbouncer_up", pooler="edge") == 0.0, timeout=10,
                       what="pooler down")
            self.assertEqual(exporter.value("pgdr_up", member="pool-1"), 1.0)


if __name__ == "__main__":
    unittest.main()
