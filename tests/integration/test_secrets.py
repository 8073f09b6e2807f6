"""Issue 13, Must show 4: every credential kind pgdr accepts, and no output shows one.

One exporter is configured with every kind of credential main accepts, each with
a distinctive value (CREDENTIALS below: one row per kind; adding a kind is one
row). Everything is made to fail so that secrets would surface in error paths:

- a real PostgreSQL requiring scram-sha-256 gets wrong passwords (password_env,
  password_file, and a `password=` inside the DSN); its log proves they were tried;
- a PgBouncer admin DSN with a password on a closed port;
- stores on real s3rver (S3 and gs:// HMAC keys, session token, and the AWS_*
  standard variables) and real azurite (account key, SAS) with wrong secrets;
- Alertmanager and webhook receivers (basic auth, bearer tokens, userinfo in the
  URL) at a closed port and at a recording HTTP server answering 401/500, and
  webhook / patroni / cnpg triggers, with an always-firing alert so
  notifications and decisions are attempted. The recording server must receive
  the secrets (so the test is real).

Then every output is read: the log at debug level, /metrics, every /api/v1 GET,
the status page, runbooks, check-config stdout/stderr (valid, and invalid
variants whose errors are next to a secret: INVALID), the /-/reload error answers, and each must contain no secret nor its base64 form.
The outputs read and their sizes are printed.
"""

import base64
import crypt
import http.server
import os
import secrets as pyrandom
import subprocess
import sys
import threading
import time
import unittest

import backup_support
import harness
from harness import Exporter, PgCluster, PgNode, TempDir, wait_until


def _value(kind):
    return f"s3cr3t-{kind}-{pyrandom.token_hex(6)}"


class Credential:
    """One secret: its value, where pgdr reads it from (env, file or inline) and
    the config key base (`password` -> password_env / password_file)."""

    def __init__(self, kind, source, key_base, value=None):
        self.kind = kind
        self.source = source
        self.key_base = key_base
        self.value = value or _value(kind)
        self.env_name = "PGDR_SECRET_" + kind.upper().replace("-", "_")
        self.path = None

    def materialise(self, tmp, env):
        if self.source == "env":
            env[self.env_name] = self.value
        elif self.source == "file":
            self.path = os.path.join(tmp.path, f"secret-{self.kind}")
            with open(self.path, "w") as f:
                f.write(self.value + "\n")
        elif self.source == "std_env":  # a standard variable (AWS_*), no key in the YAML
            env[self.key_base] = self.value

    def ref(self):
        """The YAML keys that point pgdr at this secret."""
        if self.source == "env":
            return {self.key_base + "_env": self.env_name}
        if self.source == "file":
            return {self.key_base + "_file": self.path}
        return {}

    def forms(self):
        """The strings that must never be shown: the value and its base64 forms."""
        out = {self.value, base64.b64encode(self.value.encode()).decode()}
        out.update(p for p in self.value.split() if len(p) > 8)  # a half of a spaced one
        for user in ("pgdr", "am", "hook", "patroni"):
            out.add(base64.b64encode(f"{user}:{self.value}".encode()).decode())
        return out


def _azure_key(kind):
    # SharedKey needs a base64 key; the distinctive text is inside it, and the
    # key as configured is the secret.
    return base64.b64encode(_value(kind).encode()).decode()


