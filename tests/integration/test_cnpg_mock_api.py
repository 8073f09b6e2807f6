"""CloudNativePG against a MOCK of the Kubernetes API server (k8s_mock.py; no
real API server can run here). The mock validates every object and every
patch result against CloudNativePG's real CRD schemas, read from
PGDR_CNPG_DIR (postgresql.cnpg.io_clusters.yaml, _backups.yaml; the test is
skipped, naming the directory, when they are absent). It serves HTTPS with a
throwaway CA and checks the bearer token, as the API server does for a
service account.

- test_mock_validates_like_the_api_server: the mock itself: seeds pass, a
  merge patch and a JSON patch the schema rejects answer 422 with the field,
  a stale resourceVersion 409, the status subresource changes only .status.
- test_status_and_discovery: pgdr's discovery.cnpg lists the Clusters and
  Backups; every pgdr_cnpg_* series equals what the objects say; the
  discovered targets (pods and -rw/-ro services) follow a change of
  status.instanceNames without a restart.
- test_discovered_instances_are_collected: with `targets:`, each instance
  of the Cluster is a member collected from the real PostgreSQL server its
  pod's host_template points at (pgdr_in_recovery and the postmaster start
  time equal psql's); scaling the Cluster to 3 adds pg-main-3, back to 2
  removes it, without a restart.
- test_failover_patches_cluster_status: a real PostgreSQL primary + replica
  named as CNPG names its instances; the primary is killed; pgdr's guarded
  failover, provider cnpg, GETs the Cluster and merge-patches clusters/status
  (targetPrimary, targetPrimaryTimestamp, phase, Ready condition, with the
  resourceVersion it read); the mock accepts it against the schema.
- test_rejected_patch_fails_the_failover: the same with a schema that forbids
  the candidate's name: the mock answers 422 and pgdr counts the failover
  failed (a patch the schema rejects can never pass silently).
- test_regional_promotion_of_a_replica_cluster: region a (the primary
  Cluster's instances) is killed; region b's standby is the replica Cluster
  pg-dr's designated primary; region_failover with provider cnpg merge-patches
  pg-dr's spec.replica.enabled=false, accepted by the schema.
- test_zz_rbac_grants_exactly_what_was_used (last): deploy/kubernetes rendered
  by the real kustomize; the CNPG Role's rules equal the (apiGroup,
  resource, verb) set the mock recorded from pgdr over the tests above.
"""

import copy
import datetime
import json
import os
import shutil
import ssl
import sys
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import actions_harness as ah  # noqa: E402
import harness  # noqa: E402
import k8s_mock  # noqa: E402
from harness import SOURCE_DIR, Exporter, PgCluster, TempDir, wait_until  # noqa: E402

GROUP = "postgresql.cnpg.io"
NS = "db"
TOKEN = "mock-service-account-token"


