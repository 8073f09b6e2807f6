"""A real Prometheus scrapes the exporter (issue 2, must-show 4)."""

import unittest

from harness import Exporter, PgCluster, Prometheus, TempDir, wait_until


class PrometheusScrapeTest(unittest.TestCase):
    def test_prometheus_sees_pgdr_up_for_every_member(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "prom", replicas=2, region="eu")
            cluster.start()
            exporter = Exporter(tmp, cluster.exporter_config(interval="1s")).start()
            prom = Prometheus(tmp, [exporter.address]).start()
            result = wait_until(lambda: (lambda r: r if len(r) == 3 else None)(prom.query("pgdr_up")),
                                timeout=30, what="3 pgdr_up series in Prometheus")
            members = {}
            for series in result:
                labels = series["metric"]
                self.assertEqual(labels["cluster"], "prom")
                self.assertEqual(labels["region"], "eu")
                self.assertEqual(labels["job"], "pgdr")  # added by Prometheus, not by us
                members[labels["member"]] = float(series["value"][1])
            self.assertEqual(members, {"prom-1": 1.0, "prom-2": 1.0, "prom-3": 1.0})
            # The scrape itself was healthy: no parse errors, samples ingested.
            up = prom.query('up{job="pgdr"}')
            self.assertEqual(float(up[0]["value"][1]), 1.0)
            samples = prom.query('scrape_samples_scraped{job="pgdr"}')
            self.assertGreater(float(samples[0]["value"][1]), 100)
            # Lag computed across members reaches Prometheus too.
            lag = prom.query("pgdr_replication_lag_bytes")
            self.assertEqual(sorted(s["metric"]["member"] for s in lag), ["prom-2", "prom-3"])


if __name__ == "__main__":
    unittest.main()
