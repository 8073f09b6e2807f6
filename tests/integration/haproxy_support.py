"""A real HAProxy (Debian `haproxy`) on loopback for the health-check tests.

Each backend's servers are PostgreSQL nodes checked with `option httpchk`
against one pgdr: the check URL names the server (`%[srv_name]`, so each
server's name is its pgdr member name), e.g.

    HAProxy(tmp, exporter_port, {"write": ("/member/demo/%[srv_name]/primary", nodes),
                                 "read": ("/member/demo/%[srv_name]/replica?lag=1MB", nodes)})

Every backend gets a TCP frontend on a free port (`ports[backend]`);
`servers(backend)` reads the stats socket's `show stat` CSV.
"""

import csv
import io
import os
import socket

import harness
from harness import free_port, spawn, wait_until


class HAProxy:
    def __init__(self, tmp, check_port, backends, inter="200ms", fall=2, rise=2):
        self.dir = tmp.sub(f"haproxy-{free_port()}")
        self.socket = os.path.join(self.dir, "stats.sock")
        self.config = os.path.join(self.dir, "haproxy.cfg")
        self.log = os.path.join(self.dir, "haproxy.log")
        self.ports = {name: free_port() for name in backends}
        lines = [
            "global",
            f"  stats socket {self.socket} mode 600 level admin",
            "  maxconn 200",
            "defaults",
            "  mode tcp",
            "  timeout connect 2s",
            "  timeout client 60s",
            "  timeout server 60s",
            "  timeout check 1s",
        ]
        for name, (uri, nodes) in backends.items():
            lines += [
                f"frontend {name}_in",
                f"  bind 127.0.0.1:{self.ports[name]}",
                f"  default_backend {name}",
                f"backend {name}",
                "  balance roundrobin",
                "  option httpchk",
                f"  http-check send meth GET uri-lf {uri}",
                "  http-check expect status 200",
                # A server that goes DOWN loses its sessions, as Patroni's
                # documented HAProxy configuration does.
                "  default-server on-marked-down shutdown-sessions",
            ]
            for node in nodes:
                lines.append(f"  server {node.name} 127.0.0.1:{node.port} check addr 127.0.0.1 "
                             f"port {check_port} inter {inter} fall {fall} rise {rise}")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        harness.run(["haproxy", "-c", "-f", self.config])
        self.proc = None

    def start(self):
        self.proc = spawn(["haproxy", "-db", "-f", self.config], self.log)
        wait_until(lambda: os.path.exists(self.socket) and self.stats(), timeout=15,
                   what="haproxy stats socket")
        return self

    def command(self, text):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.socket)
            s.sendall(text.encode() + b"\n")
            chunks = []
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        return b"".join(chunks).decode()

    def stats(self):
        """`show stat` as a list of dicts (pxname, svname, status, ...)."""
        text = self.command("show stat").lstrip("# ")
        return list(csv.DictReader(io.StringIO(text)))

    def servers(self, backend):
        """{server name: status} of `backend` ("UP", "DOWN", "UP 1/2", ...)."""
        return {row["svname"]: row["status"] for row in self.stats()
                if row["pxname"] == backend and row["svname"] not in ("FRONTEND", "BACKEND")}

    def up(self, backend):
        return {name for name, status in self.servers(backend).items() if status == "UP"}
