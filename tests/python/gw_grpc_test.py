"""gw_grpc_test.py: stratad's gRPC framework with python3-grpcio (Debian's, C core):
the health service, UNIMPLEMENTED for unknown methods, UNAUTHENTICATED with the
`strata-code` trailer, one connection reused with different tokens, deadlines, many
connections, and a Watch stream ended cleanly by SIGTERM."""
import os
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import grpc  # noqa: E402

from gw_harness import Server  # noqa: E402
from gw_pb import health_pb2, write_pb2  # noqa: E402

CHECK = "/grpc.health.v1.Health/Check"
WATCH = "/grpc.health.v1.Health/Watch"
WRITE = "/strata.v1.WriteService/Write"


def trailer(err, key):
    for k, v in err.trailing_metadata() or ():
        if k == key:
            return v
    return None


class GrpcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server()
        cls.ch = grpc.insecure_channel(cls.s.target)

    @classmethod
    def tearDownClass(cls):
        cls.ch.close()
        assert cls.s.stop() == 0
        cls.s.cleanup()

    def md(self, token=None):
        return (("authorization", "Bearer " + (token or self.s.token)),)

    def check(self, service=""):
        f = self.ch.unary_unary(CHECK, request_serializer=lambda m: m.SerializeToString(),
                                response_deserializer=health_pb2.HealthCheckResponse.FromString)
        return f(health_pb2.HealthCheckRequest(service=service), timeout=10)

    def test_health_check(self):
        self.assertEqual(self.check().status, health_pb2.HealthCheckResponse.SERVING)
        self.assertEqual(self.check("arrow.flight.protocol.FlightService").status,
                         health_pb2.HealthCheckResponse.SERVING)
        with self.assertRaises(grpc.RpcError) as e:
            self.check("no.such.Service")
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertEqual(trailer(e.exception, "strata-code"), "6")

    def test_health_malformed_request(self):
        f = self.ch.unary_unary(CHECK)
        with self.assertRaises(grpc.RpcError) as e:
            f(b"\xff\xff\xff", timeout=10)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_health_watch(self):
        f = self.ch.unary_stream(WATCH, request_serializer=lambda m: m.SerializeToString(),
                                 response_deserializer=health_pb2.HealthCheckResponse.FromString)
        it = f(health_pb2.HealthCheckRequest(service=""), timeout=10)
        first = next(it)
        self.assertEqual(first.status, health_pb2.HealthCheckResponse.SERVING)
        it.cancel()

    def test_unknown_method(self):
        for path in ("/no.such.Service/Method", "/arrow.flight.protocol.FlightService/Nope"):
            f = self.ch.unary_unary(path)
            with self.assertRaises(grpc.RpcError) as e:
                f(b"", timeout=10, metadata=self.md())
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED, path)

    def test_unauthenticated(self):
        f = self.ch.unary_unary(WRITE)
        req = write_pb2.WriteRequest(database="authdb", line_protocol=b"m v=1 1").SerializeToString()
        for md in ((), (("authorization", "Bearer wrong-token-" + "x" * 30),),
                   (("authorization", "bearer " + self.s.token),),
                   (("authorization", "Bearer"),),
                   (("authorisation", "Bearer " + self.s.token),)):
            with self.assertRaises(grpc.RpcError) as e:
                f(req, timeout=10, metadata=md)
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNAUTHENTICATED, md)
            self.assertEqual(trailer(e.exception, "strata-code"), "8")

    def test_one_connection_two_tokens(self):
        """Identity must not stick to a connection (grpc-c-core.md §6)."""
        f = self.ch.unary_unary(WRITE)
        req = write_pb2.WriteRequest(database="tokdb", line_protocol=b"m v=1 1").SerializeToString()
        for i in range(6):
            good = i % 2 == 0
            md = self.md() if good else self.md("not-the-token-" + "y" * 30)
            try:
                f(req, timeout=10, metadata=md)
                self.assertTrue(good)
            except grpc.RpcError as e:
                if good:
                    # the engine may be absent in a partial build; only auth matters here
                    self.assertNotEqual(e.code(), grpc.StatusCode.UNAUTHENTICATED)
                else:
                    self.assertEqual(e.code(), grpc.StatusCode.UNAUTHENTICATED)

    def write(self, **kw):
        f = self.ch.unary_unary(WRITE, request_serializer=lambda m: m.SerializeToString(),
                                response_deserializer=write_pb2.WriteResponse.FromString)
        return f(write_pb2.WriteRequest(**kw), timeout=30, metadata=self.md())

    def test_write_rpc(self):
        r = self.write(database="gwrite", line_protocol=b"m,t=a v=1i 1\nm,t=b v=2i 2")
        self.assertEqual((r.code, r.lines_accepted, r.lines_rejected), (0, 2, 0))
        r = self.write(database="gwrite", line_protocol=b"m v=1i 3\nbad line\nm v=2i 4",
                       partial=True)
        self.assertEqual(r.code, 18)  # ST_EPARTIAL
        self.assertEqual((r.lines_accepted, r.lines_rejected), (2, 1))
        self.assertEqual(r.errors[0].line, 2)
        self.assertTrue(r.errors[0].message)
        r = self.write(database="gwrite", line_protocol=b"m v=1i 5\nbad line")
        self.assertEqual(r.code, 3)  # ST_EPARSE, nothing written
        self.assertEqual(r.lines_accepted, 0)
        r = self.write(database="gwrite", line_protocol=b"m v=7i 1700000000",
                       precision=write_pb2.PRECISION_SECOND, no_sync=True)
        self.assertEqual(r.code, 0)

    def test_write_rpc_errors(self):
        for kw, code in ((dict(database="", line_protocol=b"m v=1"), grpc.StatusCode.INVALID_ARGUMENT),
                         (dict(database="bad name!", line_protocol=b"m v=1"),
                          grpc.StatusCode.INVALID_ARGUMENT)):
            with self.assertRaises(grpc.RpcError) as e:
                self.write(**kw)
            self.assertEqual(e.exception.code(), code, kw)
            self.assertEqual(trailer(e.exception, "strata-code"), "2")
        f = self.ch.unary_unary(WRITE)
        with self.assertRaises(grpc.RpcError) as e:
            f(b"\x12\xff\xff\xff", timeout=10, metadata=self.md())
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        with self.assertRaises(grpc.RpcError) as e:
            f(write_pb2.WriteRequest(database="x", precision=99).SerializeToString(), timeout=10,
              metadata=self.md())
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)

    def test_many_connections(self):
        for _ in range(100):
            ch = grpc.insecure_channel(self.s.target, options=[("grpc.use_local_subchannel_pool", 1)])
            f = ch.unary_unary(CHECK, request_serializer=lambda m: m.SerializeToString(),
                               response_deserializer=health_pb2.HealthCheckResponse.FromString)
            self.assertEqual(f(health_pb2.HealthCheckRequest(), timeout=10).status, 1)
            ch.close()

    def test_concurrent_calls(self):
        errors = []

        def run():
            try:
                for _ in range(50):
                    self.check()
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        ts = [threading.Thread(target=run) for _ in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(errors, [])


class LimitsTest(unittest.TestCase):
    def test_concurrent_query_limit_and_killed_client(self):
        """A client killed with SIGKILL in the middle of a DoGet stream: the server frees
        the query; with --max-concurrent-queries 1 a second query meanwhile is UNAVAILABLE
        only while the first one runs."""
        import subprocess
        s = Server("--max-concurrent-queries", "1")
        lines = "\n".join("big,h=h%d v=%di,pad=\"%s\" %d" % (i % 5, i, "p" * 100, i)
                           for i in range(50000))
        st, _, b = s.write(lines, db="lim")
        self.assertEqual(st, 204, b)
        child = subprocess.Popen([sys.executable, "-c", CHILD, s.target, s.token],
                                 stdout=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=":".join(sys.path)))
        self.assertEqual(child.stdout.readline().strip(), b"streaming")
        ch = grpc.insecure_channel(s.target)
        f = ch.unary_stream("/arrow.flight.protocol.FlightService/DoGet")
        t = b'{"database":"lim","sql_query":"SELECT count(*) FROM big"}'
        ticket = b"\x0a" + bytes([len(t)]) + t
        with self.assertRaises(grpc.RpcError) as e:
            list(f(ticket, timeout=10, metadata=(("authorization", "Bearer " + s.token),)))
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)
        child.kill()
        child.wait()
        ok = False
        for _ in range(100):
            try:
                list(f(ticket, timeout=10, metadata=(("authorization", "Bearer " + s.token),)))
                ok = True
                break
            except grpc.RpcError as e2:
                self.assertEqual(e2.code(), grpc.StatusCode.UNAVAILABLE)
                time.sleep(0.1)
        self.assertTrue(ok, "the killed client's query was never freed")
        ch.close()
        self.assertEqual(s.stop(), 0)
        s.cleanup()


