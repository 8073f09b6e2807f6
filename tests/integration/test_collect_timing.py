"""pgdr_collect_duration_seconds is the time from sending a collector's query
to reading its result, measured when that result is read: a result read in
the same wake-up as the one before it does not read 0 (issue 14)."""

import os
import unittest

from harness import Exporter, PgCluster, TempDir, wait_until

SLEEP = 0.2


class CollectTimingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir().__enter__()
        cls.cluster = PgCluster(cls.tmp, "timing", replicas=0)
        cls.cluster.start()
        path = os.path.join(cls.tmp.path, "timing-queries.yml")
        with open(path, "w") as f:
            # Pipelined in this order: `queued` is sent with `sleepy` and its
            # result arrives right behind sleepy's, usually in the same read.
            f.write(f"""
sleepy:
  query: "SELECT 1 AS v FROM pg_sleep({SLEEP})"
  metrics:
    - v: {{usage: GAUGE, description: value}}
queued:
  query: "SELECT 2 AS v"
  metrics:
    - v: {{usage: GAUGE, description: value}}
""")
        config = cls.cluster.exporter_config(interval="1s", query_files=[path])
        cls.exporter = Exporter(cls.tmp, config).start()
        wait_until(lambda: cls.exporter.value("pgdr_queued_v") is not None, timeout=15,
                   what="both collectors ran")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def durations(self):
        return {labels["collector"]: value
                for labels, value in self.exporter.samples("pgdr_collect_duration_seconds")}

    def test_sleeping_query_takes_at_least_its_sleep(self):
        d = self.durations()
        self.assertGreaterEqual(d["sleepy"], SLEEP, d)
        self.assertLess(d["sleepy"], 5, d)

    def test_query_queued_behind_it_includes_the_wait(self):
        d = self.durations()
        self.assertGreaterEqual(d["queued"], SLEEP, d)
        self.assertGreaterEqual(d["queued"], d["sleepy"], d)

    def test_probe_latency_is_a_round_trip_not_the_sleep(self):
        # The probe goes first in its own round: the sleep is not in its histogram.
        count = self.exporter.value("pgdr_probe_latency_seconds_count")
        total = self.exporter.value("pgdr_probe_latency_seconds_sum")
        self.assertGreater(count, 0)
        self.assertLess(total / count, SLEEP)
        self.assertGreater(total, 0)


if __name__ == "__main__":
    unittest.main()
