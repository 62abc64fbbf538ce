"""Live ``podmortem diagnose`` against ``kubectl get ... -o json`` on a REAL control plane with 5,000 kwok pods.

1. Starts the end-to-end cluster of ``tests/e2e`` (etcd, kube-apiserver, controller manager, scheduler, kwok and the
   test Dynatrace webhook, from the binaries of ``e2e/build.sh``), with the controller manager and scheduler
   allowed more API requests a second (``--kube-api-qps/--kube-api-burst``) so 5,000 pods appear in minutes.
2. Adds large kwok nodes (pool ``scalepool``, 250 pods each), then Deployments of many replicas: in namespaces
   the DynaKube selects, agent Deployments whose pods the webhook injects and kwok crash-loops (``--crashing``,
   default 300); in plain namespaces, the same agent image uninjected and running (the rest, to ``--pods``).
   Waits at most ``--wait`` seconds for every pod to be bound and in its state, and records how far it got.
3. After one untimed warm-up run of each, alternates for K rounds (the order flips every round):

   - kubectl: ``kubectl --kubeconfig K --cache-dir DIR get pods,events,replicasets,deployments -A -o json``;
   - podmortem: ``python -m podmortem diagnose --kubeconfig K -A -o json -q``.

   For each run: wall time (``time.perf_counter``), CPU time and peak RSS (``os.wait4`` on the child), and the
   API requests and response bytes the API server counted (``apiserver_request_total`` and
   by verb and resource, from its ``/metrics`` before and after the run; reads only: GET, LIST and CONNECT
   pods/log, as the controllers and kwok keep writing meanwhile; their read rate, measured over 15 idle seconds
   first, is subtracted), the bytes the server sent (counted by a TCP relay on loopback the clients' kubeconfig
   points at, so TLS and gzip included) and the TCP connections. podmortem's own ``stats.api`` is reported too.

Usage: python bench/bench_e2e_scale.py [--pods 5000] [--crashing 300] [--rounds 3] [--json OUT] [--keep]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import copy
import json
import math
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
import e2e_scenario  # noqa: E402
from e2e_cluster import Cluster, aks_nodes, binary_dir, missing_binaries, write_kubeconfig  # noqa: E402
from e2e_scenario import E2E, bring_up, is_crashlooping, is_injected, is_running  # noqa: E402
from e2e_seed import agent_deployment  # noqa: E402

KUBECTL_RESOURCES = "pods,events,replicasets,deployments"
Obj = dict[str, Any]


class FastCluster(Cluster):
    """The e2e cluster, with the controller manager and scheduler allowed more requests a second."""

    def _start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Any:
        if name in ("kube-controller-manager", "kube-scheduler"):
            args = [*args, "--kube-api-qps=400", "--kube-api-burst=800"]
        if name == "kube-controller-manager":
            args = [*args, "--concurrent-replicaset-syncs=10", "--concurrent-deployment-syncs=10"]
        return super()._start(name, args, env)


def scale_nodes(template: Obj, count: int, pods_per_node: int) -> list[Obj]:
    out = []
    for n in range(count):
        node = copy.deepcopy(template)
        name = f"aks-scalepool-40213377-vmss{n:06d}"
        md = node["metadata"]
        md["name"] = name
        for k in ("agentpool", "kubernetes.azure.com/agentpool"):
            md["labels"][k] = "scalepool"
        md["labels"]["kubernetes.io/hostname"] = name
        node["spec"]["podCIDR"] = f"10.245.{n}.0/24"
        node["spec"]["podCIDRs"] = [f"10.245.{n}.0/24"]
        node["spec"]["providerID"] = node["spec"]["providerID"].replace("userpool-17753420", "scalepool-40213377")
        node["spec"]["providerID"] = re.sub(r"virtualMachines/\d+$", f"virtualMachines/{n}", node["spec"]["providerID"])
        for key in ("capacity", "allocatable"):
            node["status"][key].update({"cpu": "256", "memory": "393216000Ki", "pods": str(pods_per_node)})
        node["status"]["addresses"][1]["address"] = name
        out.append(node)
    return out


def deployments(pods: int, crashing: int, per_deployment: int) -> list[tuple[str, str, int, bool]]:
    """(namespace, name, replicas, crash-looping) for each Deployment: injected agents first, then the rest."""
    plan: list[tuple[str, str, int, bool]] = []
    for remaining, crash, prefix in ((crashing, True, "build-agents"), (pods - crashing, False, "apps")):
        i = 0
        while remaining > 0:
            n = min(per_deployment, remaining)
            plan.append((f"{prefix}-{i // 10:02d}", f"{'azure-devops-agent' if crash else 'worker'}-{i:03d}", n, crash))
            remaining -= n
            i += 1
    return plan


def create(e2e: E2E, plan: list[tuple[str, str, int, bool]]) -> None:
    for ns in sorted({p[0] for p in plan}):
        e2e.agent_namespace(ns, injected=ns.startswith("build-agents"))
    for ns, name, replicas, _crash in plan:
        e2e.kube.create(agent_deployment(ns, name, replicas=replicas, node_pool="scalepool"))


def settle(e2e: E2E, want: Callable[[Counter[str]], bool], timeout: float, t0: float) -> Counter[str]:
    """Poll the pods every 10 s until ``want`` holds, nothing changed for three polls, or ``timeout``."""
    deadline = time.monotonic() + timeout
    last: list[Counter[str]] = []
    while True:
        states = pod_states(e2e)
        print(f"  {time.monotonic() - t0:6.0f}s {dict(states)}", file=sys.stderr, flush=True)
        last = [*last[-2:], states]
        if want(states) or (len(last) == 3 and last[0] == states) or time.monotonic() > deadline:
            return states
        time.sleep(10)


def pod_states(e2e: E2E) -> Counter[str]:
    out: Counter[str] = Counter()
    for p in e2e.kube.list("Pod"):
        if p["metadata"].get("deletionTimestamp"):
            continue
        out["total"] += 1
        if p["spec"].get("nodeName"):
            out["bound"] += 1
        if is_injected(p):
            out["injected"] += 1
        if is_crashlooping(p, "azp-agent"):
            out["crashloop"] += 1
        elif is_running(p, "azp-agent"):
            out["running"] += 1
    return out


READ_VERBS = ("LIST", "GET", "CONNECT")  # logs are CONNECT pods/log
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def metrics(e2e: E2E) -> Counter[str]:
    """The API server's request counter so far, by "VERB resource[/subresource]" (all verbs but WATCH)."""
    text = e2e.kube.request("GET", "/metrics", timeout=60)
    out: Counter[str] = Counter()
    for line in text.splitlines():
        if line.startswith("apiserver_request_total{"):
            labels = dict(_LABEL.findall(line.split("}", 1)[0]))
            if labels.get("verb") == "WATCH":
                continue
            key = f"{labels.get('verb')} {labels.get('resource') or '-'}"
            if labels.get("subresource"):
                key += "/" + labels["subresource"]
            out[key] += int(float(line.rsplit(" ", 1)[1]))
    return out


