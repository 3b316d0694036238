"""dp_update_test.py: deleting rows through the server (Flight SQL CommandStatementUpdate
through DoPut, docs/api.md "Updates"), the way ADBC/JDBC clients run executeUpdate.

- a DELETE answers one PutResult whose app_metadata is DoPutUpdateResult{record_count};
  the rows are gone for later queries and after a restart;
- it needs the write privilege on the `database` header's database: a write-only token may
  delete, a read-only token gets PERMISSION_DENIED, a database the caller has no role on
  looks exactly like a missing one, the operator gets NOT_FOUND for a missing database;
- refused: a statement that is not DELETE (a query sent as an update), a SQL error (with
  the offset trailer), no database header, a transaction id, data after the command;
- DoPut for prepared-statement parameters still works beside it;
- every update is audited with the normalised statement (no literal) and its row count;
- `strata query "DELETE ..."` goes the same way and prints rows_deleted.
"""
import json
import os
import shutil
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dp_harness import Server, cli  # noqa: E402
from sec_harness import (FLIGHT, Admin, Rpc, descriptor, flight_pb2, flight_sql_pb2,  # noqa: E402
                         flightsql)

DB = "upd"
SECRET = "literal-8c1d0e"


def update(rpc, sql, token, db=DB, txn=None, extra=()):
    cmd = flight_sql_pb2.CommandStatementUpdate(query=sql)
    if txn is not None:
        cmd.transaction_id = txn
    msgs = [flight_pb2.FlightData(flight_descriptor=descriptor(cmd))] + list(extra)
    st, res, details, trailers = rpc.bidi(FLIGHT + "DoPut", msgs, flight_pb2.PutResult,
                                          token=token, db=db)
    count = None
    if st == "OK":
        assert len(res) == 1, res
        count = flight_sql_pb2.DoPutUpdateResult.FromString(res[0].app_metadata).record_count
    return st, count, details, dict(trailers)


