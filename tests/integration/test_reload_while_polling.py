"""A reload while a store poll hangs (issue 14): POST /-/reload answers at
once instead of waiting for the poll's deadline, collection keeps publishing
through it, and a member whose target did not change keeps its connection."""

import socket
import threading
import time
import unittest

from harness import Exporter, PgCluster, TempDir, wait_until

STORE_TIMEOUT_S = 10


class HungStore:
    """Accepts connections, reads nothing, answers nothing; counts the
    connections it holds open (each one is a poll in flight)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.held.append(conn)

    def open_connections(self):
        """Connections the client has not closed yet."""
        with self.lock:
            conns = list(self.held)
        count = 0
        for c in conns:
            try:
                c.setblocking(False)
                closed = c.recv(65536, socket.MSG_PEEK) == b""
            except BlockingIOError:
                closed = False
            except OSError:
                closed = True
            count += 0 if closed else 1
        return count

    def close(self):
        self.sock.close()
        with self.lock:
            for c in self.held:
                c.close()


class ReloadWhilePollingTest(unittest.TestCase):
    def test_reload_does_not_wait_for_a_hung_store(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "demo", replicas=0)
            cluster.start()
            store = HungStore()
            self.addCleanup(store.close)
            config = cluster.exporter_config(interval="1s")
            config["backup_stores"] = [{
                "name": "hung", "cluster": "demo", "layout": "barman-cloud", "server_name": "demo",
                "url": "s3://hung/", "endpoint": f"http://127.0.0.1:{store.port}",
                "access_key_id_env": "PGDR_HUNG_KEY", "secret_access_key_env": "PGDR_HUNG_KEY",
                "interval": "1s", "timeout": f"{STORE_TIMEOUT_S}s"}]
            exporter = Exporter(tmp, config, env={"PGDR_HUNG_KEY": "k"}).start()
            self.addCleanup(exporter.stop)
            started = time.monotonic()
            member = cluster.primary.name
            wait_until(lambda: exporter.value("pgdr_up", member=member) == 1.0, timeout=15,
                       what="primary collected")
            wait_until(lambda: store.open_connections() >= 1, timeout=5, what="a store poll in flight")
            backend = cluster.primary.sql(
                "SELECT pid, backend_start FROM pg_stat_activity "
                "WHERE application_name = 'pgdr_exporter'")
            self.assertEqual(len(backend.splitlines()), 1, backend)

            # The same config again: the store poller is retired mid-poll.
            t0 = time.monotonic()
            status, body = exporter.post("/-/reload")
            reload_s = time.monotonic() - t0
            self.assertEqual(status, 200, body)
            print(f"reload answered in {reload_s:.3f} s with a store poll hung "
                  f"(store deadline {STORE_TIMEOUT_S} s)")
            self.assertLess(reload_s, 2.0)
            # The retired poll is still in flight: the reload did not wait for it.
            self.assertLess(time.monotonic() - started, STORE_TIMEOUT_S - 1,
                            "the test was too slow to reload while the poll hung")
            self.assertGreaterEqual(store.open_connections(), 1)

            # Collection keeps publishing while the old poll hangs.
            stamps = [exporter.value("pgdr_collect_timestamp_seconds", member=member)]
            deadline = time.monotonic() + 6
            while len(set(stamps)) < 3 and time.monotonic() < deadline:
                time.sleep(0.3)
                stamps.append(exporter.value("pgdr_collect_timestamp_seconds", member=member))
            self.assertGreaterEqual(len(set(stamps)), 3,
                                    f"collect timestamps did not advance: {stamps}")
            self.assertEqual(stamps, sorted(stamps))

            # The unchanged member kept its connection: same backend, same start.
            after = cluster.primary.sql(
                "SELECT pid, backend_start FROM pg_stat_activity "
                "WHERE application_name = 'pgdr_exporter'")
            self.assertEqual(after, backend)


if __name__ == "__main__":
    unittest.main()
