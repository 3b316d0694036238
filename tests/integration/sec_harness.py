"""sec_harness.py: what the security integration tests (sec_*_test.py) share.

- the protobuf messages of every RPC (admin.proto included), compiled from proto/ with
  protoc into a temporary directory at import time;
- Rpc: one gRPC call with a chosen credential, answered as (status name, reply or None,
  details, trailers) instead of raising, so tables of expectations read plainly;
- Admin: the AdminService calls the tests need, made with a given token;
- Idp: an OIDC identity provider in miniature: RSA and EC keys, the JWKS document, and JWTs
  minted with OpenSSL (python3-cryptography) from any header and claims, including the
  malformed ones a verifier must refuse;
- ticket(): an InfluxDB 3 JSON DoGet ticket; flightsql(): a packed Flight SQL command.
"""
import atexit
import base64
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gw_harness import ROOT, Server  # noqa: E402,F401

_out = tempfile.mkdtemp(prefix="sec-pb-")
atexit.register(shutil.rmtree, _out, True)
subprocess.run(["protoc", "-I", os.path.join(ROOT, "proto"), "-I", "/usr/include",
                "--python_out", _out, "flight.proto", "flight_sql.proto",
                "grpc/health/v1/health.proto", "strata/v1/write.proto", "strata/v1/admin.proto"],
               check=True)
sys.path.insert(0, _out)
flight_pb2 = importlib.import_module("flight_pb2")
flight_sql_pb2 = importlib.import_module("flight_sql_pb2")


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(_out, path))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


health_pb2 = _load("grpc/health/v1/health_pb2.py", "sec_health_pb2")
write_pb2 = _load("strata/v1/write_pb2.py", "sec_write_pb2")
admin_pb2 = _load("strata/v1/admin_pb2.py", "sec_admin_pb2")
from google.protobuf import any_pb2  # noqa: E402

FLIGHT = "/arrow.flight.protocol.FlightService/"
ADMIN = "/strata.v1.AdminService/"
SQL_URL = "type.googleapis.com/arrow.flight.protocol.sql."

# gRPC status names as the tests compare them
OK, DENIED, UNAUTH, NOTFOUND, INVALID = ("OK", "PERMISSION_DENIED", "UNAUTHENTICATED",
                                         "NOT_FOUND", "INVALID_ARGUMENT")


def stratad():
    return os.environ.get("STRATAD") or os.path.join(ROOT, "build", "bin", "stratad")


def strata_cli():
    d = os.environ.get("STRATA_BIN_DIR") or os.path.join(ROOT, "build", "bin")
    return os.path.join(d, "strata")


def method_table():
    r = subprocess.run([stratad(), "--print-method-table"], capture_output=True, text=True,
                       timeout=30, check=True)
    return json.loads(r.stdout)


class Rpc:
    """gRPC calls against one server, each with its own credential."""

    def __init__(self, server):
        self.ch = grpc.insecure_channel(server.target)

    def close(self):
        self.ch.close()

    @staticmethod
    def md(token=None, db=None, raw=None, extra=()):
        m = []
        if raw is not None:
            m.extend(("authorization", v) for v in raw)
        elif token:
            m.append(("authorization", "Bearer " + token))
        if db is not None:
            m.append(("database", db))
        m.extend(extra)
        return tuple(m)

    def unary(self, path, req, resp_cls=None, token=None, db=None, raw=None, timeout=20,
              extra=()):
        f = self.ch.unary_unary(path, request_serializer=lambda m: m if isinstance(m, bytes)
                                else m.SerializeToString(),
                                response_deserializer=resp_cls.FromString if resp_cls else None)
        try:
            r = f(req, metadata=self.md(token, db, raw, extra), timeout=timeout)
            return OK, r, "", ()
        except grpc.RpcError as e:
            return e.code().name, None, e.details() or "", tuple(e.trailing_metadata() or ())

    def stream(self, path, req, resp_cls=None, token=None, db=None, raw=None, timeout=20):
        f = self.ch.unary_stream(path, request_serializer=lambda m: m if isinstance(m, bytes)
                                 else m.SerializeToString(),
                                 response_deserializer=resp_cls.FromString if resp_cls else None)
        try:
            out = list(f(req, metadata=self.md(token, db, raw), timeout=timeout))
            return OK, out, "", ()
        except grpc.RpcError as e:
            return e.code().name, None, e.details() or "", tuple(e.trailing_metadata() or ())

    def bidi(self, path, reqs, resp_cls=None, token=None, db=None, timeout=20):
        f = self.ch.stream_stream(path, request_serializer=lambda m: m.SerializeToString(),
                                  response_deserializer=resp_cls.FromString if resp_cls else None)
        try:
            out = list(f(iter(reqs), metadata=self.md(token, db), timeout=timeout))
            return OK, out, "", ()
        except grpc.RpcError as e:
            return e.code().name, None, e.details() or "", tuple(e.trailing_metadata() or ())


