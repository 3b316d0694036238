"""gw_pb.py: compile proto/*.proto with protoc --python_out into a temporary directory
at import time and expose the message modules (flight_pb2, flight_sql_pb2, health_pb2,
write_pb2, any_pb2) for the python3-grpcio tests. Nothing is generated into the tree."""
import atexit
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_out = tempfile.mkdtemp(prefix="gw-pb-")
atexit.register(shutil.rmtree, _out, True)
subprocess.run(["protoc", "-I", os.path.join(ROOT, "proto"), "-I", "/usr/include",
                "--python_out", _out, "flight.proto", "flight_sql.proto",
                "grpc/health/v1/health.proto", "strata/v1/write.proto"],
               check=True)
sys.path.insert(0, _out)
flight_pb2 = importlib.import_module("flight_pb2")
flight_sql_pb2 = importlib.import_module("flight_sql_pb2")


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(_out, path))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


health_pb2 = _load("grpc/health/v1/health_pb2.py", "gw_health_pb2")
write_pb2 = _load("strata/v1/write_pb2.py", "gw_write_pb2")
from google.protobuf import any_pb2  # noqa: E402,F401


def unary(channel, path, req_cls=None, resp_cls=None):
    return channel.unary_unary(
        path,
        request_serializer=(lambda m: m.SerializeToString()) if req_cls is not False else None,
        response_deserializer=resp_cls.FromString if resp_cls else None)


def stream(channel, path, resp_cls=None):
    return channel.unary_stream(path, request_serializer=lambda m: m.SerializeToString(),
                                response_deserializer=resp_cls.FromString if resp_cls else None)
