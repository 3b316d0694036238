"""gw_conn_test.py: the acceptor of stratad under hostile and odd connections: garbage on
the port, half-sent HTTP/2 prefaces, silent and stalled clients, dribbled requests, the
pending-connection cap, and the fd count returning to its start after thousands of mixed
connections."""
import http.client
import socket
import threading
import time
import unittest

from gw_harness import Server

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# An HTTP/2 SETTINGS frame (empty) after the preface.
SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def closed_within(sock, seconds):
    """True if the peer closes (EOF or reset) within `seconds`."""
    sock.settimeout(seconds)
    end = time.time() + seconds
    try:
        while time.time() < end:
            d = sock.recv(65536)
            if not d:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return False


class ConnTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("--peek-timeout", "1s", "--max-pending-connections", "300",
                       "--http-timeout", "2s", "--grpc-idle-timeout", "2s")

    @classmethod
    def tearDownClass(cls):
        assert cls.s.stop() == 0
        cls.s.cleanup()

    def health(self):
        st, _, body = self.s.request("GET", "/health", token=None, timeout=5)
        self.assertEqual((st, body), (200, b"OK"))

    def test_garbage_is_answered_or_closed(self):
        for junk in (b"\x00\x01\x02\x03\r\n\r\n", b"hello\r\n\r\n", bytes(range(256)) * 4,
                     b"GET / HTTP/9.9\r\n\r\n", b"\x16\x03\x01\x00\x05hello"):
            c = socket.create_connection(("127.0.0.1", self.s.port))
            c.sendall(junk)
            c.shutdown(socket.SHUT_WR)
            self.assertTrue(closed_within(c, 5), junk[:20])
            c.close()
        self.health()

    def test_half_preface_then_close_is_closed_at_once(self):
        c = socket.create_connection(("127.0.0.1", self.s.port))
        c.sendall(PREFACE[:8])
        c.shutdown(socket.SHUT_WR)
        t0 = time.time()
        self.assertTrue(closed_within(c, 3))
        self.assertLess(time.time() - t0, 0.9)  # not held until the 1 s peek deadline
        c.close()

    def test_silent_connection_times_out(self):
        c = socket.create_connection(("127.0.0.1", self.s.port))
        t0 = time.time()
        self.assertTrue(closed_within(c, 5))
        self.assertGreater(time.time() - t0, 0.8)
        c.close()

    def test_dribble_does_not_extend_the_deadline(self):
        c = socket.create_connection(("127.0.0.1", self.s.port))
        t0 = time.time()
        closed = False
        for ch in PREFACE[:20]:
            try:
                c.send(bytes([ch]))
            except OSError:
                closed = True
                break
            time.sleep(0.15)
            if time.time() - t0 > 4:
                break
        if not closed:
            closed = closed_within(c, 3)
        self.assertTrue(closed)
        self.assertLess(time.time() - t0, 3.5)
        c.close()

    def test_dribbled_http_request_works(self):
        c = socket.create_connection(("127.0.0.1", self.s.port))
        req = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        for i in range(0, len(req), 4):
            c.sendall(req[i:i + 4])
            time.sleep(0.01)
        data = b""
        c.settimeout(5)
        while True:
            d = c.recv(4096)
            if not d:
                break
            data += d
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:40])
        c.close()

    def test_stalled_connections_do_not_block_others(self):
        stalled = [socket.create_connection(("127.0.0.1", self.s.port)) for _ in range(100)]
        for i, c in enumerate(stalled):
            if i % 2:
                c.sendall(PREFACE[:5])
        t0 = time.time()
        for _ in range(20):
            self.health()
        self.assertLess(time.time() - t0, 5)
        for c in stalled:
            c.close()

    def test_grpc_preface_then_silence_is_closed_by_idle_timeout(self):
        c = socket.create_connection(("127.0.0.1", self.s.port))
        c.sendall(PREFACE + SETTINGS)
        self.assertTrue(closed_within(c, 15))
        c.close()

    def test_pending_cap(self):
        conns = [socket.create_connection(("127.0.0.1", self.s.port)) for _ in range(320)]
        time.sleep(0.3)
        # the ones beyond the cap were closed at accept
        n_closed = 0
        for c in conns:
            c.setblocking(False)
            try:
                if c.recv(1) == b"":
                    n_closed += 1
            except BlockingIOError:
                pass
            except ConnectionResetError:
                n_closed += 1
        for c in conns:
            c.close()
        self.assertGreater(n_closed, 0)
        time.sleep(1.5)
        self.health()

    def test_fd_count_returns_to_start(self):
        time.sleep(2.5)  # let earlier tests' connections expire
        start = self.s.fd_count()
        port = self.s.port
        stop = time.time() + 60

        def http_loop(n):
            for _ in range(n):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request("GET", "/health")
                c.getresponse().read()
                c.close()

        def grpc_loop(n):
            for _ in range(n):
                c = socket.create_connection(("127.0.0.1", port))
                c.sendall(PREFACE + SETTINGS)
                c.recv(100)  # the server's SETTINGS
                c.close()

        def odd_loop(n):
            for i in range(n):
                c = socket.create_connection(("127.0.0.1", port))
                k = i % 4
                if k == 1:
                    c.sendall(b"\x00garbage\r\n\r\n")
                elif k == 2:
                    c.sendall(PREFACE[:10])
                    c.shutdown(socket.SHUT_WR)
                elif k == 3:
                    c.sendall(b"POST /api/v2/write HTTP/1.1\r\nContent-Length: 10\r\n\r\nab")
                c.close()

        threads = [threading.Thread(target=f, args=(n,)) for f, n in
                   ((http_loop, 800), (grpc_loop, 800), (odd_loop, 1200), (http_loop, 800))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertLess(time.time(), stop)
        # Server-side closes are asynchronous (MHD timeouts 2 s, gRPC idle 2 s).
        end = time.time() + 20
        n = self.s.fd_count()
        while n > start and time.time() < end:
            time.sleep(0.25)
            n = self.s.fd_count()
        self.assertLessEqual(n, start, "fds: %d at start, %d after" % (start, n))
        self.health()


if __name__ == "__main__":
    unittest.main(verbosity=2)
