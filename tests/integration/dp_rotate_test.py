"""dp_rotate_test.py: master key rotation through the real stratad (docs/operations.md
"Rotating the master key").

The documented procedure, end to end, with a crash in the middle:
1. data written under key A (created for the new data directory) in many chunk files;
2. a new key B (stratad --generate-master-key); restart with --master-key-file B
   --previous-master-key-file A: everything reads;
3. AdminService RotateKey is streamed and stratad is killed (SIGKILL) as soon as the first
   files have been rewrapped; a restart with both keys reads everything, one with B alone is
   refused naming key A (nothing changed);
4. `strata admin rotate-key` finishes it, naming A as no longer needed; /metrics and the
   audit log record it;
5. a restart with B alone reads everything; with A alone it is refused naming key B.
Also: only the operator may rotate (a management or database token: PERMISSION_DENIED), and
a server with encryption off answers FAILED_PRECONDITION.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dp_harness import Server, banner, cli, files, metrics, wait_metric  # noqa: E402
from dp_keys_test import start_fails  # noqa: E402
from gw_harness import stratad_path  # noqa: E402
from sec_harness import ADMIN, Admin, Rpc, admin_pb2  # noqa: E402

HOURS = 240  # one partition per hour: as many chunk files to rewrap
BASE = 1700000000 * 10**9


def gen_key(path):
    p = subprocess.run([stratad_path(), "--generate-master-key", path], capture_output=True,
                       text=True, timeout=30, check=True)
    return p.stdout.strip().split("key id ")[1]


class Rotate(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="dp-rotate-")
        self.live = []

    def tearDown(self):
        for s in self.live:
            s.stop(signal.SIGKILL)
            s.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, *args, **kw):
        s = Server("--integrity-interval", "0", "--partition-duration", "1h", *args, **kw)
        self.live.append(s)
        return s

    def stop(self, s):
        self.assertEqual(s.stop(), 0, s.stderr()[-2000:])
        for bad in ("runtime error", "AddressSanitizer", "LeakSanitizer", "level=alert"):
            self.assertNotIn(bad, s.stderr())

    def dump(self, s):
        rc, out, err = cli(s, "query", "-d", "rot", "-f", "csv",
                           "SELECT host, v, s, time FROM m ORDER BY time, host")
        self.assertEqual(rc, 0, err)
        return out

    def test_rotation_with_a_crash_in_the_middle(self):
        s = self.start("--persist-age", "100ms")
        token, data = s.token, s.data_dir
        lines = "".join('m,host=h%d v=%di,s="row %d" %d\n' % (i % 3, i, i, BASE + i * 3600 * 10**9)
                        for i in range(HOURS))
        st, _, b = s.write(lines, db="rot", precision="nanosecond")
        self.assertEqual(st, 204, b)
        wait_metric(s, "strata_engine_chunks", lambda v: v >= HOURS, timeout=60)
        want = self.dump(s)
        self.assertEqual(len(want.splitlines()), HOURS + 1)
        kid_a = banner(s).split("master key ", 1)[1].split()[0]
        self.stop(s)
        key_a = os.path.join(self.tmp, "a.key")
        os.rename(os.path.join(data, "keys", "master.key"), key_a)  # out of the data directory
        key_b = os.path.join(self.tmp, "b.key")
        kid_b = gen_key(key_b)
        both = ("--master-key-file", key_b, "--previous-master-key-file", key_a)

        s = self.start(*both, data_dir=data, token=token)
        self.assertIn("master key %s from --master-key-file" % kid_b, banner(s))
        self.assertEqual(self.dump(s), want)
        # only the operator rotates
        rpc = Rpc(s)
        op = Admin(rpc, token)
        _, mgmt = op.mint("mgmt", management=True)
        _, dbtok = op.mint("owner", [("rot", "o")])
        for t in (mgmt, dbtok):
            st, _, d, _ = rpc.stream(ADMIN + "RotateKey", admin_pb2.RotateKeyRequest(),
                                     admin_pb2.RotateKeyResponse, token=t)
            self.assertEqual(st, "PERMISSION_DENIED", d)
        # start the rotation, kill -9 once the first files are rewrapped
        f = rpc.ch.unary_stream(ADMIN + "RotateKey",
                                request_serializer=lambda m: m.SerializeToString(),
                                response_deserializer=admin_pb2.RotateKeyResponse.FromString)
        seen = None
        try:
            for msg in f(admin_pb2.RotateKeyRequest(), timeout=120,
                         metadata=(("authorization", "Bearer " + token),)):
                if msg.files_done > 0:
                    seen = msg
                    s.proc.send_signal(signal.SIGKILL)
                    break
        except grpc.RpcError:
            pass
        rpc.close()
        s.stop(signal.SIGKILL)
        self.live.remove(s)
        s.cleanup()
        self.assertIsNotNone(seen, "no progress message before the end")
        midway = not seen.done and seen.files_done < seen.files_total
        print("killed after %d of %d files (%s)" % (seen.files_done, seen.files_total,
                                                    "mid-way" if midway else "at the end"))
        if midway:
            # B alone: files still wrapped under A are refused, and nothing changes
            before = files(data)
            code, err, _ = start_fails(data, "--master-key-file", key_b)
            self.assertNotEqual(code, 0)
            self.assertIn("encrypted with master key %s, which is not configured" % kid_a, err)
            self.assertEqual(files(data), before)
        s = self.start(*both, data_dir=data, token=token)
        self.assertEqual(self.dump(s), want)
        rc, out, err = cli(s, "admin", "rotate-key")
        self.assertEqual(rc, 0, err)
        self.assertIn("under master key %s" % kid_b, out)
        self.assertIn("no file needs the previous key any more (%s)" % kid_a, out)
        self.assertEqual(metrics(s)['strata_key_rotations_total{result="ok"}'], 1)
        rc, out, err = cli(s, "audit", "read")
        self.assertEqual(rc, 0, err)
        rot = [json.loads(x) for x in out.splitlines()
               if '"master_key:%s"' % kid_b in x]
        self.assertEqual([e["reason"] for e in rot[-2:]], ["started", "ok"], rot)
        self.assertIn("key rotation done", rot[-1]["detail"])
        # a second rotation finds every chunk current (small files are rewritten whole)
        rc, out, err = cli(s, "admin", "rotate-key", "-q")
        self.assertEqual(rc, 0, err)
        m = re.search(r"(\d+) data keys rewrapped .*\((\d+) already current", out)
        self.assertTrue(m, out)
        self.assertGreaterEqual(int(m.group(2)), HOURS, out)
        self.assertLess(int(m.group(1)), 10, out)
        self.stop(s)
        self.live.remove(s)
        # the old key retired
        s = self.start("--master-key-file", key_b, data_dir=data, token=token)
        self.assertEqual(self.dump(s), want)
        self.stop(s)
        self.live.remove(s)
        before = files(data)
        code, err, _ = start_fails(data, "--master-key-file", key_a)
        self.assertIn("encrypted with master key %s, which is not configured (configured: %s)"
                      % (kid_b, kid_a), err)
        self.assertEqual(files(data), before)

    def test_rotation_needs_encryption(self):
        s = self.start("--encryption", "off")
        rc, out, err = cli(s, "admin", "rotate-key")
        self.assertEqual(rc, 19, out + err)
        self.assertIn("encryption at rest is off", err)
        rc, out, err = cli(s, "admin", "rotate-key", "extra")
        self.assertEqual(rc, 2, err)
        rc, out, err = cli(s, "admin", "spin")
        self.assertEqual(rc, 2, err)
        self.stop(s)


if __name__ == "__main__":
    unittest.main(verbosity=2)
