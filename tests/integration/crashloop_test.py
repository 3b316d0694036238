"""crashloop_test.py: kill -9 of the real stratad under load, again and again.

One data directory; ROUNDS rounds. Each round starts stratad on it (gw_harness.Server),
runs WRITERS concurrent HTTP writers (POST /api/v3/write_lp with the operator token,
all or nothing, acknowledged after the WAL fsync) and a reader that keeps counting
rows through the strata CLI, and SIGKILLs the server at a random moment (in some
rounds already while it is starting up and replaying its WAL). Then it restarts the
server on the same directory and checks, through the query API:

  - every batch acknowledged with 204, in any round so far, is there, exactly once,
    with every value right;
  - every batch that is there is whole: a batch is BATCH rows of one writer, each row
    carrying the batch number, its index and the batch size, so a partial batch is
    a wrong count; no row appears twice (time is unique per writer and batch/index
    pairs are checked one by one);
  - a batch whose write failed (no answer, connection reset) is either whole or
    absent, and stays so in later rounds (absent never comes back);
  - queries agree: count(*), GROUP BY aggregates and min/max match what the rows say;
  - while the server ran, the reader never saw a count that went down, that was not
    a multiple of BATCH (half a batch visible), or that was below the batches already
    acknowledged when the query started;
  - the integrity service's check after the restart is green (its canaries, written before
    the kill, read back exactly). The server persists every 200 ms (--persist-age), so kills
    also land during chunk writes, manifest swaps and WAL truncations.

At the end the database is backed up and the backup verified against it (a second,
independent reader of every row in canonical order, which also refuses duplicates),
and stratad must stop cleanly on SIGTERM. Bounded: about a minute on a loaded 2-core
machine (CRASHLOOP_ROUNDS and CRASHLOOP_SEED override the defaults).
"""
import calendar
import csv
import io
import http.client
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gw_harness import Server  # noqa: E402

ROUNDS = int(os.environ.get("CRASHLOOP_ROUNDS", "24"))
SEED = int(os.environ.get("CRASHLOOP_SEED", str(int(time.time()))))
WRITERS = 3
BATCH = 20
DB = "crash"
TABLE = "cl"
TIME_BUDGET_S = 100  # the loop never starts a round after this (ROUNDS >= 20 first)


def strata_bin():
    d = os.environ.get("STRATA_BIN_DIR") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "build", "bin")
    p = os.path.join(d, "strata")
    if not os.path.exists(p):
        raise RuntimeError("strata not found at %s (set STRATA_BIN_DIR)" % p)
    return p


def row_time(k, j):
    return k * 1000 + j  # ns; unique per writer (the series) for each (batch, index)


def value(w, k, j):
    return (w * 1000003 + k * 101 + j) / 8.0  # exact in binary and in shortest text


def batch_lines(w, k):
    return "".join('%s,w=w%d k=%di,j=%di,n=%di,v=%r,s="w%d-k%d-j%d" %d\n'
                   % (TABLE, w, k, j, BATCH, value(w, k, j), w, k, j, row_time(k, j))
                   for j in range(BATCH)).encode()


def parse_rfc3339_ns(s):
    date, _, frac = s.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(date, "%Y-%m-%dT%H:%M:%S"))
    return secs * 1000000000 + int((frac + "000000000")[:9])