# The table: (kind, source, config key base[, value]). Where each goes is in
# Config.place below, keyed by kind.
CREDENTIALS = [
    Credential("target-password-env", "env", "password"),
    Credential("target-password-file", "file", "password"),
    Credential("target-dsn-password", "inline", "password"),
    Credential("target-uri-password", "inline", "password"),
    # Only in invalid configs (INVALID below): libpq's parse errors quote pieces.
    Credential("dsn-password-with-space", "inline", "password",
               f"{_value('dsn-half')} {_value('dsn-password-with-space')}"),
    Credential("uri-password-bad-escape", "inline", "password"),
    Credential("pgbouncer-password-file", "file", "password"),
    Credential("pgbouncer-password-env", "env", "password"),
    Credential("s3-access-key-id-env", "env", "access_key_id"),
    Credential("s3-secret-access-key-file", "file", "secret_access_key"),
    Credential("s3-session-token-env", "env", "session_token"),
    Credential("s3-access-key-id-file", "file", "access_key_id"),
    Credential("s3-secret-access-key-env", "env", "secret_access_key"),
    Credential("s3-session-token-file", "file", "session_token"),
    Credential("aws-access-key-id", "std_env", "AWS_ACCESS_KEY_ID"),
    Credential("aws-secret-access-key", "std_env", "AWS_SECRET_ACCESS_KEY"),
    Credential("aws-session-token", "std_env", "AWS_SESSION_TOKEN"),
    Credential("gcs-hmac-id-env", "env", "access_key_id"),
    Credential("gcs-hmac-secret-file", "file", "secret_access_key"),
    Credential("azure-account-key-env", "env", "account_key", _azure_key("azure-account-key-env")),
    Credential("azure-account-key-file", "file", "account_key",
               _azure_key("azure-account-key-file")),
    Credential("azure-sas-file", "file", "sas_token"),
    Credential("azure-sas-env", "env", "sas_token"),
    Credential("am-basic-password-env", "env", "password"),
    Credential("am-bearer-file", "file", "bearer_token"),
    Credential("am-url-password", "inline", "url"),
    Credential("am-url-password-unnamed", "inline", "url"),
    Credential("webhook-url-password-unnamed", "inline", "url"),
    Credential("webhook-basic-password-file", "file", "password"),
    Credential("webhook-bearer-env", "env", "bearer_token"),
    Credential("action-webhook-bearer-file", "file", "bearer_token"),
    Credential("patroni-basic-password-env", "env", "password"),
    Credential("cnpg-k8s-token-file", "file", "bearer_token"),
    Credential("cnpg-discovery-token-file", "file", "bearer_token"),
]
C = {c.kind: c for c in CREDENTIALS}


