"""dp_keys_test.py: encryption at rest through the real stratad (docs/operations.md
"Master keys").

- A new data directory gets a master key at DATA-DIR/keys/master.key (mode 0600), the
  start-up message says where and warns that it sits beside the data; /metrics says the
  engine encrypts; after writes (in the WAL and persisted to chunks) no file under the data
  directory holds a written tag value or string in plaintext; a restart reads it all back.
- A wrong key, a directory without its key, a key file readable by others, both a key file
  and STRATA_MASTER_KEY, and --encryption off on an encrypted directory are each refused
  with a clear message, and the data directory is byte for byte unchanged.
- The key moved out of the data directory (--master-key-file, or STRATA_MASTER_KEY) opens
  the same data; --generate-master-key writes a key file and never overwrites one.
- A plaintext directory (--encryption off) is refused by the default mode until
  --encryption-migrate encrypts it under a new key; the data stays intact.
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dp_harness import Server, banner, cli, files, grep_tree, metrics, wait_metric  # noqa: E402
from gw_harness import stratad_path  # noqa: E402

TAG = "tagvalue-7f3c91d2e8"
STR = "stringvalue-b4a06c55e1"


def start_fails(data_dir, *args, env=None):
    tmp = tempfile.mkdtemp(prefix="dp-keys-fail-")
    try:
        e = dict(os.environ)
        e.update(env or {})
        p = subprocess.run([stratad_path(), "--data-dir", data_dir, "--listen", "127.0.0.1:0",
                            "--port-file", os.path.join(tmp, "port"), "--admin-token-file",
                            os.path.join(tmp, "tok")] + list(args),
                           capture_output=True, text=True, timeout=60, env=e)
        return p.returncode, p.stderr, os.path.exists(os.path.join(tmp, "port"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


class Keys(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="dp-keys-")
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, *args, **kw):
        s = Server("--integrity-interval", "0", *args, **kw)
        self.servers.append(s)
        return s

    def stop(self, s):
        self.assertEqual(s.stop(), 0, s.stderr()[-2000:])
        log = s.stderr()
        for bad in ("runtime error", "AddressSanitizer", "LeakSanitizer", "level=alert"):
            self.assertNotIn(bad, log)

    def write_and_persist(self, s, db="enc"):
        st, _, b = s.write('m,host=%s s="%s",v=1i 1000\nm,host=other s="x",v=2i 2000\n'
                           % (TAG, STR), db=db)
        self.assertEqual(st, 204, b)
        wait_metric(s, "strata_engine_chunks", lambda v: v >= 1, what=">= 1 chunk")
        # a second batch stays in the WAL
        st, _, b = s.write('m,host=%s-2 s="%s-2",v=3i 3000\n' % (TAG, STR), db=db)
        self.assertEqual(st, 204, b)

    def rows(self, s, db="enc", token=None):
        rc, out, err = cli(s, "query", "-d", db, "-f", "csv",
                           "SELECT host, s, v FROM m ORDER BY time", token=token)
        self.assertEqual(rc, 0, err)
        return out

    def test_new_directory_gets_a_key_and_nothing_is_plaintext(self):
        s = self.start("--persist-age", "100ms")
        key = os.path.join(s.data_dir, "keys", "master.key")
        self.assertTrue(os.path.exists(key))
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(key)).st_mode), 0o700)
        out = banner(s)
        self.assertIn("encryption at rest: on (AES-256-GCM)", out)
        self.assertIn("created in '%s'" % key, out)
        self.assertIn("the key is inside the data directory", out)
        self.assertIn("protects against leaks of the data files", s.stderr())
        self.assertEqual(metrics(s)["strata_engine_encrypted"], 1)
        self.write_and_persist(s)
        want = self.rows(s)
        self.assertIn(TAG, want)
        self.assertIn(STR + "-2", want)
        for needle in (TAG, STR):
            self.assertEqual(grep_tree(s.data_dir, needle.encode()), [],
                             "plaintext %r under the data directory" % needle)
        self.stop(s)
        for needle in (TAG, STR):
            self.assertEqual(grep_tree(s.data_dir, needle.encode()), [])
        kid = out.split("master key ", 1)[1].split()[0]
        self.assertRegex(kid, "^[0-9a-f]{16}$")
        self.assertNotIn(open(key).read().strip(), out + s.stderr())  # never the key itself
        s2 = self.start(data_dir=s.data_dir, token=s.token)
        self.assertIn("master key %s from '%s'" % (kid, key), banner(s2))
        self.assertEqual(self.rows(s2), want)
        self.stop(s2)

    def test_wrong_or_missing_key_refused_and_nothing_changes(self):
        s = self.start("--persist-age", "100ms")
        self.write_and_persist(s)
        self.stop(s)
        data = s.data_dir
        other = os.path.join(self.tmp, "other.key")
        p = subprocess.run([stratad_path(), "--generate-master-key", other], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("key id ", p.stdout)
        other_kid = p.stdout.strip().split("key id ")[1]
        self.assertEqual(stat.S_IMODE(os.stat(other).st_mode), 0o600)
        before = files(data)
        # a wrong key: the engine names the key the files need and the one configured
        code, err, up = start_fails(data, "--master-key-file", other)
        self.assertNotEqual(code, 0)
        self.assertFalse(up)
        self.assertIn("which is not configured (configured: %s)" % other_kid, err)
        self.assertEqual(files(data), before)
        # the same through the environment
        code, err, _ = start_fails(data, env={"STRATA_MASTER_KEY": open(other).read().strip()})
        self.assertNotEqual(code, 0)
        self.assertIn("which is not configured", err)
        self.assertEqual(files(data), before)
        # both a file and the variable
        code, err, _ = start_fails(data, "--master-key-file", other,
                                   env={"STRATA_MASTER_KEY": "00" * 32})
        self.assertIn("both --master-key-file and STRATA_MASTER_KEY are set", err)
        # a malformed variable: the message never echoes it
        code, err, _ = start_fails(data, env={"STRATA_MASTER_KEY": "zz" * 32})
        self.assertIn("STRATA_MASTER_KEY: master key is not hexadecimal", err)
        self.assertNotIn("zz" * 32, err)
        # a key file others may read
        loose = os.path.join(self.tmp, "loose.key")
        shutil.copy(other, loose)
        os.chmod(loose, 0o644)
        code, err, _ = start_fails(data, "--master-key-file", loose)
        self.assertIn("run chmod 600", err)
        # encryption off on an encrypted directory
        code, err, _ = start_fails(data, "--encryption", "off")
        self.assertNotEqual(code, 0)
        self.assertIn("encrypted, but encryption is off", err)
        self.assertEqual(files(data), before)
        # the directory without its key: not new, so no key is made up
        moved = os.path.join(self.tmp, "moved.key")
        os.rename(os.path.join(data, "keys", "master.key"), moved)
        before = files(data)
        code, err, _ = start_fails(data)
        self.assertNotEqual(code, 0)
        self.assertIn("no master key is configured, and the data directory", err)
        self.assertIn("--encryption-migrate", err)
        self.assertEqual(files(data), before)
        self.assertFalse(os.path.exists(os.path.join(data, "keys", "master.key")))
        # moved out of the data directory: --master-key-file opens the same data
        s2 = self.start("--master-key-file", moved, data_dir=data, token=s.token)
        self.assertNotIn("the key is inside the data directory", banner(s2))
        self.assertIn(TAG, self.rows(s2))
        self.stop(s2)
        # and so does STRATA_MASTER_KEY, wiped from the server's environment once read
        hexkey = open(moved).read().strip()
        s3 = self.start(data_dir=data, token=s.token, env={"STRATA_MASTER_KEY": hexkey})
        self.assertIn("from $STRATA_MASTER_KEY", banner(s3))
        with open("/proc/%d/environ" % s3.proc.pid, "rb") as f:
            self.assertNotIn(hexkey.encode(), f.read())
        self.assertIn(TAG, self.rows(s3))
        self.stop(s3)

    def test_generate_master_key_never_overwrites(self):
        k = os.path.join(self.tmp, "k")
        for expect in (0, 1):
            p = subprocess.run([stratad_path(), "--generate-master-key", k], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(p.returncode, expect, p.stderr)
        self.assertIn("is never overwritten", p.stderr)
        self.assertEqual(len(open(k).read().strip()), 64)

    def test_plaintext_directory_migrates_to_encrypted(self):
        s = self.start("--encryption", "off", "--persist-age", "100ms")
        self.assertIn("encryption at rest: off", banner(s))
        self.assertFalse(os.path.exists(os.path.join(s.data_dir, "keys")))
        self.assertEqual(metrics(s)["strata_engine_encrypted"], 0)
        self.write_and_persist(s)
        want = self.rows(s)
        self.stop(s)
        self.assertNotEqual(grep_tree(s.data_dir, TAG.encode()), [])  # plaintext, as asked
        data = s.data_dir
        before = files(data)
        code, err, _ = start_fails(data)  # the default mode: encrypted, and no key for it
        self.assertIn("--encryption-migrate", err)
        self.assertEqual(files(data), before)
        s2 = self.start("--encryption-migrate", data_dir=data, token=s.token)
        self.assertIn("created in", banner(s2))
        self.assertEqual(self.rows(s2), want)
        self.stop(s2)
        self.assertEqual(grep_tree(data, TAG.encode()), [])
        s3 = self.start(data_dir=data, token=s.token)  # a plain start now
        self.assertEqual(self.rows(s3), want)
        self.assertEqual(metrics(s3)["strata_engine_encrypted"], 1)
        self.stop(s3)


if __name__ == "__main__":
    unittest.main(verbosity=2)