class Ledger:
    """What the writers know: per writer, batches acknowledged and batches in doubt."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = set()    # (w, k) answered 204
        self.doubt = set()    # (w, k) sent without a 204 (error, reset, killed)
        self.present = set()  # doubtful batches found whole after a restart
        self.absent = set()   # doubtful batches found absent after a restart: must stay so
        self.next_k = [0] * WRITERS
        self.errors = []      # what a writer or the reader saw that must not happen

    def acked_count(self):
        with self.lock:
            return len(self.acked)


class Writer(threading.Thread):
    def __init__(self, w, srv, ledger, stop):
        super().__init__(daemon=True)
        self.w, self.srv, self.ledger, self.stop_ev = w, srv, ledger, stop
        self.pace = random.Random(w)

    def run(self):
        conn = None
        path = "/api/v3/write_lp?db=%s&precision=nanosecond&accept_partial=false" % DB
        hdr = {"Authorization": "Bearer " + self.srv.token}
        while not self.stop_ev.is_set():
            with self.ledger.lock:
                k = self.ledger.next_k[self.w]
                self.ledger.next_k[self.w] += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=10)
                conn.request("POST", path, body=batch_lines(self.w, k), headers=hdr)
                r = conn.getresponse()
                r.read()
                status = r.status
            except (OSError, http.client.HTTPException):
                status = None
                if conn is not None:
                    conn.close()
                conn = None
            with self.ledger.lock:
                (self.ledger.acked if status == 204 else self.ledger.doubt).add((self.w, k))
            if status is None:
                time.sleep(0.01)  # the server is gone or going: do not spin
            elif status != 204:
                self.ledger.errors.append("writer %d batch %d: HTTP %s" % (self.w, k, status))
            else:
                # paced, so the data (checked in full after every restart) stays small
                time.sleep(self.pace.uniform(0.005, 0.025))
        if conn is not None:
            conn.close()


def query_csv(srv, sql, timeout=60):
    p = subprocess.run([strata_bin(), "--host", srv.url, "--token", srv.token, "query", "-d", DB,
                        "-f", "csv", sql], capture_output=True, text=True, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError("query %r: exit %d: %s" % (sql, p.returncode, p.stderr.strip()))
    return list(csv.reader(io.StringIO(p.stdout)))


class Reader(threading.Thread):
    """Counts rows while the writers run; checks what a reader may see."""

    def __init__(self, srv, ledger, stop, errors):
        super().__init__(daemon=True)
        self.srv, self.ledger, self.stop_ev, self.errors = srv, ledger, stop, errors
        self.queries = 0

    def run(self):
        last = -1
        while not self.stop_ev.is_set():
            floor = self.ledger.acked_count() * BATCH
            try:
                rows = query_csv(self.srv, "SELECT count(*) FROM %s" % TABLE, timeout=10)
            except (RuntimeError, subprocess.TimeoutExpired):
                time.sleep(0.02)  # not up yet, being killed, or no table yet
                continue
            n = int(rows[1][0])
            self.queries += 1
            if n % BATCH:
                self.errors.append("reader saw %d rows: half a batch is visible" % n)
            if n < floor:
                self.errors.append("reader saw %d rows, but %d were acknowledged before" % (n, floor))
            if n < last:
                self.errors.append("reader saw the count go down from %d to %d" % (last, n))
            last = n


class CrashLoopTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="crashloop-")
        self.data = os.path.join(self.tmp, "data")
        self.token = None
        self.srv = None

    def tearDown(self):
        if self.srv is not None:
            self.srv.stop(signal.SIGKILL)
            self.srv.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, wait=True):
        # persists every 200 ms, so kills land during chunk writes, manifest swaps and WAL
        # truncations too; the integrity service checks its canaries every 250 ms
        self.srv = Server("--persist-age", "200ms", "--integrity-interval", "250ms",
                          data_dir=self.data, token=self.token, wait=wait)
        if wait and self.token is None:
            self.token = self.srv.token
        return self.srv

    def kill(self):
        srv = self.srv
        died = srv.proc.poll()
        srv.stop(signal.SIGKILL)
        log = srv.stderr()
        srv.cleanup()  # its port and log files; the data directory stays
        self.srv = None
        for bad in ("runtime error", "AddressSanitizer", "LeakSanitizer", "level=alert"):
            self.assertNotIn(bad, log, "stratad's log: " + log[-3000:])
        self.assertIsNone(died, "stratad died on its own (status %s): %s" % (died, log[-3000:]))

    def check_integrity(self, rnd):
        """After a restart: the integrity service's first check passed (canaries written
        before the kill, persisted or in the WAL, read back exactly)."""
        end = time.time() + 30
        m = {}
        while time.time() < end:
            st, _, body = self.srv.request("GET", "/metrics", token="Bearer " + self.token)
            self.assertEqual(st, 200, body[:200])
            m = dict(line.rsplit(" ", 1) for line in body.decode().splitlines()
                     if line.startswith("strata_integrity_"))
            if float(m.get("strata_integrity_checks_total", 0)) >= 1:
                break
            time.sleep(0.05)
        self.assertGreaterEqual(float(m.get("strata_integrity_checks_total", 0)), 1,
                                "round %d: no integrity check ran" % rnd)
        self.assertEqual(float(m["strata_integrity_failures_total"]), 0,
                         "round %d: integrity check failed: %s" % (rnd, self.srv.stderr()[-2000:]))
        self.assertEqual(float(m["strata_integrity_last_check_ok"]), 1, "round %d" % rnd)

    def check_data(self, ledger, rnd):
        """After a restart: every acknowledged batch whole, nothing else half there."""
        srv = self.srv
        try:
            rows = query_csv(srv, "SELECT w, k, j, n, v, s, time FROM %s" % TABLE)
        except RuntimeError as e:
            if "does not exist" in str(e) and not ledger.acked:
                return 0  # nothing acknowledged yet, and nothing written
            raise
        self.assertEqual(rows[0], ["w", "k", "j", "n", "v", "s", "time"])
        batches = {}
        seen_time = set()
        for w, k, j, n, v, s, t in rows[1:]:
            wi, ki, ji = int(w[1:]), int(k), int(j)
            where = "round %d: row w=%s k=%s j=%s" % (rnd, w, k, j)
            self.assertEqual(int(n), BATCH, where)
            self.assertEqual(float(v), value(wi, ki, ji), where)
            self.assertEqual(s, "w%d-k%d-j%d" % (wi, ki, ji), where)
            self.assertEqual(parse_rfc3339_ns(t), row_time(ki, ji), where)
            self.assertNotIn((wi, ki, ji), batches.get((wi, ki), set()), where + ": twice")
            self.assertNotIn((wi, row_time(ki, ji)), seen_time, where + ": time twice")
            seen_time.add((wi, row_time(ki, ji)))
            batches.setdefault((wi, ki), set()).add((wi, ki, ji))
        for key, js in batches.items():
            self.assertEqual(len(js), BATCH, "round %d: batch %s has %d of %d rows"
                             % (rnd, key, len(js), BATCH))
        with ledger.lock:
            missing = ledger.acked - batches.keys()
            self.assertFalse(missing, "round %d: acknowledged batches lost: %s"
                             % (rnd, sorted(missing)[:10]))
            unknown = batches.keys() - ledger.acked - ledger.doubt - ledger.present
            self.assertFalse(unknown, "round %d: batches never sent: %s" % (rnd, sorted(unknown)[:10]))
            back = batches.keys() & ledger.absent
            self.assertFalse(back, "round %d: batches absent after an earlier restart came back: %s"
                             % (rnd, sorted(back)[:10]))
            gone = ledger.present - batches.keys()
            self.assertFalse(gone, "round %d: batches present after an earlier restart vanished: %s"
                             % (rnd, sorted(gone)[:10]))
            for key in ledger.doubt:
                (ledger.present if key in batches else ledger.absent).add(key)
            ledger.doubt.clear()
        # the query engine agrees with the rows
        total = sum(len(js) for js in batches.values())
        self.assertEqual(query_csv(srv, "SELECT count(*) FROM %s" % TABLE)[1], [str(total)])
        agg = query_csv(srv, "SELECT w, count(*), sum(j), min(k), max(k) FROM %s GROUP BY w ORDER BY w"
                        % TABLE)[1:]
        want = []
        for w in range(WRITERS):
            ks = [k for (ww, k) in batches if ww == w]
            if ks:
                want.append(["w%d" % w, str(BATCH * len(ks)), str(len(ks) * sum(range(BATCH))),
                             str(min(ks)), str(max(ks))])
        self.assertEqual(agg, want, "round %d: aggregates" % rnd)
        return total

    def test_kill_9_loop(self):
        rnd_gen = random.Random(SEED)
        print("crashloop: seed %d, %d rounds, %d writers, %d rows per batch"
              % (SEED, ROUNDS, WRITERS, BATCH), flush=True)
        ledger = Ledger()
        t0 = time.time()
        self.start()
        rounds = kills_in_startup = reads = 0
        total = 0
        t_start = t_check = 0.0
        while rounds < ROUNDS:
            if rounds >= 20 and time.time() - t0 > TIME_BUDGET_S:
                break
            rounds += 1
            stop = threading.Event()
            writers = [Writer(w, self.srv, ledger, stop) for w in range(WRITERS)]
            reader = Reader(self.srv, ledger, stop, ledger.errors)
            for t in writers + [reader]:
                t.start()
            time.sleep(rnd_gen.uniform(0.1, 0.8))
            self.kill()  # SIGKILL in the middle of whatever it does
            stop.set()
            for t in writers + [reader]:
                t.join(30)
                self.assertFalse(t.is_alive(), "a writer or the reader hangs")
            reads += reader.queries
            self.assertEqual(ledger.errors, [], "round %d" % rounds)
            if rnd_gen.random() < 0.25:
                # kill it again while it starts: during WAL replay or before it listens
                self.start(wait=False)
                time.sleep(rnd_gen.uniform(0.0, 0.15))
                self.kill()
                kills_in_startup += 1
            ts = time.time()
            self.start()
            tc = time.time()
            total = self.check_data(ledger, rounds)
            self.check_integrity(rounds)
            t_start += tc - ts
            t_check += time.time() - tc
        elapsed = time.time() - t0
        self.assertGreaterEqual(rounds, 20)
        self.assertGreater(len(ledger.acked), WRITERS * rounds // 2, "too few writes got through")
        # an independent reader of every row: backup, and verify the backup against the data
        bdir = os.path.join(self.tmp, "backup")
        for args in (["backup", "-d", DB, "-o", bdir, "-q"], ["backup", "verify", bdir, "-q"]):
            p = subprocess.run([strata_bin(), "--host", self.srv.url, "--token", self.token] + args,
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, "%s: %s%s" % (args[:2], p.stdout, p.stderr))
        chunk_files = sum(1 for _, _, names in os.walk(os.path.join(self.data, "db"))
                          for n in names if n.endswith(".chk"))
        self.assertGreater(chunk_files, 0, "nothing was ever persisted")
        self.assertEqual(self.srv.stop(), 0, "stratad did not exit cleanly on SIGTERM")
        self.srv.cleanup()
        self.srv = None
        with ledger.lock:
            print("crashloop: %d rounds (%d also killed while starting) in %.1f s (restarts %.1f s, "
                  "checks %.1f s): %d batches acknowledged, %d in doubt found whole, %d in doubt "
                  "absent; %d rows; %d reader queries; %d chunk files at the end"
                  % (rounds, kills_in_startup, elapsed, t_start, t_check, len(ledger.acked),
                     len(ledger.present), len(ledger.absent), total, reads, chunk_files),
                  flush=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
