"""A sweep of bad HTTP input against a running exporter (issue 13).

Everything a hostile or broken client can send over a raw socket: oversized
request lines, headers and bodies (declared and chunked), too many headers,
invalid and unknown methods, garbage bytes, path traversal on every route,
a slowloris holding more connections than the server has workers, and a
flood of idle connections. After each case the exporter must still answer
/-/healthy; a mutating route reached with a bad method must not have acted
(the maintenance API still shows no window); no answer may contain a file
from outside (/etc/passwd). At the end its threads and open fds are back to
their level before the sweep and its RSS grew by less than 16 MiB.

Printed: each case's answer, the slowloris stall and the resource figures.
Everything listens on 127.0.0.1; every socket has a timeout.
"""
import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import actions_harness as ah  # noqa: E402
from harness import Exporter, PgCluster, TempDir, wait_until  # noqa: E402

ROUTES = ["/", "/metrics", "/-/healthy", "/-/ready", "/-/reload", "/api/v1/actions",
          "/api/v1/actions/region/approve", "/api/v1/alerts", "/api/v1/decisions",
          "/api/v1/drills", "/api/v1/maintenance", "/api/v1/rules", "/api/v1/statements",
          "/api/v1/status", "/api/v1/targets", "/member/demo/demo-1/primary", "/runbooks",
          "/runbooks/PostgresPrimaryMissing"]
TRAVERSALS = ["/../../../../etc/passwd", "/..%2f..%2f..%2f..%2fetc%2fpasswd",
              "/%2e%2e/%2e%2e/%2e%2e/etc/passwd", "/....//....//etc/passwd",
              "/..\\..\\..\\etc\\passwd", "//etc/passwd", "/%00../../etc/passwd"]


