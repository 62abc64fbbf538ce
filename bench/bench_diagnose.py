"""Benchmark ``podmortem diagnose`` on a large synthetic cluster bundle against the cost of just reading it.

1. Generates the bundle with ``gen_cluster.py`` into a cache directory keyed by the generator parameters
   and source (``~/.cache/podmortem-bench/<hash>/bundle``), or reuses it.
2. Alternates, for K rounds, two subprocesses: the floor (``floor_read.py``: read every file, ``json.loads``
   every ``.json``, ``yaml.load_all`` with ``CSafeLoader`` every ``.yaml``) and
   ``podmortem diagnose BUNDLE -o json``. Wall time comes from ``time.perf_counter`` around the child, CPU
   time and peak RSS (``ru_maxrss``) from ``os.wait4`` on that child alone.
3. Prints a markdown table (median and min wall time, CPU, peak RSS, ratios to the floor and to the bundle
   size) and checks that the diagnosis parses and what it found against the generator's ground truth.

Targets: diagnose wall time <= 2x the floor; diagnose peak RSS <= 2x the bundle size on disk.

Usage: python bench/bench_diagnose.py [--rounds 3] [--pods N ...] [--json OUT] [--podmortem CMD]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
GEN = HERE / "gen_cluster.py"
FLOOR = HERE / "floor_read.py"
TIME_TARGET = 2.0
RSS_TARGET = 2.0
OK_EXIT_CODES = (0, 1)  # 1 = --fail-on threshold met, still a complete run


@dataclass
class Run:
    label: str
    round: int
    wall_s: float
    cpu_s: float
    max_rss_bytes: int
    exit_code: int
    output: str
    stderr_tail: str


def cache_key(params: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(params, sort_keys=True).encode())
    digest.update(GEN.read_bytes())
    return digest.hexdigest()[:16]


def ensure_bundle(params: dict[str, Any], cache_root: Path, regen: bool) -> tuple[Path, dict[str, Any]]:
    """Return (bundle dir, generator summary with truth), generating them if needed."""
    target = cache_root / cache_key(params)
    bundle = target / "bundle"
    truth_file = target / "truth.json"
    if regen and target.exists():
        shutil.rmtree(target)
    if bundle.is_dir() and truth_file.is_file():
        return bundle, json.loads(truth_file.read_text(encoding="utf-8"))
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / f"bundle.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    sys.path.insert(0, str(HERE))
    try:
        import gen_cluster
    finally:
        sys.path.remove(str(HERE))
    print(f"generating bundle into {bundle} ...", file=sys.stderr)
    summary = gen_cluster.generate(tmp, **params)
    if bundle.exists():
        shutil.rmtree(bundle)
    tmp.rename(bundle)
    truth_file.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"generated in {summary['seconds']} s", file=sys.stderr)
    return bundle, summary


def bundle_size(bundle: Path) -> dict[str, int]:
    files = apparent = on_disk = 0
    for dirpath, _dirs, names in os.walk(bundle):
        for name in names:
            st = os.stat(os.path.join(dirpath, name))
            files += 1
            apparent += st.st_size
            on_disk += st.st_blocks * 512
    return {"files": files, "bytes": apparent, "disk_bytes": on_disk}


def measure(label: str, rnd: int, cmd: list[str], workdir: Path, timeout: float) -> Run:
    """Run cmd as a child; time it and read its own rusage with os.wait4."""
    out_path = workdir / f"{label}.out"
    err_path = workdir / f"{label}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
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
    err_text = err_path.read_text(encoding="utf-8", errors="replace")
    return Run(
        label=label,
        round=rnd,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        max_rss_bytes=usage.ru_maxrss * 1024,  # kilobytes on Linux
        exit_code=code,
        output=str(out_path),
        stderr_tail=err_text[-2000:],
    )


def podmortem_available(cmd: list[str]) -> tuple[bool, str]:
    try:
        proc = subprocess.run([*cmd, "--help"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, str(exc)
    if proc.returncode != 0:
        return False, (proc.stderr or proc.stdout).strip()[-500:]
    return True, ""


def check_report(path: str, truth: list[dict[str, Any]]) -> dict[str, Any]:
    """Parse the diagnosis and compare it with the generator's ground truth."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"parses": False, "error": str(exc)}
    findings = report.get("findings") if isinstance(report, dict) else None
    if not isinstance(findings, list):
        return {"parses": False, "error": "no findings list in the report"}
    expected = {(t["namespace"], t["name"]): t for t in truth}
    by_category = Counter(str(f.get("category")) for f in findings if isinstance(f, dict))
    matched = 0
    on_healthy = 0
    found_workloads: set[tuple[str, str]] = set()
    for f in findings:
        if not isinstance(f, dict):
            continue
        wl = f.get("workload") or {}
        key = (str(wl.get("namespace")), str(wl.get("name")))
        if key not in expected:
            on_healthy += 1
            continue
        found_workloads.add(key)
        if f.get("category") == expected[key]["category"]:
            matched += 1
    return {
        "parses": True,
        "schema": report.get("schema"),
        "findings": len(findings),
        "findings_by_category": dict(sorted(by_category.items())),
        "expected_by_category": dict(sorted(Counter(t["category"] for t in truth).items())),
        "failing_workloads": len(truth),
        "failing_workloads_found": len(found_workloads),
        "findings_matching_cause": matched,
        "findings_on_healthy_workloads": on_healthy,
    }


