"""A minimal PostgreSQL wire-protocol client (trust auth only), for measuring
one loopback round trip without libpq or process start-up in the way.

Python 3 standard library only."""

import socket
import statistics
import struct
import time


class PgWire:
    def __init__(self, host, port, user="postgres", dbname="postgres", timeout=10.0,
                 application_name="pgdr_bench_rtt"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        params = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in
                          (("user", user), ("database", dbname),
                           ("application_name", application_name))) + b"\0"
        body = struct.pack("!I", 196608) + params
        self.sock.sendall(struct.pack("!I", len(body) + 4) + body)
        self._buf = b""
        while True:
            kind, payload = self._read_message()
            if kind == b"R":
                (code,) = struct.unpack("!I", payload[:4])
                if code != 0:
                    raise RuntimeError(f"server asks for authentication {code}; use trust")
            elif kind == b"E":
                raise RuntimeError(f"startup failed: {payload!r}")
            elif kind == b"Z":
                return

    def _recv_exact(self, n):
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _read_message(self):
        head = self._recv_exact(5)
        kind, length = head[:1], struct.unpack("!I", head[1:])[0]
        return kind, self._recv_exact(length - 4)

    def empty_query_round_trip(self):
        """Sends an empty simple query; returns seconds until ReadyForQuery."""
        msg = b"Q" + struct.pack("!I", 5) + b"\0"
        t0 = time.perf_counter_ns()
        self.sock.sendall(msg)
        while True:
            kind, _ = self._read_message()
            if kind == b"Z":
                break
        return (time.perf_counter_ns() - t0) / 1e9

    def close(self):
        try:
            self.sock.sendall(b"X" + struct.pack("!I", 4))
        except OSError:
            pass
        self.sock.close()


def loopback_round_trip(host, port, count=300):
    """min / median / p90 of `count` empty-query round trips (seconds)."""
    count = max(10, min(count, 10000))
    c = PgWire(host, port)
    try:
        for _ in range(20):  # warm up
            c.empty_query_round_trip()
        samples = sorted(c.empty_query_round_trip() for _ in range(count))
    finally:
        c.close()
    return {"min": samples[0], "median": statistics.median(samples),
            "p90": samples[int(0.9 * (len(samples) - 1))], "count": len(samples)}


def _cstr(s):
    return s.encode() + b"\0"


def _msg(kind, body):
    return kind + struct.pack("!I", len(body) + 4) + body


def pipeline_messages(statements):
    """What libpq sends for PQsendQueryParams(sql, 0 params) + PQpipelineSync
    per statement: Parse, Bind, Describe portal, Execute, Sync."""
    out = b""
    for sql in statements:
        out += _msg(b"P", _cstr("") + _cstr(sql) + struct.pack("!H", 0))
        out += _msg(b"B", _cstr("") + _cstr("") + struct.pack("!HHH", 0, 0, 0))
        out += _msg(b"D", b"P" + _cstr(""))
        out += _msg(b"E", _cstr("") + struct.pack("!I", 0))
        out += _msg(b"S", b"")
    return out


def run_pipeline(conn, rounds):
    """Sends each round's statements pipelined (one write), waits for every
    ReadyForQuery, then sends the next round. Returns seconds."""
    t0 = time.perf_counter_ns()
    for statements in rounds:
        conn.sock.sendall(pipeline_messages(statements))
        pending = len(statements)
        while pending:
            kind, payload = conn._read_message()
            if kind == b"E":
                raise RuntimeError(f"statement failed: {payload[:200]!r}")
            if kind == b"Z":
                pending -= 1
    return (time.perf_counter_ns() - t0) / 1e9


def pipeline_wall(host, port, rounds, count=30):
    """min / median of `count` executions of `rounds` (lists of statements)."""
    count = max(3, min(count, 1000))
    c = PgWire(host, port, application_name="pgdr_bench_pipeline")
    try:
        run_pipeline(c, rounds)  # warm caches
        samples = sorted(run_pipeline(c, rounds) for _ in range(count))
    finally:
        c.close()
    return {"min": samples[0], "median": statistics.median(samples), "count": len(samples)}


