"""gw_shutdown_test.py: SIGTERM and SIGINT end stratad cleanly (exit 0) and lose nothing
that was acknowledged: writers keep posting batches of unique points while the signal
arrives; after a restart on the same data directory, every acknowledged row is there
(counted through Flight DoGet). Also: a second server on a taken port fails at start
with a message naming --listen, and bad configuration fails naming the setting."""
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import grpc  # noqa: E402

from gw_harness import Server, stratad_path  # noqa: E402
from gw_pb import flight_pb2  # noqa: E402


def count_rows(s, db, table):
    """SELECT count(*) through DoGet; the single Int64 value is the first 8 body bytes
    (one non-null column: no validity buffer)."""
    ch = grpc.insecure_channel(s.target)
    f = ch.unary_stream("/arrow.flight.protocol.FlightService/DoGet",
                        request_serializer=lambda m: m.SerializeToString(),
                        response_deserializer=flight_pb2.FlightData.FromString)
    t = ('{"database":"%s","sql_query":"SELECT count(*) AS n FROM %s","query_type":"sql"}'
         % (db, table))
    msgs = list(f(flight_pb2.Ticket(ticket=t.encode()), timeout=30,
                  metadata=[("authorization", "Bearer " + s.token)]))
    ch.close()
    bodies = [m.data_body for m in msgs if m.data_body]
    assert len(bodies) == 1, len(bodies)
    return int.from_bytes(bodies[0][:8], "little", signed=True)