def summarize(runs: list[Run]) -> dict[str, float] | None:
    if not runs:
        return None
    walls = [r.wall_s for r in runs]
    return {
        "runs": len(runs),
        "wall_median_s": statistics.median(walls),
        "wall_min_s": min(walls),
        "wall_max_s": max(walls),
        "cpu_median_s": statistics.median(r.cpu_s for r in runs),
        "max_rss_median_bytes": statistics.median(r.max_rss_bytes for r in runs),
        "max_rss_max_bytes": max(r.max_rss_bytes for r in runs),
    }


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def markdown(result: dict[str, Any]) -> str:
    size = result["bundle"]["size"]
    counts = result["bundle"]["counts"]
    floor = result["floor"]
    diag = result["diagnose"]
    lines = [
        f"Bundle: {mib(size['bytes'])} in {size['files']:,} files ({mib(size['disk_bytes'])} on disk); "
        f"{counts.get('pods', 0):,} pods, {counts.get('deployments', 0):,} Deployments, "
        f"{counts.get('events', 0):,} events, {counts.get('failing_pods', 0)} failing pods in "
        f"{counts.get('failing_workloads', 0)} workloads.",
        "",
    ]
    columns: list[tuple[str, dict[str, float] | None]] = [("floor: read + parse", floor)]
    if result.get("floor_keep") is not None:
        columns.append(("read + parse, keep all", result["floor_keep"]))
    columns.append(("podmortem diagnose", diag))
    lines.append("| measure | " + " | ".join(name for name, _ in columns) + " | diagnose / floor |")
    lines.append("|---|" + "---:|" * (len(columns) + 1))

    def cell(summary: dict[str, float] | None, key: str) -> str:
        if summary is None:
            return "pending"
        value = summary[key]
        return mib(value) if key.endswith("bytes") else f"{value:.2f} s"

    rows = (
        ("wall time, median", "wall_median_s"),
        ("wall time, min", "wall_min_s"),
        ("CPU time (user+sys), median", "cpu_median_s"),
        ("peak RSS, median", "max_rss_median_bytes"),
    )
    for title, key in rows:
        ratio = f"{diag[key] / floor[key]:.2f}x" if floor and diag and floor[key] else "pending"
        lines.append(f"| {title} | " + " | ".join(cell(c, key) for _, c in columns) + f" | {ratio} |")
    per_size = [f"{c['max_rss_max_bytes'] / size['bytes']:.2f}x" if c else "pending" for _, c in columns]
    lines.append("| peak RSS (max) / bundle size | " + " | ".join(per_size) + " | |")
    lines.append("")
    verdict = result["targets"]
    lines.append(
        f"Targets: time <= {TIME_TARGET:g}x floor: **{verdict['time']}**; "
        f"peak RSS <= {RSS_TARGET:g}x bundle size: **{verdict['memory']}**."
    )
    if result.get("diagnose_error"):
        lines.append("")
        lines.append(f"diagnose not measured: {result['diagnose_error']}")
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
                f"{check['findings_on_healthy_workloads']} findings on healthy workloads."
            )
            lines.append("")
            lines.append("| category | expected workloads | findings |")
            lines.append("|---|---:|---:|")
            cats = sorted(set(check["expected_by_category"]) | set(check["findings_by_category"]))
            for c in cats:
                lines.append(
                    f"| {c} | {check['expected_by_category'].get(c, 0)} | {check['findings_by_category'].get(c, 0)} |"
                )
    return "\n".join(lines)