class Admin:
    """AdminService with one token; every call returns (status, reply, details)."""

    def __init__(self, rpc, token):
        self.rpc = rpc
        self.token = token

    def call(self, name, req):
        resp = getattr(admin_pb2, name + "Response")
        st, r, d, _ = self.rpc.unary(ADMIN + name, req, resp, token=self.token)
        return st, r, d

    def must(self, name, req):
        st, r, d = self.call(name, req)
        if st != OK:
            raise AssertionError("%s: %s %s" % (name, st, d))
        return r

    def create_db(self, name):
        return self.must("CreateDatabase", admin_pb2.CreateDatabaseRequest(name=name))

    def create_tenant(self, name):
        return self.must("CreateTenant", admin_pb2.CreateTenantRequest(name=name))

    def mint(self, name, perms=(), management=False, tenant="", expires=0):
        """perms: [(db, "r"|"w"|"rw"|"o")] -> (TokenInfo, secret)."""
        req = admin_pb2.CreateTokenRequest(
            name=name, tenant=tenant, expires_in_seconds=expires,
            kind=admin_pb2.TOKEN_KIND_MANAGEMENT if management else admin_pb2.TOKEN_KIND_DATABASE)
        for db, p in perms:
            req.permissions.add(database=db, read="r" in p, write="w" in p, owner="o" in p)
        r = self.must("CreateToken", req)
        return r.token, r.secret

    def grant(self, db, role, user=None, group=None, token_id=None):
        p = admin_pb2.Principal(user=user) if user else admin_pb2.Principal(
            group=group) if group else admin_pb2.Principal(token_id=token_id)
        return self.must("GrantRole", admin_pb2.GrantRoleRequest(database=db, role=role,
                                                                  principal=p))


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Idp:
    """Keys, JWKS and JWTs for an issuer."""

    def __init__(self, issuer="https://idp.test", audience="strata"):
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        self.issuer, self.audience = issuer, audience
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())

    def jwks(self):
        n = self.rsa.public_key().public_numbers()
        e = self.ec.public_key().public_numbers()
        return {"keys": [
            {"kty": "RSA", "kid": "rsa1", "use": "sig", "alg": "RS256",
             "n": b64u(n.n.to_bytes(256, "big")), "e": b64u(n.e.to_bytes(3, "big"))},
            {"kty": "EC", "kid": "ec1", "use": "sig", "alg": "ES256", "crv": "P-256",
             "x": b64u(e.x.to_bytes(32, "big")), "y": b64u(e.y.to_bytes(32, "big"))},
        ]}

    def write_jwks(self, path):
        with open(path, "w") as f:
            json.dump(self.jwks(), f)

    def claims(self, sub, groups=None, **extra):
        now = int(time.time())
        c = {"iss": self.issuer, "aud": self.audience, "sub": sub, "iat": now - 5,
             "exp": now + 600}
        if groups is not None:
            c["groups"] = groups
        c.update(extra)
        return c

    def sign(self, header, payload, alg="RS256"):
        """header and payload: dicts or raw strings; returns the compact JWS."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec, padding
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
        h = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
        p = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        msg = (b64u(h.encode()) + "." + b64u(p.encode())).encode()
        if alg == "RS256":
            sig = self.rsa.sign(msg, padding.PKCS1v15(), hashes.SHA256())
        elif alg == "ES256":
            r, s = decode_dss_signature(self.ec.sign(msg, ec.ECDSA(hashes.SHA256())))
            sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        else:
            sig = b""
        return msg.decode() + "." + b64u(sig)

    def jwt(self, sub, groups=None, **extra):
        return self.sign({"alg": "RS256", "kid": "rsa1", "typ": "JWT"},
                         self.claims(sub, groups, **extra))


def ticket(db, sql):
    return flight_pb2.Ticket(ticket=json.dumps({"database": db, "sql_query": sql,
                                                "query_type": "sql"}).encode())


def flightsql(msg):
    a = any_pb2.Any()
    a.type_url = SQL_URL + msg.DESCRIPTOR.name
    a.value = msg.SerializeToString()
    return a.SerializeToString()


def descriptor(msg):
    return flight_pb2.FlightDescriptor(type=flight_pb2.FlightDescriptor.CMD, cmd=flightsql(msg))


def http_status_name(st):
    return {200: OK, 204: OK, 401: UNAUTH, 403: DENIED, 404: NOTFOUND, 400: INVALID}.get(
        st, "HTTP_%d" % st)
