"""dp_integrity_test.py: the integrity service through the real stratad
(docs/operations.md "The integrity service").

- green: with a short --integrity-interval, checks run, none fails, the last success is
  recent, and the internal database is nobody's: not listed, not queryable, not writable,
  not verifiable by name;
- an injected failure (--test-integrity-fault, tests only) is loud: the failure counter
  and last_check_ok in /metrics, an error log line with the reason, an audit event
  (category "integrity"); a restart without it is green again;
- damaged canaries on disk (a chunk byte changed while stopped): the next check fails with
  the engine's message naming the block, the block is quarantined, and the service goes
  green again (logged) with the rest of the canaries;
- --integrity-interval 0: off, and /metrics says so.
"""
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dp_harness import Server, chunks, cli, flip, metrics, wait_metric  # noqa: E402
from sec_harness import Admin, Rpc, admin_pb2  # noqa: E402

IDB = "strata--integrity--canary"


class Integrity(unittest.TestCase):
    def setUp(self):
        self.live = []

    def tearDown(self):
        for s in self.live:
            s.stop(signal.SIGKILL)
            s.cleanup()

    def start(self, *args, **kw):
        s = Server(*args, **kw)
        self.live.append(s)
        return s

    def stop(self, s):
        self.assertEqual(s.stop(), 0, s.stderr()[-2000:])
        for bad in ("runtime error", "AddressSanitizer", "LeakSanitizer", "level=alert"):
            self.assertNotIn(bad, s.stderr())
        self.live.remove(s)

    def test_green_and_hidden(self):
        s = self.start("--integrity-interval", "200ms")
        wait_metric(s, "strata_integrity_checks_total", lambda v: v >= 3)
        m = metrics(s)
        self.assertEqual(m["strata_integrity_enabled"], 1)
        self.assertEqual(m["strata_integrity_failures_total"], 0)
        self.assertEqual(m["strata_integrity_last_check_ok"], 1)
        self.assertGreater(m["strata_integrity_last_success_timestamp_seconds"], time.time() - 30)
        self.assertGreaterEqual(m["strata_integrity_rows_checked_total"], 12)
        self.assertIn("integrity service: 4 canary rows every 0.2 s", s.stderr())
        # nobody can name the internal database
        rpc = Rpc(s)
        st, r, d = Admin(rpc, s.token).call("ListDatabases", admin_pb2.ListDatabasesRequest())
        self.assertEqual(st, "OK", d)
        self.assertEqual([x.name for x in r.databases], [])
        rpc.close()
        for args in (["query", "-d", IDB, "SELECT * FROM canary"], ["verify", "-d", IDB],
                     ["query", "-d", IDB, "DELETE FROM canary WHERE time > 0"]):
            rc, out, err = cli(s, *args)
            self.assertEqual(rc, 2, "%s: %s" % (args, out + err))
        st, _, body = s.write("canary,run=x,i=0 vi=1i 1", db=IDB)
        self.assertEqual(st, 400, body)
        st, _, body = s.write("canary,run=x,i=0 vi=1i 1", db="strata", api="v3")
        self.assertEqual(st, 204, body)  # a user database named like a part of it is its own
        rc, out, err = cli(s, "query", "-d", "strata", "-f", "csv", "SHOW TABLES")
        self.assertEqual(rc, 0, err)
        rc, out, err = cli(s, "database", "list", "-f", "csv")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("integrity", out)
        self.stop(s)
        # a restart reads the canaries persisted before it (and stays green)
        s2 = self.start("--integrity-interval", "200ms", data_dir=s.data_dir, token=s.token)
        wait_metric(s2, "strata_integrity_checks_total", lambda v: v >= 2)
        self.assertEqual(metrics(s2)["strata_integrity_failures_total"], 0)
        self.assertNotIn("belongs to no database", s2.stderr())
        self.stop(s2)

    def test_injected_failure_is_loud(self):
        s = self.start("--integrity-interval", "200ms", "--test-integrity-fault")
        wait_metric(s, "strata_integrity_failures_total", lambda v: v >= 2)
        m = metrics(s)
        self.assertEqual(m["strata_integrity_last_check_ok"], 0)
        self.assertEqual(m["strata_integrity_last_success_timestamp_seconds"], 0)
        log = s.stderr()
        self.assertIn("level=error sub=integrity", log)
        self.assertIn("integrity check FAILED: canary run ", log)
        self.assertIn("field vi reads back as ", log)
        rc, out, err = cli(s, "audit", "read")
        self.assertEqual(rc, 0, err)
        ev = [json.loads(x) for x in out.splitlines() if '"integrity"' in x]
        self.assertTrue(ev, out[-2000:])
        self.assertEqual(ev[0]["category"], "integrity")
        self.assertEqual(ev[0]["reason"], "integrity_failure")
        self.assertIn("field vi reads back as", ev[0]["detail"])
        self.stop(s)
        s2 = self.start("--integrity-interval", "200ms", data_dir=s.data_dir, token=s.token)
        wait_metric(s2, "strata_integrity_last_check_ok", lambda v: v == 1)
        self.assertEqual(metrics(s2)["strata_integrity_failures_total"], 0)
        self.stop(s2)

    def test_damaged_canaries_on_disk(self):
        s = self.start("--integrity-interval", "200ms", "--persist-age", "100ms")
        wait_metric(s, "strata_engine_chunks", lambda v: v >= 2)
        wait_metric(s, "strata_integrity_checks_total", lambda v: v >= 3)
        self.stop(s)
        target = chunks(s.data_dir)[0]  # only the integrity service wrote anything
        flip(target, 176 + 2)
        s2 = self.start("--integrity-interval", "200ms", data_dir=s.data_dir, token=s.token)
        wait_metric(s2, "strata_integrity_failures_total", lambda v: v >= 1)
        wait_metric(s2, "strata_integrity_last_check_ok", lambda v: v == 1, what="green again")
        log = s2.stderr()
        self.assertIn("integrity check FAILED: reading the canaries back: chunk", log)
        self.assertIn(os.path.basename(target), log)
        self.assertIn("authentication tag mismatch", log)
        self.assertIn("integrity check green again", log)
        self.assertGreaterEqual(metrics(s2)["strata_engine_quarantined_groups"], 1)
        self.stop(s2)

    def test_off(self):
        s = self.start("--integrity-interval", "0")
        time.sleep(0.3)
        m = metrics(s)
        self.assertEqual(m["strata_integrity_enabled"], 0)
        self.assertEqual(m["strata_integrity_checks_total"], 0)
        self.assertIn("the integrity service is off", s.stderr())
        self.stop(s)


if __name__ == "__main__":
    unittest.main(verbosity=2)