def add_bundle_args(ap: argparse.ArgumentParser) -> None:
    """The synthetic cluster's size options, shared by the benchmarks that generate it."""
    ap.add_argument("--pods", type=int, default=10_000)
    ap.add_argument("--deployments", type=int, default=2_000)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--failing", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--namespaces", type=int, default=40)
    ap.add_argument("--nodes", type=int, default=60)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_bundle_args(ap)
    ap.add_argument("--healthy-logs", action="store_true", help="write logs.txt for every pod, as kubectl does")
    ap.add_argument("--managed-fields", action="store_true", help="keep metadata.managedFields")
    ap.add_argument("--rounds", type=int, default=3, help="alternating floor/diagnose rounds (default 3)")
    ap.add_argument("--cache-dir", default=os.path.join(os.path.expanduser("~"), ".cache", "podmortem-bench"))
    ap.add_argument("--regen", action="store_true", help="regenerate the bundle even if cached")
    ap.add_argument("--bundle", help="benchmark this existing bundle directory instead of a generated one")
    ap.add_argument(
        "--podmortem",
        default=None,
        help="command that runs podmortem (default: '<this python> -m podmortem')",
    )
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before a run is killed")
    ap.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up runs")
    ap.add_argument("--floor-only", action="store_true", help="measure only the floor")
    ap.add_argument(
        "--keep-floor",
        action="store_true",
        help="also measure reading + parsing while keeping every parsed document (memory reference)",
    )
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
        "healthy_logs": args.healthy_logs,
        "managed_fields": args.managed_fields,
    }
    if args.bundle:
        bundle = Path(args.bundle)
        summary: dict[str, Any] = {"counts": {}, "truth": []}
    else:
        bundle, summary = ensure_bundle(params, Path(args.cache_dir), args.regen)
    size = bundle_size(bundle)

    podmortem = shlex.split(args.podmortem) if args.podmortem else [sys.executable, "-m", "podmortem"]
    floor_cmd = [sys.executable, str(FLOOR), str(bundle)]
    keep_cmd = [sys.executable, str(FLOOR), "--keep", str(bundle)]
    diag_cmd = [*podmortem, "diagnose", str(bundle), "-o", "json"]
    diagnose_error = ""
    run_diagnose = not args.floor_only
    if run_diagnose:
        ok, why = podmortem_available(podmortem)
        if not ok:
            run_diagnose = False
            diagnose_error = f"`{shlex.join(podmortem)} --help` failed: {why}"

    workdir = Path(tempfile.mkdtemp(prefix="podmortem-bench-"))
    floor_runs: list[Run] = []
    diag_runs: list[Run] = []
    keep_runs: list[Run] = []
    try:
        if not args.no_warmup:
            warm = measure("floor", -1, floor_cmd, workdir, args.timeout)
            if warm.exit_code != 0:
                print(f"floor failed: {warm.stderr_tail}", file=sys.stderr)
                return 2
            if run_diagnose:
                warm = measure("diagnose", -1, diag_cmd, workdir, args.timeout)
                if warm.exit_code not in OK_EXIT_CODES:
                    run_diagnose = False
                    diagnose_error = f"exit code {warm.exit_code}: {warm.stderr_tail.strip()[-800:]}"
        for rnd in range(args.rounds):
            order = ("floor", "diagnose") if rnd % 2 == 0 else ("diagnose", "floor")
            for label in order:
                if label == "floor":
                    run = measure("floor", rnd, floor_cmd, workdir, args.timeout)
                    if run.exit_code != 0:
                        print(f"floor failed: {run.stderr_tail}", file=sys.stderr)
                        return 2
                    floor_runs.append(run)
                    if args.keep_floor:
                        keep = measure("floor-keep", rnd, keep_cmd, workdir, args.timeout)
                        keep_runs.append(keep)
                        print(
                            f"round {rnd + 1}/{args.rounds}: floor-keep {keep.wall_s:.2f} s, {mib(keep.max_rss_bytes)}",
                            file=sys.stderr,
                        )
                else:
                    if not run_diagnose:
                        continue
                    run = measure("diagnose", rnd, diag_cmd, workdir, args.timeout)
                    if run.exit_code not in OK_EXIT_CODES:
                        run_diagnose = False
                        diagnose_error = f"exit code {run.exit_code}: {run.stderr_tail.strip()[-800:]}"
                        continue
                    diag_runs.append(run)
                print(
                    f"round {rnd + 1}/{args.rounds}: {label} {run.wall_s:.2f} s, {mib(run.max_rss_bytes)}",
                    file=sys.stderr,
                )
        report_check = check_report(diag_runs[-1].output, summary.get("truth", [])) if diag_runs else None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    floor = summarize(floor_runs)
    diag = summarize(diag_runs)
    time_ok = memory_ok = "pending"
    if floor and diag:
        time_ok = "met" if diag["wall_median_s"] <= TIME_TARGET * floor["wall_median_s"] else "missed"
        memory_ok = "met" if diag["max_rss_max_bytes"] <= RSS_TARGET * size["bytes"] else "missed"
    result = {
        "params": params,
        "bundle": {
            "path": str(bundle),
            "size": size,
            "counts": summary.get("counts", {}),
            "mean_pod_json_bytes": summary.get("mean_pod_json_bytes"),
            "generated_in_s": summary.get("seconds"),
        },
        "machine": {"nproc": os.cpu_count(), "python": sys.version.split()[0], "platform": sys.platform},
        "commands": {"floor": shlex.join(floor_cmd), "diagnose": shlex.join(diag_cmd)},
        "floor": floor,
        "floor_keep": summarize(keep_runs),
        "diagnose": diag,
        "targets": {"time": time_ok, "memory": memory_ok},
        "diagnose_error": diagnose_error,
        "report_check": report_check,
        "runs": [{k: v for k, v in asdict(r).items() if k != "output"} for r in floor_runs + keep_runs + diag_runs],
    }
    print(markdown(result))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
