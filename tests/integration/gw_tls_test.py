"""gw_tls_test.py: stratad with --tls-cert/--tls-key, checked from outside.

A throwaway CA and server certificate are generated with openssl. Then:
  - TLS 1.0 and 1.1 are refused on both routes (no ALPN, ALPN h2, ALPN http/1.1), with the
    client lowered to SECLEVEL=0 so that a refusal means the server refused; a positive
    control (openssl s_server -tls1 with SECLEVEL=0) proves the same client command can
    complete a TLS 1.0 handshake on this machine;
  - TLS 1.2 and 1.3 are accepted, and ALPN is echoed as offered;
  - ALPN routing: h2 only -> gRPC (python grpcio over TLS), http/1.1 or none -> HTTPS/1.1;
  - plaintext on the TLS port is closed; a TLS 1.2 weak cipher is refused;
  - with --tls-client-ca (mTLS): no client certificate or a rogue one is refused on both
    routes; a certificate from the CA works.
"""
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from gw_harness import Server  # noqa: E402

try:
    import grpc  # Debian's python3-grpcio
except ImportError:  # pragma: no cover
    grpc = None


def sh(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, errors="replace", **kw)


def make_pki(d):
    def run(*a):
        r = sh(*a, cwd=d)
        assert r.returncode == 0, r.stderr
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
        "ca.pem", "-days", "2", "-subj", "/CN=strata-test-ca")
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name, cn in (("srv", "localhost"), ("cli", "strata-test-client")):
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out",
            name + ".csr", "-subj", "/CN=" + cn)
        run("openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", name + ".pem", "-days", "2", "-extfile", "ext.cnf")
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rogue.key",
        "-out", "rogue.pem", "-days", "2", "-subj", "/CN=rogue")