def proc_figures(pid):
    figures = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "Threads"):
                figures[key] = int(value.split()[0])
    figures["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return figures


def raw(address, data, timeout=5.0, read=True):
    """Sends `data`; returns the status code of the answer, or None when the
    server closed or reset the connection without one."""
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if not read:
            return None
        answer = b""
        try:
            while b"\r\n" not in answer and len(answer) < 65536:
                chunk = s.recv(4096)
                if not chunk:
                    break
                answer += chunk
            s.settimeout(0.5)
            while len(answer) < (1 << 20):
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    raw.last_body = answer
    if not answer.startswith(b"HTTP/"):
        return None
    return int(answer.split(b" ", 2)[1])


class HttpSweepTest(unittest.TestCase):
    def setUp(self):
        missing = ah.missing_tools()
        if missing:
            self.skipTest("missing: " + ", ".join(missing))

    def assert_alive(self, exp, case):
        self.assertIsNone(exp.proc.poll(), f"exporter died after {case}")
        status, _ = exp.get("/-/healthy", timeout=15)
        self.assertEqual(status, 200, f"/-/healthy after {case}")

    def test_sweep(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "demo", replicas=0)
            cluster.start()
            cfg = ah.actions_config(cluster, tmp, [ah.failover_trigger()], dry_run=True)
            exp = Exporter(tmp, cfg).start()
            self.addCleanup(exp.stop)
            wait_until(lambda: exp.value("pgdr_cluster_primaries", cluster="demo") == 1,
                       timeout=30, what="the exporter sees the primary")
            for _ in range(20):  # warm the workers and the page caches
                exp.get("/metrics")
            before = proc_figures(exp.proc.pid)
            a = exp.address
            answers = {}

            def case(name, data, allowed, **kw):
                status = raw(a, data, **kw)
                answers[name] = status
                self.assertIn(status, allowed, f"{name}: answered {status}")
                self.assert_alive(exp, name)

            refused = (None, 400, 404, 405, 411, 413, 414, 431)
            case("request line of 1 MiB",
                 b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n", refused)
            case("header of 256 KiB",
                 b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (256 << 10) + b"\r\n\r\n",
                 refused)
            case("5000 headers", b"GET /metrics HTTP/1.1\r\nHost: x\r\n" +
                 b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) + b"\r\n", refused)
            case("declared body of 100 MiB",
                 b"POST /api/v1/maintenance HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n"
                 b"Content-Type: application/json\r\n\r\n{", (413,))
            chunk = b"%x\r\n%s\r\n" % (64 << 10, b"c" * (64 << 10))
            case("chunked body of 2 MiB",
                 b"POST /api/v1/maintenance HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 + chunk * 32 + b"0\r\n\r\n", (None, 400, 413))
            open_body = json.dumps({"action": "open", "cluster": "demo", "duration": "10m"})
            for method in (b"FOO", b"PUT", b"DELETE", b"PATCH", b"get", b"G\x00T", b"CONNECT"):
                body = open_body.encode()
                case(f"method {method!r} on /api/v1/maintenance",
                     method + b" /api/v1/maintenance HTTP/1.1\r\nHost: x\r\nContent-Length: "
                     + str(len(body)).encode() + b"\r\n\r\n" + body, refused)
            case("HTTP/9.9", b"GET /metrics HTTP/9.9\r\nHost: x\r\n\r\n", refused + (505,))
            case("no version", b"GET /metrics\r\n\r\n", refused)
            case("binary garbage", bytes(range(256)) * 8 + b"\r\n\r\n", refused)
            case("header without colon",
                 b"GET /metrics HTTP/1.1\r\nHost x\r\nnonsense\r\n\r\n", refused + (200,))
            case("negative content-length",
                 b"POST /api/v1/maintenance HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                 refused)
            status, body = exp.get("/api/v1/maintenance")
            self.assertEqual(status, 200, body)
            self.assertFalse(any(c.get("active") for c in json.loads(body)["data"]["clusters"]),
                             "a bad method opened a maintenance window: " + body)

            traversal_answers = set()
            for route in ROUTES:
                for t in TRAVERSALS:
                    status = raw(a, b"GET " + (route.rstrip("/") + t).encode() +
                                 b" HTTP/1.1\r\nHost: x\r\n\r\n")
                    traversal_answers.add(status)
                    self.assertNotIn(b"root:x:0:0", raw.last_body, route + t)
                    self.assertNotEqual(status, 500, route + t)
            self.assert_alive(exp, "path traversal")

            def settled():
                now = proc_figures(exp.proc.pid)
                return now["Threads"] <= before["Threads"] and now["fds"] <= before["fds"] + 2

            wait_until(settled, timeout=60, what="threads and fds back to their level")
            after = proc_figures(exp.proc.pid)
            growth_kib = after["VmRSS"] - before["VmRSS"]
            self.assertLess(growth_kib, 16 << 10, f"RSS grew {growth_kib} KiB")
            lines = [f"  {name}: {status}" for name, status in answers.items()]
            print("\nbad HTTP sweep (None: connection closed without an answer):\n" +
                  "\n".join(lines) +
                  f"\n  path traversal on {len(ROUTES)} routes x {len(TRAVERSALS)} forms: "
                  f"answers {sorted(traversal_answers, key=str)}, /etc/passwd never served"
                  f"\n  threads {before['Threads']} -> {after['Threads']}, fds {before['fds']} -> "
                  f"{after['fds']}, RSS {before['VmRSS'] / 1024:.1f} -> "
                  f"{after['VmRSS'] / 1024:.1f} MiB", file=sys.stderr)

    def hold(self, exp, count, trickle):
        """Opens `count` connections that never finish a request (`trickle`:
        one more header byte each 0.5 s) and measures how long a scrape on a
        fresh connection waits, up to 30 s; closes them. Returns the wait
        (None: no answer in 30 s) and how many connections could be opened."""
        held = []
        for _ in range(count):
            try:
                s = socket.create_connection(("127.0.0.1", exp.port), timeout=2)
            except OSError:
                break
            if trickle:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            held.append(s)
        start = time.monotonic()
        waited = None
        while time.monotonic() < start + 30:
            for s in held if trickle else ():
                try:
                    s.sendall(b"X")
                except OSError:
                    pass
            try:
                if exp.get("/metrics", timeout=1)[0] == 200:
                    waited = time.monotonic() - start
                    break
            except OSError:
                pass
            time.sleep(0.5)
        opened = len(held)
        for s in held:
            s.close()
        return waited, opened

    def start_plain(self, tmp):
        cluster = PgCluster(tmp, "demo", replicas=0)
        cluster.start()
        exp = Exporter(tmp, cluster.exporter_config()).start()
        self.addCleanup(exp.stop)
        return exp

    def test_held_connections_survived(self):
        """Slowloris (connections trickling a header forever) and a flood of
        idle connections, more than the server has workers: once they go,
        the server answers again and its threads and fds are back."""
        with TempDir() as tmp:
            exp = self.start_plain(tmp)
            before = proc_figures(exp.proc.pid)
            for name, count, trickle in (("slowloris", 40, True), ("idle connections", 300, False)):
                waited, opened = self.hold(exp, count, trickle)
                self.assert_alive(exp, name)
                wait_until(lambda: proc_figures(exp.proc.pid)["fds"] <= before["fds"] + 2,
                           timeout=60, what=f"fds back after {name}")
                after = proc_figures(exp.proc.pid)
                self.assertLessEqual(after["Threads"], before["Threads"], name)
                print(f"\n{name}: {opened} connections held; a scrape meanwhile "
                      + ("got no answer within 30 s" if waited is None else
                         f"answered after {waited:.1f} s")
                      + f"; after: threads {before['Threads']} -> {after['Threads']}, "
                      f"fds {before['fds']} -> {after['fds']}", file=sys.stderr)

    @unittest.expectedFailure
    def test_scrape_answers_during_slowloris(self):
        """Known weakness (issue 13, left open): civetweb gives each connection
        a worker from a fixed pool of 4 while it reads the request head, and
        every byte restarts request_timeout_ms, so a handful of trickling
        connections stall /metrics for as long as they last. The fix is an
        event-driven front that reads request heads under one deadline."""
        with TempDir() as tmp:
            exp = self.start_plain(tmp)
            waited, _ = self.hold(exp, 40, trickle=True)
            self.assertIsNotNone(waited, "no scrape answered within 30 s of the slowloris")
            self.assertLess(waited, 10)

if __name__ == "__main__":
    unittest.main()
