"""dp_harness.py: what the data-protection integration tests (dp_*_test.py) share.

Built on gw_harness (the real stratad on 127.0.0.1:0) and sec_harness (the protobuf
messages, Rpc, Admin):

- banner(srv): the start-up message once it is complete;
- metrics(srv): /metrics as {name-with-labels: float};
- wait_metric(srv, name, pred): poll /metrics until pred(value) holds;
- cli(srv, *args): run the strata CLI against srv with the operator token;
- files(data_dir): every file under a data directory with its bytes' SHA-256 (a snapshot
  to prove that a refused start changed nothing);
- chunks(data_dir): the chunk files (db/<id>/<table>/<n>.chk), biggest first;
- flip(path, offset): flip one bit of a file in place;
- grep_tree(data_dir, needle): the files whose bytes contain needle.
"""
import hashlib
import os
import subprocess
import time

from gw_harness import Server  # noqa: F401
from sec_harness import strata_cli  # noqa: F401


def metrics(srv, token=None):
    st, _, body = srv.request("GET", "/metrics", token="Bearer " + (token or srv.token))
    if st != 200:
        raise AssertionError("/metrics: HTTP %d: %r" % (st, body[:200]))
    out = {}
    for line in body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            pass
    return out


def wait_metric(srv, name, pred, timeout=30, what=None):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        last = metrics(srv).get(name)
        if last is not None and pred(last):
            return last
        time.sleep(0.05)
    raise AssertionError("metric %s never became %s (last %r); log: %s"
                         % (name, what or "as expected", last, srv.stderr()[-3000:]))


def banner(srv, timeout=15):
    """The start-up message on stdout: stratad prints it right after writing the port file,
    so wait for its last line (the `try:` commands) before reading it."""
    end = time.time() + timeout
    while time.time() < end:
        out = srv.stdout()
        if "SELECT * FROM cpu" in out:
            return out
        time.sleep(0.02)
    raise AssertionError("no start-up message: %r" % srv.stdout())


def cli(srv, *args, token=None, timeout=120, env=None):
    e = dict(os.environ)
    e.pop("STRATA_DATABASE", None)
    e.update(env or {})
    p = subprocess.run([strata_cli(), "--host", srv.url, "--token", token or srv.token]
                       + list(args), capture_output=True, text=True, timeout=timeout, env=e)
    return p.returncode, p.stdout, p.stderr


def files(data_dir):
    snap = {}
    for root, _, names in os.walk(data_dir):
        for n in names:
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                snap[os.path.relpath(p, data_dir)] = hashlib.sha256(f.read()).hexdigest()
    return snap


def chunks(data_dir):
    out = []
    for root, _, names in os.walk(os.path.join(data_dir, "db")):
        out += [os.path.join(root, n) for n in names if n.endswith(".chk")]
    return sorted(out, key=lambda p: -os.path.getsize(p))


def flip(path, offset, mask=0x10):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ mask]))


def grep_tree(data_dir, needle):
    hits = []
    for root, _, names in os.walk(data_dir):
        for n in names:
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                if needle in f.read():
                    hits.append(os.path.relpath(p, data_dir))
    return hits


def key_id_of_log(log):
    """The current master key id from the start-up log."""
    for line in log.splitlines():
        if "encryption at rest:" in line and "master key " in line:
            return line.split("master key ", 1)[1].split()[0]
    return None
