"""--web.config.file: TLS, client certificates, basic auth, reload (issue 13, Must show 1).

Certificates come from the `openssl` CLI (a CA, two server certificates for
127.0.0.1, a client certificate); bcrypt hashes from Python's crypt module
(libxcrypt underneath, as in the exporter). Every check uses a real client:
curl over https, Python's ssl module (to read the certificate served), and a
real Prometheus scraping with basic_auth + tls_config.

- test_tls_basic_auth_client_cert_reload, in order:
  1. TLS without client certs, user alice: curl --cacert -u alice:right -> 200
     with the configured response header; wrong password -> 401 with
     WWW-Authenticate; no credentials or an unknown user -> 401; plain http
     on the TLS port is refused (a failed handshake, counted).
  2. Rewrite the web config (a new server certificate,
     RequireAndVerifyClientCert, user bob) + SIGHUP: the new certificate is
     served; without a client certificate the handshake is refused (curl exit
     code, pgdr_http_tls_handshake_failures_total); with it bob -> 200,
     alice -> 401; no restart (same pid).
  3. civetweb's private listener (found through /proc) refuses a request
     that did not come through the relay, even with bob's password: 403,
     counted as reason="no_relay_token".
  4. Prometheus scraping https with basic_auth and a client cert: up == 1.
  5. An invalid web config (unknown key) + SIGHUP is refused with file:line:
     the running one keeps answering, pgdr_web_config_reload_failures_total.
  6. A change of the file alone (no SIGHUP) takes effect (mtime poll): TLS
     off, carol over plain http on the same port.
  7. pgdr_http_requests_refused_total{reason="unauthorized"} counts the 401s.
"""
import crypt
import os
import signal
import socket
import ssl
import subprocess
import time
import unittest

from harness import (Exporter, PgCluster, Prometheus, TempDir, parse_metrics, stop_process,
                     wait_until)


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_pki(d):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=pgdr test CA",
            "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    for name, ext in (("server", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                      ("server2", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"),
                      ("client", "extendedKeyUsage=clientAuth")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN=pgdr {name}",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(ext + "\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt", cwd=d)


def bcrypt(password):
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10))


class Curl:
    def __init__(self, d, port):
        self.d = d
        self.port = port

    def __call__(self, path="/metrics", user=None, cert=False, scheme="https"):
        """(curl exit code, HTTP status, headers, body)."""
        cmd = ["curl", "-sS", "--max-time", "10", "-D", "-", "--cacert", os.path.join(self.d, "ca.crt")]
        if user:
            cmd += ["-u", user]
        if cert:
            cmd += ["--cert", os.path.join(self.d, "client.crt"), "--key", os.path.join(self.d, "client.key")]
        cmd.append(f"{scheme}://127.0.0.1:{self.port}{path}")
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        self.stderr = p.stderr
        # text=True reads with universal newlines: CRLF arrives as "\n".
        head, _, body = p.stdout.partition("\n\n")
        status = int(head.split()[1]) if head.startswith("HTTP/") else 0
        return p.returncode, status, head.lower(), body


def served_certificate_cn(d, port):
    """The CN of the certificate the server presents (verified against the test CA)."""
    ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))
    ctx.load_cert_chain(os.path.join(d, "client.crt"), os.path.join(d, "client.key"))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            subject = dict(x[0] for x in tls.getpeercert()["subject"])
            return subject["commonName"]


def private_listeners(pid, public_port):
    """Loopback TCP ports the process listens on besides its public one (from /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = []
    with open(f"/proc/{pid}/net/tcp") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            local, state, inode = cols[1], cols[3], cols[9]
            ip, port = local.split(":")
            if state == "0A" and inode in inodes and ip == "0100007F" and int(port, 16) != public_port:
                ports.append(int(port, 16))
    return ports


class WebTlsTest(unittest.TestCase):
    def write_web(self, path, text):
        tmp_path = path + ".tmp"
        with open(tmp_path, "w") as f:
            f.write(text)
        os.rename(tmp_path, path)

    def test_basic_auth_headers_reload_over_http(self):
        """What runs today: basic auth and headers, SIGHUP and mtime reloads, a refused file."""
        with TempDir() as tmp:
            d = tmp.sub("web")
            web = os.path.join(d, "web.yml")
            self.write_web(web, f"""http_server_config:
  headers:
    X-Frame-Options: deny
basic_auth_users:
  alice: {bcrypt("alice-right")}