class Recorder:
    """A loopback HTTP server that records each request's path and headers and
    answers 401 under /deny/, 500 elsewhere, with a body echoing the request's
    Authorization header."""

    def __init__(self):
        self.requests = []
        lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with lock:
                    outer.requests.append((self.command, self.path, dict(self.headers), body))
                code = 401 if self.path.startswith("/deny/") else 500
                # As a careless server might: the error body echoes the request's
                # credentials, so an error message quoting the body would leak them.
                echo = f"denied: {self.headers.get('Authorization', '')}\n".encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(echo)))
                self.end_headers()
                self.wfile.write(echo)

            do_POST = do_PUT = do_PATCH = do_GET = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def authorizations(self):
        return {r[2].get("Authorization", "") for r in list(self.requests)}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def build_config(pg, providers, closed_port, s3, az, rec, rules_path):
    ref = lambda kind: C[kind].ref()  # noqa: E731
    mon = f"host=127.0.0.1 port={pg.port} user=pgdr_mon dbname=postgres sslmode=disable"
    targets = [
        {"cluster": "secrets", "member": "by-env", "dsn": mon, **ref("target-password-env")},
        {"cluster": "secrets", "member": "by-file", "dsn": mon, **ref("target-password-file")},
        {"cluster": "secrets", "member": "in-dsn",
         "dsn": mon + f" password={C['target-dsn-password'].value}"},
        {"cluster": "secrets", "member": "in-uri",
         "dsn": f"postgresql://pgdr_mon:{C['target-uri-password'].value}@127.0.0.1:{pg.port}"
                "/postgres?sslmode=disable"},
    ]
    for cluster in providers.values():  # trust auth: these clusters lose their primary
        targets += cluster.targets()
    bouncer_dsn = f"host=127.0.0.1 port={closed_port} user=pgbouncer dbname=pgbouncer"
    pgbouncers = [
        {"name": "pool-file", "cluster": "secrets", "dsn": bouncer_dsn,
         **ref("pgbouncer-password-file")},
        {"name": "pool-env", "cluster": "secrets", "dsn": bouncer_dsn,
         **ref("pgbouncer-password-env")},
    ]
    common = {"cluster": "secrets", "layout": "barman-cloud", "server_name": "secrets",
              "interval": "1s", "timeout": "3s"}
    stores = [
        {"name": "s3-env", "url": "s3://backups/a", "endpoint": s3.endpoint, **common,
         **ref("s3-access-key-id-env"), **ref("s3-secret-access-key-file"),
         **ref("s3-session-token-env")},
        {"name": "s3-file", "url": "s3://backups/b", "endpoint": s3.endpoint, **common,
         **ref("s3-access-key-id-file"), **ref("s3-secret-access-key-env"),
         **ref("s3-session-token-file")},
        {"name": "s3-std-env", "url": "s3://backups/c", "endpoint": s3.endpoint, **common},
        {"name": "gcs-hmac", "url": "gs://backups/d", "endpoint": s3.endpoint, **common,
         **ref("gcs-hmac-id-env"), **ref("gcs-hmac-secret-file")},
        {"name": "az-key-env", "url": "azure://pgdr/a", "endpoint": az.endpoint,
         "account_name": backup_support.AZURITE_ACCOUNT, **common, **ref("azure-account-key-env")},
        {"name": "az-key-file", "url": "azure://pgdr/b", "endpoint": az.endpoint,
         "account_name": backup_support.AZURITE_ACCOUNT, **common, **ref("azure-account-key-file")},
        {"name": "az-sas-file", "url": "azure://pgdr/c", "endpoint": az.endpoint,
         "account_name": backup_support.AZURITE_ACCOUNT, **common, **ref("azure-sas-file")},
        {"name": "az-sas-env", "url": "azure://pgdr/d", "endpoint": az.endpoint,
         "account_name": backup_support.AZURITE_ACCOUNT, **common, **ref("azure-sas-env")},
    ]
    fast = {"timeout": "1s", "max_retries": 0}
    alerting = {
        "resend_delay": "1s",
        "alertmanagers": [
            {"name": "am-closed", "url": f"http://127.0.0.1:{closed_port}", **fast,
             "basic_auth": {"username": "am", **ref("am-basic-password-env")}},
            {"name": "am-deny", "url": rec.url + "/deny/am", **fast, **ref("am-bearer-file")},
            {"name": "am-userinfo", **fast,
             "url": f"http://pgdr:{C['am-url-password'].value}@127.0.0.1:{rec.port}/userinfo"},
            {"url": f"http://am:{C['am-url-password-unnamed'].value}@127.0.0.1:{rec.port}/anon",
             **fast},  # no name: the default name is made from the URL
        ],
        "webhooks": [
            {"name": "hook-500", "url": rec.url + "/hook", **fast, "repeat_interval": "1s",
             "basic_auth": {"username": "hook", **ref("webhook-basic-password-file")}},
            {"name": "hook-closed", "url": f"http://127.0.0.1:{closed_port}/hook", **fast,
             "repeat_interval": "1s", **ref("webhook-bearer-env")},
            {"url": f"http://hook:{C['webhook-url-password-unnamed'].value}@127.0.0.1:"
                    f"{rec.port}/anon-hook", **fast, "repeat_interval": "1s"},
        ],
    }
    actions = {"dry_run": False, "triggers": [
        {"name": "hook-action", "match": {"alertname": "SecretsAlwaysFiring"},
         "action": "webhook", "url": rec.url + "/action", "max_retries": 0,
         **ref("action-webhook-bearer-file")},
        {"name": "patroni", "match": {"alertname": "SecretsAlwaysFiring"}, "action": "failover",
         "cluster": providers["patroni"].name, "provider": "patroni", "confirm_for": "1s",
         "url": rec.url + "/patroni",
         "basic_auth": {"username": "patroni", **ref("patroni-basic-password-env")}},
        {"name": "cnpg", "match": {"alertname": "SecretsAlwaysFiring"}, "action": "failover",
         "cluster": providers["cnpg"].name, "provider": "cnpg", "namespace": "db", "confirm_for": "1s",
         "url": rec.url + "/k8s", **ref("cnpg-k8s-token-file")},
    ]}
    return {
        "collection": {"interval": "1s", "connect_timeout": "1s", "target_deadline": "1s"},
        "query_files": [os.path.join(harness.SOURCE_DIR, "queries", "*.yml")],
        "targets": targets,
        "pgbouncers": pgbouncers,
        "backup_stores": stores,
        "rule_files": [rules_path],
        "evaluation_interval": "1s",
        "alerting": alerting,
        "actions": actions,
        # discovery.cnpg's token goes to the recorder, whose 500 it logs.
        "discovery": {"cnpg": [{"namespaces": ["db"], "api_url": rec.url + "/k8s-discovery",
                                "interval": "1s", "timeout": "1s",
                                **ref("cnpg-discovery-token-file")}]},
    }


