"""Benchmark live ``podmortem diagnose`` against ``kubectl get ... -o json`` on the same (fake) API server.

1. Generates (or reuses, from ``~/.cache/podmortem-bench``) the synthetic cluster bundle of ``gen_cluster.py``,
   exactly as ``bench_diagnose.py`` does.
2. Starts ``serve_fake.py BUNDLE --kubeconfig K`` in its own process: the test suite's fake API server serving
   every object and log of the bundle over HTTP on 127.0.0.1.
3. After one untimed warm-up run of each, alternates for K rounds (the order flips every round):

   - kubectl: ``kubectl --kubeconfig K get pods,events,replicasets,deployments -A -o json`` (stdout to a file),
     with its discovery cache in a private directory that persists across runs, as ``~/.kube/cache`` would;
   - podmortem: ``python -m podmortem diagnose --kubeconfig K -A -o json -q``.

   For each run: the API requests and body bytes the server answered (from its request log, read through the
   runner's ``/__stats`` control path), the client's wall time (``time.perf_counter`` around it), CPU time and
   peak RSS (``os.wait4`` on that child), the server's own time and CPU spent on the run's requests, and when
   the first request arrived and the last answer was written relative to the client's start.
4. Prints a markdown table with podmortem / kubectl ratios (target: requests and wall time within 1.5x), the
   ``stats.api`` podmortem reports about itself, and the diagnosis checked against the generator's ground truth.

Usage: python bench/bench_live.py [--rounds 3] [--json OUT] [--podmortem CMD] [--kubectl CMD]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import selectors
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
SERVE = HERE / "serve_fake.py"
sys.path.insert(0, str(HERE))
from bench_diagnose import add_bundle_args, bundle_size, check_report, ensure_bundle, mib  # noqa: E402

TARGET = 1.5
KUBECTL_RESOURCES = "pods,events,replicasets,deployments"
OK_EXIT = {"kubectl": (0,), "podmortem": (0, 1)}  # podmortem: 1 = --fail-on threshold met


@dataclass
class Run:
    label: str
    round: int  # -1: warm-up
    wall_s: float
    cpu_s: float
    max_rss_bytes: int
    exit_code: int
    output: str
    output_bytes: int
    stderr_tail: str
    requests: int = 0
    bytes_sent: int = 0
    by_class: dict[str, int] = field(default_factory=dict)  # discovery / list / log / get
    by_resource: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    server_handle_s: float = 0.0  # summed time building answers
    server_total_s: float = 0.0  # summed time from request to last byte written
    server_cpu_s: float = 0.0
    first_request_s: float | None = None  # after the client started
    last_answer_s: float | None = None  # after the client started
    api_stats: dict[str, Any] | None = None  # podmortem's own stats from its JSON


# ------------------------------------------------------------------------------------------ the server


class Server:
    """serve_fake.py in a child process."""

    def __init__(self, bundle: Path, workdir: Path, startup_timeout: float) -> None:
        self.kubeconfig = workdir / "kubeconfig"
        self.log = workdir / "server.err"
        self._err = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVE), str(bundle), "--kubeconfig", str(self.kubeconfig)],
            stdout=subprocess.PIPE,
            stderr=self._err,
            stdin=subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + startup_timeout
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                self.stop()
                raise RuntimeError(f"the fake API server was not ready within {startup_timeout:g} s")
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                self.stop()
                raise RuntimeError("the fake API server exited: " + self.log.read_text(errors="replace")[-2000:])
            line += chunk
        sel.close()
        first = line.decode().splitlines()[0]
        if not first.startswith("READY "):
            self.stop()
            raise RuntimeError(f"unexpected first line from the fake API server: {first!r}")
        self.url = first.split(None, 1)[1].strip()
        parts = urlsplit(self.url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80

    def stats(self, since: int | None = None) -> dict[str, Any]:
        conn = http.client.HTTPConnection(self._host, self._port, timeout=60)
        try:
            conn.request("GET", "/__stats" + (f"?since={since}" if since is not None else ""))
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise RuntimeError(f"/__stats answered {resp.status}")
        doc = json.loads(body)
        assert isinstance(doc, dict)
        return doc

    def ready_text(self) -> str:
        return self.log.read_text(errors="replace").strip()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._err.close()


# ------------------------------------------------------------------------------------------ runs


def classify(rec: dict[str, Any]) -> str:
    if not rec.get("resource"):
        return "discovery"
    if str(rec["resource"]).endswith("/log"):
        return "log"
    return "list" if rec.get("verb") == "list" else str(rec.get("verb") or "other")


def measure(label: str, rnd: int, cmd: list[str], workdir: Path, server: Server, timeout: float) -> Run:
    """Run cmd as a child against the server; time it, read its rusage with os.wait4 and the server's log."""
    out_path = workdir / f"{label}.out"
    err_path = workdir / f"{label}.err"
    before = server.stats()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started_wall = time.time()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code  # reaped by wait4; keep Popen from waiting again
    after = server.stats(since=int(before["requests"]))
    records: list[dict[str, Any]] = after["records"]
    run = Run(
        label=label,
        round=rnd,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        max_rss_bytes=usage.ru_maxrss * 1024,  # kilobytes on Linux
        exit_code=code,
        output=str(out_path),
        output_bytes=out_path.stat().st_size,
        stderr_tail=err_path.read_text(encoding="utf-8", errors="replace")[-2000:],
        requests=len(records),
        bytes_sent=sum(int(r["bytes"]) for r in records),
        by_class=dict(sorted(Counter(classify(r) for r in records).items())),
        by_resource=dict(sorted(Counter(str(r["resource"] or r["path"]) for r in records).items())),
        statuses=dict(sorted(Counter(str(r["status"]) for r in records).items())),
        server_handle_s=sum(float(r["handle_s"]) for r in records),
        server_total_s=sum(float(r["total_s"]) for r in records),
        server_cpu_s=float(after["cpu_s"]) - float(before["cpu_s"]),
    )
    if records:
        run.first_request_s = min(float(r["start"]) for r in records) - started_wall
        run.last_answer_s = max(float(r["start"]) + float(r["total_s"]) for r in records) - started_wall
    if label == "podmortem" and code in OK_EXIT["podmortem"]:
        try:
            report = json.loads(out_path.read_text(encoding="utf-8"))
            run.api_stats = report.get("stats")
        except (OSError, ValueError):
            run.api_stats = None
    return run


