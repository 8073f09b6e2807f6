"""Shared helpers of the test_backup_* integration tests (this file has no tests,
and its name does not start with test_, so ctest does not count it as one).

- S3rver / Azurite: the npm emulators on free loopback ports, from
  <repo>/.npm-tools, where scripts/setup.sh installs them; a missing one is an
  error of the test that needs it, never a skip.
- stores_poller(): how the tests poll the backup monitors. By default the real
  `pgdr_exporter` with a `backup_stores:` section, read through /metrics
  (ExporterStores). With PGDR_BACKUP_DRIVER=probe, the test-only
  `pgdr_store_probe` (built in exporter/store/; StoreProbe) polls on demand
  instead. Both keep the monitors' state between polls, so incremental listing
  is exercised.
- AzureBlob: a minimal stdlib Azure Blob client (SharedKey) used to put and
  delete blobs in azurite.

Python 3 standard library only; every wait is bounded.
"""

import base64
import datetime
import email.utils
import hashlib
import hmac
import json
import os
import socket
import subprocess
import threading
import urllib.parse
import urllib.request

import harness

NPM_TOOLS = os.path.join(harness.SOURCE_DIR, ".npm-tools")
PROBE = os.environ.get("PGDR_STORE_PROBE", os.path.join(
    os.path.dirname(harness.EXPORTER), "store", "pgdr_store_probe"))
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
               "K1SZFPTOtr/KBHBeksoGMGw==")
S3_KEY = "S3RVER"


def npm_tool(name):
    """Path of an npm tool's binary in .npm-tools; raises FileNotFoundError,
    naming the fix, when scripts/setup.sh has not installed it."""
    path = os.path.join(NPM_TOOLS, "node_modules", ".bin", name)
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"{path} is missing: scripts/setup.sh installs it "
                                "(scripts/npm-packages.txt)")
    return path


def require_probe(test):
    if not os.path.exists(PROBE):
        test.skipTest(f"{PROBE} not built")


def wait_port(port, timeout=30):
    def up():
        with socket.socket() as s:
            s.settimeout(0.5)
            return s.connect_ex(("127.0.0.1", port)) == 0
    harness.wait_until(up, timeout=timeout, what=f"port {port}")


class S3rver:
    """npx s3rver -d DIR -p PORT --configure-bucket BUCKET, on loopback."""

    def __init__(self, tmp, bucket="backups"):
        self.binary = npm_tool("s3rver")
        self.port = harness.free_port()
        self.dir = tmp.sub(f"s3rver-{self.port}")
        self.bucket = bucket
        self.log = os.path.join(tmp.path, f"s3rver-{self.port}.log")
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def start(self):
        harness.spawn([self.binary, "-d", self.dir, "-a", "127.0.0.1", "-p", str(self.port),
                       "--configure-bucket", self.bucket], self.log)
        wait_port(self.port)
        return self

    def object_path(self, key):
        """s3rver keeps each object as files on disk: <dir>/<bucket>/<key>._S3rver_object."""
        return os.path.join(self.dir, self.bucket, key) + "._S3rver_object"

    def keys(self, prefix=""):
        root = os.path.join(self.dir, self.bucket)
        out = []
        for base, _, files in os.walk(root):
            for f in files:
                # The object is listed once its metadata is written too.
                if f.endswith("._S3rver_object") and os.path.exists(
                        os.path.join(base, f[:-len("object")] + "metadata.json")):
                    key = os.path.relpath(os.path.join(base, f), root)[:-len("._S3rver_object")]
                    if key.startswith(prefix):
                        out.append(key)
        return sorted(out)

    def read(self, key):
        with open(self.object_path(key), "rb") as f:
            return f.read()

    def delete(self, key):
        for suffix in ("._S3rver_object", "._S3rver_object.md5", "._S3rver_metadata.json"):
            path = os.path.join(self.dir, self.bucket, key) + suffix
            if os.path.exists(path):
                os.remove(path)


class Azurite:
    def __init__(self, tmp):
        self.binary = npm_tool("azurite-blob")
        self.port = harness.free_port()
        self.dir = tmp.sub(f"azurite-{self.port}")
        self.log = os.path.join(tmp.path, f"azurite-{self.port}.log")
        self.endpoint = f"http://127.0.0.1:{self.port}/{AZURITE_ACCOUNT}"

    def start(self):
        harness.spawn([self.binary, "--blobHost", "127.0.0.1", "--blobPort", str(self.port),
                       "-l", self.dir, "--skipApiVersionCheck", "--disableTelemetry"], self.log)
        wait_port(self.port)
        return self