def _with_target(cfg, dsn):
    return dict(cfg, targets=cfg["targets"] + [{"cluster": "bad", "member": "m", "dsn": dsn}])


# Invalid variants of the config, each refused by check-config and /-/reload
# with the error given (so the refusal is the one meant): name -> (edit, error).
INVALID = {
    "unknown key in a store": (lambda cfg: dict(
        cfg, backup_stores=[dict(cfg["backup_stores"][0], no_such_key=1)]),
        'unknown key "no_such_key"'),
    "dsn password with a space": (lambda cfg: _with_target(
        cfg, f"host=127.0.0.1 password={C['dsn-password-with-space'].value}"),
        'invalid dsn: missing "=" after'),
    "uri password with a bad %-escape": (lambda cfg: _with_target(
        cfg, f"postgresql://u:{C['uri-password-bad-escape'].value}%ZZ@127.0.0.1/postgres"),
        "invalid dsn: invalid percent-encoded token"),
    "unnamed receiver url with userinfo, bad timeout": (lambda cfg: dict(cfg, alerting=dict(
        cfg["alerting"], alertmanagers=[{"url": f"http://am:{C['am-url-password'].value}@h/",
                                         "timeout": "soon"}])), "soon"),
}

API_GETS = ["/api/v1/targets", "/api/v1/statements", "/api/v1/rules", "/api/v1/alerts",
            "/api/v1/actions", "/api/v1/drills", "/api/v1/maintenance", "/api/v1/status",
            "/api/v1/decisions", "/api/v1/actions/region/approve"]
PAGES = ["/metrics", "/", "/?refresh=0", "/-/healthy", "/-/ready", "/runbooks",
         "/runbooks/PostgresPrimaryMissing", "/runbooks/NoSuchAlert"]