def median(runs: list[Run], key: str) -> float:
    values = [getattr(r, key) for r in runs if getattr(r, key) is not None]
    return float(statistics.median(values)) if values else float("nan")


def summarize(runs: list[Run]) -> dict[str, Any] | None:
    if not runs:
        return None
    classes = sorted({c for r in runs for c in r.by_class})
    return {
        "runs": len(runs),
        "requests_median": median(runs, "requests"),
        "requests_min": min(r.requests for r in runs),
        "requests_max": max(r.requests for r in runs),
        "by_class_median": {c: statistics.median(r.by_class.get(c, 0) for r in runs) for c in classes},
        "bytes_sent_median": median(runs, "bytes_sent"),
        "wall_median_s": median(runs, "wall_s"),
        "wall_min_s": min(r.wall_s for r in runs),
        "wall_max_s": max(r.wall_s for r in runs),
        "cpu_median_s": median(runs, "cpu_s"),
        "max_rss_median_bytes": median(runs, "max_rss_bytes"),
        "max_rss_max_bytes": max(r.max_rss_bytes for r in runs),
        "server_handle_median_s": median(runs, "server_handle_s"),
        "server_total_median_s": median(runs, "server_total_s"),
        "server_cpu_median_s": median(runs, "server_cpu_s"),
        "first_request_median_s": median(runs, "first_request_s"),
        "last_answer_median_s": median(runs, "last_answer_s"),
        "after_last_answer_median_s": statistics.median(
            r.wall_s - r.last_answer_s for r in runs if r.last_answer_s is not None
        )
        if any(r.last_answer_s is not None for r in runs)
        else float("nan"),
        "output_bytes_median": median(runs, "output_bytes"),
    }