class AzureBlob:
    """Put/delete blobs in azurite with SharedKey (stdlib only)."""

    def __init__(self, endpoint, account=AZURITE_ACCOUNT, key=AZURITE_KEY):
        self.endpoint = endpoint
        self.account = account
        self.key = base64.b64decode(key)

    def _request(self, method, path, query=None, body=b"", headers=None):
        query = query or {}
        headers = dict(headers or {})
        headers["x-ms-date"] = email.utils.formatdate(usegmt=True)
        headers["x-ms-version"] = "2021-08-06"
        if method == "PUT":
            headers["Content-Type"] = "application/octet-stream"  # urllib would add its own
        url_path = urllib.parse.urlparse(self.endpoint).path + path
        length = str(len(body)) if body else ""
        canon_headers = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items())
                                if k.startswith("x-ms-"))
        canon_resource = f"/{self.account}{url_path}" + "".join(
            f"\n{k}:{v}" for k, v in sorted(query.items()))
        to_sign = "\n".join([method, "", "", length, "", headers.get("Content-Type", ""), "", "",
                             "", "", "", ""]) + "\n" + canon_headers + canon_resource
        sig = base64.b64encode(hmac.new(self.key, to_sign.encode(), hashlib.sha256).digest())
        headers["Authorization"] = f"SharedKey {self.account}:{sig.decode()}"
        url = self.endpoint + urllib.parse.quote(path)
        if query:
            url += "?" + urllib.parse.urlencode(query)
        req = urllib.request.Request(url, data=body if method == "PUT" else None, method=method,
                                     headers=headers)
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status

    def account_sas(self, permissions="rl", expiry="2030-01-01T00:00:00Z"):
        """An account SAS token (version 2019-12-12 string-to-sign) for blobs."""
        fields = {"sv": "2019-12-12", "ss": "b", "srt": "sco", "sp": permissions, "se": expiry}
        to_sign = "\n".join([self.account, fields["sp"], fields["ss"], fields["srt"], "",
                             fields["se"], "", "", fields["sv"], ""])
        fields["sig"] = base64.b64encode(
            hmac.new(self.key, to_sign.encode(), hashlib.sha256).digest()).decode()
        return urllib.parse.urlencode(fields)

    def create_container(self, container):
        return self._request("PUT", f"/{container}", {"restype": "container"})

    def put(self, container, key, data):
        return self._request("PUT", f"/{container}/{key}", body=data,
                             headers={"x-ms-blob-type": "BlockBlob"})

    def delete(self, container, key):
        return self._request("DELETE", f"/{container}/{key}")


class StoreProbe:
    """Polls backup stores through pgdr_store_probe (one "poll" per call)."""

    def __init__(self, tmp, stores, env=None):
        self.config = os.path.join(tmp.path, f"stores-{harness.free_port()}.yml")
        with open(self.config, "w") as f:
            json.dump({"backup_stores": stores}, f)  # JSON is YAML
        self.log_path = self.config + ".log"
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([PROBE, self.config], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, env=full_env,
                                     start_new_session=True, text=True)
        harness._processes.append(self.proc)

    def poll(self, timeout=60):
        """Returns [(name, labels, value)] of one poll of every store."""
        self.proc.stdin.write("poll\n")
        self.proc.stdin.flush()
        lines = []
        result = {}

        def read():
            for line in self.proc.stdout:
                if line.startswith("# END"):
                    result["ok"] = True
                    return
                lines.append(line)
        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(timeout)
        if not result.get("ok"):
            raise TimeoutError(f"probe poll did not finish in {timeout}s")
        return harness.parse_metrics("".join(lines))

    def logs(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    @staticmethod
    def value(samples, name, **labels):
        for n, l, v in samples:
            if n == name and all(l.get(k) == str(val) for k, val in labels.items()):
                return v
        return None


class ExporterStores:
    """The real exporter polling the stores every second; poll() returns the
    metrics of a poll that started after the call. One exporter for all the
    stores (and the targets), or one per store with shared=False."""

    def __init__(self, tmp, stores, env=None, targets=(), shared=True):
        for store in stores:
            store.setdefault("interval", "1s")
        groups = [stores] if shared else [[s] for s in stores]
        self.stores = [s["name"] for s in stores]
        self.exporters = []
        for i, group in enumerate(groups):
            config = {"collection": {"interval": "1s"}, "targets": list(targets) if i == 0 else [],
                      "backup_stores": group}
            if targets and i == 0:
                config["query_files"] = [os.path.join(harness.SOURCE_DIR, "queries", "*.yml")]
            self.exporters.append(harness.Exporter(tmp, config, env=env).start())
        self.exporter = self.exporters[0]

    def scrape(self):
        out = []
        for e in self.exporters:
            out += e.scrape()
        return out

    @staticmethod
    def _poll_marks(samples):
        """Per store, the sum of its request counters and poll duration:
        they change with every poll."""
        marks = {}
        for n, l, v in samples:
            if n in ("pgdr_backup_store_requests_total", "pgdr_backup_store_poll_duration_seconds"):
                marks[l.get("store")] = marks.get(l.get("store"), 0.0) + v
        return marks

    def poll(self, timeout=60):
        # A store publishes its metrics when a poll ends: after two changes of
        # its marks, a poll that started after this call has ended.
        last = self._poll_marks(self.scrape())
        seen = {name: 0 for name in self.stores}

        def advanced():
            samples = self.scrape()
            marks = self._poll_marks(samples)
            for name in self.stores:
                if name in marks and marks[name] != last.get(name):
                    seen[name] += 1
                    last[name] = marks[name]
            return samples if all(v >= 2 for v in seen.values()) else None
        return harness.wait_until(advanced, timeout=timeout, interval=0.1,
                                  what=f"two polls of every store of {self.stores}")

    def logs(self):
        return "".join(e.log() for e in self.exporters)

    value = staticmethod(StoreProbe.value)


def stores_poller(tmp, stores, env=None, targets=()):
    """ExporterStores, or StoreProbe when PGDR_BACKUP_DRIVER=probe."""
    if os.environ.get("PGDR_BACKUP_DRIVER", "exporter") == "probe":
        return StoreProbe(tmp, stores, env=env)
    return ExporterStores(tmp, stores, env=env, targets=targets)


def require_poller(test):
    if os.environ.get("PGDR_BACKUP_DRIVER", "exporter") == "probe":
        require_probe(test)
    elif not os.path.exists(harness.EXPORTER):
        test.skipTest(f"{harness.EXPORTER} not built")


def barman_time(text):
    """backup.info times: '2026-11-23 19:00:00.123456+00:00'."""
    return datetime.datetime.fromisoformat(text).timestamp()


def parse_backup_info(data):
    out = {}
    for line in data.decode().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out