class DeadlineTest(unittest.TestCase):
    def test_expired_deadlines_free_their_queries(self):
        s = Server()
        lines = "\n".join("dl,h=h%d v=%di %d" % (i % 7, i, i) for i in range(50000))
        self.assertEqual(s.write(lines, db="dl")[0], 204)
        ch = grpc.insecure_channel(s.target)
        f = ch.unary_stream("/arrow.flight.protocol.FlightService/DoGet")
        t = b'{"database":"dl","sql_query":"SELECT * FROM dl ORDER BY v DESC"}'
        codes = set()
        for timeout in (0.0005, 0.001, 0.002, 0.005, 0.01) * 4:
            try:
                list(f(b"\x0a" + bytes([len(t)]) + t, timeout=timeout,
                       metadata=(("authorization", "Bearer " + s.token),)))
                codes.add("OK")
            except grpc.RpcError as e:
                codes.add(e.code().name)
        self.assertIn("DEADLINE_EXCEEDED", codes)
        self.assertLessEqual(codes, {"OK", "DEADLINE_EXCEEDED"})
        for _ in range(100):
            st, _, body = s.request("GET", "/metrics", scheme="Bearer")
            if b"\nstrata_active_queries 0\n" in body:
                break
            time.sleep(0.05)
        self.assertIn(b"\nstrata_active_queries 0\n", body)
        ch.close()
        self.assertEqual(s.stop(), 0)
        s.cleanup()


