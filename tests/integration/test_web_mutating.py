"""Mutating endpoints are off unless enabled by a flag (issue 13, part 2).

- test_disabled_by_default: without --web.enable-lifecycle and
  --web.enable-admin-api, POST /-/reload and POST /api/v1/maintenance are 403,
  each counted in pgdr_http_requests_refused_total{reason}; GET stays 200 and
  no window is opened (read back from GET /api/v1/maintenance).
- test_enabled_by_flags: with the flags the same POST opens the window.
"""
import json
import unittest

import actions_harness as ah
from harness import Exporter, PgCluster, TempDir, wait_until

OPEN = json.dumps({"action": "open", "cluster": "demo", "duration": "10m",
                   "reason": "web test"}).encode()


class WebMutatingTest(unittest.TestCase):
    def start(self, tmp, mutating):
        cluster = PgCluster(tmp, "demo", replicas=0)
        cluster.start()
        cfg = ah.actions_config(cluster, tmp, [ah.failover_trigger()], dry_run=True)
        exp = Exporter(tmp, cfg, mutating=mutating).start()
        self.addCleanup(exp.stop)
        return exp

    def test_disabled_by_default(self):
        with TempDir() as tmp:
            exp = self.start(tmp, mutating=False)
            status, body = exp.post("/api/v1/maintenance", OPEN)
            self.assertEqual(status, 403, body)
            self.assertIn("--web.enable-admin-api", body)
            status, body = exp.post("/-/reload")
            self.assertEqual(status, 403, body)
            self.assertIn("--web.enable-lifecycle", body)
            status, body = exp.get("/api/v1/maintenance")
            self.assertEqual(status, 200, body)
            clusters = json.loads(body)["data"]["clusters"]
            self.assertFalse(any(c.get("active") for c in clusters), body)
            wait_until(lambda: exp.value("pgdr_http_requests_refused_total",
                                         reason="admin_api_disabled") == 1,
                       timeout=10, what="admin_api_disabled counted")
            self.assertEqual(exp.value("pgdr_http_requests_refused_total",
                                       reason="lifecycle_disabled"), 1)

    def test_enabled_by_flags(self):
        with TempDir() as tmp:
            exp = self.start(tmp, mutating=True)
            status, body = exp.post("/api/v1/maintenance", OPEN)
            self.assertEqual(status, 200, body)
            status, body = exp.get("/api/v1/maintenance")
            self.assertEqual(json.loads(body)["data"]["clusters"][0]["active"], True, body)
            self.assertEqual(exp.post("/-/reload")[0], 200)
            self.assertEqual(exp.value("pgdr_http_requests_refused_total",
                                       reason="admin_api_disabled"), 0)


if __name__ == "__main__":
    unittest.main()
