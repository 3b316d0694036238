"""gw_curl_test.py: every HTTP write endpoint and every HTTP status stratad documents,
exercised with the real curl binary (its own framing: Expect: 100-continue on large
bodies, chunked uploads from stdin, --compressed bodies, Basic auth with -u)."""
import gzip
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from gw_harness import Server


def curl(*args, data=None):
    """Run curl; return (status, body)."""
    r = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_code}", *args],
                       input=data, capture_output=True, timeout=60)
    out = r.stdout
    body, _, code = out.rpartition(b"\n")
    return int(code or 0), body


@unittest.skipUnless(shutil.which("curl"), "curl not installed")
class CurlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("--max-request-size", "1MiB")
        cls.tmp = tempfile.mkdtemp()

    @classmethod
    def tearDownClass(cls):
        assert cls.s.stop() == 0
        cls.s.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def url(self, path):
        return self.s.url + path

    def auth(self, scheme="Token"):
        return ["-H", "Authorization: %s %s" % (scheme, self.s.token)]

    def test_write_endpoints(self):
        for path in ("/api/v2/write?bucket=c1&precision=s", "/api/v3/write_lp?db=c1",
                     "/write?db=c1&precision=ms"):
            st, b = curl(*self.auth(), "--data-binary", "@-", self.url(path), data=b"cm v=1 1")
            self.assertEqual(st, 204, (path, b))
        st, b = curl("-u", "anyone:" + self.s.token, "--data-binary", "@-",
                     self.url("/write?db=c1"), data=b"cm v=2 2")
        self.assertEqual(st, 204, b)
        st, b = curl("--data-binary", "@-", self.url("/write?db=c1&u=x&p=" + self.s.token),
                     data=b"cm v=3 3")
        self.assertEqual(st, 204, b)

    def test_gzip_and_chunked(self):
        body = "\n".join("cz,h=h%d v=%d %d" % (i % 9, i, i) for i in range(5000)).encode()
        path = os.path.join(self.tmp, "b.gz")
        with open(path, "wb") as f:
            f.write(gzip.compress(body))
        st, b = curl(*self.auth(), "-H", "Content-Encoding: gzip", "--data-binary", "@" + path,
                     self.url("/api/v2/write?bucket=c2"))
        self.assertEqual(st, 204, b)
        st, b = curl(*self.auth(), "-H", "Transfer-Encoding: chunked", "--data-binary", "@-",
                     self.url("/api/v3/write_lp?db=c2"), data=body)
        self.assertEqual(st, 204, b)

    def test_status_codes(self):
        cases = [
            (["--data-binary", "x"], "/api/v2/write?bucket=c3", 401),
            (self.auth() + ["--data-binary", "x"], "/api/v2/write", 400),
            (["-H", "Authorization: bearer nope", "--data-binary", "x"],
             "/api/v2/write?bucket=c3", 400),
            (self.auth() + ["--data-binary", "cpu,host=a"], "/api/v2/write?bucket=c3", 400),
            (self.auth() + ["--data-binary", "ok v=1 1\ncpu,host=a"],
             "/api/v3/write_lp?db=c3", 400),
            (self.auth() + ["-H", "Content-Encoding: br", "--data-binary", "x"],
             "/api/v3/write_lp?db=c3", 400),
            (self.auth(), "/nope", 404),
            (self.auth(), "/api/v2/write?bucket=c3", 405),
            ([], "/metrics", 401),
            (self.auth("Bearer"), "/metrics", 200),
            ([], "/health", 200),
            ([], "/ping", 200),
            (["-X", "OPTIONS"], "/api/v2/write", 204),
        ]
        for args, path, want in cases:
            st, b = curl(*args, self.url(path))
            self.assertEqual(st, want, (args, path, b[:200]))

    def test_413_with_expect_100_continue(self):
        big = b"m v=1\n" * 300000  # 1.8 MB: curl sends Expect: 100-continue
        st, b = curl(*self.auth(), "--data-binary", "@-", self.url("/api/v2/write?bucket=c4"),
                     data=big)
        self.assertEqual(st, 413)
        self.assertEqual(json.loads(b)["code"], "request too large")
        st, b = curl(*self.auth(), "-H", "Expect:", "--data-binary", "@-",
                     self.url("/api/v3/write_lp?db=c4"), data=big)
        self.assertEqual(st, 413)

    def test_partial_write_body(self):
        st, b = curl(*self.auth(), "--data-binary", "@-", self.url("/api/v3/write_lp?db=c5"),
                     data=b"ok v=1 1\nbad line here\nok v=2 2")
        self.assertEqual(st, 400)
        j = json.loads(b)
        self.assertEqual(j["error"], "partial write of line protocol occurred")
        self.assertEqual(j["data"][0]["line_number"], 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
