"""dp_verify_test.py: damaged stored data through the real stratad (docs/operations.md
"Verifying stored data").

One byte of a persisted, encrypted chunk is changed while the server is stopped. After a
restart:
- a query touching the block fails with DATA_LOSS (gRPC) / exit 12 (CLI), the message
  naming the chunk file, the block offset and the reason; none of its rows is returned;
- the row group is then quarantined: the same query answers without those rows, and
  /metrics shows the quarantine counters;
- `strata verify --database DB` lists the block (file relative to the data directory,
  offset, reason, quarantined before) and exits 12; the JSON-lines form carries the same
  fields; a healthy database verifies with exit 0; `strata verify` of everything is the
  operator's, a database's Owner and the tenant's administrators may verify that database,
  a read token may not; an unknown database is NOT_FOUND for the operator;
- every verify is audited, and /metrics counts runs and problems.
"""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dp_harness import Server, chunks, cli, flip, metrics, wait_metric  # noqa: E402
from sec_harness import FLIGHT, Admin, Rpc, ticket  # noqa: E402

DB = "v"
ROWS = 5000  # two row groups per series (4096 rows each)


class Verify(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="dp-verify-")
        s = Server("--integrity-interval", "0", "--persist-age", "100ms")
        lines = "".join("m,h=a v=%di %d\nm,h=b v=%di %d\n" % (i, i, -i, i) for i in range(ROWS))
        st, _, b = s.write(lines, db=DB)
        assert st == 204, b
        st, _, b = s.write("m,h=c v=1i 1\n", db="healthy")
        assert st == 204, b
        wait_metric(s, "strata_engine_chunks", lambda v: v >= 2)
        assert s.stop() == 0
        cls.data, cls.token = s.data_dir, s.token
        cls.chunk = chunks(cls.data)[0]  # the biggest: series a and b of DB
        flip(cls.chunk, 176 + 3)  # the first block after the encrypted chunk's header
        cls.s = Server("--integrity-interval", "0", data_dir=cls.data, token=cls.token)
        cls.rpc = Rpc(cls.s)
        cls.op = Admin(cls.rpc, cls.token)

    @classmethod
    def tearDownClass(cls):
        cls.rpc.close()
        assert cls.s.stop() == 0
        log = cls.s.stderr()
        for bad in ("runtime error", "AddressSanitizer", "LeakSanitizer", "level=alert"):
            assert bad not in log, log[-3000:]
        cls.s.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_1_query_fails_naming_the_block_then_skips_it(self):
        st, res, details, trailers = self.rpc.stream(
            FLIGHT + "DoGet", ticket(DB, "SELECT h, v FROM m ORDER BY h, time"),
            token=self.token)
        self.assertEqual(st, "DATA_LOSS", details)
        self.assertIn(os.path.relpath(self.chunk, self.data), details)
        self.assertIn("block at offset 176", details)
        self.assertIn("authentication tag mismatch", details)
        self.assertIn(("strata-code", "12"), trailers)
        # quarantined now: the query answers without the damaged row group
        rc, out, err = cli(self.s, "query", "-d", DB, "-f", "csv", "SELECT count(*) FROM m")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines()[1], str(2 * ROWS - 4096))
        m = metrics(self.s)
        self.assertEqual(m["strata_engine_quarantined_groups"], 1)
        self.assertEqual(m["strata_engine_quarantined_rows"], 4096)
        self.assertGreaterEqual(m["strata_engine_quarantined_chunks"], 1)

    def test_2_verify_lists_the_block(self):
        rc, out, err = cli(self.s, "verify", "-d", DB)
        self.assertEqual(rc, 12, out + err)
        rel = os.path.relpath(self.chunk, self.data)
        self.assertIn("chunk %s offset 176 (database %s): authentication tag mismatch" % (rel, DB),
                      out)
        self.assertIn("quarantined before", out)
        self.assertIn("verified %s:" % DB, err)
        self.assertIn("1 problem", err)
        rc, out, err = cli(self.s, "verify", "-d", DB, "-f", "jsonl", "-q")
        self.assertEqual(rc, 12, err)
        p = json.loads(out.splitlines()[0])
        self.assertEqual((p["kind"], p["file"], p["database"], p["offset"], p["code"],
                          p["quarantined"], p["known"]), ("chunk", rel, DB, 176, "ECORRUPT",
                                                         True, True))
        self.assertEqual(err, "")
        # a healthy database, and everything (the damage is listed again)
        rc, out, err = cli(self.s, "verify", "-d", "healthy")
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(out, "")
        self.assertIn("no problem", err)
        rc, out, err = cli(self.s, "verify")
        self.assertEqual(rc, 12, out + err)
        self.assertIn("verified everything", err)
        self.assertIn(rel, out)
        m = metrics(self.s)
        self.assertGreaterEqual(m["strata_verify_runs_total"], 4)
        self.assertGreaterEqual(m["strata_verify_problems_total"], 3)
        self.assertEqual(m["strata_maintenance_running"], 0)

    def test_3_who_may_verify(self):
        _, owner = self.op.mint("v-owner", [(DB, "o")])
        _, reader = self.op.mint("v-reader", [(DB, "r")])
        _, mgmt = self.op.mint("v-mgmt", management=True)
        for tok, args, want in ((owner, ["-d", DB], 12), (owner, [], 9),
                                (reader, ["-d", DB], 9), (mgmt, ["-d", DB], 12),
                                (mgmt, [], 9), (owner, ["-d", "healthy"], 9)):
            rc, out, err = cli(self.s, "verify", *args, token=tok)
            self.assertEqual(rc, want, "%s %s: %s" % (args, tok[:9], out + err))
        rc, _, err = cli(self.s, "verify", "-d", "nope")
        self.assertEqual(rc, 6, err)
        rc, _, err = cli(self.s, "verify", "-d", "no--pe")
        self.assertEqual(rc, 2, err)

    def test_4_audited(self):
        rc, out, err = cli(self.s, "audit", "read")
        self.assertEqual(rc, 0, err)
        events = [json.loads(line) for line in out.splitlines() if line.strip()]
        verifies = [e for e in events if (e.get("target") or "").startswith("verify:")]
        self.assertTrue(verifies, out[-2000:])
        self.assertTrue(any(e.get("target") == "verify:" + DB and "1 problems" in
                            (e.get("detail") or "") for e in verifies), verifies)


if __name__ == "__main__":
    unittest.main(verbosity=2)