def check_diagnosis(path: str, truth: list[dict[str, Any]]) -> dict[str, Any]:
    """bench_diagnose's check, plus how many extra findings land on workloads that already have the right one."""
    check = check_report(path, truth)
    if not check.get("parses"):
        return check
    report = json.loads(Path(path).read_text(encoding="utf-8"))
    per_workload = Counter(
        (str(f.get("workload", {}).get("namespace")), str(f.get("workload", {}).get("name")))
        for f in report.get("findings", [])
        if isinstance(f, dict)
    )
    check["extra_findings_on_failing_workloads"] = sum(n - 1 for n in per_workload.values() if n > 1)
    check["unknown_findings_by_rule"] = dict(
        sorted(
            Counter(
                str(f.get("rule"))
                for f in report.get("findings", [])
                if isinstance(f, dict) and f.get("category") == "unknown"
            ).items()
        )
    )
    check["warnings"] = report.get("summary", {}).get("warnings", [])
    return check


# ------------------------------------------------------------------------------------------ report


def fmt_s(v: float) -> str:
    return f"{v:.2f} s"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def markdown(result: dict[str, Any]) -> str:
    k, p = result["kubectl"], result["podmortem"]
    size = result["bundle"]["size"]
    counts = result["bundle"]["counts"]
    lines = [
        f"Cluster: {counts.get('pods', 0):,} pods, {counts.get('events', 0):,} events, "
        f"{counts.get('deployments', 0):,} Deployments, {counts.get('replicasets', 0):,} ReplicaSets "
        f"(bundle {mib(size['bytes'])}); {result['rounds']} rounds after one warm-up run of each.",
        "",
    ]
    if k is None or p is None:
        lines.append("incomplete: " + "; ".join(result.get("errors") or ["no runs"]))
        return "\n".join(lines)
    kc, pc = k["by_class_median"], p["by_class_median"]
    rows: list[tuple[str, str, str, str]] = [
        (
            "API requests, median",
            f"{k['requests_median']:.0f}",
            f"{p['requests_median']:.0f}",
            ratio(p["requests_median"], k["requests_median"]),
        ),
    ]
    for cls in ("discovery", "list", "log", "get"):
        if kc.get(cls) or pc.get(cls):
            rows.append((f"  of which {cls}", f"{kc.get(cls, 0):.0f}", f"{pc.get(cls, 0):.0f}", ""))
    rows += [
        (
            "bytes sent by the server, median",
            mib(k["bytes_sent_median"]),
            mib(p["bytes_sent_median"]),
            ratio(p["bytes_sent_median"], k["bytes_sent_median"]),
        ),
        (
            "wall time, median",
            fmt_s(k["wall_median_s"]),
            fmt_s(p["wall_median_s"]),
            ratio(p["wall_median_s"], k["wall_median_s"]),
        ),
        ("wall time, min", fmt_s(k["wall_min_s"]), fmt_s(p["wall_min_s"]), ratio(p["wall_min_s"], k["wall_min_s"])),
        (
            "CPU time (user+sys), median",
            fmt_s(k["cpu_median_s"]),
            fmt_s(p["cpu_median_s"]),
            ratio(p["cpu_median_s"], k["cpu_median_s"]),
        ),
        (
            "peak RSS, median",
            mib(k["max_rss_median_bytes"]),
            mib(p["max_rss_median_bytes"]),
            ratio(p["max_rss_median_bytes"], k["max_rss_median_bytes"]),
        ),
        (
            "first request after start, median",
            fmt_s(k["first_request_median_s"]),
            fmt_s(p["first_request_median_s"]),
            "",
        ),
        (
            "last answer written after start, median",
            fmt_s(k["last_answer_median_s"]),
            fmt_s(p["last_answer_median_s"]),
            "",
        ),
        (
            "client work after the last answer, median",
            fmt_s(k["after_last_answer_median_s"]),
            fmt_s(p["after_last_answer_median_s"]),
            "",
        ),
        (
            "server: request → last byte, summed, median",
            fmt_s(k["server_total_median_s"]),
            fmt_s(p["server_total_median_s"]),
            "",
        ),
        ("server CPU, median", fmt_s(k["server_cpu_median_s"]), fmt_s(p["server_cpu_median_s"]), ""),
        ("stdout, median", mib(k["output_bytes_median"]), mib(p["output_bytes_median"]), ""),
    ]
    lines.append("| measure | kubectl get -o json | podmortem diagnose | podmortem / kubectl |")
    lines.append("|---|---:|---:|---:|")
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines.append("")
    t = result["targets"]
    lines.append(
        f"Targets (podmortem / kubectl, medians): requests <= {TARGET:g}x: **{t['requests']}**; "
        f"wall time <= {TARGET:g}x: **{t['time']}**."
    )
    if result.get("kubectl_cold"):
        cold = result["kubectl_cold"]
        lines.append("")
        lines.append(
            f"kubectl's warm-up run, with an empty discovery cache: {cold['requests']} requests "
            f"({cold['by_class'].get('discovery', 0)} discovery), {fmt_s(cold['wall_s'])}."
        )
    api_runs = [r for r in result["runs"] if r["label"] == "podmortem" and r["round"] >= 0 and r.get("api_stats")]
    if api_runs:
        lines += ["", "podmortem's own `stats` (from its JSON report):", ""]
        lines.append("| round | calls | bytes | retries | discovery | list | logs | diagnose |")
        lines.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in api_runs:
            st = r["api_stats"] or {}
            api = st.get("api", {})
            sec = api.get("seconds", {})
            lines.append(
                f"| {r['round'] + 1} | {api.get('calls')} | {mib(api.get('bytes', 0))} | {api.get('retries')} | "
                f"{sec.get('discovery', 0):.2f} s | {sec.get('list', 0):.2f} s | {sec.get('logs', 0):.2f} s | "
                f"{st.get('diagnose_seconds', float('nan')):.2f} s |"
            )
    check = result.get("report_check")
    if check:
        lines.append("")
        if not check.get("parses"):
            lines.append(f"Diagnosis output did not parse: {check.get('error')}")
        else:
            lines.append(
                f"Diagnosis: {check['findings']} findings; {check['failing_workloads_found']} of "
                f"{check['failing_workloads']} failing workloads have a finding, "
                f"{check['findings_matching_cause']} with the expected category; "
                f"{check['findings_on_healthy_workloads']} findings on healthy workloads; "
                f"{check['extra_findings_on_failing_workloads']} further findings on failing workloads; "
                f"category unknown: {check['unknown_findings_by_rule'] or 'none'}."
            )
            lines.append("")
            lines.append("| category | expected workloads | findings |")
            lines.append("|---|---:|---:|")
            cats = sorted(set(check["expected_by_category"]) | set(check["findings_by_category"]))
            for c in cats:
                lines.append(
                    f"| {c} | {check['expected_by_category'].get(c, 0)} | {check['findings_by_category'].get(c, 0)} |"
                )
            if check.get("warnings"):
                lines.append("")
                lines.append("Report warnings: " + "; ".join(check["warnings"]))
    if result.get("errors"):
        lines.append("")
        lines.append("Errors: " + "; ".join(result["errors"]))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_bundle_args(ap)
    ap.add_argument("--rounds", type=int, default=3, help="alternating kubectl/podmortem rounds (default 3)")
    ap.add_argument("--cache-dir", default=os.path.join(os.path.expanduser("~"), ".cache", "podmortem-bench"))
    ap.add_argument("--regen", action="store_true", help="regenerate the bundle even if cached")
    ap.add_argument("--bundle", help="serve this existing bundle instead of a generated one (no truth check)")
    ap.add_argument("--podmortem", default=None, help="command that runs podmortem (default: this python -m podmortem)")
    ap.add_argument("--podmortem-args", default="", help="extra arguments for podmortem diagnose")
    ap.add_argument("--kubectl", default="kubectl", help="the kubectl command (default: kubectl)")
    ap.add_argument(
        "--kubectl-cold-cache",
        action="store_true",
        help="give every kubectl run an empty discovery cache (default: one cache kept across runs)",
    )
    ap.add_argument("--timeout", type=float, default=600, help="seconds before a client run is killed")
    ap.add_argument("--startup-timeout", type=float, default=600, help="seconds to wait for the server")
    ap.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up runs")
    ap.add_argument("--keep-outputs", metavar="DIR", help="copy the last outputs of each client here")
    ap.add_argument("--json", dest="json_out", help="also write the raw results as JSON here")
    args = ap.parse_args(argv)

    params = {
        "pods": args.pods,
        "deployments": args.deployments,
        "events": args.events,
        "failing": args.failing,
        "seed": args.seed,
        "namespaces": args.namespaces,
        "nodes": args.nodes,
        "healthy_logs": False,
        "managed_fields": False,
    }
    if args.bundle:
        bundle = Path(args.bundle)
        summary: dict[str, Any] = {"counts": {}, "truth": []}
    else:
        bundle, summary = ensure_bundle(params, Path(args.cache_dir), args.regen)
    size = bundle_size(bundle)

    workdir = Path(tempfile.mkdtemp(prefix="podmortem-bench-live-"))
    errors: list[str] = []
    runs: list[Run] = []
    warmups: list[Run] = []
    server: Server | None = None
    try:
        t0 = time.perf_counter()
        server = srv = Server(bundle, workdir, args.startup_timeout)
        print(f"server {srv.url} ready in {time.perf_counter() - t0:.1f} s: {srv.ready_text()}", file=sys.stderr)
        kubeconfig = str(srv.kubeconfig)
        podmortem = shlex.split(args.podmortem) if args.podmortem else [sys.executable, "-m", "podmortem"]
        pm_cmd = [*podmortem, "diagnose", "--kubeconfig", kubeconfig, "-A", "-o", "json", "-q"]
        pm_cmd += shlex.split(args.podmortem_args)
        kube = shlex.split(args.kubectl)
        cache_root = workdir / "kube-cache"

        def kubectl_cmd(tag: str) -> list[str]:
            cache = cache_root / tag if args.kubectl_cold_cache else cache_root
            return [*kube, "--kubeconfig", kubeconfig, "--cache-dir", str(cache)]

        def one(label: str, rnd: int) -> Run:
            tag = f"r{rnd}"
            cmd = [*kubectl_cmd(tag), "get", KUBECTL_RESOURCES, "-A", "-o", "json"] if label == "kubectl" else pm_cmd
            run = measure(label, rnd, cmd, workdir, srv, args.timeout)
            print(
                f"{'warm-up' if rnd < 0 else f'round {rnd + 1}/{args.rounds}'}: {label} {run.wall_s:.2f} s, "
                f"{run.requests} requests, {mib(run.bytes_sent)} sent, peak RSS {mib(run.max_rss_bytes)}, "
                f"exit {run.exit_code}",
                file=sys.stderr,
            )
            if run.exit_code not in OK_EXIT[label]:
                raise RuntimeError(f"{label} exit code {run.exit_code}: {run.stderr_tail.strip()[-800:]}")
            return run

        if not args.no_warmup:
            warmups += [one("kubectl", -1), one("podmortem", -1)]
        for rnd in range(args.rounds):
            order = ("kubectl", "podmortem") if rnd % 2 == 0 else ("podmortem", "kubectl")
            for label in order:
                runs.append(one(label, rnd))
        commands = {"kubectl": shlex.join([*kubectl_cmd("rN"), "get", KUBECTL_RESOURCES, "-A", "-o", "json"])}
        commands["podmortem"] = shlex.join(pm_cmd)
        last_pm = [r for r in runs if r.label == "podmortem"]
        report_check = check_diagnosis(last_pm[-1].output, summary.get("truth", [])) if last_pm else None
        if args.keep_outputs:
            keep = Path(args.keep_outputs)
            keep.mkdir(parents=True, exist_ok=True)
            for label in ("kubectl", "podmortem"):
                mine = [r for r in runs if r.label == label]
                if mine:
                    shutil.copy(mine[-1].output, keep / f"{label}.json")
    except (RuntimeError, OSError) as exc:
        errors.append(str(exc))
        commands, report_check = {}, None
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    k = summarize([r for r in runs if r.label == "kubectl"])
    p = summarize([r for r in runs if r.label == "podmortem"])
    targets = {"requests": "pending", "time": "pending"}
    if k and p:
        targets["requests"] = "met" if p["requests_median"] <= TARGET * k["requests_median"] else "missed"
        targets["time"] = "met" if p["wall_median_s"] <= TARGET * k["wall_median_s"] else "missed"
    cold = next((r for r in warmups if r.label == "kubectl"), None)
    result = {
        "params": params,
        "bundle": {"path": str(bundle), "size": size, "counts": summary.get("counts", {})},
        "machine": {"nproc": os.cpu_count(), "python": sys.version.split()[0], "platform": sys.platform},
        "rounds": args.rounds,
        "commands": commands,
        "kubectl": k,
        "podmortem": p,
        "targets": targets,
        "kubectl_cold": None if cold is None or args.kubectl_cold_cache else asdict(cold),
        "report_check": report_check,
        "errors": errors,
        "runs": [asdict(r) for r in warmups + runs],
    }
    print(markdown(result))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