def iso(seconds_ago):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds_ago)
    return t.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def unix(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def condition(type_, status, reason, message=""):
    return {"type": type_, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": iso(600)}


def cluster_object(name, instances, primary, replica_of=None):
    """A Cluster in the real CRD's shape, as the operator writes its status."""
    names = [f"{name}-{i + 1}" for i in range(instances)]
    spec = {"instances": instances, "imageName": "ghcr.io/cloudnative-pg/postgresql:15",
            "storage": {"size": "1Gi"},
            "backup": {"barmanObjectStore": {"destinationPath": f"s3://backups/{name}",
                                             "endpointURL": "http://minio:9000"}}}
    if replica_of:
        spec["replica"] = {"enabled": True, "source": replica_of}
        spec["bootstrap"] = {"recovery": {"source": replica_of}}
        spec["externalClusters"] = [{"name": replica_of, "barmanObjectStore": {
            "destinationPath": f"s3://backups/{replica_of}", "endpointURL": "http://minio:9000"}}]
    return {
        "apiVersion": f"{GROUP}/v1", "kind": "Cluster",
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
        "status": {
            "instances": instances, "readyInstances": instances - 1,
            "currentPrimary": primary, "targetPrimary": primary,
            "currentPrimaryTimestamp": "2026-12-01T10:00:00.000000Z",
            "targetPrimaryTimestamp": "2026-12-01T09:59:58.000000Z",
            "phase": "Cluster in healthy state", "timelineID": 3,
            "instanceNames": names,
            "instancesStatus": {"healthy": names[:-1], "failed": names[-1:]},
            "lastSuccessfulBackup": iso(3600), "firstRecoverabilityPoint": iso(86400 * 7),
            "conditions": [
                condition("ContinuousArchiving", "True", "ContinuousArchivingSuccess"),
                condition("LastBackupSucceeded", "True", "LastBackupSucceeded"),
                condition("Ready", "True", "ClusterIsReady", "Cluster is Ready"),
            ],
        },
    }


def backup_object(name, cluster, phase, stopped_ago=None):
    b = {"apiVersion": f"{GROUP}/v1", "kind": "Backup",
         "metadata": {"name": name, "namespace": NS},
         "spec": {"cluster": {"name": cluster}, "method": "barmanObjectStore"},
         "status": {"phase": phase, "method": "barmanObjectStore"}}
    if stopped_ago is not None:
        b["status"].update(startedAt=iso(stopped_ago + 120), stoppedAt=iso(stopped_ago),
                           beginWal="000000030000000000000010", endWal="000000030000000000000011")
    return b


class CnpgMockApi(unittest.TestCase):
    recorded = []  # every request pgdr sent to any mock of this class, for the RBAC test

    @classmethod
    def setUpClass(cls):
        cls.cluster_schema = k8s_mock.crd_schema(harness.cnpg_crd("clusters"))
        cls.backup_schema = k8s_mock.crd_schema(harness.cnpg_crd("backups"))

    def start_mock(self, tmp, cluster_schema=None):
        ca = k8s_mock.MockCa(tmp.sub("k8s-ca"))
        api = k8s_mock.KubernetesApiMock(ca, TOKEN)
        api.register(k8s_mock.Resource(GROUP, "v1", "clusters", "Cluster",
                                       schema=cluster_schema or self.cluster_schema,
                                       status_subresource=True))
        api.register(k8s_mock.Resource(GROUP, "v1", "backups", "Backup",
                                       schema=self.backup_schema, status_subresource=True))
        api.start()
        self.addCleanup(lambda: (CnpgMockApi.recorded.extend(api.requests), api.stop()))
        token = os.path.join(tmp.path, "sa-token")
        with open(token, "w") as f:
            f.write(TOKEN + "\n")
        kube = {"api_url": api.url, "bearer_token_file": token, "tls_ca_file": ca.ca_file}
        return api, kube

    def call(self, api, method, path, body=None, content_type="application/merge-patch+json",
             token=TOKEN):
        ctx = ssl.create_default_context(cafile=api.ca.ca_file)
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(api.url + path, method=method, data=data,
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    # ------------------------------------------------------------ the mock

    def test_mock_validates_like_the_api_server(self):
        with TempDir() as tmp:
            api, _ = self.start_mock(tmp)
            api.put_object(GROUP, "clusters", cluster_object("pg-main", 3, "pg-main-1"))
            with self.assertRaises(ValueError):  # a seed the schema rejects is refused too
                bad = cluster_object("pg-bad", 3, "pg-bad-1")
                bad["spec"]["instances"] = 0
                api.put_object(GROUP, "clusters", bad)
            base = f"/apis/{GROUP}/v1/namespaces/{NS}/clusters/pg-main"
            self.assertEqual(self.call(api, "GET", base, token="wrong")[0], 401)
            code, body = self.call(api, "PATCH", base, {"spec": {"instances": 0}})
            self.assertEqual(code, 422)
            self.assertEqual(body["reason"], "Invalid")
            self.assertEqual([c["field"] for c in body["details"]["causes"]], ["spec.instances"])
            print(f"\nmock API: {body['message']}")
            code, body = self.call(api, "PATCH", base + "/status",
                                   {"status": {"conditions": [{"type": "Ready", "status": "Maybe",
                                                               "reason": "not a reason"}]}})
            self.assertEqual(code, 422)
            fields = sorted(c["field"] for c in body["details"]["causes"])
            self.assertEqual(fields, ["status.conditions[0].lastTransitionTime",
                                      "status.conditions[0].message",
                                      "status.conditions[0].reason",
                                      "status.conditions[0].status"])
            code, body = self.call(api, "PATCH", base + "/status",
                                   {"status": {"targetPrimry": "pg-main-2"}})
            self.assertEqual((code, body["details"]["causes"][0]["field"]),
                             (422, "status.targetPrimry"))
            code, body = self.call(api, "PATCH", base + "/status",
                                   [{"op": "replace", "path": "/status/readyInstances",
                                     "value": "three"}], content_type="application/json-patch+json")
            self.assertEqual((code, body["details"]["causes"][0]["field"]),
                             (422, "status.readyInstances"))
            self.assertEqual(self.call(api, "PATCH", base, {"spec": {"instances": 4}},
                                       content_type="application/strategic-merge-patch+json")[0], 415)
            # A write to the status subresource changes only the status, and
            # the main resource never changes the status.
            rv = api.get_object(GROUP, "clusters", NS, "pg-main")["metadata"]["resourceVersion"]
            code, body = self.call(api, "PATCH", base + "/status",
                                   [{"op": "replace", "path": "/status/readyInstances", "value": 3},
                                    {"op": "replace", "path": "/spec/instances", "value": 5}],
                                   content_type="application/json-patch+json")
            self.assertEqual(code, 200)
            self.assertEqual((body["status"]["readyInstances"], body["spec"]["instances"]), (3, 3))
            code, body = self.call(api, "PATCH", base, {"status": {"readyInstances": 1},
                                                        "spec": {"instances": 4}})
            self.assertEqual((code, body["status"]["readyInstances"], body["spec"]["instances"]),
                             (200, 3, 4))
            self.assertEqual(body["metadata"]["generation"], 2)
            code, body = self.call(api, "PATCH", base, {"metadata": {"resourceVersion": rv},
                                                        "spec": {"instances": 2}})
            self.assertEqual((code, body["reason"]), (409, "Conflict"))
            verbs = [(r["verb"], r["subresource"], r["code"]) for r in api.requests]
            self.assertEqual(verbs[:3], [("get", None, 401), ("patch", None, 422),
                                         ("patch", "status", 422)])
            api.requests.clear()  # the test's own requests are not pgdr's

    # ------------------------------------------------------------ collection

    def test_status_and_discovery(self):
        with TempDir() as tmp:
            api, kube = self.start_mock(tmp)
            main = api.put_object(GROUP, "clusters", cluster_object("pg-main", 3, "pg-main-1"))
            dr = api.put_object(GROUP, "clusters",
                                cluster_object("pg-dr", 2, "pg-dr-1", replica_of="pg-main"))
            backups = [backup_object("pg-main-20261203", "pg-main", "completed", stopped_ago=3700),
                       backup_object("pg-main-20261202", "pg-main", "completed", stopped_ago=90000),
                       backup_object("pg-main-20261201", "pg-main", "failed"),
                       backup_object("pg-main-now", "pg-main", "running"),
                       backup_object("pg-dr-1", "pg-dr", "completed", stopped_ago=500)]
            for b in backups:
                api.put_object(GROUP, "backups", b)
            source = dict(kube, namespaces=[NS], interval="1s", timeout="5s")
            exp = Exporter(tmp, {"collection": {"interval": "1s"}, "targets": [],
                                 "discovery": {"cnpg": [source]}}).start()
            wait_until(lambda: exp.value("pgdr_cnpg_api_up", namespace=NS) == 1, timeout=30,
                       what="pgdr_cnpg_api_up")
            for obj, replica in ((main, 0), (dr, 1)):
                name, st = obj["metadata"]["name"], obj["status"]
                lab = {"namespace": NS, "cluster": name}
                self.assertEqual(exp.value("pgdr_cnpg_cluster_phase", phase=st["phase"], **lab), 1)
                self.assertEqual(exp.value("pgdr_cnpg_cluster_instances", **lab), st["instances"])
                self.assertEqual(exp.value("pgdr_cnpg_cluster_ready_instances", **lab),
                                 st["readyInstances"])
                self.assertEqual(exp.value("pgdr_cnpg_cluster_spec_instances", **lab),
                                 obj["spec"]["instances"])
                self.assertEqual(exp.value("pgdr_cnpg_cluster_timeline", **lab), st["timelineID"])
                self.assertEqual([l["member"] for l, _ in
                                  exp.samples("pgdr_cnpg_cluster_current_primary", **lab)],
                                 [st["currentPrimary"]])
                self.assertEqual([l["member"] for l, _ in
                                  exp.samples("pgdr_cnpg_cluster_target_primary", **lab)],
                                 [st["targetPrimary"]])
                self.assertEqual(exp.value("pgdr_cnpg_cluster_switchover_pending", **lab), 0)
                self.assertEqual(exp.value("pgdr_cnpg_cluster_replica_mode", **lab), replica)
                self.assertEqual(exp.value("pgdr_cnpg_cluster_continuous_archiving", **lab), 1)
                self.assertEqual(
                    exp.value("pgdr_cnpg_cluster_last_successful_backup_timestamp_seconds", **lab),
                    unix(st["lastSuccessfulBackup"]))
                self.assertEqual(
                    exp.value("pgdr_cnpg_cluster_first_recoverability_point_timestamp_seconds",
                              **lab), unix(st["firstRecoverabilityPoint"]))
                states = {(l["member"], l["state"]) for l, _ in
                          exp.samples("pgdr_cnpg_instance_state", **lab)}
                self.assertEqual(states, {(p, s) for s, pods in st["instancesStatus"].items()
                                          for p in pods})
            by_phase = {(l["cluster"], l["phase"]): v for l, v in exp.samples("pgdr_cnpg_backups")}
            self.assertEqual(by_phase, {("pg-main", "completed"): 2, ("pg-main", "failed"): 1,
                                        ("pg-main", "running"): 1, ("pg-dr", "completed"): 1})
            self.assertEqual(exp.value("pgdr_cnpg_backup_last_completed_timestamp_seconds",
                                       cluster="pg-main"), unix(backups[0]["status"]["stoppedAt"]))

            def targets():
                return sorted((l["cluster"], l["member"], l["role"], l["address"])
                              for l, _ in exp.samples("pgdr_cnpg_discovered_target"))

            def expected(cluster, pods, primary):
                out = [(cluster, p, "primary" if p == primary else "replica",
                        f"{p}.{cluster}-any.{NS}.svc:5432") for p in pods]
                out += [(cluster, f"{cluster}-{s}", s, f"{cluster}-{s}.{NS}.svc:5432")
                        for s in ("rw", "ro")]
                return out

            self.assertEqual(targets(), sorted(expected("pg-main", main["status"]["instanceNames"],
                                                        "pg-main-1") +
                                               expected("pg-dr", dr["status"]["instanceNames"],
                                                        "pg-dr-1")))
            # The operator scales pg-main to 4 and moves the primary: followed
            # without a restart.
            grown = api.get_object(GROUP, "clusters", NS, "pg-main")
            grown["spec"]["instances"] = 4
            grown["status"].update(instances=4, currentPrimary="pg-main-2", targetPrimary="pg-main-2",
                                   instanceNames=[f"pg-main-{i}" for i in range(1, 5)])
            api.put_object(GROUP, "clusters", grown)
            want = sorted(expected("pg-main", grown["status"]["instanceNames"], "pg-main-2") +
                          expected("pg-dr", dr["status"]["instanceNames"], "pg-dr-1"))
            wait_until(lambda: targets() == want, timeout=15, what="the discovered targets to follow")
            print(f"\ndiscovered {len(want)} targets from 2 Clusters, e.g. {want[0]}")
            lists = {(r["resource"], r["verb"]) for r in api.requests}
            self.assertEqual(lists, {("clusters", "list"), ("backups", "list")})
            self.assertTrue(all(r["code"] == 200 for r in api.requests))

    def test_discovered_instances_are_collected(self):
        """discovery.cnpg[].targets: every instance of the Cluster becomes a
        member, collected from the real PostgreSQL server its pod name points
        at (host_template: a directory per pod holding a link to that
        server's socket, so one port serves them all as in a Kubernetes
        namespace); a scale-up adds a member, a scale-down removes it."""
        if ah.missing_tools():
            self.skipTest("missing: " + ", ".join(ah.missing_tools()))
        with TempDir() as tmp:
            api, kube = self.start_mock(tmp)
            cluster = PgCluster(tmp, "pg-main", replicas=2)
            cluster.start()
            pods, port = tmp.sub("pods"), 5432
            for node in cluster.members:
                os.makedirs(os.path.join(pods, node.name))
                os.symlink(os.path.join(node.sockdir, f".s.PGSQL.{node.port}"),
                           os.path.join(pods, node.name, f".s.PGSQL.{port}"))
            api.put_object(GROUP, "clusters", cluster_object("pg-main", 2, "pg-main-1"))
            source = dict(kube, namespaces=[NS], interval="1s", timeout="5s",
                          host_template=os.path.join(pods, "{pod}"), port=port,
                          targets={"dsn": "user=postgres dbname=postgres sslmode=disable",
                                   "labels": {"team": "db"}})
            exp = Exporter(tmp, {"collection": {"interval": "1s"}, "targets": [],
                                 "query_files": [os.path.join(SOURCE_DIR, "queries", "*.yml")],
                                 "discovery": {"cnpg": [source]}}).start()

            def members():
                return sorted(l["member"] for l, v in exp.samples("pgdr_up", cluster="pg-main")
                              if v == 1)

            def check(nodes):
                for node in nodes:
                    lab = {"cluster": "pg-main", "member": node.name}
                    self.assertEqual(exp.value("pgdr_in_recovery", **lab),
                                     1 if node.sql("SELECT pg_is_in_recovery()") == "t" else 0)
                    self.assertAlmostEqual(
                        exp.value("pgdr_postmaster_start_time_seconds", **lab),
                        float(node.sql("SELECT extract(epoch FROM pg_postmaster_start_time())")),
                        delta=1e-3)
                    self.assertEqual(exp.samples("pgdr_up", **lab)[0][0].get("team"), "db")

            two = [n.name for n in cluster.members[:2]]
            wait_until(lambda: members() == two, timeout=30, what="the 2 instances collected")
            check(cluster.members[:2])
            started = datetime.datetime.now()
            api.put_object(GROUP, "clusters", cluster_object("pg-main", 3, "pg-main-1"))
            three = [n.name for n in cluster.members]
            wait_until(lambda: members() == three, timeout=30, what="pg-main-3 added")
            added = (datetime.datetime.now() - started).total_seconds()
            check(cluster.members)
            started = datetime.datetime.now()
            api.put_object(GROUP, "clusters", cluster_object("pg-main", 2, "pg-main-1"))
            wait_until(lambda: exp.samples("pgdr_up", cluster="pg-main", member="pg-main-3") == [],
                       timeout=30, what="pg-main-3 removed")
            removed = (datetime.datetime.now() - started).total_seconds()
            self.assertEqual(members(), two)
            self.assertRegex(exp.log(), r"discovery: membership changed, targets applied")
            print(f"\ncnpg targets: 2 instances collected; scale-up to 3 collected in "
                  f"{added:.1f}s, scale-down removed in {removed:.1f}s")

    # ------------------------------------------------------------ failover

    def failover(self, tmp, api, kube):
        """A primary and a replica named as CNPG names a Cluster's instances;
        the primary is killed; returns the exporter once it decided."""
        cluster = PgCluster(tmp, "pg-main", replicas=1)
        cluster.start()
        api.put_object(GROUP, "clusters", cluster_object("pg-main", 2, "pg-main-1"))
        trigger = ah.failover_trigger(
            match='alertname="TestPrimaryLost", cluster="pg-main"', provider="cnpg",
            namespace=NS, url=kube["api_url"], bearer_token_file=kube["bearer_token_file"],
            tls_ca_file=kube["tls_ca_file"], timeout="10s")
        cfg = ah.actions_config(cluster, tmp, [trigger], dry_run=False)
        exp = Exporter(tmp, cfg).start()
        wait_until(lambda: exp.value("pgdr_cluster_primaries", cluster="pg-main") == 1, timeout=30,
                   what="the exporter sees the primary")
        cluster.primary.stop("immediate")
        wait_until(lambda: ah.failover_count(exp, "success", "pg-main") +
                   ah.failover_count(exp, "failed", "pg-main") >= 1,
                   timeout=90, interval=0.5, what="the failover decided")
        return exp

    def test_failover_patches_cluster_status(self):
        if ah.missing_tools():
            self.skipTest("missing: " + ", ".join(ah.missing_tools()))
        with TempDir() as tmp:
            api, kube = self.start_mock(tmp)
            exp = self.failover(tmp, api, kube)
            self.assertEqual(ah.failover_count(exp, "success", "pg-main"), 1, exp.log()[-3000:])
            reqs = [(r["verb"], r["resource"], r["subresource"], r["code"]) for r in api.requests]
            self.assertEqual(reqs, [("get", "clusters", None, 200),
                                    ("patch", "clusters", "status", 200)])
            patch = json.loads(api.requests[1]["body"])
            self.assertEqual(api.requests[1]["content_type"], "application/merge-patch+json")
            stored = api.get_object(GROUP, "clusters", NS, "pg-main")
            st = stored["status"]
            self.assertEqual((st["targetPrimary"], st["currentPrimary"]), ("pg-main-2", "pg-main-1"))
            self.assertEqual(st["phase"], "Switchover in progress")
            self.assertEqual(st["phaseReason"], "Switching over to pg-main-2")
            # The operator parses it as Go's RFC3339Micro.
            ts = datetime.datetime.strptime(st["targetPrimaryTimestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
            self.assertLess(abs(ts.replace(tzinfo=datetime.timezone.utc).timestamp() -
                                datetime.datetime.now(datetime.timezone.utc).timestamp()), 120)
            ready = [c for c in st["conditions"] if c["type"] == "Ready"]
            self.assertEqual([(c["status"], c["reason"]) for c in ready], [("False", "ClusterIsNotReady")])
            self.assertEqual([c["type"] for c in st["conditions"]],
                             ["ContinuousArchiving", "LastBackupSucceeded", "Ready"])
            self.assertIn("resourceVersion", patch["metadata"])  # optimistic lock
            self.assertEqual(stored["spec"], cluster_object("pg-main", 2, "pg-main-1")["spec"])
            self.assertEqual(k8s_mock.validate(self.cluster_schema, stored), [])
            print(f"\ncnpg failover: PATCH clusters/pg-main/status accepted by the CRD schema: "
                  f"targetPrimary={st['targetPrimary']} at {st['targetPrimaryTimestamp']}")

    def test_rejected_patch_fails_the_failover(self):
        if ah.missing_tools():
            self.skipTest("missing: " + ", ".join(ah.missing_tools()))
        strict = copy.deepcopy(self.cluster_schema)
        strict["properties"]["status"]["properties"]["targetPrimary"]["pattern"] = "-1$"
        with TempDir() as tmp:
            api, kube = self.start_mock(tmp, cluster_schema=strict)
            exp = self.failover(tmp, api, kube)
            self.assertEqual(ah.failover_count(exp, "failed", "pg-main"), 1)
            self.assertEqual(ah.failover_count(exp, "success", "pg-main"), 0)
            codes = [(r["verb"], r["subresource"], r["code"]) for r in api.requests]
            self.assertEqual(codes[:2], [("get", None, 200), ("patch", "status", 422)])
            self.assertEqual(api.get_object(GROUP, "clusters", NS, "pg-main")["status"]
                             ["targetPrimary"], "pg-main-1")
            self.assertRegex(exp.log(), r"failover finished.*result=failed.*422")

    def test_regional_promotion_of_a_replica_cluster(self):
        if ah.missing_tools():
            self.skipTest("missing: " + ", ".join(ah.missing_tools()))
        with TempDir() as tmp:
            api, kube = self.start_mock(tmp)
            # Region a: the primary Cluster's instances; region b: a standby
            # streaming from it, as the replica Cluster pg-dr's designated primary.
            main = PgCluster(tmp, "pg-main", replicas=1, region="a")
            main.start()
            standby = harness.PgNode(tmp, "pg-dr-1")
            os.makedirs(standby.datadir, exist_ok=True)
            if harness.AS_ROOT:
                shutil.chown(standby.datadir, harness.PG_USER, harness.PG_USER)
            os.chmod(standby.datadir, 0o700)
            harness.run(harness.as_pg_user([
                f"{harness.PG_BIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(main.primary.port),
                "-U", "postgres", "-D", standby.datadir, "-R", "-X", "stream", "--no-sync",
                "-c", "fast"]), timeout=300)
            standby.append_auto_conf(f"primary_conninfo = 'host=127.0.0.1 port={main.primary.port} "
                                     "user=postgres application_name=pg-dr-1'\narchive_mode = off")
            standby.start()
            api.put_object(GROUP, "clusters", cluster_object("pg-main", 2, "pg-main-1"))
            api.put_object(GROUP, "clusters",
                           cluster_object("pg-dr", 1, "pg-dr-1", replica_of="pg-main"))
            before = api.get_object(GROUP, "clusters", NS, "pg-dr")
            region = {"cluster": "pg-main", "standby_region": "b", "confirm_for": "3s",
                      "max_rpo_bytes": 256 << 20, "approval": "auto", "cooldown": "10m",
                      "timeout": "10s", "provider": "cnpg", "namespace": NS,
                      "cnpg_cluster": "pg-dr", "url": kube["api_url"],
                      "bearer_token_file": kube["bearer_token_file"],
                      "tls_ca_file": kube["tls_ca_file"]}
            cfg = main.exporter_config(evaluation_interval="1s",
                                       actions={"dry_run": False, "region_failover": [region]})
            cfg["targets"].append({"cluster": "pg-main", "member": "pg-dr-1", "dsn": standby.dsn,
                                   "region": "b"})
            exp = Exporter(tmp, cfg).start()
            wait_until(lambda: exp.value("pgdr_region_members_up", cluster="pg-main", region="b")
                       == 1 and exp.value("pgdr_cluster_primaries", cluster="pg-main") == 1,
                       timeout=30, what="both regions seen")
            for node in main.members:
                node.stop("immediate")

            def region_count(result):
                return exp.value("pgdr_failover_requests_total", cluster="pg-main", kind="region",
                                 result=result) or 0

            wait_until(lambda: region_count("success") + region_count("failed") >= 1, timeout=90,
                       interval=0.5, what="the regional promotion decided")
            self.assertEqual(region_count("success"), 1, exp.log()[-3000:])
            reqs = [(r["verb"], r["resource"], r["name"], r["subresource"], r["code"])
                    for r in api.requests]
            self.assertEqual(reqs, [("get", "clusters", "pg-dr", None, 200),
                                    ("patch", "clusters", "pg-dr", None, 200)])
            self.assertEqual(json.loads(api.requests[1]["body"])["spec"],
                             {"replica": {"enabled": False}})
            after = api.get_object(GROUP, "clusters", NS, "pg-dr")
            self.assertEqual(after["spec"]["replica"], {"enabled": False, "source": "pg-main"})
            self.assertEqual(after["status"], before["status"])  # the operator's to change
            self.assertEqual(after["metadata"]["generation"], 2)
            self.assertEqual(k8s_mock.validate(self.cluster_schema, after), [])
            print("\ncnpg regional promotion: PATCH clusters/pg-dr spec.replica.enabled=false "
                  "accepted by the CRD schema")

    # ------------------------------------------------------------ RBAC

    def test_zz_rbac_grants_exactly_what_was_used(self):
        used = {(r["group"], r["resource"] + (f"/{r['subresource']}" if r["subresource"] else ""),
                 r["verb"]) for r in CnpgMockApi.recorded if r["code"] != 401}
        if not used:
            self.skipTest("no request was recorded (the tests above were skipped)")
        kustomize = k8s_mock.kustomize_binary()
        self.assertIsNotNone(kustomize, "kustomize is missing: run scripts/setup.sh")
        granted = k8s_mock.rbac_grants(kustomize, GROUP)
        print(f"\nRBAC for {GROUP}: granted {sorted(granted)}, used {sorted(used)}")
        self.assertEqual(granted, used)


if __name__ == "__main__":
    unittest.main()
