"""sec_policy_test.py: the policy store and the audit log of the running stratad across
restarts: the policy file is kept (mode 0600, hashes only) and loaded all-or-nothing — a
damaged file, another pepper or another --cluster-id stops the start with a message naming
the file and changes nothing; a provisioned operator token in any printable form works on
every transport; rotating the operator token through the RPC rewrites --admin-token-file;
databases that predate the policy are adopted at its first start; the audit chain runs
through restarts and size-based rotation and `strata audit verify` accepts it, and names
the first bad line once a line is edited or removed; a torn last line is cut at start;
ReadAudit shows each tenant its own events; --audit-overflow=drop records its losses.
"""
import base64
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# These tests read the policy and pepper files as they are stored (JSON, raw bytes): the
# servers run without encryption at rest, which stores them plain. The sealed forms are
# tested in dp_policy_test.py.
os.environ["STRATA_ENCRYPTION"] = "off"
from sec_harness import (ADMIN, OK, UNAUTH, Admin, Rpc, Server, admin_pb2,  # noqa: E402
                         strata_cli, stratad)

CUSTOM = "deploy-tool:provisioned/Operator+Token=with~punctuation!0123456789"


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def audit_files(data_dir):
    d = os.path.join(data_dir, "audit")
    return [os.path.join(d, f) for f in sorted(os.listdir(d))]


def verify(files, *extra):
    return subprocess.run([strata_cli(), "audit", "verify", *extra, *files], capture_output=True,
                          text=True, timeout=60)


def start_fails(data_dir, token_file, *args):
    r = subprocess.run([stratad(), "--data-dir", data_dir, "--listen", "127.0.0.1:0",
                        "--admin-token-file", token_file, *args], capture_output=True, text=True,
                       timeout=60)
    return r.returncode, r.stderr


