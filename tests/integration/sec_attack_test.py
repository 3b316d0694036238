"""sec_attack_test.py: the opaque-token, escalation, tenant, name and resource rows of the
attack catalogue (research/security-anchors.md s. 2.2 and 2.3) through the running
stratad, the failed-authentication limiter, revocation on open connections, and at the end
a search of everything the server said (answers, its log, /metrics, the audit log, the
policy file) for every secret the run used. The JWT rows are tests/node/sec_jwt.test.mjs.

Expectations: no or a bad credential -> UNAUTHENTICATED / 401 with one message; a valid one
that may not -> PERMISSION_DENIED / 403 with one message, identical for a database that
does not exist; malformed names -> INVALID_ARGUMENT / 400; the last Owner ->
FAILED_PRECONDITION; over a size or rate limit -> RESOURCE_EXHAUSTED / 413 / 429.
"""
import base64
import hashlib
import json
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# These tests read the policy and pepper files as they are stored (JSON, raw bytes): the
# servers run without encryption at rest, which stores them plain. The sealed forms are
# tested in dp_policy_test.py.
os.environ["STRATA_ENCRYPTION"] = "off"
from sec_harness import (ADMIN, DENIED, FLIGHT, INVALID, NOTFOUND, OK, UNAUTH, Admin, Rpc,  # noqa
                         Server, admin_pb2, descriptor, flight_pb2, flight_sql_pb2, ticket,
                         write_pb2)

WRITE = "/strata.v1.WriteService/Write"
OPERATOR = "provisioned/operator:token+for=attack-tests!0123456789"
GENERIC_UNAUTH = "the request was not authenticated"
GENERIC_DENIED = "permission denied"


def read(path):
    with open(path) as f:
        return f.read()


