"""gw_harness.py: start the real stratad for an integration test.

Server(...) runs $STRATAD (or build/bin/stratad) on 127.0.0.1:0 with a fresh data
directory and --port-file, waits until the port file appears (stratad writes it only
after its self-test passed, so the port is ready), and exposes .port, .token, .url,
.data_dir and helpers for HTTP requests and fd counting. stop() sends SIGTERM and
returns the exit code. Every server started is stopped at exit.
"""
import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_live = []


def stratad_path():
    p = os.environ.get("STRATAD") or os.path.join(ROOT, "build", "bin", "stratad")
    if not os.path.exists(p):
        raise RuntimeError("stratad not found at %s (set STRATAD)" % p)
    return p


class Server:
    def __init__(self, *args, data_dir=None, env=None, token=None, wait=True, tls=False):
        self.tmp = tempfile.mkdtemp(prefix="gw-it-")
        self.data_dir = data_dir or os.path.join(self.tmp, "data")
        self.port_file = os.path.join(self.tmp, "port")
        self.token_file = os.path.join(self.tmp, "operator-token")
        self.tls = tls
        if token is not None:
            with open(self.token_file, "w") as f:
                f.write(token + "\n")
            os.chmod(self.token_file, 0o600)
        cmd = [stratad_path(), "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
               "--port-file", self.port_file, "--admin-token-file", self.token_file,
               "--shutdown-grace", "3s"] + list(args)
        e = dict(os.environ)
        e.update(env or {})
        self.out = open(os.path.join(self.tmp, "stdout"), "w+")
        self.err = open(os.path.join(self.tmp, "stderr"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err, env=e,
                                     stdin=subprocess.DEVNULL)
        _live.append(self)
        self.port = None
        self.token = None
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("stratad exited with %d: %s" % (self.proc.returncode, self.stderr()))
            if os.path.exists(self.port_file):
                with open(self.port_file) as f:
                    txt = f.read().strip()
                if txt:
                    self.port = int(txt)
                    with open(self.token_file) as f:
                        self.token = f.read().strip()
                    return
            time.sleep(0.02)
        raise RuntimeError("stratad did not write its port file: " + self.stderr())

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.tls else "http", self.port)

    @property
    def target(self):
        return "127.0.0.1:%d" % self.port

    def stderr(self):
        self.err.flush()
        self.err.seek(0)
        return self.err.read()

    def stdout(self):
        self.out.flush()
        self.out.seek(0)
        return self.out.read()

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def request(self, method, path, body=None, headers=None, token=True, scheme="Token",
                timeout=30):
        h = dict(headers or {})
        if token is True:
            h["Authorization"] = "%s %s" % (scheme, self.token)
        elif token:
            h["Authorization"] = token
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            data = r.read()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
        finally:
            c.close()

    def write(self, lp, db="db", api="v3", **params):
        if api == "v3":
            q = "/api/v3/write_lp?db=%s" % db
        elif api == "v2":
            q = "/api/v2/write?bucket=%s" % db
        else:
            q = "/write?db=%s" % db
        for k, v in params.items():
            q += "&%s=%s" % (k, v)
        return self.request("POST", q, body=lp.encode() if isinstance(lp, str) else lp)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("stratad did not stop within %ds after signal %d" % (timeout, sig))
        if self in _live:
            _live.remove(self)
        return self.proc.returncode

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def json_body(data):
    return json.loads(data.decode())


def raw_connect(port, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return s


@atexit.register
def _stop_all():
    for s in list(_live):
        try:
            s.proc.kill()
            s.proc.wait()
        except Exception:
            pass
