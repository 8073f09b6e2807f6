"""The status page as a DR console, loaded in a real browser (Debian's
chromium, headless) while the primary is killed.

A primary (region-a) and one streaming replica (region-b) behind a PgBouncer;
pgdr_exporter evaluates the shipped rules/availability.yml (its `for:`
shortened to 2s, evaluated every second) and a dry-run failover trigger on
PostgresPrimaryMissing. Three states, each dumped with `chromium --dump-dom`
and saved as a screenshot in $PGDR_ARTIFACT_DIR (build/test-artifacts/):

  console-healthy.png         verdict, RPO row equal to /metrics, PgBouncer in its own table
  console-primary-killed.png  kill -9 of the postmaster: the alert firing with a runbook
                              link that answers 200, the dry-run decision "would promote
                              demo-2, ... behind" equal to /api/v1/decisions
  console-after-failover.png  the replica promoted by hand (as the on-call engineer would,
                              on the console's advice): demo-2 is the primary

Every figure the test reads from the DOM is compared with /metrics or /api/v1/*.
Every wait is bounded; chromium runs with a timeout.
"""

import html.parser
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import actions_harness as ah  # noqa: E402
import harness  # noqa: E402
from harness import Exporter, PgBouncer, PgCluster, TempDir, wait_until  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = os.environ.get("PGDR_ARTIFACT_DIR") or os.path.join(harness.SOURCE_DIR, "build",
                                                                 "test-artifacts")


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children, self.text_parts = [], []

    def text(self):
        return " ".join(" ".join(self.text_parts + [c.text() for c in self.children]).split())

    def find_all(self, tag=None, **attrs):
        out = []
        for c in self.children:
            if (tag is None or c.tag == tag) and all(
                    (c.attrs.get(k.rstrip("_").replace("_", "-")) or "").split().count(v) > 0
                    if k == "class_" else c.attrs.get(k.replace("_", "-")) == v
                    for k, v in attrs.items()):
                out.append(c)
            out += c.find_all(tag, **attrs)
        return out

    def find(self, tag=None, **attrs):
        found = self.find_all(tag, **attrs)
        return found[0] if found else None


class Dom(html.parser.HTMLParser):
    """The DOM chromium dumped, as a tree of Nodes (standard library only)."""
    VOID = {"meta", "br", "img", "input", "link", "hr", "polyline", "path", "circle"}

    def __init__(self, text):
        super().__init__()
        self.root = Node("#root", [], None)
        self.cur = self.root
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in self.VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.text_parts.append(data)


def chromium(tmp, *args):
    cmd = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--no-first-run", "--hide-scrollbars", f"--user-data-dir={tmp.sub('chromium')}"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=True).stdout


def test_rules(tmp):
    """rules/availability.yml with `for: 2s`, evaluated every second."""
    def edit(text):
        text = re.sub(r"(?m)^(\s+)for: \S+$", r"\1for: 2s", text)
        return re.sub(r"(?m)^(  - name: .*)$", r"\1\n    interval: 1s", text)
    return harness.shipped_rules_variant(tmp, "availability.yml", edit)


