"""Scenario helpers shared by the end-to-end tests: set up namespaces and workloads through the API, wait for the
fake kubelet to report them, and run podmortem as a separate process against the cluster."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from e2e_cluster import Cluster, ControlPlaneError, aks_nodes, free_port
from e2e_kube import Kube, KubeError
from e2e_seed import (
    OPERATOR_NS,
    agent_secret,
    csi_driver,
    dynakube,
    dynakube_status,
    injected_namespace,
    namespace,
    operator_secrets,
    webhook_configuration,
)
from e2e_webhook import DynatraceWebhook, Mutator

Obj = dict[str, Any]


def container_status(pod: Obj, name: str) -> Obj:
    for cs in pod.get("status", {}).get("containerStatuses") or []:
        if cs.get("name") == name:
            status: Obj = cs
            return status
    return {}


def is_crashlooping(pod: Obj, container: str) -> bool:
    waiting = container_status(pod, container).get("state", {}).get("waiting") or {}
    return waiting.get("reason") == "CrashLoopBackOff"


def is_running(pod: Obj, container: str) -> bool:
    cs = container_status(pod, container)
    return bool(cs.get("ready")) and "running" in (cs.get("state") or {})


def is_injected(pod: Obj) -> bool:
    return (pod["metadata"].get("annotations") or {}).get("oneagent.dynatrace.com/injected") == "true"


class E2E:
    """What the tests get: the cluster, an admin API client, the webhook, and helpers to run podmortem."""

    def __init__(self, cluster: Cluster, webhook: DynatraceWebhook, work: Path) -> None:
        self.cluster = cluster
        self.kube: Kube = cluster.kube
        self.kubeconfig: Path = cluster.kubeconfig
        self.webhook = webhook
        self.work = work

    def close(self, keep: bool = False) -> None:
        self.webhook.stop()
        self.cluster.stop()
        if not keep:
            self.cluster.remove()

    # --- set-up
    def agent_namespace(self, name: str, injected: bool = True) -> None:
        """A namespace for agents: mapped to the DynaKube (the operator's label and secrets) or not."""
        self.kube.create(injected_namespace(name) if injected else namespace(name))
        if injected:
            for secret in operator_secrets(name):
                self.kube.create(secret)
        self.kube.create(agent_secret(name))
        self.kube.wait_for(f"ServiceAccount {name}/default", lambda: self.kube.get("ServiceAccount", "default", name))

    def pods(self, ns: str, selector: str | None = None) -> list[Obj]:
        return self.kube.list("Pod", ns, selector)

    def wait_pods(self, ns: str, selector: str, count: int, state: str, container: str = "azp-agent") -> list[Obj]:
        """Wait for ``count`` pods in ``state`` ("crashloop" or "running"); for crash loops also until the
        previous log of the container can be read through the API server (kwok serves it)."""
        check = is_crashlooping if state == "crashloop" else is_running

        def ready() -> list[Obj] | None:
            pods = [p for p in self.pods(ns, selector) if not p["metadata"].get("deletionTimestamp")]
            good = [p for p in pods if check(p, container)]
            if len(good) != count or len(pods) != count:
                return None
            if state == "crashloop":
                for p in good:
                    if "InvalidProgramException" not in self.kube.logs(ns, p["metadata"]["name"], container, True):
                        return None
            return good

        result: list[Obj] = self.kube.wait_for(f"{count} pods {selector} in {ns} {state}", ready, timeout=120)
        return result

    def delete_namespace(self, name: str) -> None:
        self.kube.delete("Namespace", name)

    def wait_namespace_gone(self, name: str) -> None:
        def gone() -> bool:
            try:
                self.kube.get("Namespace", name)
            except KubeError as exc:
                return exc.status == 404
            return False

        self.kube.wait_for(f"namespace {name} deleted", gone, timeout=120)

    # --- podmortem, as a user runs it
    def podmortem(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """Run ``podmortem ARGS`` in a separate process. KUBECONFIG points nowhere, so a live command only reaches
        the cluster through the ``--kubeconfig`` the test passes."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        env["KUBECONFIG"] = str(self.work / "no-such-kubeconfig")
        env["NO_COLOR"] = "1"
        cmd = [sys.executable, "-m", "podmortem", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)

    def diagnose_json(self, *args: str) -> Obj:
        proc = self.podmortem("diagnose", *args, "-o", "json", "-q")
        assert proc.returncode == 0, (
            f"podmortem diagnose exited {proc.returncode}:\n{proc.stderr}\n{proc.stdout[:2000]}"
        )
        doc: Obj = json.loads(proc.stdout)
        return doc

    def diagnose_live(self, *args: str, kubeconfig: Path | None = None) -> Obj:
        return self.diagnose_json("--kubeconfig", str(kubeconfig or self.kubeconfig), *args)


def bring_up(bin_dir: Path, work: Path) -> E2E:
    """Start the control plane, register five AKS nodes in three pools, and install what the Dynatrace operator
    keeps in a cluster: its namespace, CSIDriver, DynaKube (with status), and the webhook with its configuration."""
    cluster = Cluster(bin_dir, work)
    webhook: DynatraceWebhook | None = None
    try:
        cluster.start()
        kube = cluster.kube
        t0 = time.monotonic()
        version = kube.request("GET", "/version")["gitVersion"]
        nodes = aks_nodes(version)
        for node in nodes:
            kube.create(node)

        def nodes_ready() -> bool:
            ready = [
                n
                for n in kube.list("Node")
                if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
            ]
            return len(ready) == len(nodes)

        kube.wait_for(f"{len(nodes)} AKS nodes Ready", nodes_ready, timeout=60)
        kube.create(namespace(OPERATOR_NS))
        kube.create(csi_driver())
        dk = kube.create(dynakube())
        kube.request(
            "PATCH",
            Kube.path("DynaKube", OPERATOR_NS, dk["metadata"]["name"]) + "/status",
            dynakube_status(),
            content_type="application/merge-patch+json",
        )
        cluster_id = kube.get("Namespace", "kube-system")["metadata"]["uid"]
        pki = cluster.pki
        webhook = DynatraceWebhook(Mutator(kube, cluster_id), pki / "webhook.crt", pki / "webhook.key", free_port())
        webhook.start()
        ca = base64.b64encode((pki / "webhook-ca.crt").read_bytes()).decode()
        kube.create(webhook_configuration(f"https://127.0.0.1:{webhook.port}", ca))
        cluster.timings["nodes and operator objects"] = time.monotonic() - t0
    except (ControlPlaneError, KubeError, TimeoutError) as exc:
        logs = cluster.component_logs()
        if webhook is not None:
            webhook.stop()
        cluster.stop()
        raise ControlPlaneError(f"{exc}\n{logs}") from exc
    return E2E(cluster, webhook, work)


if __name__ == "__main__":
    # A cluster to look at by hand: python tests/e2e/e2e_scenario.py [WORKDIR]; Ctrl-C stops it.
    import tempfile

    from e2e_cluster import binary_dir

    work_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="podmortem-e2e-"))
    env = bring_up(binary_dir(), work_dir)
    print(f"export KUBECONFIG={env.kubeconfig}", flush=True)

    def _stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        env.close(keep=True)
