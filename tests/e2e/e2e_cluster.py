"""A real control plane on loopback for the end-to-end tests: etcd, kube-apiserver, kube-controller-manager,
kube-scheduler and kwok (fake nodes and the kubelet's part), started from the binaries ``e2e/build.sh`` builds.

Certificates are made with ``openssl`` in a temporary folder: a cluster CA (API server serving certificate,
``system:masters`` client certificate, kwok's kubelet endpoint), a service-account key pair, and a separate
throwaway CA for the webhook. Everything listens on 127.0.0.1 on free ports.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from e2e_kube import Kube, KubeError
from e2e_stages import cri_log, kwok_documents

Obj = dict[str, Any]

REPO = Path(__file__).resolve().parents[2]
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
SERVICE_CIDR = "10.0.0.0/16"  # the AKS default service range
POD_CIDR = "10.244.0.0/16"


def binary_dir() -> Path:
    """Where e2e/build.sh puts the binaries (``PODMORTEM_E2E_BIN`` overrides)."""
    override = os.environ.get("PODMORTEM_E2E_BIN")
    if override:
        return Path(override)
    out = subprocess.run(
        ["bash", str(REPO / "e2e" / "build.sh"), "--print-dir"], capture_output=True, text=True, check=True
    )
    return Path(out.stdout.strip())


def missing_binaries(bin_dir: Path) -> list[str]:
    return [b for b in BINARIES if not os.access(bin_dir / b, os.X_OK)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- certificates -----------------------------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d: Path, name: str, cn: str) -> None:
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=d)
    _openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        f"{name}.key",
        "-out",
        f"{name}.crt",
        "-days",
        "2",
        "-subj",
        f"/CN={cn}",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d,
    )


def make_cert(d: Path, ca: str, name: str, subject: str, san: str | None, usage: str) -> None:
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=d)
    _openssl("req", "-new", "-key", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=d)
    ext = [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={usage}",
    ]
    if san:
        ext.append(f"subjectAltName={san}")
    (d / f"{name}.ext").write_text("\n".join(ext) + "\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        f"{ca}.crt",
        "-CAkey",
        f"{ca}.key",
        "-CAcreateserial",
        "-out",
        f"{name}.crt",
        "-days",
        "2",
        "-extfile",
        f"{name}.ext",
        cwd=d,
    )


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def write_kubeconfig(path: Path, server: str, ca: Path, user: Obj, name: str = "aks-e2e") -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server, "certificate-authority-data": _b64(ca)}}],
        "users": [{"name": f"{name}-user", "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": f"{name}-user"}}],
        "current-context": name,
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    path.chmod(0o600)
    return path


# --- processes --------------------------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])


class ControlPlaneError(RuntimeError):
    pass


@dataclass
class Cluster:
    bin_dir: Path
    work: Path
    procs: list[Proc] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    kubeconfig: Path = field(init=False)
    kube: Kube = field(init=False)
    server: str = field(init=False)
    timings: dict[str, float] = field(default_factory=dict)

    # paths
    @property
    def pki(self) -> Path:
        return self.work / "pki"

    def _start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Proc:
        log = self.work / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        fh = log.open("wb")
        popen = subprocess.Popen(
            [str(self.bin_dir / name), *args],
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.work,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        fh.close()
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def _check_alive(self) -> None:
        for p in self.procs:
            if p.popen.poll() is not None:
                raise ControlPlaneError(f"{p.name} exited with {p.popen.returncode}; its log ends:\n{p.tail()}")

    def _wait(self, what: str, check: Any, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                last = check()
                if last:
                    return last
            except (OSError, KubeError, ValueError) as exc:
                last = exc
            time.sleep(0.3)
        logs = "\n".join(f"--- {p.name}\n{p.tail(15)}" for p in self.procs)
        raise ControlPlaneError(f"timed out waiting for {what} (last: {last!r})\n{logs}")

    # --- start
    def start(self) -> None:
        t0 = time.monotonic()
        self.work.mkdir(parents=True, exist_ok=True)
        self._make_pki()
        for name in ("etcd", "etcd-peer", "apiserver", "kcm", "scheduler", "kwok"):
            self.ports[name] = free_port()
        self._start_etcd()
        self._start_apiserver()
        self._install_crds()
        self._start_controllers()
        self._start_kwok()
        self.timings["control plane"] = time.monotonic() - t0

    def _make_pki(self) -> None:
        d = self.pki
        d.mkdir(parents=True, exist_ok=True)
        make_ca(d, "ca", "podmortem-e2e-ca")
        make_cert(
            d,
            "ca",
            "apiserver",
            "/CN=kube-apiserver",
            "IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,"
            "DNS:kubernetes.default.svc.cluster.local,IP:10.0.0.1",
            "serverAuth",
        )
        make_cert(d, "ca", "admin", "/O=system:masters/CN=kubernetes-admin", None, "clientAuth")
        make_cert(d, "ca", "kubelet", "/CN=kwok-kubelet", "IP:127.0.0.1,DNS:localhost", "serverAuth")
        _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key", cwd=d)
        _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)
        # the webhook's own throwaway CA, as the operator keeps its own certificate secret
        make_ca(d, "webhook-ca", "dynatrace-webhook-ca")
        make_cert(
            d,
            "webhook-ca",
            "webhook",
            "/CN=dynatrace-webhook.dynatrace.svc",
            "IP:127.0.0.1,DNS:dynatrace-webhook.dynatrace.svc",
            "serverAuth",
        )

    def _start_etcd(self) -> None:
        c, p = self.ports["etcd"], self.ports["etcd-peer"]
        self._start(
            "etcd",
            [
                "--name=e2e",
                f"--data-dir={self.work / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{c}",
                f"--advertise-client-urls=http://127.0.0.1:{c}",
                f"--listen-peer-urls=http://127.0.0.1:{p}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{p}",
                f"--initial-cluster=e2e=http://127.0.0.1:{p}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )

        def healthy() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{c}/health", timeout=2) as r:
                return bool(json.loads(r.read()).get("health") == "true")

        self._wait("etcd /health", healthy, 30)

    def _start_apiserver(self) -> None:
        d = self.pki
        port = self.ports["apiserver"]
        self.server = f"https://127.0.0.1:{port}"
        audit_policy = self.work / "audit-policy.yaml"
        audit_policy.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "audit.k8s.io/v1",
                    "kind": "Policy",
                    "omitStages": ["RequestReceived"],
                    "rules": [
                        {
                            "level": "RequestResponse",
                            "verbs": ["create"],
                            "resources": [{"group": "", "resources": ["pods"]}],
                        },
                        {"level": "None"},
                    ],
                }
            )
        )
        self.audit_log = self.work / "audit.log"
        self._start(
            "kube-apiserver",
            [
                f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--tls-cert-file={d / 'apiserver.crt'}",
                f"--tls-private-key-file={d / 'apiserver.key'}",
                f"--client-ca-file={d / 'ca.crt'}",
                f"--service-account-key-file={d / 'sa.pub'}",
                f"--service-account-signing-key-file={d / 'sa.key'}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                "--allow-privileged=true",
                # kwok serves the kubelet API (logs) on loopback; fake nodes carry InternalIP 127.0.0.1
                "--kubelet-preferred-address-types=InternalIP",
                f"--audit-policy-file={audit_policy}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json",
                "--profiling=false",
                # the "kubernetes" Service cannot point at a loopback address; nothing here needs it
                "--endpoint-reconciler-type=none",
                "--v=1",
            ],
        )
        admin = {
            "client-certificate-data": _b64(d / "admin.crt"),
            "client-key-data": _b64(d / "admin.key"),
        }
        self.kubeconfig = write_kubeconfig(self.work / "kubeconfig", self.server, d / "ca.crt", admin)
        self.kube = Kube(self.server, d / "ca.crt", d / "admin.crt", d / "admin.key")
        self._wait("kube-apiserver /readyz", lambda: self.kube.request("GET", "/readyz") == "ok", 90)

    def _install_crds(self) -> None:
        from e2e_seed import dynakube_crd

        crds = [dynakube_crd()]
        kwok_crds = self.bin_dir.parent / "kwok-crds"
        for f in sorted(kwok_crds.glob("*.yaml")) if kwok_crds.is_dir() else []:
            crds.extend(d for d in yaml.safe_load_all(f.read_text()) if d)
        if not any(c["spec"]["names"]["kind"] == "Logs" for c in crds):
            raise ControlPlaneError(f"kwok's Logs CRD is missing from {kwok_crds}: run e2e/build.sh")
        for crd in crds:
            self.kube.apply(crd)

        def established() -> bool:
            for crd in crds:
                got = self.kube.get("CustomResourceDefinition", crd["metadata"]["name"])
                conds = {c["type"]: c["status"] for c in got.get("status", {}).get("conditions", [])}
                if conds.get("Established") != "True":
                    return False
            return True

        self._wait("CRDs established", established, 30)

    def _start_controllers(self) -> None:
        d = self.pki
        kc = str(self.kubeconfig)
        self._start(
            "kube-controller-manager",
            [
                f"--kubeconfig={kc}",
                f"--authentication-kubeconfig={kc}",
                f"--authorization-kubeconfig={kc}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.ports['kcm']}",
                f"--cert-dir={self.work / 'kcm'}",
                "--leader-elect=false",
                f"--service-account-private-key-file={d / 'sa.key'}",
                f"--root-ca-file={d / 'ca.crt'}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--use-service-account-credentials=false",
                "--v=1",
            ],
        )
        self._start(
            "kube-scheduler",
            [
                f"--kubeconfig={kc}",
                f"--authentication-kubeconfig={kc}",
                f"--authorization-kubeconfig={kc}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.ports['scheduler']}",
                f"--cert-dir={self.work / 'scheduler'}",
                "--leader-elect=false",
                "--v=1",
            ],
        )
        # the service-account and root-CA controllers are up once "default" has its ServiceAccount and CA map
        self._wait(
            "ServiceAccount default/default",
            lambda: (
                self.kube.get("ServiceAccount", "default", "default")
                and self.kube.get("ConfigMap", "kube-root-ca.crt", "default")
            ),
            60,
        )

    def _start_kwok(self) -> None:
        d = self.pki
        logs = self.work / "container-logs"
        docs = kwok_documents(logs)
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
        from e2e_seed import AGENT_CRASH_LOG, AGENT_HEALTHY_LOG, GENERIC_LOG

        (logs / "crash.log").write_text(cri_log(AGENT_CRASH_LOG, stamp))
        (logs / "agent-healthy.log").write_text(cri_log(AGENT_HEALTHY_LOG, stamp))
        (logs / "generic.log").write_text(cri_log(GENERIC_LOG, stamp))
        config = self.work / "kwok.yaml"
        config.write_text(yaml.safe_dump_all(docs, sort_keys=False, width=1000))
        home = self.work / "kwok-home"  # kwok also loads ~/.kwok/kwok.yaml: keep a user's file out
        home.mkdir(exist_ok=True)
        port = self.ports["kwok"]
        self._start(
            "kwok",
            [
                f"--kubeconfig={self.kubeconfig}",
                f"--config={config}",
                "--manage-all-nodes=true",
                "--node-ip=127.0.0.1",
                f"--node-port={port}",
                f"--server-address=127.0.0.1:{port}",
                f"--tls-cert-file={d / 'kubelet.crt'}",
                f"--tls-private-key-file={d / 'kubelet.key'}",
                f"--cidr={POD_CIDR}",
                "--node-lease-duration-seconds=40",
                "--enable-crds=Logs",
            ],
            env={"HOME": str(home)},
        )

        def serving() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True

        self._wait("kwok's kubelet endpoint", serving, 30)

    # --- stop
    def stop(self) -> None:
        for p in reversed(self.procs):
            if p.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + 8
        for p in reversed(self.procs):
            try:
                p.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.popen.pid, signal.SIGKILL)
                p.popen.wait(timeout=5)
        self.procs.clear()

    def remove(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)

    def component_logs(self) -> str:
        return "\n".join(f"--- {p.name} ({p.log})\n{p.tail(30)}" for p in self.procs)


# --- AKS-like nodes ---------------------------------------------------------------------------------------------

AKS_POOLS: list[Obj] = [
    {
        "pool": "system",
        "id": "24810374",
        "count": 1,
        "mode": "system",
        "vm": "Standard_D4ds_v5",
        "cpu": "4",
        "memory": "16365492Ki",
        "alloc_cpu": "3860m",
        "alloc_memory": "12880308Ki",
        "taints": [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}],
    },
    {
        "pool": "agentpool",
        "id": "31498826",
        "count": 2,
        "mode": "user",
        "vm": "Standard_D8ds_v5",
        "cpu": "8",
        "memory": "32864352Ki",
        "alloc_cpu": "7820m",
        "alloc_memory": "28101280Ki",
        "taints": [],
    },
    {
        "pool": "userpool",
        "id": "17753420",
        "count": 2,
        "mode": "user",
        "vm": "Standard_D8ds_v5",
        "cpu": "8",
        "memory": "32864352Ki",
        "alloc_cpu": "7820m",
        "alloc_memory": "28101280Ki",
        "taints": [],
    },
]
_MC_GROUP = "MC_rg-aks-e2e_aks-e2e-weu_westeurope"
_SUBSCRIPTION = "00000000-0000-0000-0000-0000000e2e00"


def aks_nodes(kubelet_version: str) -> list[Obj]:
    """Nodes as AKS registers them (labels, taints, provider ID, capacity), managed by kwok."""
    nodes: list[Obj] = []
    for i, pool in enumerate(AKS_POOLS):
        for n in range(pool["count"]):
            name = f"aks-{pool['pool']}-{pool['id']}-vmss{n:06d}"
            zone = f"westeurope-{n % 3 + 1}"
            labels = {
                "agentpool": pool["pool"],
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/instance-type": pool["vm"],
                "beta.kubernetes.io/os": "linux",
                "failure-domain.beta.kubernetes.io/region": "westeurope",
                "failure-domain.beta.kubernetes.io/zone": zone,
                "kubernetes.azure.com/agentpool": pool["pool"],
                "kubernetes.azure.com/cluster": _MC_GROUP,
                "kubernetes.azure.com/mode": pool["mode"],
                "kubernetes.azure.com/node-image-version": "AKSUbuntu-2204gen2containerd-202407.29.0",
                "kubernetes.azure.com/nodepool-type": "VirtualMachineScaleSets",
                "kubernetes.azure.com/os-sku": "Ubuntu",
                "kubernetes.azure.com/role": "agent",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/role": "agent",
                "node-role.kubernetes.io/agent": "",
                "node.kubernetes.io/instance-type": pool["vm"],
                "topology.kubernetes.io/region": "westeurope",
                "topology.kubernetes.io/zone": zone,
            }
            capacity = {
                "cpu": pool["cpu"],
                "ephemeral-storage": "129886128Ki",
                "hugepages-1Gi": "0",
                "hugepages-2Mi": "0",
                "memory": pool["memory"],
                "pods": "110",
            }
            allocatable = {
                **capacity,
                "cpu": pool["alloc_cpu"],
                "memory": pool["alloc_memory"],
                "ephemeral-storage": "119703055367",
            }
            node: Obj = {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "labels": labels,
                    "annotations": {
                        "kwok.x-k8s.io/node": "fake",
                        "node.alpha.kubernetes.io/ttl": "0",
                        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                    },
                },
                "spec": {
                    "podCIDR": f"10.244.{i * 4 + n}.0/24",
                    "podCIDRs": [f"10.244.{i * 4 + n}.0/24"],
                    "providerID": (
                        f"azure:///subscriptions/{_SUBSCRIPTION}/resourceGroups/{_MC_GROUP.lower()}/providers/"
                        f"Microsoft.Compute/virtualMachineScaleSets/aks-{pool['pool']}-{pool['id']}-vmss/"
                        f"virtualMachines/{n}"
                    ),
                },
                "status": {
                    "capacity": capacity,
                    "allocatable": allocatable,
                    "addresses": [
                        {"type": "InternalIP", "address": "127.0.0.1"},
                        {"type": "Hostname", "address": name},
                    ],
                    "nodeInfo": {
                        "architecture": "amd64",
                        "bootID": "",
                        "containerRuntimeVersion": "containerd://1.7.20-1",
                        "kernelVersion": "5.15.0-1068-azure",
                        "kubeProxyVersion": kubelet_version,
                        "kubeletVersion": kubelet_version,
                        "machineID": "",
                        "operatingSystem": "linux",
                        "osImage": "Ubuntu 22.04.4 LTS",
                        "systemUUID": "",
                    },
                },
            }
            if pool["taints"]:
                node["spec"]["taints"] = pool["taints"]
            nodes.append(node)
    return nodes
