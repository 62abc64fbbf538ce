"""A fake Kubernetes API server for tests: serves a podmortem Snapshot over HTTP(S) on 127.0.0.1."""

from .server import FakeApiServer, Faults, RequestRecord

__all__ = ["FakeApiServer", "Faults", "RequestRecord"]
