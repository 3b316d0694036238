"""dp_policy_test.py: the access policy and the token pepper under the master key
(docs/operations.md "Master keys": files outside the engine).

- With encryption (the default) DATA-DIR/security/policy.json and token-pepper are sealed
  (eng_file_seal: the STRTENV1 envelope, AES-256-GCM): no database, tenant or token name in
  plaintext, no raw pepper; a restart reads them (tokens still work).
- A damaged sealed policy stops the start naming the file, and nothing changes; a wrong
  master key stops it too.
- A policy in the other mode is refused unless --encryption-migrate, which converts the
  policy and the pepper with the data directory: plaintext -> encrypted -> plaintext, the
  data and the tokens intact all the way.
"""
import os
import shutil
import signal
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dp_harness import Server, cli, files, flip  # noqa: E402
from dp_keys_test import start_fails  # noqa: E402
from sec_harness import Admin, Rpc  # noqa: E402

MAGIC = b"STRTENV1"
DBNAME = "secretdbname7d1e"
TOKNAME = "secrettokenname4f0a"


def raw(path):
    with open(path, "rb") as f:
        return f.read()


class SealedPolicy(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="dp-policy-")
        self.live = []

    def tearDown(self):
        for s in self.live:
            s.stop(signal.SIGKILL)
            s.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, *args, **kw):
        s = Server("--integrity-interval", "0", *args, **kw)
        self.live.append(s)
        return s

    def stop(self, s):
        self.assertEqual(s.stop(), 0, s.stderr()[-2000:])
        for bad in ("runtime error", "AddressSanitizer", "LeakSanitizer", "level=alert"):
            self.assertNotIn(bad, s.stderr())
        self.live.remove(s)

    def setup_data(self, s):
        rpc = Rpc(s)
        op = Admin(rpc, s.token)
        op.create_db(DBNAME)
        _, secret = op.mint(TOKNAME, [(DBNAME, "rw")])
        rpc.close()
        st, _, b = s.write("m,h=a v=1i 1\n", db=DBNAME, precision="nanosecond")
        self.assertEqual(st, 204, b)
        return secret

    def check_data(self, s, secret):
        rc, out, err = cli(s, "query", "-d", DBNAME, "-f", "csv", "SELECT h, v FROM m",
                           token=secret)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines(), ["h,v", "a,1"])

    def paths(self, s):
        sec = os.path.join(s.data_dir, "security")
        return os.path.join(sec, "policy.json"), os.path.join(sec, "token-pepper")

    def test_sealed_at_rest_and_damage_refused(self):
        s = self.start()
        secret = self.setup_data(s)
        self.stop(s)
        policy, pepper = self.paths(s)
        for p in (policy, pepper):
            data = raw(p)
            self.assertTrue(data.startswith(MAGIC), p)
            for needle in (DBNAME, TOKNAME, "hmac-sha512", "default"):
                self.assertNotIn(needle.encode(), data, p)
        self.assertNotEqual(len(raw(pepper)), 32)
        s2 = self.start(data_dir=s.data_dir, token=s.token)
        self.check_data(s2, secret)
        self.stop(s2)
        # a damaged sealed policy: refused, named, unchanged
        before = files(s.data_dir)
        good = raw(policy)
        flip(policy, len(good) - 30)
        damaged = raw(policy)
        code, err, up = start_fails(s.data_dir, "--admin-token-file", s.token_file)
        self.assertNotEqual(code, 0)
        self.assertFalse(up)
        self.assertIn(policy, err)
        self.assertEqual(raw(policy), damaged)
        with open(policy, "wb") as f:
            f.write(good)
        self.assertEqual(files(s.data_dir), before)
        # a policy in the other mode, without --encryption-migrate
        code, err, _ = start_fails(s.data_dir, "--encryption", "off")
        self.assertNotEqual(code, 0)
        self.assertIn("encrypted, but encryption is off", err)
        self.assertEqual(files(s.data_dir), before)

    def test_migrations_convert_the_policy_and_the_pepper(self):
        s = self.start("--encryption", "off")
        secret = self.setup_data(s)
        self.stop(s)
        policy, pepper = self.paths(s)
        self.assertIn(DBNAME.encode(), raw(policy))  # plain JSON without encryption
        self.assertEqual(len(raw(pepper)), 32)
        before = files(s.data_dir)
        code, err, _ = start_fails(s.data_dir)  # encryption on, no key, not new
        self.assertIn("--encryption-migrate", err)
        self.assertEqual(files(s.data_dir), before)
        s2 = self.start("--encryption-migrate", data_dir=s.data_dir, token=s.token)
        self.check_data(s2, secret)
        self.assertIn("token pepper", s2.stderr())
        self.stop(s2)
        for p in (policy, pepper):
            self.assertTrue(raw(p).startswith(MAGIC), p)
            self.assertNotIn(DBNAME.encode(), raw(p))
        s3 = self.start(data_dir=s.data_dir, token=s.token)  # a plain start now
        self.check_data(s3, secret)
        self.stop(s3)
        # and back: decrypting needs the key, which is still configured (DATA-DIR/keys)
        s4 = self.start("--encryption", "off", "--encryption-migrate", data_dir=s.data_dir,
                        token=s.token)
        self.check_data(s4, secret)
        self.stop(s4)
        self.assertIn(DBNAME.encode(), raw(policy))
        self.assertEqual(len(raw(pepper)), 32)
        os.rename(os.path.join(s.data_dir, "keys"), os.path.join(self.tmp, "keys"))
        s5 = self.start("--encryption", "off", data_dir=s.data_dir, token=s.token)
        self.check_data(s5, secret)
        self.stop(s5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
