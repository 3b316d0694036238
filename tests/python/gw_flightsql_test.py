"""gw_flightsql_test.py: Flight SQL against stratad with python3-grpcio (messages from
proto/*.proto compiled at test time): GetFlightInfo -> DoGet for statements, the
metadata commands, prepared statements, Handshake, ListActions, and the error statuses
(no database header, PATH descriptors, unknown commands, bad handles)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import grpc  # noqa: E402

from gw_harness import Server  # noqa: E402
from gw_pb import any_pb2, flight_pb2, flight_sql_pb2  # noqa: E402

F = "/arrow.flight.protocol.FlightService/"
SQL = "type.googleapis.com/arrow.flight.protocol.sql."


def pack(msg):
    a = any_pb2.Any()
    a.type_url = SQL + msg.DESCRIPTOR.name
    a.value = msg.SerializeToString()
    return a.SerializeToString()


class FlightSqlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()
        st, _, b = cls.s.write("cpu,host=a usage=1.5 1\ncpu,host=b usage=2.5 2\nmem,host=a free=3i 3",
                               db="fsql")
        assert st == 204, b
        cls.ch = grpc.insecure_channel(cls.s.target)

    @classmethod
    def tearDownClass(cls):
        cls.ch.close()
        assert cls.s.stop() == 0
        cls.s.cleanup()

    def md(self, db="fsql"):
        m = [("authorization", "Bearer " + self.s.token)]
        if db:
            m.append(("database", db))
        return m

    def info(self, cmd, db="fsql"):
        f = self.ch.unary_unary(F + "GetFlightInfo",
                                request_serializer=lambda m: m.SerializeToString(),
                                response_deserializer=flight_pb2.FlightInfo.FromString)
        d = flight_pb2.FlightDescriptor(type=flight_pb2.FlightDescriptor.CMD, cmd=pack(cmd))
        return f(d, metadata=self.md(db), timeout=10)

    def get(self, ticket, db="fsql"):
        f = self.ch.unary_stream(F + "DoGet", request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=flight_pb2.FlightData.FromString)
        return list(f(ticket, metadata=self.md(db), timeout=10))

    def run_cmd(self, cmd):
        fi = self.info(cmd)
        self.assertTrue(fi.schema.startswith(b"\xff\xff\xff\xff"))
        self.assertEqual(len(fi.endpoint), 1)
        self.assertEqual(len(fi.endpoint[0].location), 0)
        self.assertEqual(fi.total_records, -1)
        data = self.get(fi.endpoint[0].ticket, db=None)  # the ticket carries the database
        self.assertGreaterEqual(len(data), 1)
        for d in data:
            self.assertGreater(len(d.data_header), 0)
        return fi, data

    def test_statement_query(self):
        fi, data = self.run_cmd(flight_sql_pb2.CommandStatementQuery(
            query="SELECT host, usage FROM cpu ORDER BY host"))
        self.assertIn(b"usage", fi.schema)
        body = b"".join(d.data_body for d in data)
        self.assertIn(b"a", body)

    def test_catalogs_schemas_tables_types(self):
        _, data = self.run_cmd(flight_sql_pb2.CommandGetCatalogs())
        self.assertIn(b"public", b"".join(d.data_body for d in data))
        _, data = self.run_cmd(flight_sql_pb2.CommandGetDbSchemas())
        self.assertIn(b"iox", b"".join(d.data_body for d in data))
        _, data = self.run_cmd(flight_sql_pb2.CommandGetTables())
        body = b"".join(d.data_body for d in data)
        self.assertIn(b"cpu", body)
        self.assertIn(b"mem", body)
        self.assertIn(b"BASE TABLE", body)
        _, data = self.run_cmd(flight_sql_pb2.CommandGetTables(table_name_filter_pattern="c%"))
        body = b"".join(d.data_body for d in data)
        self.assertIn(b"cpu", body)
        self.assertNotIn(b"mem", body)
        _, data = self.run_cmd(flight_sql_pb2.CommandGetTableTypes())
        self.assertIn(b"VIEW", b"".join(d.data_body for d in data))

    def test_odbc_table_type_header(self):
        f = self.ch.unary_unary(F + "GetFlightInfo",
                                request_serializer=lambda m: m.SerializeToString(),
                                response_deserializer=flight_pb2.FlightInfo.FromString)
        d = flight_pb2.FlightDescriptor(type=flight_pb2.FlightDescriptor.CMD,
                                        cmd=pack(flight_sql_pb2.CommandGetTableTypes()))
        md = self.md() + [("x-influxdata-base-table-type", "bogus")]
        with self.assertRaises(grpc.RpcError) as e:
            f(d, metadata=md, timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_errors(self):
        with self.assertRaises(grpc.RpcError) as e:
            self.info(flight_sql_pb2.CommandStatementQuery(query="SELECT 1"), db=None)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("database", e.exception.details())
        f = self.ch.unary_unary(F + "GetFlightInfo",
                                request_serializer=lambda m: m.SerializeToString())
        with self.assertRaises(grpc.RpcError) as e:
            f(flight_pb2.FlightDescriptor(type=flight_pb2.FlightDescriptor.PATH, path=["x"]),
              metadata=self.md(), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        with self.assertRaises(grpc.RpcError) as e:
            f(flight_pb2.FlightDescriptor(type=flight_pb2.FlightDescriptor.CMD,
                                          cmd=pack(flight_sql_pb2.CommandStatementUpdate(
                                              query="DELETE FROM cpu"))),
              metadata=self.md(), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        xdbc = any_pb2.Any(type_url=SQL + "CommandGetXdbcTypeInfo", value=b"")
        with self.assertRaises(grpc.RpcError) as e:
            f(flight_pb2.FlightDescriptor(type=flight_pb2.FlightDescriptor.CMD,
                                          cmd=xdbc.SerializeToString()),
              metadata=self.md(), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        with self.assertRaises(grpc.RpcError) as e:
            self.info(flight_sql_pb2.CommandStatementQuery(query="SELEC bad"))
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        raw = self.ch.unary_unary(F + "GetFlightInfo")
        with self.assertRaises(grpc.RpcError) as e:
            raw(b"\xff\xff", metadata=self.md(), timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_get_schema(self):
        f = self.ch.unary_unary(F + "GetSchema", request_serializer=lambda m: m.SerializeToString(),
                                response_deserializer=flight_pb2.SchemaResult.FromString)
        d = flight_pb2.FlightDescriptor(type=flight_pb2.FlightDescriptor.CMD, cmd=pack(
            flight_sql_pb2.CommandStatementQuery(query="SELECT host FROM cpu")))
        r = f(d, metadata=self.md(), timeout=10)
        self.assertTrue(r.schema.startswith(b"\xff\xff\xff\xff"))
        self.assertIn(b"host", r.schema)

    def test_prepared_statement(self):
        act = self.ch.unary_stream(F + "DoAction", request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=flight_pb2.Result.FromString)
        req = flight_sql_pb2.ActionCreatePreparedStatementRequest(
            query="SELECT usage FROM cpu WHERE host = $host")
        res = list(act(flight_pb2.Action(type="CreatePreparedStatement", body=pack(req)),
                       metadata=self.md(), timeout=10))
        self.assertEqual(len(res), 1)
        a = any_pb2.Any.FromString(res[0].body)
        self.assertTrue(a.type_url.endswith("ActionCreatePreparedStatementResult"))
        r = flight_sql_pb2.ActionCreatePreparedStatementResult.FromString(a.value)
        self.assertTrue(r.dataset_schema.startswith(b"\xff\xff\xff\xff"))
        self.assertIn(b"host", r.parameter_schema)
        close = flight_sql_pb2.ActionClosePreparedStatementRequest(
            prepared_statement_handle=r.prepared_statement_handle)
        self.assertEqual(list(act(flight_pb2.Action(type="ClosePreparedStatement", body=pack(close)),
                                  metadata=self.md(), timeout=10)), [])
        with self.assertRaises(grpc.RpcError) as e:
            list(act(flight_pb2.Action(type="Frobnicate"), metadata=self.md(), timeout=10))
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_handshake_and_list_actions(self):
        hs = self.ch.stream_stream(F + "Handshake", request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=flight_pb2.HandshakeResponse.FromString)
        call = hs(iter([flight_pb2.HandshakeRequest(protocol_version=1, payload=b"ping")]),
                  metadata=[("authorization", "Bearer " + self.s.token)], timeout=10)
        out = list(call)
        self.assertEqual((out[0].protocol_version, out[0].payload), (1, b"ping"))
        hdr = dict(call.initial_metadata())
        self.assertEqual(hdr.get("authorization"), "Bearer " + self.s.token)
        la = self.ch.unary_stream(F + "ListActions", request_serializer=lambda m: m.SerializeToString(),
                                  response_deserializer=flight_pb2.ActionType.FromString)
        types = [a.type for a in la(flight_pb2.Empty(), metadata=self.md(), timeout=10)]
        self.assertEqual(types, ["CreatePreparedStatement", "ClosePreparedStatement"])

    def test_trailers(self):
        """DoGet reports the engine's share (x-strata-engine-ns); a SQL error carries its
        code (strata-code) and its byte offset in the SQL text (strata-error-offset)."""
        f = self.ch.unary_stream(F + "DoGet", request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=flight_pb2.FlightData.FromString)
        t = flight_pb2.Ticket(ticket=b'{"database":"fsql","sql_query":"SELECT host FROM cpu"}')
        call = f(t, metadata=self.md(None), timeout=10)
        self.assertGreater(len(list(call)), 0)
        tm = dict(call.trailing_metadata())
        self.assertGreaterEqual(int(tm["x-strata-engine-ns"]), 0)
        t = flight_pb2.Ticket(ticket=b'{"database":"fsql","sql_query":"SELECT nope FROM cpu"}')
        with self.assertRaises(grpc.RpcError) as e:
            list(f(t, metadata=self.md(None), timeout=10))
        tm = dict(e.exception.trailing_metadata())
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(tm["strata-code"], "4")  # ST_EBIND
        self.assertEqual(tm["strata-error-offset"], "7")

    def test_unimplemented_rpcs(self):
        for m in ("ListFlights", "PollFlightInfo", "DoExchange"):
            f = self.ch.unary_unary(F + m)
            with self.assertRaises(grpc.RpcError) as e:
                f(b"", metadata=self.md(), timeout=10)
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED, m)


if __name__ == "__main__":
    unittest.main(verbosity=2)