class Update(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("--integrity-interval", "0")
        cls.rpc = Rpc(cls.s)
        cls.op = Admin(cls.rpc, cls.s.token)
        lines = "".join("m,host=h%d,dc=%s v=%di %d\n" % (i % 4, "x" if i % 2 else "y", i, i)
                        for i in range(1, 101))
        st, _, b = cls.s.write(lines + "n,host=%s v=1i 1\n" % SECRET, db=DB,
                               precision="nanosecond")
        assert st == 204, b
        cls.op.create_db("other")
        _, cls.writer = cls.op.mint("writer", [(DB, "w")])
        _, cls.reader = cls.op.mint("reader", [(DB, "r")])

    @classmethod
    def tearDownClass(cls):
        cls.rpc.close()
        assert cls.s.stop() == 0
        log = cls.s.stderr()
        for bad in ("runtime error", "AddressSanitizer", "LeakSanitizer", "level=alert"):
            assert bad not in log, log[-3000:]
        cls.s.cleanup()

    def count(self, where="true"):
        rc, out, err = cli(self.s, "query", "-d", DB, "-f", "csv",
                           "SELECT count(*) FROM m WHERE %s" % where)
        self.assertEqual(rc, 0, err)
        return int(out.splitlines()[1])

    def test_delete_counts_and_persists(self):
        before = self.count()
        st, n, d, _ = update(self.rpc, "DELETE FROM m WHERE host = 'h1' AND time < 50",
                             self.s.token)
        self.assertEqual(st, "OK", d)
        self.assertEqual(n, 13)  # h1: 1, 5, ..., 49
        self.assertEqual(self.count(), before - 13)
        self.assertEqual(self.count("host = 'h1' AND time < 50"), 0)
        # a write-only token may delete (it cannot read: the count comes from the result)
        st, n, d, _ = update(self.rpc, "delete from m where dc in ('x') and host = 'h3'",
                             self.writer)
        self.assertEqual(st, "OK", d)
        self.assertEqual(n, 25)
        # the CLI sends DELETE as an update
        rc, out, err = cli(self.s, "query", "-d", DB, "-f", "csv",
                           "/* leading comment */ DELETE FROM n WHERE host = '%s'" % SECRET)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines(), ["rows_deleted", "1"])
        rc, out, err = cli(self.s, "query", "-d", DB, "-p", "x=1", "DELETE FROM n")
        self.assertEqual(rc, 2, err)
        # gone after a restart too
        remaining = self.count()
        data, token = self.s.data_dir, self.s.token
        self.rpc.close()
        self.assertEqual(self.s.stop(), 0)
        type(self).s = Server("--integrity-interval", "0", data_dir=data, token=token)
        type(self).rpc = Rpc(self.s)
        self.assertEqual(self.count(), remaining)
        # audited: normalised SQL, no literal
        rc, out, err = cli(self.s, "audit", "read")
        self.assertEqual(rc, 0, err)
        ups = [json.loads(x) for x in out.splitlines() if '"DELETE' in x or '"delete' in x]
        self.assertGreaterEqual(len(ups), 3, out[-2000:])
        self.assertTrue(all(e["category"] == "write" and e["method"].endswith("/DoPut")
                            for e in ups), ups)
        self.assertIn(13, [e.get("rows") for e in ups])
        self.assertNotIn(SECRET, out)
        self.assertNotIn("'h1'", out)

    def test_privileges(self):
        st, _, d, _ = update(self.rpc, "DELETE FROM m WHERE time < 0", self.reader)
        self.assertEqual(st, "PERMISSION_DENIED", d)
        st, _, d, _ = update(self.rpc, "DELETE FROM m WHERE time < 0", self.writer, db="other")
        self.assertEqual(st, "PERMISSION_DENIED", d)
        st, _, d2, _ = update(self.rpc, "DELETE FROM m WHERE time < 0", self.writer, db="nope")
        self.assertEqual((st, d2), ("PERMISSION_DENIED", d))  # the same answer
        st, _, d, _ = update(self.rpc, "DELETE FROM m WHERE time < 0", self.s.token, db="nope")
        self.assertEqual(st, "NOT_FOUND", d)
        st, _, d, _ = update(self.rpc, "DELETE FROM m WHERE time < 0", None)
        self.assertEqual(st, "UNAUTHENTICATED", d)

    def test_refusals(self):
        t = self.s.token
        st, _, d, tr = update(self.rpc, "  SELECT * FROM m", t)
        self.assertEqual(st, "INVALID_ARGUMENT", d)
        self.assertIn("only DELETE statements run as updates", d)
        self.assertEqual(tr.get("strata-error-offset"), "2")
        st, _, d, tr = update(self.rpc, "DELETE FROM m WHERE nosuch = 'a'", t)
        self.assertEqual(st, "INVALID_ARGUMENT", d)
        self.assertIn("nosuch", d)
        self.assertEqual(tr.get("strata-error-offset"), "20")
        st, _, d, _ = update(self.rpc, "DELETE FROM m WHERE v > 3", t)
        self.assertEqual(st, "UNIMPLEMENTED", d)  # the engine deletes by time and tags only
        st, _, d, _ = update(self.rpc, "DELETE FROM m", t, db=None)
        self.assertEqual(st, "INVALID_ARGUMENT", d)
        self.assertIn("no 'database' header", d)
        st, _, d, _ = update(self.rpc, "DELETE FROM m WHERE time < 0", t, txn=b"t1")
        self.assertEqual(st, "UNIMPLEMENTED", d)
        st, _, d, _ = update(self.rpc, "", t)
        self.assertEqual(st, "INVALID_ARGUMENT", d)
        st, _, d, _ = update(self.rpc, "DELETE FROM m WHERE time < 0\x00; DROP", t)
        self.assertEqual(st, "INVALID_ARGUMENT", d)
        self.assertIn("NUL", d)
        big = flight_pb2.FlightData(data_body=b"x" * (600 << 10))
        st, _, d, _ = update(self.rpc, "DELETE FROM m WHERE time < 0", t, extra=[big, big])
        self.assertEqual(st, "INVALID_ARGUMENT", d)
        self.assertIn("takes no data", d)
        st, n, d, _ = update(self.rpc, "DELETE FROM m WHERE time < 0", t,
                             extra=[flight_pb2.FlightData()])
        self.assertEqual((st, n), ("OK", 0), d)

    def test_prepared_statement_put_still_works(self):
        st, res, d, _ = self.rpc.stream(FLIGHT + "DoAction", flight_pb2.Action(
            type="CreatePreparedStatement",
            body=flightsql(flight_sql_pb2.ActionCreatePreparedStatementRequest(
                query="SELECT count(*) FROM m"))), flight_pb2.Result, token=self.s.token, db=DB)
        self.assertEqual(st, "OK", d)
        from google.protobuf import any_pb2
        h = flight_sql_pb2.ActionCreatePreparedStatementResult.FromString(
            any_pb2.Any.FromString(res[0].body).value).prepared_statement_handle
        fd = flight_pb2.FlightData(flight_descriptor=descriptor(
            flight_sql_pb2.CommandPreparedStatementQuery(prepared_statement_handle=h)))
        st, res, d, _ = self.rpc.bidi(FLIGHT + "DoPut", [fd], flight_pb2.PutResult,
                                      token=self.s.token, db=DB)
        self.assertEqual(st, "OK", d)
        self.assertEqual(len(res), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
