"""Serve a bundle through the fake Kubernetes API server of the tests, until killed.

Loads BUNDLE with ``podmortem.sources.open_source``, starts ``tests/fakeapi``'s ``FakeApiServer`` on it (plain
HTTP on 127.0.0.1, no authentication), writes a kubeconfig for it to ``--kubeconfig`` and prints one line,
``READY <url>``, on stdout once it answers. It then serves until SIGTERM/SIGINT.

Every list item is encoded once before READY (the fake caches each object's JSON), so every client meets the
same warm server.

A control path, not part of the Kubernetes API and not recorded in the request log, reports what was served:

    GET /__stats            {"requests": N, "cpu_s": ..., "max_rss_bytes": ...} (of the server process)
    GET /__stats?since=K    also "records": every request from the K-th on (method, path, query, status,
                            bytes, verb, resource, user agent, start: wall-clock time.time() when it was
                            read, handle_s: building the answer, total_s: from then to the last byte written)

Usage: python bench/serve_fake.py BUNDLE --kubeconfig OUT
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
if (REPO / "src").is_dir():
    sys.path.insert(0, str(REPO / "src"))

from fakeapi import FakeApiServer, RequestRecord  # noqa: E402
from fakeapi.server import Response  # noqa: E402
from podmortem.sources import open_source  # noqa: E402

STATS_PATH = "/__stats"


class MeasuredServer(FakeApiServer):
    """A FakeApiServer that times each request and answers ``/__stats``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        # (record, wall-clock start, seconds building the answer, seconds from request line to last byte written)
        self.timed: list[tuple[RequestRecord, float, float, float]] = []

    def _dispatch(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[Response, str, str, str]:
        t0 = time.perf_counter()
        try:
            return super()._dispatch(method, path, query, headers, body)
        finally:
            self._local.handle_s = time.perf_counter() - t0

    def _record(self, rec: RequestRecord) -> None:
        self._local.record = rec
        super()._record(rec)

    def _serve(self, h: Any) -> None:
        split = urlsplit(h.path)
        if split.path == STATS_PATH:
            self._stats(h, dict(parse_qsl(split.query)))
            return
        started = time.time()
        t0 = time.perf_counter()
        self._local.record = None
        self._local.handle_s = 0.0
        super()._serve(h)
        total = time.perf_counter() - t0
        rec = self._local.record
        if rec is not None:
            with self._lock:
                self.timed.append((rec, started, self._local.handle_s, total))

    def _stats(self, h: Any, query: dict[str, str]) -> None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        with self._lock:
            timed = list(self.timed)
        doc: dict[str, Any] = {
            "requests": len(timed),
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "max_rss_bytes": usage.ru_maxrss * 1024,
        }
        if "since" in query:
            start = int(query["since"] or 0)
            doc["records"] = [
                {
                    "method": r.method,
                    "path": r.path,
                    "query": r.query,
                    "status": r.status,
                    "bytes": r.bytes,
                    "verb": r.verb,
                    "resource": r.resource,
                    "accept": r.accept,
                    "user_agent": r.user_agent,
                    "start": started,
                    "handle_s": round(handle, 6),
                    "total_s": round(total, 6),
                }
                for r, started, handle, total in timed[start:]
            ]
        body = json.dumps(doc).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()


def warm(server: FakeApiServer) -> int:
    """Encode every stored object as a list item once (the fake caches it), as a real server's watch cache would
    hold decoded objects ready; returns how many."""
    n = 0
    for info in server.registry.all():
        if (info.group, info.resource) not in server.store.collections:
            continue  # e.g. events.k8s.io events, made from the core ones only when first asked for
        for entry in server.store.all_entries(info):
            entry.item(info)
            n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle")
    ap.add_argument("--kubeconfig", required=True, help="write a kubeconfig for the server here")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    snapshot = open_source(args.bundle)
    loaded = time.perf_counter() - t0
    server = MeasuredServer(snapshot)
    items = warm(server)
    server.kubeconfig(Path(args.kubeconfig), context="bench")
    server.start()
    print(
        f"loaded {snapshot.count()} objects and {len(snapshot.logs)} logs in {loaded:.1f} s; "
        f"{items} items encoded; ready in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    print(f"READY {server.url}", flush=True)

    stop = threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.wait(1.0):
        if os.getppid() == 1:  # the benchmark died without stopping us
            break
    server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
