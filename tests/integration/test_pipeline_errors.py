"""A cycle's prepared statements share one pipeline segment (one Sync, one
implicit transaction); a statement failing in it never costs the others
(issue 16). The failing one's errors count, the statements after it are sent
again in the same cycle (a second round trip), and from the next cycle on it
has a segment of its own (one round trip again) until it succeeds."""

import os
import unittest

from harness import Exporter, PgCluster, TempDir, wait_until

QUERIES = """
q0_missing:
  query: "SELECT x FROM pipe_no_such_table"
  metrics:
    - x: {usage: GAUGE, description: never}
q1_good:
  query: "SELECT count(*) AS n FROM pipe_rows"
  metrics:
    - n: {usage: GAUGE, description: rows}
q2_flaky:
  query: "SELECT 10 / v AS q FROM pipe_flag"
  metrics:
    - q: {usage: GAUGE, description: ten over the flag}
q4_good:
  query: "SELECT sum(v) AS s FROM pipe_rows"
  metrics:
    - s: {usage: GAUGE, description: sum}
q5_sleep:
  query: "SELECT 1 AS v FROM pg_sleep(0.3)"
  metrics:
    - v: {usage: GAUGE, description: one}
q6_sleep:
  query: "SELECT 2 AS v FROM pg_sleep(0.3)"
  metrics:
    - v: {usage: GAUGE, description: two}
"""


def pick(samples, metric, **labels):
    for n, l, v in samples:
        if n == metric and all(l.get(k) == val for k, val in labels.items()):
            return v
    return None


class PipelineErrorsTest(unittest.TestCase):
    def test_failing_query_between_good_ones(self):
        with TempDir() as tmp:
            cluster = PgCluster(tmp, "pipe", replicas=0)
            cluster.start()
            primary = cluster.primary
            primary.sql("CREATE TABLE pipe_rows (v int); INSERT INTO pipe_rows VALUES (3), (4), (5);"
                        "CREATE TABLE pipe_flag (v int); INSERT INTO pipe_flag VALUES (1)")
            path = os.path.join(tmp.path, "pipe-queries.yml")
            with open(path, "w") as f:
                f.write(QUERIES)
            config = cluster.exporter_config(interval="2s", query_files=[path])
            # Two 0.3 s statements in one segment: the timeout is per statement.
            config["collection"].update({"statement_timeout": "500ms"})
            e = Exporter(tmp, config).start()
            member = primary.name

            def errors(s, collector):
                return pick(s, "pgdr_collect_errors_total", collector=collector) or 0

            def check_good(s):
                self.assertEqual(pick(s, "pgdr_q1_good_n", member=member),
                                 float(primary.sql("SELECT count(*) FROM pipe_rows")))
                self.assertEqual(pick(s, "pgdr_q4_good_s", member=member),
                                 float(primary.sql("SELECT sum(v) FROM pipe_rows")))
                self.assertEqual(pick(s, "pgdr_q5_sleep_v", member=member), 1.0)
                self.assertEqual(pick(s, "pgdr_q6_sleep_v", member=member), 2.0)
                self.assertEqual(errors(s, "q5_sleep"), 0.0)
                self.assertEqual(errors(s, "q6_sleep"), 0.0)
                self.assertEqual(pick(s, "pgdr_up", member=member), 1.0)

            # Steady state: everything prepared, the flaky query succeeds and
            # shares the segment; the missing table fails at Parse every cycle
            # in a segment of its own and costs no round trip.
            def steady():
                s = e.scrape()
                ok = (pick(s, "pgdr_q2_flaky_q", member=member) == 10.0
                      and pick(s, "pgdr_collect_round_trips", member=member) == 1.0
                      and errors(s, "q0_missing") >= 2)
                return s if ok else None
            s = wait_until(steady, timeout=30, interval=0.2, what="steady state")
            check_good(s)
            self.assertIsNone(pick(s, "pgdr_q0_missing_x"))
            self.assertEqual(errors(s, "q2_flaky"), 0.0)
            missing_before = errors(s, "q0_missing")
            self.assertIn("pipe_no_such_table", e.log())

            # The flaky query now fails at execution inside the shared segment:
            # those after it come back aborted and go again in the same cycle.
            primary.sql("UPDATE pipe_flag SET v = 0")

            def failed_once():
                s = e.scrape()
                return s if errors(s, "q2_flaky") >= 1 else None
            s = wait_until(failed_once, timeout=15, interval=0.05, what="first failure")
            self.assertEqual(errors(s, "q2_flaky"), 1.0)
            self.assertEqual(pick(s, "pgdr_collect_round_trips", member=member), 2.0)
            self.assertIsNone(pick(s, "pgdr_q2_flaky_q", member=member))
            check_good(s)
            self.assertGreater(errors(s, "q0_missing"), missing_before)
            self.assertIn("division by zero", e.log())

            # Later cycles: the failing query has its own segment, one round trip.
            def failed_twice():
                s = e.scrape()
                return s if errors(s, "q2_flaky") >= 2 else None
            s = wait_until(failed_twice, timeout=15, interval=0.05, what="second failure")
            self.assertEqual(errors(s, "q2_flaky"), 2.0)
            self.assertEqual(pick(s, "pgdr_collect_round_trips", member=member), 1.0)
            self.assertIsNone(pick(s, "pgdr_q2_flaky_q", member=member))
            check_good(s)

            # It recovers and its value is back, still one round trip per cycle.
            primary.sql("UPDATE pipe_flag SET v = 2")
            s = wait_until(lambda: (lambda s: s if pick(s, "pgdr_q2_flaky_q", member=member) == 5.0
                                    else None)(e.scrape()), timeout=15, what="flaky recovered")
            failures = errors(s, "q2_flaky")
            check_good(s)
            self.assertEqual(pick(s, "pgdr_collect_round_trips", member=member), 1.0)
            first = pick(s, "pgdr_collect_timestamp_seconds", member=member)
            s = wait_until(lambda: (lambda s: s if pick(s, "pgdr_collect_timestamp_seconds",
                                                        member=member) > first + 3 else None)(e.scrape()),
                           timeout=15, what="two more cycles")
            self.assertEqual(errors(s, "q2_flaky"), failures)
            self.assertEqual(pick(s, "pgdr_q2_flaky_q", member=member), 5.0)
            self.assertEqual(pick(s, "pgdr_collect_round_trips", member=member), 1.0)
            check_good(s)


if __name__ == "__main__":
    unittest.main()