class StatusConsole(unittest.TestCase):
    def setUp(self):
        missing = ah.missing_tools()
        if not os.access(CHROMIUM, os.X_OK):
            missing.append("chromium")
        if missing:
            self.skipTest("missing: " + ", ".join(missing))
        os.makedirs(ARTIFACTS, exist_ok=True)

    def load(self, tmp, exp, name):
        """The page as the browser rendered it, and a screenshot of it."""
        url = f"http://{exp.address}/"
        shot = os.path.join(ARTIFACTS, f"console-{name}.png")
        chromium(tmp, "--window-size=1280,1700", f"--screenshot={shot}", url)
        self.assertGreater(os.path.getsize(shot), 10_000, f"screenshot {shot}")
        dom = Dom(chromium(tmp, "--dump-dom", url)).root
        self.assertIsNotNone(dom.find("section", id="cluster-demo"), "no section for cluster demo")
        return dom

    def status(self, exp):
        return {c["cluster"]: c for c in json.loads(exp.get("/api/v1/status")[1])["data"]["clusters"]}

    def assert_rpo_row_matches_metrics(self, dom, exp, scope):
        """The page's RPO figure for `scope` is /metrics's, or says it is unknown when absent."""
        want = exp.value("pgdr_rpo_bytes", cluster="demo", scope=scope)
        row = dom.find("tr", data_scope=scope)
        if want is None:
            self.assertTrue(row is None or "unknown" in row.text(), row and row.text())
            return None
        self.assertIsNotNone(row, f"no RPO row for scope {scope}")
        cell = row.find_all("td")[1]
        self.assertEqual(float(cell.attrs["data-value"]), want, row.text())
        self.assertRegex(cell.text(), r"^\d+(\.\d)? (B|KiB|MiB|GiB)$")
        return want

    def test_console_through_a_killed_primary(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "demo", replicas=1)
            cluster.start()
            primary, replica = cluster.primary, cluster.replicas[0]
            primary.sql("CREATE TABLE t AS SELECT generate_series(1, 1000) AS i")
            pooler = PgBouncer(tmp, primary, name="pb-demo").start()
            targets = cluster.targets()
            targets[0]["region"], targets[1]["region"] = "region-a", "region-b"
            trigger = ah.failover_trigger(match='alertname="PostgresPrimaryMissing", cluster="demo"')
            cfg = cluster.exporter_config(interval="1s")
            cfg.update({
                "targets": targets,
                "pgbouncers": [{"name": pooler.name, "cluster": "demo", "dsn": pooler.admin_dsn,
                                "databases_file": pooler.databases_file}],
                "rule_files": [test_rules(tmp)],
                "evaluation_interval": "1s",
                "actions": {"dry_run": True, "triggers": [trigger]},
            })
            exp = Exporter(tmp, cfg).start()
            wait_until(lambda: exp.value("pgdr_cluster_streaming_replicas", cluster="demo") == 1
                       and exp.value("pgdr_rpo_bytes", cluster="demo", scope="replica") is not None
                       and exp.value("pgdr_pgbouncer_up", pooler="pb-demo") == 1,
                       timeout=30, what="a streaming replica, its RPO and the PgBouncer")
            # A few samples for the sparklines.
            wait_until(lambda: len(self.status(exp)["demo"]["history"]) >= 2, timeout=20,
                       what="lag and RPO history in the local TSDB")

            # Healthy.
            dom = self.load(tmp, exp, "healthy")
            api = self.status(exp)["demo"]
            badge = dom.find(id="verdict-demo")
            self.assertEqual(badge.text(), api["verdict"])
            node = dom.find("li", data_q="node")
            self.assertIn("ok", node.attrs["class"].split())
            self.assertIn("yes: 1 of 1 replicas stream", node.text())
            region = dom.find("li", data_q="region")
            self.assertIn("demo-2 in region-b streams", region.text())
            self.assertIn("no drill configured", dom.find("li", data_q="drill").text())
            rpo = self.assert_rpo_row_matches_metrics(dom, exp, "replica")
            self.assertIsNotNone(rpo)
            members = dom.find("table", class_="members")
            self.assertEqual([r.attrs.get("data-member") for r in members.find_all("tr")[1:]],
                             ["demo-1", "demo-2"], "members table: PostgreSQL members only")
            self.assertIn("primary", members.find("tr", data_member="demo-1").text())
            self.assertIn("pb-demo", dom.find("table", class_="poolers").text())
            self.assertGreaterEqual(len(dom.find_all("polyline")), 1, "no sparkline drawn")
            self.assertIn("no decision in the last 24 h", dom.find("table", class_="decisions").text())

            # kill -9 of the primary's postmaster.
            os.kill(primary.pid(), signal.SIGKILL)
            wait_until(lambda: "PostgresPrimaryMissing" in ah.firing_alerts(exp), timeout=60,
                       what="PostgresPrimaryMissing firing")
            decisions = wait_until(lambda: [d for d in json.loads(exp.get("/api/v1/decisions")[1])
                                            ["data"]["decisions"] if d["result"] == "dry_run"],
                                   timeout=60, what="the dry-run failover decision")
            dom = self.load(tmp, exp, "primary-killed")
            api = self.status(exp)["demo"]
            self.assertEqual(dom.find(id="verdict-demo").text(), "crit")
            self.assertEqual(api["verdict"], "crit")
            node = dom.find("li", data_q="node")
            self.assertIn("crit", node.attrs["class"].split())
            self.assertIn("no member answers as primary", node.text())
            self.assert_rpo_row_matches_metrics(dom, exp, "replica")
            self.assertIn("down", dom.find("tr", data_member="demo-1").attrs["class"].split())

            alert = dom.find("tr", data_alert="PostgresPrimaryMissing")
            self.assertIsNotNone(alert, "PostgresPrimaryMissing not on the page")
            self.assertIn("firing", alert.attrs["class"].split())
            link = alert.find("a", class_="runbook").attrs["href"]
            self.assertEqual(link, f"http://{exp.address}/runbooks/PostgresPrimaryMissing")
            status, body = harness.http_get(link)
            self.assertEqual(status, 200, link)
            self.assertIn("<h1>PostgresPrimaryMissing</h1>", body)
            self.assertIn("<h2>Mitigation</h2>", body)

            rows = [r for r in dom.find("table", class_="decisions").find_all("tr", class_="decision")
                    if "would promote" in r.text()]
            self.assertTrue(rows, "no dry-run decision on the page")
            summary = rows[0].find("td", class_="summary").text()
            self.assertEqual(summary, decisions[0]["summary"])
            self.assertRegex(summary, r"^would promote demo-2, \d+(\.\d)? (B|KiB|MiB) behind")
            self.assertIn("candidate=demo-2", rows[0].text())
            self.assertIn("old_primary=demo-1", rows[0].text())
            self.assertEqual(ah.failover_count(exp, "dry_run"), 1)
            self.assertIsNot(ah.in_recovery(replica), False, "a dry run promoted nothing")
            print(f"\nkilled primary: verdict crit, decision {summary!r}, runbook {link} -> {status}")

            # After failover: the engineer promotes demo-2 as the console advised.
            replica.promote()
            wait_until(lambda: self.status(exp)["demo"]["primary"] == "demo-2", timeout=30,
                       what="the console seeing demo-2 as the primary")
            dom = self.load(tmp, exp, "after-failover")
            self.assertIn("primary", dom.find("tr", data_member="demo-2").text())
            self.assertIn("0 of 1 replicas stream", dom.find("li", data_q="node").text())
            self.assertTrue(any("would promote demo-2" in r.text()
                                for r in dom.find_all("tr", class_="decision")))
            print(f"screenshots: {ARTIFACTS}/console-{{healthy,primary-killed,after-failover}}.png")


if __name__ == "__main__":
    unittest.main()
