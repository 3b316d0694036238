"""sec_matrix_test.py: the role matrix. For every kind of principal (operator, management
token, database tokens with read / write / read+write / Owner / "*", OIDC users holding
Owner, a role through a group, tenant_admin, nothing; and principals of another tenant)
and every RPC, HTTP endpoint and Flight SQL command that `stratad --print-method-table`
lists, the expected answer is computed from the table's privilege and scope alone, then
the call is made against the running server and the answer compared.

The oracle (expected()) is the documented model (docs/security.md), written again here
independently of rbac: deny by default; scope none: anyone authenticated; cluster: the
operator; tenant: administrators (database listing: anyone); database: read/write roles
(Owner implies both, write does not imply read, management identities never touch
data) or, for administrative privileges, Owners and administrators. A database of another
tenant is never reachable: it is answered like a missing one. Every row of the table
needs a probe here: a new RPC without one fails the test.
"""
import http.client
import itertools
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sec_harness import (ADMIN, DENIED, FLIGHT, NOTFOUND, OK, UNAUTH, Admin, Idp, Rpc,  # noqa
                         Server, admin_pb2, descriptor, flight_pb2, flight_sql_pb2, flightsql,
                         health_pb2, http_status_name, method_table, ticket, write_pb2)

D, X = "matrix", "matrix_x"     # every default-tenant principal holds the same roles on both
SQL = "SELECT * FROM m"
_seq = itertools.count(1)


def uniq(prefix):
    return "%s%d" % (prefix, next(_seq))


class P:
    """A principal: its credential and what the model says it holds."""

    def __init__(self, name, cred, kind, tenant="default", roles="", admin=False):
        self.name, self.cred, self.kind, self.tenant = name, cred, kind, tenant
        self.roles = set(roles)      # "r", "w", "o" on D and X
        self.admin = admin


def expected(p, priv, scope, db):
    """The model's answer for principal p using privilege priv (scope) on database db."""
    if scope == "none":
        return OK
    if scope == "cluster":
        return OK if p.kind == "operator" else DENIED
    if scope == "tenant" or (scope == "db_or_tenant" and db is None):
        if priv == "db_list":
            return OK
        return OK if p.admin else DENIED
    exists = p.tenant == "default"          # D and X exist only in the default tenant
    if priv in ("query", "write"):
        if p.kind == "operator":
            return OK if exists else NOTFOUND
        if p.kind == "management":
            return DENIED                   # management identities never touch data
        need = "r" if priv == "query" else "w"
        held = p.roles | ({"r", "w"} if "o" in p.roles else set())
        return OK if exists and need in held else DENIED
    if p.admin:
        return OK if exists else NOTFOUND
    return OK if exists and "o" in p.roles else DENIED