""")
            cluster = PgCluster(tmp, "demo", replicas=0)
            cluster.start()
            exp = Exporter(tmp, cluster.exporter_config(), args=[f"--web.config.file={web}"])
            exp.start(wait_ready=False)
            self.addCleanup(exp.stop)
            curl = Curl(d, exp.port)
            wait_until(lambda: curl("/-/ready", user="alice:alice-right", scheme="http")[1] == 200,
                       timeout=30, what="exporter ready")
            pid = exp.proc.pid
            rc, status, head, body = curl(user="alice:alice-right", scheme="http")
            self.assertEqual((rc, status), (0, 200), head)
            self.assertIn("x-frame-options: deny", head)
            rc, status, head, _ = curl(user="alice:wrong", scheme="http")
            self.assertEqual(status, 401)
            self.assertIn('www-authenticate: basic realm="pgdr"', head)
            self.assertEqual(curl(scheme="http")[1], 401)
            self.assertEqual(curl("/-/healthy", scheme="http")[1], 401)

            self.write_web(web, f"basic_auth_users:\n  bob: {bcrypt('bob-right')}\n")
            os.kill(pid, signal.SIGHUP)
            wait_until(lambda: curl(user="bob:bob-right", scheme="http")[1] == 200, timeout=15,
                       what="SIGHUP reload")
            self.assertEqual(curl(user="alice:alice-right", scheme="http")[1], 401)

            self.write_web(web, "basic_auth_users:\n  carol: plain-text\n")
            os.kill(pid, signal.SIGHUP)
            wait_until(lambda: "web config refused" in exp.log(), timeout=15, what="refusal logged")
            self.assertIn(f"{web}:2:10: basic_auth_users.carol: not a bcrypt hash", exp.log())
            self.assertNotIn("plain-text", exp.log())
            def metrics():
                rc, status, _, body = curl(user="bob:bob-right", scheme="http")
                self.assertEqual(status, 200)
                parsed = {(n, l.get("reason")): v for n, l, v in parse_metrics(body)}
                return parsed

            # The exporter's own series are refreshed at most every second; the
            # SIGHUP and the change watcher may each refuse the file.
            wait_until(lambda: metrics().get(("pgdr_web_config_reload_failures_total", None), 0) >= 1,
                       timeout=10, what="the refusal counted")
            m = metrics()
            self.assertGreaterEqual(m[("pgdr_http_requests_refused_total", "unauthorized")], 4)

            self.write_web(web, f"basic_auth_users:\n  carol: {bcrypt('carol-right')}\n")
            wait_until(lambda: curl(user="carol:carol-right", scheme="http")[1] == 200, timeout=15,
                       what="file change picked up without SIGHUP")
            self.assertEqual(exp.proc.pid, pid)
            self.assertIsNone(exp.proc.poll())

    def test_tls_basic_auth_client_cert_reload(self):
        with TempDir() as tmp:
            d = tmp.sub("pki")
            make_pki(d)
            web = os.path.join(d, "web.yml")
            self.write_web(web, f"""tls_server_config:
  cert_file: server.crt
  key_file: server.key
http_server_config:
  headers:
    X-Frame-Options: deny
basic_auth_users:
  alice: {bcrypt("alice-right")}
""")
            cluster = PgCluster(tmp, "demo", replicas=0)
            cluster.start()
            exp = Exporter(tmp, cluster.exporter_config(), args=[f"--web.config.file={web}"])
            exp.start(wait_ready=False)
            self.addCleanup(exp.stop)
            curl = Curl(d, exp.port)
            wait_until(lambda: curl("/-/ready", user="alice:alice-right")[1] == 200,
                       timeout=30, what="exporter ready over https")
            pid = exp.proc.pid

            def metrics(**kw):
                rc, status, _, body = curl(**kw)
                self.assertEqual((rc, status), (0, 200))
                return {(n, l.get("reason")): v for n, l, v in parse_metrics(body)}

            # 1. TLS + basic auth.
            rc, status, head, body = curl(user="alice:alice-right")
            self.assertEqual((rc, status), (0, 200), head)
            self.assertIn("x-frame-options: deny", head)
            self.assertIn("pgdr_build_info", body)
            rc, status, head, _ = curl(user="alice:wrong")
            self.assertEqual((rc, status), (0, 401))
            self.assertIn('www-authenticate: basic realm="pgdr"', head)
            self.assertEqual(curl()[1], 401)
            self.assertEqual(curl(user="mallory:alice-right")[1], 401)
            rc, status, _, _ = curl(scheme="http", user="alice:alice-right")
            self.assertNotEqual(status, 200)
            self.assertEqual(served_certificate_cn(d, exp.port), "pgdr server")
            print(f"\n1. https: alice 200, wrong password 401, no credentials 401, unknown user 401, "
                  f"plain http on the TLS port: curl exit {rc}, served CN 'pgdr server'")

            # 2. A new certificate, client certificates required, another user; SIGHUP.
            self.write_web(web, f"""tls_server_config:
  cert_file: server2.crt
  key_file: server2.key
  client_ca_file: ca.crt
  client_auth_type: RequireAndVerifyClientCert
  min_version: TLS12
basic_auth_users:
  bob: {bcrypt("bob-right")}