def reads(delta: Counter[str]) -> int:
    return sum(v for k, v in delta.items() if k.split()[0] in READ_VERBS)


class ByteCounter:
    """A TCP relay on loopback in front of the API server, counting the bytes the server sends (TLS and all)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.down = 0
        self.up = 0
        self.connections = 0
        self._lock = threading.Lock()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._pipe, args=(client, server, "up"), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, "down"), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, way: str) -> None:
        try:
            while True:
                data = src.recv(262144)
                if not data:
                    break
                dst.sendall(data)
                with self._lock:
                    setattr(self, way, getattr(self, way) + len(data))
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def snapshot(self) -> tuple[int, int, int]:
        with self._lock:
            return self.down, self.up, self.connections


def run_client(
    label: str, cmd: list[str], env: dict[str, str], e2e: E2E, relay: ByteCounter, out: Path, timeout: float
) -> Obj:
    before, wire0 = metrics(e2e), relay.snapshot()
    with out.open("wb") as fh:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    after, wire1 = metrics(e2e), relay.snapshot()
    delta = after - before
    delta["GET -"] -= 1  # the /metrics read itself
    return {
        "label": label,
        "exit": proc.returncode,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_rss_bytes": usage.ru_maxrss * 1024,
        "reads_raw": reads(delta),
        "by_verb_resource": dict(+delta),
        "bytes": wire1[0] - wire0[0],
        "bytes_up": wire1[1] - wire0[1],
        "connections": wire1[2] - wire0[2],
        "stdout_bytes": out.stat().st_size,
        "stderr_tail": stderr[-500:],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pods", type=int, default=5000)
    ap.add_argument("--crashing", type=int, default=300)
    ap.add_argument("--per-deployment", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--wait", type=float, default=900.0, help="at most this long for the pods to settle")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--kubectl", default="kubectl")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--keep", action="store_true", help="keep the cluster folder")
    args = ap.parse_args()

    bins = binary_dir()
    if missing_binaries(bins):
        print(f"control-plane binaries missing in {bins}: run e2e/build.sh", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="podmortem-scale-"))
    setattr(e2e_scenario, "Cluster", FastCluster)  # noqa: B010  # bring_up builds the cluster through this name
    t0 = time.monotonic()
    e2e = bring_up(bins, work)
    setup: Obj = {"control plane + operator objects s": time.monotonic() - t0}
    try:
        version = e2e.kube.request("GET", "/version")["gitVersion"]
        template = next(n for n in aks_nodes(version) if n["metadata"]["labels"]["agentpool"] == "userpool")
        per_node = 250
        count = math.ceil(args.pods * 1.15 / per_node)
        for node in scale_nodes(template, count, per_node):
            e2e.kube.create(node)
        t1 = time.monotonic()
        plan = deployments(args.pods, args.crashing, args.per_deployment)
        # the injected agents first, so the webhook (one Python process) is not drowned by the other 4,700 pods
        create(e2e, [p for p in plan if p[3]])
        states = settle(e2e, lambda s: s["crashloop"] >= args.crashing, min(300.0, args.wait), t1)
        setup["injected agents settle s"] = time.monotonic() - t1
        create(e2e, [p for p in plan if not p[3]])
        print(f"{len(plan)} Deployments on {count} scale nodes; waiting for {args.pods} pods", file=sys.stderr)
        healthy = args.pods - args.crashing
        states = settle(
            e2e,
            lambda s: s["bound"] >= args.pods and s["crashloop"] >= args.crashing and s["running"] >= healthy,
            args.wait,
            t1,
        )
        setup["pods settle s"] = time.monotonic() - t1
        setup["pod states"] = dict(states)
        setup["events"] = len(e2e.kube.list("Event"))
        setup["deployments"] = len(plan)
        setup["scale nodes"] = count

        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env["KUBECONFIG"] = str(work / "no-such-kubeconfig")
        env["NO_COLOR"] = "1"
        relay = ByteCounter("127.0.0.1", e2e.cluster.ports["apiserver"])
        pki = e2e.cluster.pki
        user = {
            "client-certificate-data": base64.b64encode((pki / "admin.crt").read_bytes()).decode(),
            "client-key-data": base64.b64encode((pki / "admin.key").read_bytes()).decode(),
        }
        kc = str(write_kubeconfig(work / "relay.kubeconfig", f"https://127.0.0.1:{relay.port}", pki / "ca.crt", user))
        cache = work / "kubectl-cache"
        cmds = {
            "kubectl": [
                *(args.kubectl, "--kubeconfig", kc, "--cache-dir", str(cache)),
                *("get", KUBECTL_RESOURCES, "-A", "-o", "json"),
            ],
            "podmortem": [sys.executable, "-m", "podmortem", "diagnose", "--kubeconfig", kc, "-A", "-o", "json", "-q"],
        }
        # background: what the controllers and kwok send meanwhile, per second
        b0, tb = metrics(e2e), time.perf_counter()
        time.sleep(15)
        b1 = metrics(e2e)
        idle = time.perf_counter() - tb
        bg_delta = b1 - b0
        bg_delta["GET -"] -= 1
        bg = reads(bg_delta) / idle

        runs: list[Obj] = []
        for label in ("kubectl", "podmortem"):  # warm-up
            run_client(label, cmds[label], env, e2e, relay, work / f"{label}.out", args.timeout)
        for r in range(args.rounds):
            order = ["kubectl", "podmortem"] if r % 2 == 0 else ["podmortem", "kubectl"]
            for label in order:
                run = run_client(label, cmds[label], env, e2e, relay, work / f"{label}.out", args.timeout)
                run["round"] = r
                run["requests"] = run["reads_raw"] - bg * run["wall_s"]
                if label == "podmortem" and run["exit"] in (0, 1):
                    doc = json.loads((work / "podmortem.out").read_text())
                    run["stats_api"] = doc.get("stats", {}).get("api")
                    rules = Counter(f["rule"] for f in doc["findings"])
                    crash_wls = {(ns, name) for ns, name, _n, crash in plan if crash}
                    hit = {
                        (f["workload"]["namespace"], f["workload"]["name"])
                        for f in doc["findings"]
                        if f["rule"] == "injection.clr-profiler"
                    }
                    run["findings"] = dict(rules)
                    run["crash workloads found"] = f"{len(hit & crash_wls)}/{len(crash_wls)}"
                    run["other findings"] = sum(rules.values()) - len(hit)
                runs.append(run)
                print(
                    f"  round {r} {label}: {run['wall_s']:.2f}s exit {run['exit']} ~{run['requests']:.0f} req",
                    file=sys.stderr,
                    flush=True,
                )
        result = {
            "machine": machine(args.kubectl, version),
            "setup": setup,
            "background reads per s": bg,
            "background by verb/resource (15 s)": dict(+bg_delta),
            "runs": runs,
        }
        print(markdown(result))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2, default=str))
    finally:
        e2e.close(keep=args.keep)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def machine(kubectl: str, version: str) -> Obj:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    mem = next(
        line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    kv = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True)
    try:
        kubectl_v = json.loads(kv.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError):
        kubectl_v = "?"
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory GiB": round(int(mem) / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "kube-apiserver": version,
        "kubectl": kubectl_v,
        "load average": os.getloadavg(),
    }


def markdown(result: Obj) -> str:
    runs = result["runs"]

    def med(label: str, key: str) -> float:
        vals = [r[key] for r in runs if r["label"] == label and isinstance(r.get(key), (int, float))]
        return statistics.median(vals) if vals else float("nan")

    rows: list[tuple[str, str, Callable[[float], str]]] = [
        ("API requests (GET, LIST, logs; server count), median", "requests", lambda v: f"{v:,.0f}"),
        ("bytes the server sent (on the wire, TLS), median", "bytes", lambda v: f"{v / 2**20:,.1f} MiB"),
        ("TCP connections, median", "connections", lambda v: f"{v:,.0f}"),
        ("wall time, median", "wall_s", lambda v: f"{v:.2f} s"),
        ("CPU time (user+sys), median", "cpu_s", lambda v: f"{v:.2f} s"),
        ("peak RSS, median", "max_rss_bytes", lambda v: f"{v / 2**20:,.0f} MiB"),
        ("stdout, median", "stdout_bytes", lambda v: f"{v / 2**20:,.1f} MiB"),
    ]
    lines = ["| measure | kubectl get -o json | podmortem diagnose | podmortem / kubectl |", "|---|---:|---:|---:|"]
    for title, key, fmt in rows:
        k, p = med("kubectl", key), med("podmortem", key)
        lines.append(f"| {title} | {fmt(k)} | {fmt(p)} | {p / k:.2f}x |" if k else f"| {title} | | | |")
    pm = [r for r in runs if r["label"] == "podmortem"]
    lines.append("")
    lines.append(f"setup: {json.dumps(result['setup'], default=str)}")
    lines.append(f"background GET+LIST per second: {result['background reads per s']:.2f}")
    lines.append(f"background, 15 s idle: {json.dumps(result['background by verb/resource (15 s)'])}")
    for label in ("kubectl", "podmortem"):
        last = [r for r in runs if r["label"] == label][-1:]
        if last:
            lines.append(
                f"{label} requests by verb/resource (last run, raw): {json.dumps(last[0]['by_verb_resource'])}"
            )
    if pm:
        lines.append(f"podmortem stats.api (last run): {json.dumps(pm[-1].get('stats_api'))}")
        lines.append(
            f"podmortem findings (last run): {json.dumps(pm[-1].get('findings'))}; crash-looping Deployments found "
            f"{pm[-1].get('crash workloads found')}, other findings {pm[-1].get('other findings')}"
        )
    lines.append(f"exit codes: {[(r['label'], r['exit']) for r in runs]}")
    lines.append(f"machine: {json.dumps(result['machine'])}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