class SecretsTest(unittest.TestCase):
    def test_no_secret_in_any_output(self):
        with TempDir() as tmp:
            env = {}
            for c in CREDENTIALS:
                c.materialise(tmp, env)

            pg = PgNode(tmp, "pw")
            pg.initdb("password_encryption = 'scram-sha-256'")
            pg.start()
            pg.sql("CREATE ROLE pgdr_mon LOGIN PASSWORD 'the-right-one' IN ROLE pg_monitor")
            hba = os.path.join(pg.datadir, "pg_hba.conf")
            with open(hba) as f:
                rest = f.read()
            with open(hba, "w") as f:
                f.write("host all pgdr_mon 127.0.0.1/32 scram-sha-256\n" + rest)
            pg.sql("SELECT pg_reload_conf()")

            s3 = backup_support.S3rver(tmp).start()
            az = backup_support.Azurite(tmp).start()
            backup_support.AzureBlob(az.endpoint).create_container("pgdr")
            rec = Recorder()
            self.addCleanup(rec.close)
            closed_port = harness.free_port()

            # Two real clusters whose primary dies, so the patroni and cnpg
            # providers are called (their guards pass) and fail against the recorder.
            providers = {kind: PgCluster(tmp, name=f"prov-{kind}", replicas=1)
                         for kind in ("patroni", "cnpg")}
            for cluster in providers.values():
                cluster.start()

            rules_path = os.path.join(tmp.path, "always.yml")
            with open(rules_path, "w") as f:
                f.write("groups:\n- name: secrets\n  interval: 1s\n  rules:\n")
                for cluster in ["secrets"] + [c.name for c in providers.values()]:
                    f.write("  - alert: SecretsAlwaysFiring\n    expr: vector(1)\n"
                            f"    labels: {{cluster: {cluster}, severity: critical}}\n")

            cfg = build_config(pg, providers, closed_port, s3, az, rec, rules_path)
            exp = Exporter(tmp, cfg, env=env)
            exp.start()
            self.addCleanup(exp.stop)

            # The failures happened, and the secrets went where they belong.
            wait_until(lambda: len(exp.samples("pgdr_up", member="by-env")) == 1 and
                       exp.value("pgdr_up", member="by-env") == 0 and
                       exp.value("pgdr_up", member="in-dsn") == 0 and
                       exp.value("pgdr_up", member="in-uri") == 0, timeout=30,
                       what="members down")
            for cluster in providers.values():
                wait_until(lambda: exp.value("pgdr_up", member=cluster.replicas[0].name) == 1,
                           timeout=30, what=f"{cluster.name} replica up")
                cluster.primary.stop(mode="immediate")
            wait_until(lambda: pg_log_count(pg) >= 4, timeout=30,
                       what="four password failures in the server log")
            wait_until(lambda: all(exp.value("pgdr_backup_store_up", store=s["name"]) == 0
                                   for s in cfg["backup_stores"]), timeout=60,
                       what="every store polled and refused")

            def sent(kind, user=None):
                v = C[kind].value
                want = ("Basic " + base64.b64encode(f"{user}:{v}".encode()).decode()
                        if user else "Bearer " + v)
                return want in rec.authorizations()
            wait_until(lambda: sent("am-bearer-file") and
                       sent("webhook-basic-password-file", "hook") and
                       sent("am-url-password", "pgdr") and
                       sent("am-url-password-unnamed", "am") and
                       sent("webhook-url-password-unnamed", "hook") and
                       sent("action-webhook-bearer-file") and
                       sent("patroni-basic-password-env", "patroni") and
                       sent("cnpg-k8s-token-file") and
                       sent("cnpg-discovery-token-file"), timeout=60,
                       what="the recorder received the receivers' secrets")
            wait_until(lambda: any(r == "failed" for r in notification_results(exp)),
                       timeout=30, what="failed notifications counted")
            time.sleep(3)  # a few more failing cycles, polls and retries

            outputs = {}
            for path in PAGES + API_GETS:
                status, body = exp.get(path)
                outputs[f"GET {path} ({status})"] = body
            # /-/reload with invalid configs: the error answers and the log lines.
            for name, (make, error) in INVALID.items():
                exp.write_config(make(cfg))
                status, body = exp.post("/-/reload")
                self.assertEqual(status, 500, body)
                self.assertIn(error, body)
                outputs[f"POST /-/reload invalid: {name} ({status})"] = body
            exp.write_config(cfg)
            status, body = exp.post("/-/reload")
            self.assertEqual(status, 200, body)
            outputs[f"POST /-/reload valid ({status})"] = body
            time.sleep(2)
            status, body = exp.get("/metrics")
            outputs[f"GET /metrics after reload ({status})"] = body

            full_env = dict(os.environ)
            full_env.update(env)
            for name, config, error in [("valid", cfg, "SUCCESS")] + [
                    (f"invalid: {n}", make(cfg), e) for n, (make, e) in INVALID.items()]:
                path = os.path.join(tmp.path, f"check-{len(outputs)}.yml")
                exp_path = exp.config_path
                exp.config_path = path
                exp.write_config(config)
                exp.config_path = exp_path
                r = subprocess.run([harness.EXPORTER, "check-config", path], env=full_env,
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(r.returncode != 0, name != "valid", r.stdout + r.stderr)
                self.assertIn(error, r.stdout + r.stderr)
                outputs[f"check-config {name} stdout (rc {r.returncode})"] = r.stdout
                outputs[f"check-config {name} stderr"] = r.stderr

            exp.stop()
            outputs["exporter log (--log.level=debug)"] = exp.log()

            print(f"\n{len(CREDENTIALS)} credentials; outputs read:")
            for name, text in outputs.items():
                print(f"  {len(text.encode()):>9} bytes  {name}")
            leaks = []
            for name, text in outputs.items():
                for c in CREDENTIALS:
                    for form in c.forms():
                        if form in text:
                            at = text.index(form)
                            leaks.append(f"{c.kind} in {name}: ...{text[max(0, at - 80):at + 40]!r}")
            self.assertEqual(leaks, [], "\n".join(leaks))
            # The scan finds what it looks for: run over what the recorder
            # received, it finds every secret that was meant to arrive there.
            received = "\n".join(rec.authorizations())
            found = {c.kind for c in CREDENTIALS if any(f in received for f in c.forms())}
            self.assertEqual(found, {"am-bearer-file", "webhook-basic-password-file",
                                     "am-url-password", "action-webhook-bearer-file",
                                     "am-url-password-unnamed", "webhook-url-password-unnamed",
                                     "patroni-basic-password-env", "cnpg-k8s-token-file",
                                     "cnpg-discovery-token-file"})
            # The log is real: it names the failures it must describe without the secrets.
            log = outputs["exporter log (--log.level=debug)"]
            self.assertIn("s3-env", log)
            self.assertGreater(len(log), 10000)

    def test_web_config_passwords_never_echoed(self):
        """--web.config.file: the passwords clients send (right and wrong) and
        the bcrypt hashes in the file appear in no log line (debug level),
        page, API answer or check-config output."""
        with TempDir() as tmp:
            right, wrong = "web-right-Qx81zT", "web-wrong-Lm47vK"
            salt = crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10)
            hashed = crypt.crypt(right, salt)
            web = os.path.join(tmp.path, "web.yml")
            with open(web, "w") as f:
                f.write(f"basic_auth_users:\n  ops: {hashed}\n")
            pg = PgNode(tmp, "web")
            pg.initdb()
            pg.start()
            cfg = {"targets": [{"cluster": "web", "member": "web-1", "dsn": pg.dsn}]}
            exp = Exporter(tmp, cfg, args=[f"--web.config.file={web}"])
            exp.start(wait_ready=False)
            self.addCleanup(exp.stop)

            def call(path, password, method="GET"):
                token = base64.b64encode(f"ops:{password}".encode()).decode()
                return harness.http_get(f"http://{exp.address}{path}", method=method,
                                        headers={"Authorization": "Basic " + token})

            wait_until(lambda: call("/-/ready", right)[0] == 200, timeout=30,
                       what="exporter ready with the web config")
            # A reload with a user whose hash is no bcrypt hash is refused; the
            # refusal names the key, not the value, and the running file stays.
            with open(web, "w") as f:
                f.write(f"basic_auth_users:\n  ops: {hashed}\n  bad: not-a-bcrypt-hash-Zr5\n")
            wait_until(lambda: "not a bcrypt hash" in exp.log(), timeout=30,
                       what="the bad web config refused")
            outputs = {}
            for path in API_GETS + PAGES:
                self.assertEqual(call(path, wrong)[0], 401, path)
                status, body = call(path, right)
                outputs[f"GET {path} ({status})"] = body
            status, body = call("/-/reload", wrong, method="POST")
            outputs[f"POST /-/reload wrong password ({status})"] = body
            r = subprocess.run([harness.EXPORTER, "check-config", exp.config_path],
                               capture_output=True, text=True, timeout=60)
            outputs["check-config"] = r.stdout + r.stderr
            exp.stop()
            outputs["exporter log (--log.level=debug)"] = exp.log()
            secrets = [right, wrong, hashed, "not-a-bcrypt-hash-Zr5",
                       base64.b64encode(f"ops:{right}".encode()).decode(),
                       base64.b64encode(f"ops:{wrong}".encode()).decode()]
            leaks = [f"{secret!r} in {name}" for name, text in outputs.items()
                     for secret in secrets if secret in text]
            self.assertEqual(leaks, [])
            print(f"\nweb config: {len(secrets)} secret forms, {len(outputs)} outputs read, "
                  f"no leak", file=sys.stderr)


def pg_log_count(pg):
    with open(pg.logfile) as f:
        return f.read().count('password authentication failed for user "pgdr_mon"')


def notification_results(exp):
    return [l.get("result") for l, _ in exp.samples("pgdr_notifications_total")]


if __name__ == "__main__":
    unittest.main()
