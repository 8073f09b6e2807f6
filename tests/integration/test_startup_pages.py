"""--memory.release-startup-pages-after: once pgdr is serving it gives back the
file-backed pages only start-up touched (app/startup_pages.h). RssFile in
/proc/<pid>/status drops, the series stay right (checked against psql), and
0s turns it off."""

import re
import subprocess
import time
import unittest

from harness import EXPORTER, Exporter, PgCluster, TempDir, wait_until


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


class StartupPagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = TempDir().__enter__()
        cls.cluster = PgCluster(cls.tmp, "pages", replicas=0)
        cls.cluster.start()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.__exit__(None, None, None)

    def start(self, after):
        exp = Exporter(self.tmp, self.cluster.exporter_config(interval="1s"),
                       args=[f"--memory.release-startup-pages-after={after}"]).start()
        self.addCleanup(exp.stop)
        wait_until(lambda: exp.value("pgdr_up") == 1, timeout=15, what="member up")
        return exp

    def test_release_drops_file_backed_rss_and_keeps_serving(self):
        exp = self.start("3s")
        pid = exp.proc.pid
        before = status_kb(pid, "RssFile")
        wait_until(lambda: "released start-up pages" in exp.log(), timeout=15,
                   what="the release log line")
        line = next(l for l in exp.log().splitlines() if "released start-up pages" in l)
        logged = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
        self.assertGreater(logged["mappings"], 10, line)
        self.assertLess(logged["rss_file_after_bytes"], logged["rss_file_before_bytes"] * 0.6, line)
        time.sleep(3)  # the working set comes back; start-up's pages do not
        after = status_kb(pid, "RssFile")
        print(f"\nRssFile {before} kB before, {after} kB 3 s after the release "
              f"(logged {logged['rss_file_before_bytes'] // 1024} -> "
              f"{logged['rss_file_after_bytes'] // 1024} kB)")
        self.assertLess(after, before * 0.8)
        primary = self.cluster.primary
        want = int(primary.sql("SHOW server_version_num"))
        got = exp.value("pgdr_server_version_num", member=primary.name)
        self.assertEqual(got, want)
        self.assertEqual(exp.value("pgdr_up", member=primary.name), 1)

    def test_zero_turns_it_off(self):
        exp = self.start("0s")
        time.sleep(4)
        self.assertNotIn("released start-up pages", exp.log())

    def test_bad_duration_is_refused(self):
        run = subprocess.run([EXPORTER, "--config.file=/nonexistent",
                              "--memory.release-startup-pages-after=soon"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(run.returncode, 2)
        self.assertIn('--memory.release-startup-pages-after: invalid duration "soon"', run.stderr)


if __name__ == "__main__":
    unittest.main()