class PolicyStore(unittest.TestCase):
    def test_policy_survives_restarts_and_holds_no_secret(self):
        s = Server(token=CUSTOM)
        rpc = Rpc(s)
        op = Admin(rpc, CUSTOM)
        op.create_db("kept")
        info, sec = op.mint("kept-reader", [("kept", "r")], expires=3600)
        op.grant("kept", "owner", user="carol")
        rpc.close()
        self.assertEqual(s.stop(), 0)
        policy = os.path.join(s.data_dir, "security", "policy.json")
        self.assertEqual(os.stat(policy).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(os.path.join(s.data_dir, "security", "token-pepper")).st_mode
                         & 0o777, 0o600)
        text = read(policy)
        for secret in (CUSTOM, sec):
            self.assertNotIn(secret, text)
        j = json.loads(text)
        self.assertEqual(j["token_hash"], "hmac-sha512")
        s2 = Server(data_dir=s.data_dir, token=CUSTOM)
        rpc = Rpc(s2)
        st, r, _ = Admin(rpc, sec).call("WhoAmI", admin_pb2.WhoAmIRequest())
        self.assertEqual((st, r.name), (OK, "kept-reader"))
        st, r, _ = Admin(rpc, CUSTOM).call("ListRoles", admin_pb2.ListRolesRequest(database="kept"))
        self.assertIn(("carol", "owner"), [(b.principal.user, b.role) for b in r.bindings])
        rpc.close()
        self.assertEqual(s2.stop(), 0)
        # describe -> load -> describe: a restart without changes writes the same policy
        # (apart from last-used times of tokens used meanwhile)
        self.assertEqual(json.loads(read(policy))["databases"], j["databases"])
        s2.cleanup()
        s.cleanup()

    def test_a_damaged_policy_stops_the_start(self):
        s = Server(token=CUSTOM)
        Admin(Rpc(s), CUSTOM).create_db("x")
        self.assertEqual(s.stop(), 0)
        policy = os.path.join(s.data_dir, "security", "policy.json")
        good = read(policy)
        tf = s.token_file
        for name, text in (("truncated", good[:len(good) // 2]),
                           ("a bad hash", good.replace('"hash": "', '"hash": "zz', 1)),
                           ("an unknown member", good.replace('"tenants"', '"tenantz"', 1)),
                           ("not JSON", "garbage")):
            with open(policy, "w") as f:
                f.write(text)
            code, err = start_fails(s.data_dir, tf)
            self.assertNotEqual(code, 0, name)
            self.assertIn(policy, err, name)
            self.assertIn("refusing to start", err, name)
            self.assertEqual(read(policy), text, name + ": the file was changed")
        with open(policy, "w") as f:
            f.write(good)
        # another pepper: refused, named
        pep = os.path.join(s.data_dir, "security", "token-pepper")
        orig = read(pep, "rb")
        with open(pep, "wb") as f:
            f.write(os.urandom(32))
        code, err = start_fails(s.data_dir, tf)
        self.assertNotEqual(code, 0)
        self.assertIn("another token pepper", err)
        with open(pep, "wb") as f:
            f.write(orig)
        # another cluster id, another default tenant
        code, err = start_fails(s.data_dir, tf, "--cluster-id", "elsewhere")
        self.assertIn("--cluster-id 'elsewhere' does not match", err)
        code, err = start_fails(s.data_dir, tf, "--default-tenant", "acme")
        self.assertIn("--default-tenant 'acme' does not match", err)
        # and with everything restored it starts
        s2 = Server(data_dir=s.data_dir, token=CUSTOM)
        self.assertEqual(s2.stop(), 0)
        s2.cleanup()
        s.cleanup()

    def test_provisioned_operator_token_on_every_transport(self):
        s = Server(token=CUSTOM)
        lp = b"m v=1i 1"
        for auth in ("Bearer " + CUSTOM, "Token " + CUSTOM,
                     "Basic " + base64.b64encode(b"any:" + CUSTOM.encode()).decode()):
            st, _, body = s.request("POST", "/api/v2/write?bucket=p", lp, token=auth)
            self.assertEqual(st, 204, body)
        st, _, body = s.request("POST", "/write?db=p&p=" + CUSTOM.replace("+", "%2B")
                                .replace("=", "%3D").replace("/", "%2F").replace(":", "%3A")
                                .replace("!", "%21").replace("~", "%7E"), lp, token=None)
        self.assertEqual(st, 204, body)
        rpc = Rpc(s)
        st, r, _ = Admin(rpc, CUSTOM).call("WhoAmI", admin_pb2.WhoAmIRequest())
        self.assertEqual((st, r.token_kind), (OK, admin_pb2.TOKEN_KIND_OPERATOR))
        st, _, _ = Admin(rpc, CUSTOM[:-1]).call("WhoAmI", admin_pb2.WhoAmIRequest())
        self.assertEqual(st, UNAUTH)
        rpc.close()
        self.assertEqual(s.stop(), 0)
        s.cleanup()

    def test_rotating_the_operator_token_rewrites_its_file(self):
        s = Server(token=CUSTOM)
        rpc = Rpc(s)
        r = Admin(rpc, CUSTOM).must("RotateToken", admin_pb2.RotateTokenRequest(name="_operator"))
        self.assertTrue(r.secret.startswith("strata_o_"))
        self.assertEqual(read(s.token_file).strip(), r.secret)
        self.assertEqual(os.stat(s.token_file).st_mode & 0o777, 0o600)
        self.assertEqual(Admin(rpc, CUSTOM).call("WhoAmI", admin_pb2.WhoAmIRequest())[0], UNAUTH)
        self.assertEqual(Admin(rpc, r.secret).call("WhoAmI", admin_pb2.WhoAmIRequest())[0], OK)
        # the operator token is never revoked
        st, _, _ = Admin(rpc, r.secret).call("RevokeToken", admin_pb2.RevokeTokenRequest(
            name="_operator"))
        self.assertEqual(st, "PERMISSION_DENIED")
        rpc.close()
        self.assertEqual(s.stop(), 0)
        s2 = Server(data_dir=s.data_dir, token=r.secret)
        rpc = Rpc(s2)
        self.assertEqual(Admin(rpc, r.secret).call("WhoAmI", admin_pb2.WhoAmIRequest())[0], OK)
        self.assertNotIn(r.secret, s2.stdout() + s2.stderr())
        rpc.close()
        self.assertEqual(s2.stop(), 0)
        s2.cleanup()
        s.cleanup()

    def test_databases_from_before_the_policy_are_adopted(self):
        s = Server(token=CUSTOM)
        st, _, _ = s.write("legacy v=1i 1", db="legacy")
        self.assertEqual(st, 204)
        self.assertEqual(s.stop(), 0)
        os.unlink(os.path.join(s.data_dir, "security", "policy.json"))
        s2 = Server(data_dir=s.data_dir, token=CUSTOM)
        self.assertIn("adopted database", s2.stderr())
        self.assertIn("legacy", s2.stderr())
        rpc = Rpc(s2)
        st, r, _ = Admin(rpc, CUSTOM).call("ListDatabases", admin_pb2.ListDatabasesRequest())
        self.assertEqual([d.name for d in r.databases], ["legacy"])
        rpc.close()
        self.assertEqual(s2.stop(), 0)
        s2.cleanup()
        s.cleanup()


class AuditLog(unittest.TestCase):
    def test_chain_through_restarts_rotation_and_tampering(self):
        s = Server("--audit-max-bytes", "64KiB", token=CUSTOM)
        for i in range(250):  # several files' worth of events
            s.request("POST", "/api/v3/write_lp?db=a", b"m v=1i %d" % i, token="Bearer " + CUSTOM)
        self.assertEqual(s.stop(), 0)
        s2 = Server("--audit-max-bytes", "64KiB", data_dir=s.data_dir, token=CUSTOM)
        for i in range(20):
            s2.request("POST", "/api/v3/write_lp?db=a", b"m v=1i %d" % i, token="Bearer " + CUSTOM)
        self.assertEqual(s2.stop(), 0)
        files = audit_files(s.data_dir)
        self.assertGreaterEqual(len(files), 3)
        r = verify(files)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # every line is JSON, seq runs on across files and restarts
        seqs = []
        for f in files:
            for line in read(f).splitlines():
                j = json.loads(line)
                seqs.append(j["seq"])
                for secret in (CUSTOM,):
                    self.assertNotIn(secret, line)
        self.assertEqual(seqs, list(range(len(seqs))))
        # an edited line, a removed line, a reordered file: found, with the line
        lines = read(files[1]).splitlines(True)
        for name, new in (("edited", lines[:3] + [lines[3].replace('"allow"', '"deny"')] + lines[4:]),
                          ("removed", lines[:3] + lines[4:]),
                          ("reordered", lines[:3] + [lines[4], lines[3]] + lines[5:])):
            with open(files[1], "w") as f:
                f.write("".join(new))
            r = verify(files)
            self.assertEqual(r.returncode, 12, name)
            self.assertIn(files[1] + ":4:", r.stderr, name)
        with open(files[1], "w") as f:
            f.write("".join(lines))
        # a whole file left out breaks the chain at the next file's genesis
        r = verify([files[0]] + files[2:])
        self.assertEqual(r.returncode, 12)
        s2.cleanup()
        s.cleanup()

    def test_torn_last_line_is_cut_at_start(self):
        s = Server(token=CUSTOM)
        s.request("POST", "/api/v3/write_lp?db=t", b"m v=1i 1", token="Bearer " + CUSTOM)
        self.assertEqual(s.stop(), 0)
        newest = audit_files(s.data_dir)[-1]
        with open(newest, "a") as f:
            f.write('{"seq":99,"time":"2026-')  # a crash in the middle of a write
        s2 = Server(data_dir=s.data_dir, token=CUSTOM)
        self.assertIn("cutting an incomplete last line", s2.stderr())
        s2.request("POST", "/api/v3/write_lp?db=t", b"m v=1i 2", token="Bearer " + CUSTOM)
        self.assertEqual(s2.stop(), 0)
        r = verify(audit_files(s.data_dir))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        s2.cleanup()
        s.cleanup()

    def test_a_tampered_file_is_left_alone_and_the_chain_goes_on(self):
        s = Server(token=CUSTOM)
        for i in range(5):
            s.request("POST", "/api/v3/write_lp?db=t", b"m v=1i %d" % i, token="Bearer " + CUSTOM)
        self.assertEqual(s.stop(), 0)
        f0 = audit_files(s.data_dir)[-1]
        text = read(f0).replace('"allow"', '"deny"', 1)
        with open(f0, "w") as f:
            f.write(text)
        s2 = Server(data_dir=s.data_dir, token=CUSTOM)
        self.assertIn("fails verification", s2.stderr())
        self.assertEqual(s2.stop(), 0)
        self.assertEqual(read(f0), text)  # evidence kept as it was
        files = audit_files(s.data_dir)
        self.assertEqual(len(files), 2)
        self.assertEqual(verify(files[1:]).returncode, 0)
        self.assertEqual(verify(files).returncode, 12)
        s2.cleanup()
        s.cleanup()

    def test_hmac_key_and_read_audit_per_tenant(self):
        import shutil
        import tempfile
        d = tempfile.mkdtemp(prefix="sec-key-")
        self.addCleanup(shutil.rmtree, d, True)
        keyf = os.path.join(d, "audit.key")
        with open(keyf, "wb") as f:
            f.write(os.urandom(32))
        s = Server("--audit-key-file", keyf, token=CUSTOM)
        rpc = Rpc(s)
        op = Admin(rpc, CUSTOM)
        op.create_tenant("acme")
        _, m = op.mint("acme-admin", management=True, tenant="acme")
        acme = Admin(rpc, m)
        acme.create_db("acme_db")
        op.create_db("op_db")
        # the tenant administrator reads its tenant's events only; the operator all of them
        r = acme.must("ReadAudit", admin_pb2.ReadAuditRequest(limit=1000))
        self.assertTrue(r.records)
        for rec in r.records:
            self.assertEqual(json.loads(rec).get("tenant"), "acme", rec)
        self.assertTrue(any('"acme_db"' in x for x in r.records))
        r = op.must("ReadAudit", admin_pb2.ReadAuditRequest(limit=1000))
        self.assertTrue(any('"op_db"' in x for x in r.records))
        self.assertTrue(any('"acme_db"' in x for x in r.records))
        # paging: after_seq and limit
        r1 = op.must("ReadAudit", admin_pb2.ReadAuditRequest(limit=2))
        self.assertTrue(r1.more)
        r2 = op.must("ReadAudit", admin_pb2.ReadAuditRequest(after_seq=r1.last_seq, limit=2))
        self.assertGreater(json.loads(r2.records[0])["seq"], r1.last_seq)
        # a database token may not read the audit log
        _, rd = op.mint("rd", [("op_db", "r")])
        self.assertEqual(Admin(rpc, rd).call("ReadAudit", admin_pb2.ReadAuditRequest())[0],
                         "PERMISSION_DENIED")
        # the strata CLI pages through it
        out = subprocess.run([strata_cli(), "--host", s.url, "--token", CUSTOM, "audit", "read"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertGreater(len(out.stdout.splitlines()), 5)
        rpc.close()
        self.assertEqual(s.stop(), 0)
        files = audit_files(s.data_dir)
        self.assertIn('"chain":"hmac-sha256"', read(files[0]))
        self.assertEqual(verify(files, "--key-file", keyf).returncode, 0)
        self.assertEqual(verify(files).returncode, 12)  # without the key the hashes do not match
        s.cleanup()

    def test_overflow_drop_is_counted_and_recorded(self):
        s = Server("--audit-queue", "16", "--audit-overflow", "drop", "--auth-fail-limit", "0",
                   token=CUSTOM)
        import threading

        def burst():
            for i in range(60):
                # unknown credentials: cheap requests, one audit event each
                s.request("POST", "/api/v3/write_lp?db=b", b"m v=1i %d" % i,
                          token="Bearer unknown-credential-%04d-xxxxxxxxxxxxxxxxxx" % i)
        th = [threading.Thread(target=burst) for _ in range(6)]
        for t in th:
            t.start()
        for t in th:
            t.join()
        st, _, m = s.request("GET", "/metrics", token="Bearer " + CUSTOM)
        dropped = int([ln for ln in m.decode().splitlines()
                       if ln.startswith("strata_audit_dropped_total ")][0].split()[1])
        self.assertEqual(s.stop(), 0)
        text = "".join(read(f) for f in audit_files(s.data_dir))
        if dropped:
            self.assertIn('"reason":"dropped"', text)
        self.assertEqual(verify(audit_files(s.data_dir)).returncode, 0)
        code, err = start_fails(s.data_dir, s.token_file, "--audit-overflow", "sometimes")
        self.assertIn("--audit-overflow: 'sometimes' is not block or drop", err)
        s.cleanup()


if __name__ == "__main__":
    unittest.main()