class ShutdownTest(unittest.TestCase):
    def load_then_signal(self, sig):
        s = Server()
        acked = [0] * 4
        sent = [0] * 4
        stop = threading.Event()

        def writer(w):
            seq = 0
            while not stop.is_set():
                lines = "\n".join("load,w=%d v=%di %d" % (w, seq * 100 + i, 1_700_000_000_000_000_000
                                                           + w * 10**12 + seq * 100 + i)
                                  for i in range(100))
                sent[w] += 100
                try:
                    st, _, _ = s.write(lines, db="load", api="v2")
                except (OSError, ConnectionError):
                    break
                if st == 204:
                    acked[w] += 100
                elif st >= 500:
                    break
                seq += 1

        ts = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in ts:
            t.start()
        time.sleep(1.0)
        t0 = time.time()
        code = s.stop(sig)
        stop.set()
        for t in ts:
            t.join()
        self.assertEqual(code, 0, s.stderr())
        self.assertLess(time.time() - t0, 15)
        self.assertGreater(sum(acked), 0)
        s2 = Server(data_dir=s.data_dir, token=s.token)
        n = count_rows(s2, "load", "load")
        self.assertGreaterEqual(n, sum(acked), "acknowledged rows lost")
        self.assertLessEqual(n, sum(sent))
        self.assertEqual(s2.stop(), 0)
        s2.cleanup()
        s.cleanup()

    def test_sigterm_under_write_load(self):
        self.load_then_signal(signal.SIGTERM)

    def test_sigint_under_write_load(self):
        self.load_then_signal(signal.SIGINT)

    def test_sigterm_with_streams_in_flight_repeated(self):
        """SIGTERM while DoGet streams are held open by slow readers, a Watch is open and a
        connection sits half-classified: exit 0 within the grace period, five times (the
        shutdown order of grpc-c-core.md §4.8; run under ASan in the sanitizer tree)."""
        import socket
        data = None
        servers = []
        for round_ in range(5):
            s = Server("--shutdown-grace", "1s", data_dir=data)
            servers.append(s)
            data = s.data_dir
            if round_ == 0:
                lines = "\n".join("st,h=h%d v=%di,pad=\"%s\" %d" % (i % 4, i, "q" * 120, i)
                                   for i in range(40000))
                st, _, b = s.write(lines, db="sd")
                self.assertEqual(st, 204, b)
            chans, iters = [], []
            for _ in range(3):
                ch = grpc.insecure_channel(s.target, options=[("grpc.use_local_subchannel_pool", 1)])
                f = ch.unary_stream("/arrow.flight.protocol.FlightService/DoGet")
                t = b'{"database":"sd","sql_query":"SELECT * FROM st"}'
                it = f(b"\x0a" + bytes([len(t)]) + t, timeout=60,
                       metadata=(("authorization", "Bearer " + s.token),))
                next(it)  # one message, then stop reading
                chans.append(ch)
                iters.append(it)
            w = grpc.insecure_channel(s.target).unary_stream("/grpc.health.v1.Health/Watch")(
                b"", timeout=60)
            next(w)
            half = socket.create_connection(("127.0.0.1", s.port))
            half.sendall(b"PRI * HT")
            t0 = time.time()
            code = s.stop()
            self.assertEqual(code, 0, s.stderr())
            self.assertLess(time.time() - t0, 10)
            for it in iters:
                it.cancel()
            for ch in chans:
                ch.close()
            half.close()
        for s in servers:
            s.cleanup()

    def test_port_taken(self):
        s = Server()
        r = subprocess.run([stratad_path(), "--data-dir", s.tmp + "/other", "--listen",
                            "127.0.0.1:%d" % s.port], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)  # an error exit, not a crash
        self.assertIn("--listen", r.stderr)
        self.assertIn("Address already in use", r.stderr)
        # the port is checked first: the failed start wrote nothing
        self.assertFalse(os.path.exists(s.tmp + "/other"))
        self.assertEqual(s.stop(), 0)
        s.cleanup()

    def test_bad_configuration_names_the_setting(self):
        cases = [(["--listen", "nonsense"], "--listen"),
                 (["--max-request-size", "lots"], "--max-request-size"),
                 (["--query-timeout", "soon"], "--query-timeout"),
                 (["--log-level", "loud"], "--log-level"),
                 (["--tls-cert", "/nonexistent.pem"], "--tls-"),
                 (["--bogus"], "--bogus"),
                 (["--grpc-workers", "0"], "--grpc-workers")]
        for args, frag in cases:
            r = subprocess.run([stratad_path(), "--data-dir", "/tmp/gw-never"] + args,
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 1, args)
            self.assertIn(frag, r.stderr, args)
        r = subprocess.run([stratad_path(), "--data-dir", "/tmp/gw-never"],
                           env=dict(os.environ, STRATA_MAX_CONNECTIONS="-3"),
                           capture_output=True, text=True, timeout=30)
        self.assertIn("STRATA_MAX_CONNECTIONS", r.stderr)
        r = subprocess.run([stratad_path(), "--help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0)
        for flag in ("--data-dir", "--listen", "--port-file", "--admin-token-file", "--tls-cert",
                     "--tls-key", "--tls-client-ca", "--max-request-size", "STRATA_LISTEN"):
            self.assertIn(flag, r.stdout)

    def test_token_file_rules(self):
        s = Server(token="short", wait=False)
        with self.assertRaises(RuntimeError) as e:
            s.wait_ready(5)
        self.assertIn("32..256", str(e.exception))
        good = "provisioned-token-" + "k" * 30
        s = Server(token=good)
        self.assertEqual(s.token, good)
        st, _, _ = s.request("GET", "/metrics", scheme="Bearer")
        self.assertEqual(st, 200)
        s.stop()
        s.cleanup()
        s = Server()
        self.assertEqual(os.stat(s.token_file).st_mode & 0o777, 0o600)
        self.assertIn(s.token, s.stdout())  # printed once at generation
        s.stop()
        s.cleanup()

    def test_config_file(self):
        import json
        import tempfile
        d = tempfile.mkdtemp()
        cfg = os.path.join(d, "c.json")
        with open(cfg, "w") as f:
            json.dump({"max-request-size": "2KiB", "log-level": "warn"}, f)
        s = Server("--config", cfg)
        st, _, _ = s.write("m v=1\n" * 1000, db="cfg")
        self.assertEqual(st, 413)
        s.stop()
        s.cleanup()
        with open(cfg, "w") as f:
            f.write('{"max-request-size": "2KiB", "nope": 1}')
        r = subprocess.run([stratad_path(), "--config", cfg, "--data-dir", d + "/x"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn('"nope"', r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