def s_client(port, *args):
    """Run openssl s_client; return (handshake_ok, output)."""
    r = sh("timeout", "10", "openssl", "s_client", "-connect", "127.0.0.1:%d" % port, *args,
           input="")
    out = r.stdout + r.stderr
    ok = "Cipher is (NONE)" not in out and ("New, TLSv1" in out)
    return ok, out


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="gw-pki-")
        make_pki(cls.pki)
        p = lambda n: os.path.join(cls.pki, n)  # noqa: E731
        cls.p = staticmethod(p)
        cls.s = Server("--tls-cert", p("srv.pem"), "--tls-key", p("srv.key"), tls=True)

    @classmethod
    def tearDownClass(cls):
        assert cls.s.stop() == 0, cls.s.stderr()
        cls.s.cleanup()
        shutil.rmtree(cls.pki, ignore_errors=True)

    def test_positive_control_tls1_is_possible_on_this_machine(self):
        port = socket.socket()
        port.bind(("127.0.0.1", 0))
        n = port.getsockname()[1]
        port.close()
        srv = subprocess.Popen(["openssl", "s_server", "-accept", str(n), "-tls1", "-cipher",
                                "DEFAULT:@SECLEVEL=0", "-cert", self.p("srv.pem"), "-key",
                                self.p("srv.key")], stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            ok, out = s_client(n, "-tls1", "-cipher", "DEFAULT:@SECLEVEL=0")
            self.assertTrue(ok, out)
            self.assertIn("TLSv1", out)
        finally:
            srv.kill()
            srv.wait()

    def test_old_versions_refused_on_both_routes(self):
        for v in ("-tls1", "-tls1_1"):
            for alpn in ((), ("-alpn", "h2"), ("-alpn", "http/1.1")):
                ok, out = s_client(self.s.port, v, "-cipher", "DEFAULT:@SECLEVEL=0", *alpn)
                self.assertFalse(ok, (v, alpn, out[-400:]))

    def test_tls12_and_13_accepted_with_alpn(self):
        for v in ("-tls1_2", "-tls1_3"):
            for alpn, want in (((), "No ALPN negotiated"), (("-alpn", "h2"), "ALPN protocol: h2"),
                               (("-alpn", "http/1.1"), "ALPN protocol: http/1.1")):
                ok, out = s_client(self.s.port, v, *alpn)
                self.assertTrue(ok, (v, alpn, out[-400:]))
                self.assertIn(want, out)

    def test_weak_tls12_ciphers_refused(self):
        for c in ("AES256-GCM-SHA384", "ECDHE-RSA-AES256-SHA384"):
            for alpn in (("-alpn", "h2"), ("-alpn", "http/1.1")):
                ok, out = s_client(self.s.port, "-tls1_2", "-cipher", c, *alpn)
                self.assertFalse(ok, (c, alpn))

    def test_https_routes(self):
        ctx = ssl.create_default_context(cafile=self.p("ca.pem"))
        for alpn in (None, ["http/1.1"], ["h2", "http/1.1"]):
            if alpn:
                ctx.set_alpn_protocols(alpn)
            import http.client
            c = http.client.HTTPSConnection("localhost", self.s.port, context=ctx, timeout=10)
            c.request("GET", "/health")
            r = c.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"OK"), alpn)
            c.close()
        # a write over HTTPS
        c = http.client.HTTPSConnection("localhost", self.s.port, context=ctx, timeout=10)
        c.request("POST", "/api/v3/write_lp?db=tlsdb", body=b"m v=1 1",
                  headers={"Authorization": "Bearer " + self.s.token})
        r = c.getresponse()
        r.read()
        self.assertEqual(r.status, 204)

    def test_grpc_over_tls(self):
        if grpc is None:
            self.skipTest("python3-grpcio missing")
        with open(self.p("ca.pem"), "rb") as f:
            creds = grpc.ssl_channel_credentials(f.read())
        ch = grpc.secure_channel("localhost:%d" % self.s.port, creds)
        f = ch.unary_unary("/grpc.health.v1.Health/Check")
        self.assertEqual(f(b"", timeout=10), b"\x08\x01")
        ch.close()

    def test_plaintext_refused(self):
        for first in (b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
                      b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"):
            c = socket.create_connection(("127.0.0.1", self.s.port), timeout=5)
            c.sendall(first)
            try:
                self.assertEqual(c.recv(100), b"")
            except ConnectionResetError:
                pass
            c.close()


class MtlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="gw-pki-")
        make_pki(cls.pki)
        p = lambda n: os.path.join(cls.pki, n)  # noqa: E731
        cls.p = staticmethod(p)
        cls.s = Server("--tls-cert", p("srv.pem"), "--tls-key", p("srv.key"), "--tls-client-ca",
                       p("ca.pem"), tls=True)

    @classmethod
    def tearDownClass(cls):
        assert cls.s.stop() == 0, cls.s.stderr()
        cls.s.cleanup()
        shutil.rmtree(cls.pki, ignore_errors=True)

    def https_status(self, cert=None):
        import http.client
        ctx = ssl.create_default_context(cafile=self.p("ca.pem"))
        if cert:
            ctx.load_cert_chain(self.p(cert + ".pem"), self.p(cert + ".key"))
        try:
            c = http.client.HTTPSConnection("localhost", self.s.port, context=ctx, timeout=10)
            c.request("GET", "/health")
            r = c.getresponse()
            r.read()
            return r.status
        except (ssl.SSLError, ConnectionError, OSError):
            return None

    def test_https_needs_client_certificate(self):
        self.assertIn(self.https_status(), (None, 403))
        self.assertIn(self.https_status("rogue"), (None, 403))
        self.assertEqual(self.https_status("cli"), 200)

    def test_grpc_needs_client_certificate(self):
        if grpc is None:
            self.skipTest("python3-grpcio missing")
        with open(self.p("ca.pem"), "rb") as f:
            ca = f.read()

        def call(cert):
            kw = {}
            if cert:
                kw = dict(private_key=open(self.p(cert + ".key"), "rb").read(),
                          certificate_chain=open(self.p(cert + ".pem"), "rb").read())
            ch = grpc.secure_channel("localhost:%d" % self.s.port,
                                     grpc.ssl_channel_credentials(ca, **kw),
                                     options=[("grpc.use_local_subchannel_pool", 1)])
            try:
                return ch.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=5)
            except grpc.RpcError as e:
                return e.code()
            finally:
                ch.close()
        self.assertEqual(call("cli"), b"\x08\x01")
        self.assertEqual(call(None), grpc.StatusCode.UNAVAILABLE)
        self.assertEqual(call("rogue"), grpc.StatusCode.UNAVAILABLE)


if __name__ == "__main__":
    unittest.main(verbosity=2)