class RoleMatrix(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="sec-matrix-")
        cls.idp = Idp()
        jwks = os.path.join(cls.tmp, "jwks.json")
        cls.idp.write_jwks(jwks)
        cls.s = Server("--oidc-issuer", cls.idp.issuer, "--oidc-audience", cls.idp.audience,
                       "--oidc-jwks-file", jwks, "--oidc-groups-claim", "groups",
                       "--auth-fail-limit", "0")
        cls.rpc = Rpc(cls.s)
        cls.op = Admin(cls.rpc, cls.s.token)
        cls.table = method_table()
        op = cls.op
        op.create_db(D)
        op.create_db(X)
        st, _, body = cls.s.write("m v=1i 1", db=D)
        assert st == 204, body
        op.create_tenant("other")
        _, other_mgmt = op.mint("other-mgmt", management=True, tenant="other")
        other = Admin(cls.rpc, other_mgmt)
        other.create_db("otherdb")
        _, other_read = other.mint("other-read", [("otherdb", "r")])
        _, mgmt = op.mint("mgmt", management=True)
        cls.ps = [P("operator", cls.s.token, "operator", admin=True),
                  P("management", mgmt, "management", admin=True)]
        for name, perm in (("db-read", "r"), ("db-write", "w"), ("db-rw", "rw"),
                           ("db-owner", "o")):
            info, sec = op.mint(name, [(D, perm), (X, perm)])
            cls.ps.append(P(name, sec, "database", roles=perm))
        _, star = op.mint("db-star", [("*", "rw")])
        cls.ps.append(P("db-star", star, "database", roles="rw"))
        for db in (D, X):
            op.grant(db, "owner", user="u-owner")
            op.grant(db, "read", group="readers")
        op.grant("", "tenant_admin", user="u-admin")
        idp = cls.idp
        cls.ps += [P("user-owner", idp.jwt("u-owner"), "user", roles="o"),
                   P("user-group-reader", idp.jwt("u-reader", ["readers"]), "user", roles="r"),
                   P("user-tenant-admin", idp.jwt("u-admin"), "user", admin=True),
                   P("user-nothing", idp.jwt("u-none", ["nobody"]), "user"),
                   P("other-tenant-mgmt", other_mgmt, "management", tenant="other", admin=True),
                   P("other-tenant-reader", other_read, "database", tenant="other", roles="")]
        # a prepared-statement handle for DoPut and CommandPreparedStatementQuery
        st, res, d, _ = cls.rpc.stream(FLIGHT + "DoAction", flight_pb2.Action(
            type="CreatePreparedStatement",
            body=flightsql(flight_sql_pb2.ActionCreatePreparedStatementRequest(query=SQL))),
            flight_pb2.Result, token=cls.s.token, db=D)
        assert st == OK, d
        from google.protobuf import any_pb2
        a = any_pb2.Any.FromString(res[0].body)
        cls.handle = flight_sql_pb2.ActionCreatePreparedStatementResult.FromString(
            a.value).prepared_statement_handle

    @classmethod
    def tearDownClass(cls):
        cls.rpc.close()
        assert cls.s.stop() == 0
        cls.s.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ---- restoring what destructive probes took away ---------------------------------------

    def restore_x(self):
        """X was deleted by an allowed DeleteDatabase: create it and grant everyone again."""
        self.op.create_db(X)
        st, r, d = self.op.call("ListTokens", admin_pb2.ListTokensRequest())
        assert st == OK, d
        ids = {t.name: t.id for t in r.tokens}
        for p in self.ps:
            if p.kind == "database" and p.tenant == "default" and p.name != "db-star":
                role = {"r": ["read"], "w": ["write"], "rw": ["read", "write"], "o": ["owner"]}[
                    "".join(sorted(p.roles, key="rwo".index))]
                for r_ in role:
                    self.op.grant(X, r_, token_id=ids[p.name])
        self.op.grant(X, "owner", user="u-owner")
        self.op.grant(X, "read", group="readers")

    def sacrificial_token(self):
        info, _ = self.op.mint(uniq("sac-"), [(D, "r")])
        return info.id

    # ---- probes: one per row of the table ----------------------------------------------------

    def probe_grpc(self, name, p):
        """(status, database named) of calling RPC `name` as p."""
        rpc, t = self.rpc, p.cred
        A = lambda m, req: rpc.unary(ADMIN + m, req, getattr(admin_pb2, m + "Response"),  # noqa
                                     token=t)[0]
        if name == "Health.Check":
            return rpc.unary("/grpc.health.v1.Health/Check", health_pb2.HealthCheckRequest(),
                             health_pb2.HealthCheckResponse)[0], None
        if name == "Health.Watch":
            f = rpc.ch.unary_stream("/grpc.health.v1.Health/Watch",
                                    request_serializer=lambda m: m.SerializeToString())
            it = f(health_pb2.HealthCheckRequest(), timeout=5)
            next(it)
            it.cancel()
            return OK, None
        if name == "DoGet":
            return rpc.stream(FLIGHT + "DoGet", ticket(D, SQL), token=t)[0], D
        if name in ("GetFlightInfo", "GetSchema"):
            return rpc.unary(FLIGHT + name, descriptor(
                flight_sql_pb2.CommandStatementQuery(query=SQL)), token=t, db=D)[0], D
        if name == "Handshake":
            return rpc.bidi(FLIGHT + "Handshake", [flight_pb2.HandshakeRequest(
                protocol_version=1)], token=t)[0], None
        if name == "ListActions":
            return rpc.stream(FLIGHT + "ListActions", flight_pb2.Empty(), token=t)[0], None
        if name == "DoAction":
            return rpc.stream(FLIGHT + "DoAction", flight_pb2.Action(
                type="CreatePreparedStatement",
                body=flightsql(flight_sql_pb2.ActionCreatePreparedStatementRequest(query=SQL))),
                token=t, db=D)[0], D
        if name == "DoPut":
            fd = flight_pb2.FlightData(flight_descriptor=descriptor(
                flight_sql_pb2.CommandPreparedStatementQuery(
                    prepared_statement_handle=self.handle)))
            return rpc.bidi(FLIGHT + "DoPut", [fd], token=t, db=D)[0], D
        if name == "Write":
            return rpc.unary("/strata.v1.WriteService/Write", write_pb2.WriteRequest(
                database=D, line_protocol=b"m v=2i 2"), write_pb2.WriteResponse, token=t)[0], D
        op = name.split(".", 1)[1]
        if op == "CreateDatabase":
            return A(op, admin_pb2.CreateDatabaseRequest(name=uniq("created_"))), None
        if op == "ListDatabases":
            return A(op, admin_pb2.ListDatabasesRequest()), None
        if op == "DeleteDatabase":
            st = A(op, admin_pb2.DeleteDatabaseRequest(name=X))
            if st == OK:
                self.restore_x()
            return st, X
        if op == "CreateToken":
            req = admin_pb2.CreateTokenRequest(name=uniq("probe-"),
                                               kind=admin_pb2.TOKEN_KIND_DATABASE)
            req.permissions.add(database=D, read=True)
            return A(op, req), D
        if op == "ListTokens":
            return A(op, admin_pb2.ListTokensRequest(database=D)), D
        if op == "RevokeToken":
            return A(op, admin_pb2.RevokeTokenRequest(id=self.sacrificial_token())), D
        if op == "RotateToken":
            return A(op, admin_pb2.RotateTokenRequest(id=self.sacrificial_token())), D
        if op == "GrantRole":
            return A(op, admin_pb2.GrantRoleRequest(database=D, role="read", principal=(
                admin_pb2.Principal(user=uniq("granted-"))))), D
        if op == "RevokeRole":
            victim = uniq("victim-")
            self.op.grant(D, "read", user=victim)
            return A(op, admin_pb2.RevokeRoleRequest(database=D, role="read", principal=(
                admin_pb2.Principal(user=victim)))), D
        if op == "ListRoles":
            return A(op, admin_pb2.ListRolesRequest(database=D)), D
        if op == "WhoAmI":
            return A(op, admin_pb2.WhoAmIRequest()), None
        if op == "Check":
            return A(op, admin_pb2.CheckRequest(action="read", database=D)), D
        if op == "ReadAudit":
            return A(op, admin_pb2.ReadAuditRequest(limit=5)), None
        if op == "CreateTenant":
            return A(op, admin_pb2.CreateTenantRequest(name=uniq("t-"))), None
        if op == "ListTenants":
            return A(op, admin_pb2.ListTenantsRequest()), None
        if op == "DeleteTenant":
            victim = uniq("dt-")
            self.op.create_tenant(victim)
            return A(op, admin_pb2.DeleteTenantRequest(name=victim)), None
        if op == "RotateKey":
            return rpc.stream(ADMIN + op, admin_pb2.RotateKeyRequest(),
                              admin_pb2.RotateKeyResponse, token=t)[0], None
        if op == "Verify":
            return rpc.stream(ADMIN + op, admin_pb2.VerifyRequest(database=D),
                              admin_pb2.VerifyResponse, token=t)[0], D
        raise AssertionError("no probe for RPC %s: add one to sec_matrix_test.py" % name)

    def probe_http(self, ep, p):
        path = ep["path"]
        method = "POST" if "POST" in ep["methods"] and path != "/ping" else "GET"
        body = None
        if ep["database"] == "query_arg":
            path += "?%s=%s" % (ep["database_param"], D)
            body = b"m v=4i 4"
        h = {} if ep["anonymous"] else {"Authorization": "Bearer " + p.cred}
        c = http.client.HTTPConnection("127.0.0.1", self.s.port, timeout=20)
        try:
            c.request(method, path, body=body, headers=h)
            r = c.getresponse()
            r.read()
            return http_status_name(r.status), (D if body else None)
        finally:
            c.close()

    def probe_flightsql(self, cmd, p, with_db):
        msgs = {
            "CommandStatementQuery": lambda: flight_sql_pb2.CommandStatementQuery(query=SQL),
            "CommandPreparedStatementQuery": lambda: flight_sql_pb2.CommandPreparedStatementQuery(
                prepared_statement_handle=self.handle),
            "CommandGetTables": flight_sql_pb2.CommandGetTables,
            "CommandGetCatalogs": flight_sql_pb2.CommandGetCatalogs,
            "CommandGetDbSchemas": flight_sql_pb2.CommandGetDbSchemas,
            "CommandGetTableTypes": flight_sql_pb2.CommandGetTableTypes,
            "CommandGetSqlInfo": flight_sql_pb2.CommandGetSqlInfo,
        }
        if cmd == "CommandStatementUpdate":  # through DoPut only
            fd = flight_pb2.FlightData(flight_descriptor=descriptor(
                flight_sql_pb2.CommandStatementUpdate(query="DELETE FROM m WHERE time < 0")))
            return self.rpc.bidi(FLIGHT + "DoPut", [fd], token=p.cred,
                                 db=D if with_db else None)[0]
        if cmd not in msgs:
            raise AssertionError("no probe for Flight SQL command %s" % cmd)
        st = self.rpc.unary(FLIGHT + "GetFlightInfo", descriptor(msgs[cmd]()), token=p.cred,
                            db=D if with_db else None)[0]
        return st

    # ---- the matrix --------------------------------------------------------------------------

    def test_every_principal_every_method(self):
        bad = []
        checked = 0
        for p in self.ps:
            for row in self.table["grpc"]:
                st, db = self.probe_grpc(row["name"], p)
                want = OK if row["anonymous"] else expected(p, row["privilege"], row["scope"], db)
                checked += 1
                if st != want:
                    bad.append("%s as %s: got %s, want %s" % (row["name"], p.name, st, want))
            for ep in self.table["http"]:
                st, db = self.probe_http(ep, p)
                want = OK if ep["anonymous"] else expected(p, ep["privilege"], ep["scope"], db)
                checked += 1
                if st != want:
                    bad.append("HTTP %s as %s: got %s, want %s" % (ep["path"], p.name, st, want))
            for cmd in self.table["flightsql"]:
                priv = {x["privilege"]: x["scope"] for x in self.table["privileges"]}
                st = self.probe_flightsql(cmd["command"], p, True)
                want = expected(p, cmd["privilege"], cmd["scope"], D)
                checked += 1
                if st != want:
                    bad.append("%s with a database as %s: got %s, want %s" % (
                        cmd["command"], p.name, st, want))
                pw = cmd["privilege_without_database"]
                if pw != "query":
                    st = self.probe_flightsql(cmd["command"], p, False)
                    want = expected(p, pw, priv[pw], None)
                    checked += 1
                    if st != want:
                        bad.append("%s without a database as %s: got %s, want %s" % (
                            cmd["command"], p.name, st, want))
        self.assertGreater(checked, 400)
        self.assertEqual(bad, [], "\n".join(bad))

    def test_unauthenticated_everywhere(self):
        """No credential, or a wrong one: UNAUTHENTICATED on every non-anonymous row."""
        bad = []
        for cred in (None, "strata_d_" + "A" * 48, self.idp.jwt("x", iss="https://evil.test")):
            p = P("nobody", cred, "none")
            for row in self.table["grpc"]:
                if row["anonymous"]:
                    continue
                st, _ = self.probe_grpc(row["name"], p) if cred else (None, None)
                if cred is None:
                    st = self.rpc.unary(row["path"], b"", token=None)[0]
                if st != UNAUTH:
                    bad.append("%s with %s: %s" % (row["name"], "no credential" if cred is None
                                                   else "a bad credential", st))
        self.assertEqual(bad, [], "\n".join(bad))

    def test_table_covers_every_admin_and_write_rpc(self):
        names = {r["path"] for r in self.table["grpc"]}
        svc = admin_pb2.DESCRIPTOR.services_by_name["AdminService"]
        for m in svc.methods:
            self.assertIn(ADMIN + m.name, names)
        self.assertIn("/strata.v1.WriteService/Write", names)
        for r in self.table["grpc"]:
            self.assertIn(r["scope"], ("none", "database", "tenant", "db_or_tenant", "cluster"))
            if r["scope"] == "database":
                self.assertNotEqual(r["database"], "none", r["name"])


if __name__ == "__main__":
    unittest.main()