def simple_value(conn, sql):
    """First column of the first row of a simple query, as text."""
    conn.sock.sendall(_msg(b"Q", _cstr(sql)))
    value = None
    while True:
        kind, payload = conn._read_message()
        if kind == b"D" and value is None:
            (n,) = struct.unpack("!I", payload[2:6])
            value = payload[6:6 + n].decode()
        elif kind == b"E":
            raise RuntimeError(f"query failed: {payload[:200]!r}")
        elif kind == b"Z":
            return value


def prepare(conn, statements):
    """Named prepared statements s0..sN (Parse + one Sync)."""
    body = b"".join(_msg(b"P", _cstr(f"s{i}") + _cstr(sql) + struct.pack("!H", 0))
                    for i, sql in enumerate(statements)) + _msg(b"S", b"")
    conn.sock.sendall(body)
    while True:
        kind, payload = conn._read_message()
        if kind == b"E":
            raise RuntimeError(f"prepare failed: {payload[:200]!r}")
        if kind == b"Z":
            return


def run_prepared(conn, n, one_segment=False):
    """Bind/Describe/Execute of s0..s(n-1), pipelined in one write: a Sync
    after each (pgdr before 2026-12-03) or one Sync after the last (one
    segment, one implicit transaction, as pgdr sends a steady-state cycle)."""
    out = b""
    for i in range(n):
        out += _msg(b"B", _cstr("") + _cstr(f"s{i}") + struct.pack("!HHH", 0, 0, 0))
        out += _msg(b"D", b"P" + _cstr(""))
        out += _msg(b"E", _cstr("") + struct.pack("!I", 0))
        if not one_segment:
            out += _msg(b"S", b"")
    if one_segment:
        out += _msg(b"S", b"")
    conn.sock.sendall(out)
    pending = 1 if one_segment else n
    while pending:
        kind, payload = conn._read_message()
        if kind == b"E":
            raise RuntimeError(f"statement failed: {payload[:200]!r}")
        if kind == b"Z":
            pending -= 1


def prepared_wall(host, port, statements, count=30, one_segment=True):
    """min / median seconds of `count` cycles of the prepared `statements`."""
    count = max(3, min(count, 1000))
    c = PgWire(host, port, application_name="pgdr_bench_prepared_wall")
    try:
        prepare(c, statements)
        for _ in range(6):  # past the custom-plan phase of the plan cache
            run_prepared(c, len(statements), one_segment)
        samples = []
        for _ in range(count):
            t0 = time.perf_counter_ns()
            run_prepared(c, len(statements), one_segment)
            samples.append((time.perf_counter_ns() - t0) / 1e9)
    finally:
        c.close()
    samples.sort()
    return {"min": samples[0], "median": statistics.median(samples), "count": len(samples)}


def backend_cpu_per_cycle(host, port, statements, cycles, cpu_of_pid):
    """PostgreSQL backend CPU (seconds) per cycle of `statements`, sent
    unprepared (unnamed Parse every time, pgdr before 2026-11-30), prepared
    with a Sync each (pgdr before 2026-12-03) and prepared in one segment
    (pgdr now)."""
    cycles = max(5, min(cycles, 5000))
    out = {}
    for mode in ("unprepared", "prepared", "prepared_one_segment"):
        c = PgWire(host, port, application_name=f"pgdr_bench_{mode}")
        one = mode == "prepared_one_segment"

        def cycle():
            if mode == "unprepared":
                run_pipeline(c, [statements])
            else:
                run_prepared(c, len(statements), one)
        try:
            pid = int(simple_value(c, "SELECT pg_backend_pid()"))
            if mode != "unprepared":
                prepare(c, statements)
            for _ in range(6):  # past the custom-plan phase of the plan cache
                cycle()
            c0 = cpu_of_pid(pid)
            t0 = time.perf_counter()
            for _ in range(cycles):
                cycle()
            wall = time.perf_counter() - t0
            out[mode] = {"cpu_s_per_cycle": (cpu_of_pid(pid) - c0) / cycles,
                         "wall_s_per_cycle": wall / cycles, "cycles": cycles}
        finally:
            c.close()
    return out
