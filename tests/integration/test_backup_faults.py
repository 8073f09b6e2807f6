"""Bad answers from an object store: a scripted local S3 server (fault mock).

403, 404, 500, malformed XML, a server that accepts and never answers, a
listing of 100,000 keys and a backup.info full of garbage. Each store gives
pgdr_backup_store_up 0 or a counted parse error with a log line naming the
store and key; the other stores of the same poll are unaffected, and the poll
is bounded by the configured timeout.
"""

import http.server
import os
import shutil
import socket
import threading
import time
import unittest
import urllib.parse

import harness
from backup_support import (ExporterStores, S3rver, require_poller, stores_poller,
                            wait_port)

BIG = 100_000
AZ_BIG = 12_000


def segment_name(segno):
    return "%08X%08X%08X" % (1, segno // 256, segno % 256)


def list_xml(keys, prefixes=(), next_token=None):
    parts = ['<?xml version="1.0" encoding="UTF-8"?><ListBucketResult>']
    for k in keys:
        parts.append(f"<Contents><Key>{k}</Key><LastModified>2026-11-23T19:00:00.000Z"
                     f"</LastModified><Size>16777216</Size></Contents>")
    for p in prefixes:
        parts.append(f"<CommonPrefixes><Prefix>{p}</Prefix></CommonPrefixes>")
    if next_token:
        parts.append(f"<IsTruncated>true</IsTruncated><NextContinuationToken>{next_token}"
                     "</NextContinuationToken>")
    else:
        parts.append("<IsTruncated>false</IsTruncated>")
    parts.append("</ListBucketResult>")
    return "".join(parts).encode()


def azure_list_xml(keys, next_marker=""):
    parts = ['<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs>']
    for k in keys:
        parts.append(f"<Blob><Name>{k}</Name><Properties><Last-Modified>Mon, 23 Nov 2026 "
                     "19:00:00 GMT</Last-Modified><Content-Length>16777216</Content-Length>"
                     "</Properties></Blob>")
    parts.append(f"</Blobs><NextMarker>{next_marker}</NextMarker></EnumerationResults>")
    return "".join(parts).encode()


class FaultyS3(http.server.BaseHTTPRequestHandler):
    big_keys = [f"demo/wals/{segment_name(s)[:16]}/{segment_name(s)}" for s in range(1, BIG + 1)]

    def log_message(self, *args):
        pass

    def reply(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802 - http.server's naming
        url = urllib.parse.urlparse(self.path)
        bucket, _, key = url.path.lstrip("/").partition("/")
        q = dict(urllib.parse.parse_qsl(url.query))
        if bucket == "forbidden":
            return self.reply(403, b"<Error><Code>AccessDenied</Code><Message>Access Denied"
                                   b"</Message></Error>")
        if bucket == "missing":
            return self.reply(404, b"<Error><Code>NoSuchBucket</Code></Error>")
        if bucket == "broken":
            return self.reply(500, b"<Error><Code>InternalError</Code></Error>")
        if bucket == "malformed":
            return self.reply(200, b"<ListBucketResult><Contents><Key>demo/wals/0000")
        if bucket == "garbage":
            if key:
                return self.reply(200, b"\x00\xff\xfe\x01 not a backup.info \x02")
            if q.get("prefix") == "demo/base/":
                return self.reply(200, list_xml([], ["demo/base/20261123T000000/"]))
            return self.reply(200, list_xml([]))
        if bucket == "azbig":  # Azure List Blobs, 12,000 WAL blobs over 3 pages (marker)
            if q.get("comp") != "list" or q.get("prefix") != "demo/wals/":
                return self.reply(200, azure_list_xml([]))
            keys = self.big_keys[:AZ_BIG]
            start = int(q.get("marker", "0"))
            end = start + 5000
            return self.reply(200, azure_list_xml(keys[start:end],
                                                  str(end) if end < len(keys) else ""))
        if bucket == "big":
            if q.get("prefix") != "demo/wals/":
                return self.reply(200, list_xml([]))
            start = int(q.get("continuation-token", "0"))
            if "continuation-token" not in q and q.get("start-after"):
                start = len([k for k in self.big_keys if k <= q["start-after"]])
            page = self.big_keys[start:start + 1000]
            nxt = str(start + 1000) if start + 1000 < len(self.big_keys) else None
            return self.reply(200, list_xml(page, next_token=nxt))
        return self.reply(400)


class FaultsTest(unittest.TestCase):
    def setUp(self):
        require_poller(self)
        self.tmp = harness.TempDir().__enter__()
        self.addCleanup(self.tmp.__exit__, None, None, None)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FaultyS3)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        # A server that accepts connections and never answers.
        self.hung = socket.socket()
        self.hung.bind(("127.0.0.1", 0))
        self.hung.listen(16)
        self.addCleanup(self.hung.close)

    def store(self, name, bucket, port=None, timeout="1s"):
        return {"name": name, "cluster": "demo", "layout": "barman-cloud", "server_name": "demo",
                "url": f"s3://{bucket}/", "endpoint": f"http://127.0.0.1:{port or self.server.server_port}",
                "access_key_id_env": "PGDR_FAULT_KEY", "secret_access_key_env": "PGDR_FAULT_KEY",
                "timeout": timeout}

    def test_bad_answers(self):
        # The listings of thousands of keys get time to arrive from this
        # Python server on a loaded host; the hung one must time out.
        stores = [self.store(n, n, timeout="10s" if n == "big" else "1s")
                  for n in ("forbidden", "missing", "broken", "malformed", "garbage", "big")]
        stores.append(self.store("hung", "hung", port=self.hung.getsockname()[1]))
        stores.append({"name": "azbig", "cluster": "demo", "layout": "barman-cloud",
                       "server_name": "demo", "url": "azure://azbig",
                       "endpoint": f"http://127.0.0.1:{self.server.server_port}",
                       "account_name": "acct", "account_key_env": "PGDR_FAULT_AZ_KEY",
                       "timeout": "10s"})
        probe = stores_poller(self.tmp, stores,
                              env={"PGDR_FAULT_KEY": "k", "PGDR_FAULT_AZ_KEY": "a2V5a2V5a2V5"})
        started = time.monotonic()
        m = probe.poll(timeout=120)
        elapsed = time.monotonic() - started
        up = {s["name"]: probe.value(m, "pgdr_backup_store_up", store=s["name"]) for s in stores}
        self.assertEqual(up, {"forbidden": 0.0, "missing": 0.0, "broken": 0.0, "malformed": 0.0,
                              "garbage": 1.0, "big": 1.0, "hung": 0.0, "azbig": 1.0})
        logs = probe.logs()
        self.assertIn("store=forbidden", logs)
        self.assertIn("access denied", logs)
        self.assertIn("NoSuchBucket", logs)
        self.assertIn("unexpected HTTP status 500", logs)
        self.assertIn("malformed listing", logs)
        self.assertIn("store=hung", logs)
        self.assertIn("timed out", logs)
        # Garbage: a counted parse error naming the key; the store stays up.
        self.assertEqual(probe.value(m, "pgdr_backup_store_parse_errors_total", store="garbage"), 1.0)
        self.assertIn("key=demo/base/20261123T000000/backup.info", logs)
        self.assertEqual(probe.value(m, "pgdr_backups", store="garbage", status="invalid"), 1.0)
        # 100,000 keys over 100 pages; the next poll lists nothing old again.
        self.assertEqual(probe.value(m, "pgdr_wal_archive_segments", store="big"), float(BIG))
        self.assertEqual(probe.value(m, "pgdr_wal_archive_gap_segments", store="big"), 0.0)
        listed = probe.value(m, "pgdr_backup_store_objects_listed_total", store="big")
        self.assertLess(elapsed, 60)
        m = probe.poll()
        self.assertEqual(probe.value(m, "pgdr_backup_store_objects_listed_total", store="big"),
                         listed)
        # Azure: 12,000 blobs followed through NextMarker.
        self.assertEqual(probe.value(m, "pgdr_wal_archive_segments", store="azbig"), float(AZ_BIG))
        # Secrets never appear in logs.
        self.assertNotIn("Signature=", logs)
        self.assertNotIn("PGDR_FAULT_KEY=k", logs)

    def test_several_stores_in_one_exporter(self):
        """One exporter, several stores: each keeps its own series."""
        if not os.path.exists(harness.EXPORTER):
            self.skipTest(f"{harness.EXPORTER} not built")
        stores = [self.store("garbage", "garbage"), self.store("forbidden", "forbidden")]
        both = ExporterStores(self.tmp, stores, env={"PGDR_FAULT_KEY": "k"})
        m = both.poll()
        self.assertEqual(both.value(m, "pgdr_backup_store_up", store="garbage"), 1.0)
        self.assertEqual(both.value(m, "pgdr_backup_store_up", store="forbidden"), 0.0)


class TlsTest(unittest.TestCase):
    """s3rver over TLS with a self-signed certificate: verification is on by
    default, `ca_file` trusts it, `insecure_skip_verify` skips it."""

    def test_tls_verification(self):
        require_poller(self)
        if shutil.which("openssl") is None:
            self.skipTest("openssl CLI not installed")
        tmp = harness.TempDir().__enter__()
        self.addCleanup(tmp.__exit__, None, None, None)
        key, cert = f"{tmp.path}/key.pem", f"{tmp.path}/cert.pem"
        harness.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                     "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                     "-addext", "subjectAltName=IP:127.0.0.1"])
        s3 = S3rver(tmp)
        harness.spawn([s3.binary, "-d", s3.dir, "-a", "127.0.0.1", "-p", str(s3.port),
                       "--key", key, "--cert", cert, "--configure-bucket", "backups"], s3.log)
        wait_port(s3.port)

        def store(name, **extra):
            s = {"name": name, "cluster": "demo", "layout": "barman-cloud", "server_name": "demo",
                 "url": "s3://backups/pfx", "endpoint": f"https://127.0.0.1:{s3.port}",
                 "access_key_id_env": "PGDR_TLS_KEY", "secret_access_key_env": "PGDR_TLS_KEY",
                 "timeout": "5s"}
            s.update(extra)
            return s
        probe = stores_poller(tmp, [store("verify"), store("ca", ca_file=cert),
                                 store("skip", insecure_skip_verify=True)],
                           env={"PGDR_TLS_KEY": "S3RVER"})
        m = probe.poll()
        self.assertEqual(probe.value(m, "pgdr_backup_store_up", store="verify"), 0.0)
        self.assertEqual(probe.value(m, "pgdr_backup_store_up", store="ca"), 1.0, probe.logs())
        self.assertEqual(probe.value(m, "pgdr_backup_store_up", store="skip"), 1.0)
        self.assertRegex(probe.logs(), r"store=verify .*(certificate|SSL)")


class VirtualHostTest(unittest.TestCase):
    """Virtual-host addressing (bucket in the Host name) against s3rver:
    curl resolves *.localhost to loopback, s3rver takes the bucket from
    <bucket>.s3.localhost when started with --service-endpoint localhost."""

    def test_bucket_from_host(self):
        require_poller(self)
        tmp = harness.TempDir().__enter__()
        self.addCleanup(tmp.__exit__, None, None, None)
        s3 = S3rver(tmp)
        harness.spawn([s3.binary, "-d", s3.dir, "-a", "127.0.0.1", "-p", str(s3.port),
                       "--service-endpoint", "localhost", "--configure-bucket", "backups"], s3.log)
        wait_port(s3.port)

        def store(name, bucket):
            return {"name": name, "cluster": "demo", "layout": "barman-cloud", "server_name": "demo",
                    "url": f"s3://{bucket}/pfx", "endpoint": f"http://s3.localhost:{s3.port}",
                    "path_style": False, "access_key_id_env": "PGDR_VH_KEY",
                    "secret_access_key_env": "PGDR_VH_KEY", "timeout": "5s"}
        probe = stores_poller(tmp, [store("vhost", "backups"), store("vhost-missing", "nope")],
                              env={"PGDR_VH_KEY": "S3RVER"})
        m = probe.poll()
        self.assertEqual(probe.value(m, "pgdr_backup_store_up", store="vhost"), 1.0, probe.logs())
        self.assertEqual(probe.value(m, "pgdr_backup_store_up", store="vhost-missing"), 0.0)
        self.assertIn("NoSuchBucket", probe.logs())


if __name__ == "__main__":
    unittest.main()