CHILD = """
import sys, grpc
ch = grpc.insecure_channel(sys.argv[1])
f = ch.unary_stream("/arrow.flight.protocol.FlightService/DoGet")
t = b'{"database":"lim","sql_query":"SELECT * FROM big"}'
it = f(b"\\x0a" + bytes([len(t)]) + t, timeout=60, metadata=(("authorization", "Bearer " + sys.argv[2]),))
next(it)
print("streaming", flush=True)
import time
time.sleep(60)
"""


class ShutdownTest(unittest.TestCase):
    def test_sigterm_ends_watch_and_exits_0(self):
        s = Server()
        ch = grpc.insecure_channel(s.target)
        f = ch.unary_stream(WATCH, request_serializer=lambda m: m.SerializeToString(),
                            response_deserializer=health_pb2.HealthCheckResponse.FromString)
        it = f(health_pb2.HealthCheckRequest(), timeout=30)
        self.assertEqual(next(it).status, 1)
        t0 = time.time()
        code = s.stop()
        self.assertEqual(code, 0, s.stderr())
        self.assertLess(time.time() - t0, 10)
        rest = []
        try:
            for m in it:
                rest.append(m.status)
        except grpc.RpcError as e:
            self.assertIn(e.code(), (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED))
        ch.close()
        s.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
