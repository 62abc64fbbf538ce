"""Finding the kubeconfig and reading a live cluster: the CLI side of the live source."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from podmortem.model.snapshot import Snapshot
from podmortem.rules.registry import all_rules
from podmortem.sources.http import ApiClient, ApiError, ApiStats, ClusterUnreachable
from podmortem.sources.kubeconfig import ClusterConfig, in_cluster_config, load_kubeconfig
from podmortem.sources.live import load_live

# Kinds every diagnosis reads besides what the rules declare: owners, namespaces, webhooks, nodes, CSI drivers.
BASE_KINDS = (
    "Pod",
    "Event",
    "ReplicaSet",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "Namespace",
    "Node",
    "MutatingWebhookConfiguration",
    "CSIDriver",
)


class ClusterProblem(Exception):
    """The cluster cannot be read: ``code`` is the exit code (2 bad kubeconfig, 3 unreachable or forbidden)."""

    def __init__(self, message: str, code: int) -> None:
        """Keep the message and exit code."""
        super().__init__(message)
        self.code = code


@dataclass
class LiveOptions:
    """What to read from the cluster."""

    kubeconfig: str | None = None
    context: str | None = None
    namespace: str | None = None
    all_namespaces: bool = False
    selector: str | None = None
    request_timeout: float = 30.0
    max_log_containers: int = 50


def required_kinds() -> list[str]:
    """The kinds the rules declare they read, plus the base kinds; injector CRs are found by discovery."""
    kinds = list(BASE_KINDS)
    for r in all_rules():
        for k in r.requires:
            if k[:1].isupper() and k not in kinds and k != "Secret":
                kinds.append(k)
    return kinds


def kubeconfig_paths(explicit: str | None, environ: Mapping[str, str]) -> list[str]:
    """Where kubectl would look: --kubeconfig, else $KUBECONFIG (a path list), else ~/.kube/config."""
    if explicit:
        return [explicit]
    env = environ.get("KUBECONFIG", "")
    if env:
        return [p for p in env.split(os.pathsep) if p]
    home = environ.get("HOME") or os.path.expanduser("~")
    return [os.path.join(home, ".kube", "config")]


def cluster_config(opts: LiveOptions, environ: Mapping[str, str]) -> ClusterConfig:
    """The cluster to talk to, from the kubeconfig or the in-cluster service account."""
    paths = kubeconfig_paths(opts.kubeconfig, environ)
    existing = [p for p in paths if os.path.isfile(p)]
    if opts.kubeconfig and not existing:
        raise ClusterProblem(f"kubeconfig '{opts.kubeconfig}' does not exist", 2)
    if existing:
        return load_kubeconfig(existing, context=opts.context, environ=environ)
    cfg = in_cluster_config(environ)
    if cfg is None:
        raise ClusterProblem(
            "no kubeconfig found (looked at " + ", ".join(paths) + ") and not running in a cluster; pass a bundle "
            "path or --kubeconfig",
            2,
        )
    return cfg


def read_cluster(
    opts: LiveOptions,
    environ: Mapping[str, str],
    progress: Callable[[str], None],
    plugin_stderr: Callable[[str], None] | None = None,
) -> Snapshot:
    """Read the cluster into a snapshot; raises :class:`ClusterProblem` when it cannot be read at all.

    ``plugin_stderr`` shows what an exec credential plugin prints (e.g. kubelogin's device-code prompt).
    """
    cfg = cluster_config(opts, environ)
    client = ApiClient(cfg, timeout=opts.request_timeout, stats=ApiStats(), plugin_stderr=plugin_stderr)
    namespace = None if opts.all_namespaces else (opts.namespace or cfg.namespace or "default")
    try:
        return load_live(
            client,
            cfg,
            kinds=required_kinds(),
            namespace=namespace,
            all_namespaces=opts.all_namespaces,
            selector=opts.selector,
            max_log_containers=opts.max_log_containers,
            progress=progress,
        )
    except ClusterUnreachable as exc:
        raise ClusterProblem(str(exc), 3) from exc
    except ApiError as exc:
        if exc.status in (401, 403):
            raise ClusterProblem(
                f"the cluster of context '{cfg.context}' ({cfg.server}) refused the request: {exc}", 3
            ) from exc
        raise ClusterProblem(f"the API server of context '{cfg.context}' answered {exc}", 3) from exc
    finally:
        client.close()