""")
            os.kill(pid, signal.SIGHUP)
            wait_until(lambda: curl(user="bob:bob-right", cert=True)[1] == 200, timeout=15,
                       what="new web config in effect")
            self.assertEqual(served_certificate_cn(d, exp.port), "pgdr server2")
            failures_before = metrics(user="bob:bob-right", cert=True)[
                ("pgdr_http_tls_handshake_failures_total", None)]
            rc, status, _, _ = curl(user="bob:bob-right")
            # 35: the handshake failed; with TLS 1.3 curl may finish its side
            # first and meet the server's alert on sending (55) or reading (56).
            self.assertIn(rc, (35, 55, 56), "handshake without a client certificate must fail")
            refusal = curl.stderr.strip()
            self.assertIn("alert certificate required", refusal)
            self.assertEqual(status, 0)
            self.assertEqual(curl(user="alice:alice-right", cert=True)[1], 401)
            self.assertEqual(exp.proc.pid, pid)
            self.assertIsNone(exp.proc.poll(), "the exporter did not restart")
            wait_until(lambda: metrics(user="bob:bob-right", cert=True)[
                ("pgdr_http_tls_handshake_failures_total", None)] >= failures_before + 1,
                timeout=10, what="the refused handshake counted")
            print(f"2. SIGHUP: served CN 'pgdr server2'; no client cert: curl exit {rc} "
                  f"({refusal}; counted); bob + cert 200; alice 401; same pid {pid}")

            # 3. The private listener behind the relay refuses direct requests.
            ports = private_listeners(pid, exp.port)
            self.assertEqual(len(ports), 1, ports)
            p = subprocess.run(["curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}",
                                "-u", "bob:bob-right", "-H", "X-Pgdr-Relay-Token: guessed",
                                f"http://127.0.0.1:{ports[0]}/metrics"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(p.stdout, "403")
            wait_until(lambda: metrics(user="bob:bob-right", cert=True).get(
                ("pgdr_http_requests_refused_total", "no_relay_token")) == 1,
                timeout=10, what="the bypass attempt counted")
            print(f"3. private listener 127.0.0.1:{ports[0]} without the relay's token: 403, counted")

            # 4. A real Prometheus over https with basic auth and a client cert.
            prom = Prometheus(tmp, [exp.address])
            with open(prom.config_path, "w") as f:
                f.write(f"""global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: pgdr
    scheme: https
    basic_auth: {{username: bob, password: bob-right}}
    tls_config:
      ca_file: {d}/ca.crt
      cert_file: {d}/client.crt
      key_file: {d}/client.key
    static_configs: [{{targets: ["{exp.address}"]}}]
""")
            prom.start()
            self.addCleanup(stop_process, prom.proc)
            wait_until(lambda: [r["value"][1] for r in prom.query('up{job="pgdr"}')] == ["1"],
                       timeout=30, what="prometheus up == 1 over https")
            wait_until(lambda: prom.query('pgdr_build_info{job="pgdr"}') != [], timeout=15,
                       what="pgdr series scraped by prometheus")
            scraped = prom.query('count({job="pgdr"})')[0]["value"][1]
            print(f"4. prometheus over https + basic auth + client cert: up 1, {scraped} series")

            # 5. An invalid web config is refused and the running one kept.
            self.write_web(web, "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                                "  client_auth: RequireAndVerifyClientCert\n")
            os.kill(pid, signal.SIGHUP)
            wait_until(lambda: 'web config refused' in exp.log(), timeout=15, what="refusal logged")
            self.assertIn(f'{web}:4:3: unknown key', exp.log())
            self.assertIn('client_auth', exp.log())
            wait_until(lambda: metrics(user="bob:bob-right", cert=True).get(
                ("pgdr_web_config_reload_failures_total", None), 0) >= 1,
                timeout=10, what="the refusal counted")
            print("5. invalid web config refused with file:line, bob still 200 over https")

            # 6. A file change alone (no SIGHUP) is picked up: TLS off, same port
            # (the plain-http attempts on the TLS port until then count as failed handshakes).
            self.write_web(web, f"basic_auth_users:\n  carol: {bcrypt('carol-right')}\n")
            start = time.monotonic()
            wait_until(lambda: curl(scheme="http", user="carol:carol-right")[1] == 200, timeout=15,
                       what="changed file picked up without SIGHUP")
            took = time.monotonic() - start
            self.assertEqual(curl(scheme="http", user="bob:bob-right")[1], 401)
            self.assertEqual(exp.proc.pid, pid)
            print(f"6. web config change picked up by the poll in {took:.1f} s: TLS off, carol 200 "
                  f"over http on port {exp.port}")

            # 7. The 401s are counted.
            wait_until(lambda: metrics(scheme="http", user="carol:carol-right").get(
                ("pgdr_http_requests_refused_total", "unauthorized"), 0) >= 5,
                timeout=10, what="the 401s counted")
            m = metrics(scheme="http", user="carol:carol-right")
            print(f"7. refused: unauthorized {m[('pgdr_http_requests_refused_total', 'unauthorized')]:.0f}, "
                  f"no_relay_token {m[('pgdr_http_requests_refused_total', 'no_relay_token')]:.0f}, "
                  f"TLS handshake failures {m[('pgdr_http_tls_handshake_failures_total', None)]:.0f}")


if __name__ == "__main__":
    unittest.main()