class Attacks(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Server("--auth-fail-limit", "0", "--max-result-size", "64KiB",
                       token=OPERATOR)
        cls.rpc = Rpc(cls.s)
        cls.op = Admin(cls.rpc, OPERATOR)
        cls.secrets = [OPERATOR]
        cls.answers = []  # every error text the server sent
        op = cls.op
        op.create_db("metrics")
        op.create_db("logs")
        st, _, b = cls.s.write("cpu,host=a usage=1 1\ncpu,host=b usage=2 2", db="metrics")
        assert st == 204, b
        cls.read_info, cls.read = cls.mint("reader", [("metrics", "r")])
        cls.write_info, cls.wtok = cls.mint("writer", [("metrics", "w")])
        cls.owner_info, cls.owner = cls.mint("owner", [("metrics", "o")])
        cls.mgmt_info, cls.mgmt = cls.mint("mgmt", management=True)
        cls.logs_info, cls.logs = cls.mint("logs-reader", [("logs", "r")])

    @classmethod
    def mint(cls, name, perms=(), management=False, admin=None, **kw):
        info, sec = (admin or cls.op).mint(name, perms, management, **kw)
        cls.secrets.append(sec)
        return info, sec

    @classmethod
    def tearDownClass(cls):
        cls.rpc.close()
        code = cls.s.stop()
        assert code == 0, cls.s.stderr()
        cls.check_no_secrets()
        cls.s.cleanup()

    # ---- helpers ----------------------------------------------------------------------------

    def call(self, path, req, resp=None, token=None, raw=None, db=None, extra=()):
        st, r, details, tr = self.rpc.unary(path, req, resp, token=token, raw=raw, db=db,
                                            extra=extra)
        self.answers.append(details)
        return st, details, r

    def whoami(self, token=None, raw=None, extra=()):
        return self.call(ADMIN + "WhoAmI", admin_pb2.WhoAmIRequest(), admin_pb2.WhoAmIResponse,
                         token=token, raw=raw, extra=extra)

    def query(self, token, db, sql="SELECT * FROM cpu"):
        st, frames, details, _ = self.rpc.stream(FLIGHT + "DoGet", ticket(db, sql),
                                                 flight_pb2.FlightData, token=token)
        self.answers.append(details)
        return st, details, frames

    def gwrite(self, token, db, lp=b"cpu,host=z usage=9 9"):
        return self.call(WRITE, write_pb2.WriteRequest(database=db, line_protocol=lp),
                         write_pb2.WriteResponse, token=token)

    def admin(self, token, name, req):
        return self.call(ADMIN + name, req, getattr(admin_pb2, name + "Response"), token=token)

    def http(self, method, path, body=None, auth=None):
        st, _, data = self.s.request(method, path, body=body, token=auth)
        self.answers.append(data.decode(errors="replace"))
        return st, data

    # ---- 2.2 opaque tokens ------------------------------------------------------------------

    def test_header_shapes_on_grpc(self):
        t = self.read
        cases = {
            "missing": None,
            "empty": [""],
            "Bearer": ["Bearer"],
            "Bearer and a space": ["Bearer "],
            "bare token": [t],
            "Baerer": ["Baerer " + t],
            "lower-case bearer (InfluxDB's exact schemes)": ["bearer " + t],
            "upper-case BEARER": ["BEARER " + t],
            "Token on gRPC": ["Token " + t],
            "Basic on gRPC": ["Basic " + base64.b64encode(b"u:" + t.encode()).decode()],
            "double space": ["Bearer  " + t],
            "trailing space": ["Bearer " + t + " "],
            "upper-cased token": ["Bearer " + t.upper()],
            "lower-cased token": ["Bearer " + t.lower()],
            "truncated by one": ["Bearer " + t[:-1]],
            "first 12 characters": ["Bearer " + t[:12]],
            "one extra character": ["Bearer " + t + "A"],
            "the token id": ["Bearer " + self.read_info.id],
            "the token's SHA-512": ["Bearer " + hashlib.sha512(t.encode()).hexdigest()],
            "two values: valid + garbage": ["Bearer " + t, "Bearer garbage-garbage-garbage-garbage"],
            "two values: garbage + valid": ["Bearer garbage-garbage-garbage-garbage", "Bearer " + t],
            "two values: read + owner": ["Bearer " + t, "Bearer " + self.owner],
            "two identical values": ["Bearer " + t, "Bearer " + t],
            "comma-joined": ["Bearer " + t + "," + self.owner],
        }
        for name, raw in cases.items():
            st, details, _ = self.whoami(raw=raw if raw is not None else [])
            self.assertIn(st, (UNAUTH, "RESOURCE_EXHAUSTED"), name)
            if st == UNAUTH:
                self.assertEqual(details, GENERIC_UNAUTH, name)
        # the token elsewhere: another key, a binary key, inside the SQL text
        st, _, _ = self.whoami(raw=[], extra=(("x-token", t), ("authorization-bin", t.encode())))
        self.assertEqual(st, UNAUTH)
        st, _, _ = self.query(None, "metrics", "SELECT '%s' FROM cpu" % t)
        self.assertEqual(st, UNAUTH)
        # a 16 KiB value, 10,000 metadata entries: refused by gRPC core before anything is
        # decoded (it may drop the connection: each on a channel of its own)
        for extra, raw in (((), ["Bearer " + "A" * 16384]),
                           (tuple(("x-k%d" % i, "v") for i in range(10000)), ["Bearer " + t])):
            big = Rpc(self.s)
            st, _, details, _ = big.unary(ADMIN + "WhoAmI", admin_pb2.WhoAmIRequest(), raw=raw,
                                          extra=extra)
            big.close()
            self.assertIn(st, (UNAUTH, "RESOURCE_EXHAUSTED", "INTERNAL", "UNAVAILABLE"))
            if st == UNAUTH:
                self.assertEqual(details, GENERIC_UNAUTH)
        # the real one, for contrast
        st, _, r = self.whoami(token=t)
        self.assertEqual(st, OK)
        self.assertEqual(r.token_kind, admin_pb2.TOKEN_KIND_DATABASE)

    def raw_http(self, header_value):
        """A write with an Authorization header carrying arbitrary bytes."""
        s = socket.create_connection(("127.0.0.1", self.s.port), timeout=10)
        body = b"cpu v=1 1"
        s.sendall(b"POST /api/v3/write_lp?db=metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                  b"Authorization: " + header_value + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
                  + body)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
        s.close()
        self.answers.append(data.decode(errors="replace"))
        return int(data.split(b" ")[1]) if data.startswith(b"HTTP/1.1 ") else 0

    def test_header_shapes_on_http(self):
        t = self.wtok.encode()
        for name, v in {"NUL inside": b"Bearer " + t[:10] + b"\x00" + t[10:],
                        "non-ASCII": b"Bearer " + t + b"\xc3\xa9",
                        "tab": b"Bearer\t" + t,
                        "bare CR": b"Bearer " + t + b"\rX",
                        "1 MiB value": b"Bearer " + b"A" * (1 << 20)}.items():
            st = self.raw_http(v)
            self.assertIn(st, (400, 401, 431, 413, 0), name)
        # InfluxDB's forms stay accepted on HTTP
        lp = b"cpu,host=h usage=3 3"
        for auth in ("Token " + self.wtok, "Bearer " + self.wtok,
                     "Basic " + base64.b64encode(b"telegraf:" + t).decode()):
            st, body = self.http("POST", "/api/v2/write?bucket=metrics", lp, auth)
            self.assertEqual(st, 204, (auth[:6], body))
        st, _ = self.http("POST", "/write?db=metrics&u=x&p=" + self.wtok, lp)
        self.assertEqual(st, 204)
        # p= is for v1 only; a header and p= together, or two p=, are refused
        st, _ = self.http("POST", "/api/v3/write_lp?db=metrics&p=" + self.wtok, lp)
        self.assertEqual(st, 401)
        st, _ = self.http("POST", "/write?db=metrics&p=" + self.wtok, lp, "Bearer " + self.wtok)
        self.assertEqual(st, 401)
        st, _ = self.http("POST", "/write?db=metrics&p=%s&p=%s" % (self.wtok, self.wtok), lp)
        self.assertEqual(st, 401)
        # malformed headers: InfluxDB's 400; unknown credentials: the generic 401
        for auth in ("bearer " + self.wtok, "Bearer", "Digest abc", "Basic !!!"):
            st, body = self.http("POST", "/api/v2/write?bucket=metrics", lp, auth)
            self.assertEqual(st, 400, auth)
            self.assertIn(b"malformed", body)
        st, body = self.http("POST", "/api/v2/write?bucket=metrics", lp, "Bearer " + "x" * 40)
        self.assertEqual((st, json.loads(body)), (401, {"error": GENERIC_UNAUTH}))

    def test_permissions_and_identical_denials(self):
        """A valid token that may not: one answer, whether or not the database exists."""
        cases = [
            (self.read, "write", "metrics"), (self.read, "write", "nosuchdb"),
            (self.wtok, "query", "metrics"), (self.wtok, "query", "nosuchdb"),
            (self.read, "query", "logs"), (self.read, "query", "nosuchdb"),
            (self.mgmt, "query", "metrics"), (self.mgmt, "write", "metrics"),
            (self.logs, "query", "metrics"),
        ]
        seen = set()
        for tok, what, db in cases:
            if what == "write":
                st, details, _ = self.gwrite(tok, db)
            else:
                st, details, _ = self.query(tok, db)
            self.assertEqual((st, details), (DENIED, GENERIC_DENIED), (what, db))
            seen.add(details)
        self.assertEqual(seen, {GENERIC_DENIED})
        # HTTP: the same 403 body for an existing and a missing database
        bodies = set()
        for db in ("metrics", "nosuchdb"):
            st, body = self.http("POST", "/api/v3/write_lp?db=" + db, b"cpu v=1 1",
                                 "Bearer " + self.read)
            self.assertEqual(st, 403)
            bodies.add(body)
        self.assertEqual(len(bodies), 1)
        # a database token on an admin RPC
        req = admin_pb2.CreateTokenRequest(name="x", kind=admin_pb2.TOKEN_KIND_DATABASE)
        req.permissions.add(database="metrics", read=True)
        st, details, _ = self.admin(self.read, "CreateToken", req)
        self.assertEqual((st, details), (DENIED, GENERIC_DENIED))
        # reading works where granted
        st, _, frames = self.query(self.read, "metrics")
        self.assertEqual(st, OK)

    def test_revoke_and_rotate_on_an_open_connection(self):
        info, t = self.mint("short-lived", [("metrics", "r")])
        for _ in range(3):  # the channel (one HTTP/2 connection) stays open throughout
            self.assertEqual(self.query(t, "metrics")[0], OK)
        st, _, _ = self.admin(OPERATOR, "RevokeToken", admin_pb2.RevokeTokenRequest(id=info.id))
        self.assertEqual(st, OK)
        self.assertEqual(self.query(t, "metrics")[0], UNAUTH)
        info, t = self.mint("rotated", [("metrics", "r")])
        self.assertEqual(self.query(t, "metrics")[0], OK)
        st, _, r = self.admin(OPERATOR, "RotateToken", admin_pb2.RotateTokenRequest(name="rotated"))
        self.assertEqual(st, OK)
        self.secrets.append(r.secret)
        self.assertEqual(r.token.id, info.id)
        self.assertEqual(self.query(t, "metrics")[0], UNAUTH)
        self.assertEqual(self.query(r.secret, "metrics")[0], OK)
        # expiry
        info, t = self.mint("expiring", [("metrics", "r")], expires=1)
        self.assertEqual(self.query(t, "metrics")[0], OK)
        time.sleep(1.2)
        self.assertEqual(self.query(t, "metrics")[0], UNAUTH)

    def test_secrets_are_shown_once(self):
        st, _, r = self.admin(OPERATOR, "ListTokens", admin_pb2.ListTokensRequest())
        self.assertEqual(st, OK)
        blob = r.SerializeToString()
        for sec in self.secrets:
            self.assertNotIn(sec.encode(), blob)
        names = {t.name for t in r.tokens}
        self.assertIn("_operator", names)  # the operator sees its own token's record
        st, _, r = self.admin(self.mgmt, "ListTokens", admin_pb2.ListTokensRequest())
        self.assertEqual(st, OK)
        self.assertNotIn("_operator", {t.name for t in r.tokens})  # nobody else does
        st, _, _ = self.admin(self.read, "ListTokens", admin_pb2.ListTokensRequest())
        self.assertEqual(st, DENIED)
        st, _, _ = self.admin(self.read, "ListTokens",
                              admin_pb2.ListTokensRequest(database="metrics"))
        self.assertEqual(st, DENIED)

    # ---- 2.3 escalation ---------------------------------------------------------------------

    def token_count(self):
        st, _, r = self.admin(OPERATOR, "ListTokens", admin_pb2.ListTokensRequest())
        self.assertEqual(st, OK)
        return len(r.tokens)

    def test_escalation_is_refused(self):
        n = self.token_count()
        attempts = []
        for tok, perms in ((self.wtok, [("metrics", "o")]), (self.wtok, [("*", "rw")]),
                           (self.read, [("metrics", "rw")]), (self.owner, [("logs", "r")]),
                           (self.owner, [("*", "r")])):
            req = admin_pb2.CreateTokenRequest(name="esc-%d" % len(attempts),
                                               kind=admin_pb2.TOKEN_KIND_DATABASE)
            for db, p in perms:
                req.permissions.add(database=db, read="r" in p, write="w" in p, owner="o" in p)
            attempts.append(self.admin(tok, "CreateToken", req)[0])
        # an Owner minting in another tenant; a database token minting a management token
        req = admin_pb2.CreateTokenRequest(name="esc-x", kind=admin_pb2.TOKEN_KIND_MANAGEMENT)
        attempts.append(self.admin(self.owner, "CreateToken", req)[0])
        self.op.create_tenant("esc-tenant")
        req = admin_pb2.CreateTokenRequest(name="esc-y", kind=admin_pb2.TOKEN_KIND_DATABASE,
                                           tenant="esc-tenant")
        req.permissions.add(database="metrics", read=True)
        attempts.append(self.admin(self.owner, "CreateToken", req)[0])
        # granting oneself more
        for tok, info, role in ((self.read, self.read_info, "write"),
                                (self.read, self.read_info, "owner"),
                                (self.wtok, self.write_info, "read")):
            attempts.append(self.admin(tok, "GrantRole", admin_pb2.GrantRoleRequest(
                database="metrics", role=role,
                principal=admin_pb2.Principal(token_id=info.id)))[0])
        attempts.append(self.admin(self.read, "GrantRole", admin_pb2.GrantRoleRequest(
            database="metrics", role="read", principal=admin_pb2.Principal(user="mallory")))[0])
        self.assertEqual(attempts, [DENIED] * len(attempts))
        self.assertEqual(self.token_count(), n)
        # a management token never receives a data role, so it never reads data
        st, details, _ = self.admin(OPERATOR, "GrantRole", admin_pb2.GrantRoleRequest(
            database="metrics", role="read", principal=admin_pb2.Principal(
                token_id=self.mgmt_info.id)))
        self.assertEqual(st, INVALID)
        self.assertEqual(self.query(self.mgmt, "metrics")[0], DENIED)

    def test_last_owner_and_concurrent_owners(self):
        self.op.create_db("owned")
        self.op.grant("owned", "owner", user="u-only")
        st, _, _ = self.admin(OPERATOR, "RevokeRole", admin_pb2.RevokeRoleRequest(
            database="owned", role="owner", principal=admin_pb2.Principal(user="u-only")))
        self.assertEqual(st, "FAILED_PRECONDITION")
        # two Owner tokens revoking each other at once: exactly one succeeds
        self.op.create_db("duel")
        a_info, a = self.mint("duel-a", [("duel", "o")])
        b_info, b = self.mint("duel-b", [("duel", "o")])
        results = {}

        def revoke(me, other):
            results[me] = self.rpc.unary(ADMIN + "RevokeToken",
                                         admin_pb2.RevokeTokenRequest(id=other.id),
                                         admin_pb2.RevokeTokenResponse,
                                         token=a if me == "a" else b)[0]
        th = [threading.Thread(target=revoke, args=("a", b_info)),
              threading.Thread(target=revoke, args=("b", a_info))]
        for t in th:
            t.start()
        for t in th:
            t.join()
        self.assertEqual(sorted(results.values()).count(OK), 1, results)
        alive = [self.whoami(token=x)[0] for x in (a, b)]
        self.assertEqual(alive.count(OK), 1, alive)

    def test_deleting_a_database_revokes_its_grants_and_tokens(self):
        self.op.create_db("doomed")
        info, t = self.mint("doomed-reader", [("doomed", "r")])
        self.op.grant("doomed", "read", user="u-doomed")
        self.assertEqual(self.query(t, "doomed", "SELECT 1")[0], OK)
        self.op.must("DeleteDatabase", admin_pb2.DeleteDatabaseRequest(name="doomed"))
        self.assertEqual(self.query(t, "doomed", "SELECT 1")[0], UNAUTH)  # revoked with it
        self.op.create_db("doomed")  # re-creating the name brings no right back
        st, _, r = self.admin(OPERATOR, "ListRoles", admin_pb2.ListRolesRequest(database="doomed"))
        self.assertEqual((st, list(r.bindings)), (OK, []))

    # ---- tenants --------------------------------------------------------------------------

    def test_tenants_are_isolated(self):
        ids = {}
        for t in ("ta", "tb"):
            self.op.create_tenant(t)
            _, m = self.mint(t + "-mgmt", management=True, tenant=t)
            adm = Admin(self.rpc, m)
            adm.create_db("shared")
            _, rw = self.mint(t + "-rw", [("shared", "rw")], admin=adm)
            ids[t] = (m, rw)
            st, _, r = self.gwrite(rw, "shared", ("cpu,tenant=%s v=1 1" % t).encode())
            self.assertEqual((st, r.code), (OK, 0))
        for t, other in (("ta", "tb"), ("tb", "ta")):
            m, rw = ids[t]
            st, _, frames = self.query(rw, "shared", "SELECT tenant FROM cpu")
            self.assertEqual(st, OK)
            payload = b"".join(f.data_body for f in frames)
            self.assertIn(t.encode(), payload)
            self.assertNotIn(other.encode(), payload)
            # the default tenant's databases do not exist for it
            self.assertEqual(self.query(rw, "metrics")[0], DENIED)
            st, _, r = self.admin(m, "ListDatabases", admin_pb2.ListDatabasesRequest())
            self.assertEqual([d.name for d in r.databases], ["shared"])
            # storage names are not names: "--" is refused before anything is looked up
            for tok in (rw, OPERATOR):
                st, _, _ = self.query(tok, "%s--shared" % other)
                self.assertEqual(st, INVALID)
            # another tenant's token id looks exactly like one that does not exist
            st, _, _ = self.admin(m, "RevokeToken", admin_pb2.RevokeTokenRequest(
                id=self.read_info.id))
            st2, _, _ = self.admin(m, "RevokeToken", admin_pb2.RevokeTokenRequest(
                id="0123456789abcdef"))
            self.assertEqual(st, st2)
            st, d1, _ = self.admin(m, "Check", admin_pb2.CheckRequest(
                action="read", database="shared",
                principal=admin_pb2.Principal(token_id=self.read_info.id)))
            st2, d2, _ = self.admin(m, "Check", admin_pb2.CheckRequest(
                action="read", database="shared",
                principal=admin_pb2.Principal(token_id="0123456789abcdef")))
            self.assertEqual((st, d1), (st2, d2))
            # naming the other tenant's token by name: not found, like any unknown name
            st, _, _ = self.admin(m, "RotateToken", admin_pb2.RotateTokenRequest(
                name=other + "-rw"))
            self.assertEqual(st, NOTFOUND)
        # SQL cannot reach another database
        for sql in ("SELECT * FROM ta.iox.cpu", 'SELECT * FROM "tb".shared.cpu',
                    "SELECT * FROM system.tokens", "SELECT * FROM logs.cpu"):
            st, _, _ = self.query(self.read, "metrics", sql)
            self.assertNotEqual(st, OK, sql)
        st, _, frames = self.query(self.read, "metrics", "SELECT table_name FROM "
                                   "information_schema.tables")
        self.assertEqual(st, OK)
        self.assertNotIn(b"shared", b"".join(f.data_body for f in frames))
        # statements that change data do not go through the read path
        for sql in ("DELETE FROM cpu", "SELECT 1; DROP DATABASE metrics"):
            st, _, _ = self.query(self.read, "metrics", sql)
            self.assertNotEqual(st, OK, sql)
        self.assertEqual(self.query(self.read, "metrics")[0], OK)

    # ---- names -------------------------------------------------------------------------------

    def test_bad_names_are_invalid_arguments(self):
        bad = ["../tenant-b/metrics", "a/b", "a\\b", "nul\x00x", ".", "..", "", "x" * 256,
               "ｍｅｔｒｉｃｓ", "metricѕ", "met\u200brics", "\u202emetrics", "*", "%2e%2e%2f",
               "new\nline", " leading", "a--b", "metrics'; DROP DATABASE metrics; --"]
        for name in bad:
            st, _, _ = self.admin(OPERATOR, "CreateDatabase",
                                  admin_pb2.CreateDatabaseRequest(name=name))
            self.assertEqual(st, INVALID, repr(name))
            if name:
                st, _, _ = self.query(self.read, name)
                self.assertEqual(st, INVALID, repr(name))
                st, _, _ = self.gwrite(OPERATOR, name)
                self.assertEqual(st, INVALID, repr(name))
        st, _, _ = self.admin(OPERATOR, "ListDatabases", admin_pb2.ListDatabasesRequest())
        self.assertEqual(st, OK)
        # table names in writes follow the engine's rules
        st, body = self.http("POST", "/api/v3/write_lp?db=metrics&accept_partial=false",
                             b"../evil v=1 1", "Bearer " + OPERATOR)
        self.assertEqual(st, 400)

    # ---- resources ---------------------------------------------------------------------------

    def test_resource_limits(self):
        # a 10 MiB query: refused by size, the server stays up
        st, _, _ = self.query(self.read, "metrics", "SELECT " + "1+" * (5 << 20) + "1")
        self.assertEqual(st, "RESOURCE_EXHAUSTED")
        # 100,000 nested parentheses
        st, _, _ = self.query(self.read, "metrics", "SELECT " + "(" * 100000 + "1" + ")" * 100000)
        self.assertIn(st, (INVALID, "RESOURCE_EXHAUSTED"))
        # a result larger than --max-result-size (64 KiB)
        st, _, _ = self.query(self.read, "metrics", "SELECT a.host, b.host, c.host, d.host FROM "
                              "cpu a, cpu b, cpu c, cpu d, cpu e, cpu f, cpu g, cpu h, cpu i, cpu j, "
                              "cpu k, cpu l, cpu m, cpu n")
        self.assertIn(st, ("RESOURCE_EXHAUSTED", INVALID, "UNIMPLEMENTED"))
        # before authentication only small things are read: a 3 MiB request without a
        # credential is refused without being read
        t0 = time.time()
        st, _, _ = self.query(None, "metrics", "SELECT '" + "x" * (3 << 20) + "'")
        self.assertEqual(st, UNAUTH)
        self.assertLess(time.time() - t0, 5)
        self.assertEqual(self.query(self.read, "metrics")[0], OK)

    # ---- the end: no secret anywhere ------------------------------------------------------

    @classmethod
    def check_no_secrets(cls):
        s = cls.s
        texts = {"stderr": s.stderr(), "answers": "\n".join(cls.answers)}
        audit_dir = os.path.join(s.data_dir, "audit")
        texts["audit"] = "".join(read(os.path.join(audit_dir, f))
                                 for f in sorted(os.listdir(audit_dir)))
        texts["policy"] = read(os.path.join(s.data_dir, "security", "policy.json"))
        texts["stdout"] = s.stdout()
        assert '"category":"authz"' in texts["audit"] and '"category":"admin"' in texts["audit"]
        for sec in cls.secrets:
            for name, text in texts.items():
                assert sec not in text, "a secret in the %s" % name
                for i in range(0, len(sec) - 12, 4):
                    assert sec[i:i + 12] not in text, "a secret's fragment in the %s" % name


class BruteForce(unittest.TestCase):
    """--auth-fail-limit: an address failing too often is refused before its credential is
    looked at, the burst is audited once, and the window's end lets it in again."""

    def test_limit_per_address(self):
        s = Server("--auth-fail-limit", "5", "--auth-fail-window", "2s", token=OPERATOR)
        rpc = Rpc(s)
        try:
            for i in range(5):
                st, _, _ = s.request("POST", "/api/v3/write_lp?db=x", b"m v=1",
                                     token="Bearer wrong-token-%02d-xxxxxxxxxxxxxxxxxxxxx" % i)
                self.assertEqual(st, 401)
            # now even the right token is refused, on both protocols
            st, _, body = s.request("POST", "/api/v3/write_lp?db=x", b"m v=1",
                                    token="Bearer " + OPERATOR)
            self.assertEqual(st, 429, body)
            st = rpc.unary(ADMIN + "WhoAmI", admin_pb2.WhoAmIRequest(), token=OPERATOR)[0]
            self.assertEqual(st, "RESOURCE_EXHAUSTED")
            # health stays open
            st, _, _ = s.request("GET", "/health", token=None)
            self.assertEqual(st, 200)
            time.sleep(2.2)
            st, _, _ = s.request("POST", "/api/v3/write_lp?db=x", b"m v=1", token="Bearer " + OPERATOR)
            self.assertEqual(st, 204)
            # missing credentials are not guesses: they do not count
            for _ in range(10):
                s.request("POST", "/api/v3/write_lp?db=x", b"m v=1", token=None)
            st = rpc.unary(ADMIN + "WhoAmI", admin_pb2.WhoAmIRequest(), token=OPERATOR)[0]
            self.assertEqual(st, OK)
            st, _, m = s.request("GET", "/metrics", token="Bearer " + OPERATOR)
            self.assertIn(b"strata_auth_rate_limit_bursts_total 1", m)
        finally:
            rpc.close()
            self.assertEqual(s.stop(), 0)
        audit = "".join(read(os.path.join(s.data_dir, "audit", f))
                        for f in os.listdir(os.path.join(s.data_dir, "audit")))
        self.assertEqual(audit.count('"reason":"rate_limited"'), 1)
        s.cleanup()


if __name__ == "__main__":
    unittest.main()
