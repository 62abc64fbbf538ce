"""Reading a live cluster into a :class:`Snapshot`, at a small and predictable API cost.

The cost of one run is: discovery (``/api``, ``/apis``, and ``/apis/<group>/<version>`` only for groups whose
kinds are wanted but whose resource names or versions are not known in advance, such as injector CRDs), one
paginated LIST per kind (``limit=500`` and ``continue``), and at most two log reads (current and previous, capped
by ``tailLines`` and ``limitBytes``) for each failing container, up to ``max_log_containers`` containers.
Requests run concurrently on at most ``client.max_workers`` threads.

A kind that cannot be listed (403) or logs that cannot be read become snapshot warnings; a kind whose CRD is
absent is skipped silently. Secrets are never read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from podmortem.model.health import ContainerState, pod_health
from podmortem.model.objects import RawObject, as_dict, as_list, as_str, controller_ref, name, namespace
from podmortem.model.snapshot import LogKey, Snapshot, SourceInfo, slim
from podmortem.sources.http import ApiClient, ApiError, ClusterUnreachable, RequestTimeout
from podmortem.sources.kubeconfig import ClusterConfig

Warn = Callable[[str], None]


@dataclass(frozen=True)
class KindSpec:
    """An API resource to list: its kind, group, version (``""``: the one the server prefers), plural, scope."""

    kind: str
    group: str
    version: str
    resource: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        """``v1`` for the core group, else ``group/version``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def label(self) -> str:
        """How warnings name the resource (``pods``, ``dynakubes.dynatrace.com``)."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    def path(self, ns: str | None = None, obj: str | None = None) -> str:
        """The URL path of the collection (in namespace ``ns`` when given and namespaced), or of object ``obj``."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if ns and self.namespaced:
            root += f"/namespaces/{ns}"
        return f"{root}/{self.resource}" + (f"/{obj}" if obj else "")


def _k(kind: str, group: str, version: str, resource: str, namespaced: bool = True) -> KindSpec:
    return KindSpec(kind, group, version, resource, namespaced)


#: Built-in kinds every diagnosis reads.
BUILTIN_KINDS: tuple[KindSpec, ...] = (
    _k("Pod", "", "v1", "pods"),
    _k("Event", "", "v1", "events"),
    _k("ReplicaSet", "apps", "v1", "replicasets"),
    _k("Deployment", "apps", "v1", "deployments"),
    _k("StatefulSet", "apps", "v1", "statefulsets"),
    _k("DaemonSet", "apps", "v1", "daemonsets"),
    _k("Job", "batch", "v1", "jobs"),
    _k("CronJob", "batch", "v1", "cronjobs"),
    _k("Namespace", "", "v1", "namespaces", False),
    _k("Node", "", "v1", "nodes", False),
    _k("MutatingWebhookConfiguration", "admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations", False),
    _k("CSIDriver", "storage.k8s.io", "v1", "csidrivers", False),
)

#: Custom resources of injectors; read only when the cluster serves their group (version and scope from discovery).
INJECTOR_KINDS: tuple[KindSpec, ...] = (
    _k("DynaKube", "dynatrace.com", "", "dynakubes"),
    _k("Instrumentation", "opentelemetry.io", "", "instrumentations"),
    _k("OpenTelemetryCollector", "opentelemetry.io", "", "opentelemetrycollectors"),
    _k("Instrumentation", "newrelic.com", "", "instrumentations"),
    _k("DatadogAgent", "datadoghq.com", "", "datadogagents"),
    _k("AgentInjector", "agents.contrastsecurity.com", "", "agentinjectors"),
    _k("ClusterAgentInjector", "agents.contrastsecurity.com", "", "clusteragentinjectors"),
    _k("Clusteragent", "cluster.appdynamics.com", "", "clusteragents"),
    _k("InstanaAgent", "instana.io", "", "agents"),
)

DEFAULT_KINDS: tuple[KindSpec, ...] = BUILTIN_KINDS + INJECTOR_KINDS

#: Further kinds that can be asked for by name (never by default).
EXTRA_KINDS: tuple[KindSpec, ...] = (
    _k("Service", "", "v1", "services"),
    _k("ReplicationController", "", "v1", "replicationcontrollers"),
    _k("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims"),
    _k("PersistentVolume", "", "v1", "persistentvolumes", False),
    _k("ResourceQuota", "", "v1", "resourcequotas"),
    _k("LimitRange", "", "v1", "limitranges"),
    _k(
        "ValidatingWebhookConfiguration", "admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", False
    ),
    _k("StorageClass", "storage.k8s.io", "v1", "storageclasses", False),
)

KNOWN_KINDS: tuple[KindSpec, ...] = DEFAULT_KINDS + EXTRA_KINDS
_NEVER_READ = frozenset({"secret", "secrets"})


def kind_specs(names: Iterable[str], warn: Warn | None = None) -> list[KindSpec]:
    """The known kinds named (by kind, plural or ``plural.group``, any case); unknown names and Secrets are
    skipped with a warning."""
    out: list[KindSpec] = []
    for raw in names:
        key = raw.strip().lower()
        if not key:
            continue
        if key in _NEVER_READ or key.startswith("secrets."):
            if warn is not None:
                warn("Secrets are never read")
            continue
        hits = [s for s in KNOWN_KINDS if key in (s.kind.lower(), s.resource, s.label)]
        if not hits and warn is not None:
            warn(f"unknown kind '{raw}': not read")
        out.extend(h for h in hits if h not in out)
    return out


# ---------------------------------------------------------------------------------------------------- discovery


def _discover(client: ApiClient, specs: Sequence[KindSpec], warn: Warn) -> list[KindSpec]:
    """Which of ``specs`` the server serves, with version, plural and scope filled in from discovery."""
    try:
        core = client.get_json("/api")
        core_versions = {v for v in as_list(core.get("versions")) if isinstance(v, str)}
    except ApiError as exc:
        if exc.status == 401:
            raise
        warn(f"cannot read API discovery (/api): {exc.status} {exc.reason}; assuming the usual built-in kinds")
        core_versions = {"v1"}
    groups: dict[str, list[str]] | None = None
    try:
        listing = client.get_json("/apis")
    except ApiError as exc:
        if exc.status == 401:
            raise
        warn(f"cannot read API discovery (/apis): {exc.status} {exc.reason}; custom resources are not read")
    else:
        groups = {}
        for g in as_list(listing.get("groups")):
            gd = as_dict(g)
            versions = [as_str(as_dict(v).get("version")) for v in as_list(gd.get("versions"))]
            preferred = as_str(as_dict(gd.get("preferredVersion")).get("version"))
            ordered = [preferred] if preferred else []
            ordered += [v for v in versions if v and v != preferred]
            if as_str(gd.get("name")):
                groups[as_str(gd.get("name"))] = ordered

    resources: dict[str, list[dict[str, Any]] | None] = {}

    def resource_list(group: str, version: str) -> list[dict[str, Any]] | None:
        gv = f"{group}/{version}"
        if gv not in resources:
            try:
                doc = client.get_json(f"/apis/{gv}")
                resources[gv] = [as_dict(r) for r in as_list(doc.get("resources"))]
            except ApiError as exc:
                if exc.status == 401:
                    raise
                resources[gv] = None
        return resources[gv]

    out: list[KindSpec] = []
    for spec in specs:
        if not spec.group:
            if spec.version in core_versions:
                out.append(spec)
            continue
        if groups is None:  # discovery forbidden: built-in kinds at their usual versions, no custom resources
            if spec.version:
                out.append(spec)
            continue
        served = groups.get(spec.group)
        if not served:
            continue  # group not served (CRD absent, or an old cluster): skip silently
        if spec.version and spec.version in served:
            out.append(spec)
            continue
        for version in served:
            found = next(
                (
                    r
                    for r in resource_list(spec.group, version) or []
                    if r.get("kind") == spec.kind
                    and "/" not in as_str(r.get("name"))
                    and ("verbs" not in r or "list" in as_list(r.get("verbs")))
                ),
                None,
            )
            if found is not None:
                out.append(
                    replace(
                        spec,
                        version=version,
                        resource=as_str(found.get("name")) or spec.resource,
                        namespaced=found.get("namespaced") is True,
                    )
                )
                break
    return out


# ---------------------------------------------------------------------------------------------------- listing


@dataclass
class _Listed:
    spec: KindSpec
    items: list[RawObject]
    error: ApiError | None = None


def _is_injector(spec: KindSpec) -> bool:
    return any(spec.kind == k.kind and spec.group == k.group for k in INJECTOR_KINDS)


def _list_kind(
    client: ApiClient, spec: KindSpec, ns: str | None, selector: str | None, page_size: int, warn: Warn
) -> _Listed:
    try:
        if spec.kind == "Namespace" and ns:
            # scoped to one namespace: read just that one (a namespace-scoped user may GET it, not LIST all)
            obj = client.get_json(spec.path(obj=ns))
            obj.setdefault("kind", "Namespace")
            obj.setdefault("apiVersion", "v1")
            slim(obj)
            return _Listed(spec, [obj])
        params = {"labelSelector": selector} if selector and spec.kind == "Pod" else None
        items = []
        for obj in client.list_all(spec.path(ns), params, limit=page_size, warn=warn):
            slim(obj)  # drop managedFields & co. now, page by page, rather than after the whole list is held
            items.append(obj)
        return _Listed(spec, items)
    except ApiError as exc:
        if exc.status == 401:
            raise
        return _Listed(spec, [], exc)


# ---------------------------------------------------------------------------------------------------- logs


@dataclass(frozen=True)
class _LogJob:
    ns: str
    pod: str
    container: str
    current: bool  # read the current instance
    previous: bool  # read the previous (last terminated) instance
    same: bool  # waiting after a crash: the current log is the previous instance's log


def _has_run(c: ContainerState) -> bool:
    return bool(c.running_since) or c.term_exit is not None or bool(c.term_reason)


def _has_previous(c: ContainerState) -> bool:
    return c.restart_count > 0 or c.last_exit is not None or bool(c.last_reason)


def _log_jobs(pods: Sequence[RawObject]) -> list[list[_LogJob]]:
    """Failing containers that have logs, grouped by workload and container name (for fair sharing)."""
    groups: dict[tuple[str, str, str], list[_LogJob]] = {}
    for pod in pods:
        ns, pname = namespace(pod), name(pod)
        ref = controller_ref(pod)
        owner = f"{as_str(ref.get('kind'))}/{as_str(ref.get('name'))}" if ref else f"Pod/{pname}"
        for c in pod_health(pod).failing_containers:
            ran, prev = _has_run(c), _has_previous(c)
            if not ran and not prev:
                continue  # never started (image pull, config error): there is no log
            job = _LogJob(ns, pname, c.name, current=ran, previous=prev, same=not ran)
            groups.setdefault((ns, owner, c.name), []).append(job)
    return list(groups.values())


def _fair_order(groups: list[list[_LogJob]]) -> list[_LogJob]:
    """One container of each group, then a second of each, ...: a cap never spends everything on one workload."""
    out: list[_LogJob] = []
    depth = 0
    while True:
        row = [g[depth] for g in groups if depth < len(g)]
        if not row:
            return out
        out.extend(row)
        depth += 1


@dataclass
class _LogResult:
    job: _LogJob
    texts: dict[bool, str]  # previous? -> text
    errors: list[ApiError | RequestTimeout]


def _read_logs(client: ApiClient, job: _LogJob, tail_lines: int, limit_bytes: int) -> _LogResult:
    res = _LogResult(job, {}, [])
    path = f"/api/v1/namespaces/{job.ns}/pods/{job.pod}/log"
    for previous, wanted in ((True, job.previous), (False, job.current)):
        if not wanted:
            continue
        params = {"container": job.container, "tailLines": str(tail_lines), "limitBytes": str(limit_bytes)}
        if previous:
            params["previous"] = "true"
        try:
            res.texts[previous] = client.get_text(path, params)
        except (ApiError, RequestTimeout) as exc:
            if isinstance(exc, ApiError) and exc.status == 401:
                raise
            res.errors.append(exc)
    return res


def _log_warning(exc: ApiError | RequestTimeout) -> str | None:
    if isinstance(exc, RequestTimeout):
        return "some container logs could not be read: the request timed out"
    if exc.status == 400:
        return None  # no such instance (never terminated, or already garbage-collected): nothing to read
    if exc.status == 403:
        return "cannot read pod logs: forbidden (the user may not get pods/log)"
    if exc.status == 404:
        return "some pods were gone before their logs could be read"
    return f"some container logs could not be read: {exc.status} {exc.reason}"


# ---------------------------------------------------------------------------------------------------- load_live


def load_live(
    client: ApiClient,
    config: ClusterConfig,
    *,
    kinds: Sequence[str] | None = None,
    namespace: str | None = None,
    all_namespaces: bool = True,
    selector: str | None = None,
    max_log_containers: int = 50,
    tail_lines: int = 2000,
    limit_bytes: int = 1_048_576,
    progress: Callable[[str], None] | None = None,
    warn: Warn | None = None,
    page_size: int = 500,
    injectors: bool = True,
) -> Snapshot:
    """Read a cluster into a snapshot: the kinds wanted, then the logs of failing containers.

    ``kinds`` names kinds (``Pod``, ``DynaKube``, ``mutatingwebhookconfigurations``, ...; default
    :data:`DEFAULT_KINDS`); with ``injectors`` the injector custom resources (:data:`INJECTOR_KINDS`) are read
    too, whichever kinds are named, when the cluster serves them. Scope: ``namespace`` when given, else the
    whole cluster when ``all_namespaces``, else the context's namespace; cluster-scoped kinds are always read
    cluster-wide (except Namespace, of which only the namespace in scope is read). ``selector`` (a label
    selector) narrows the Pods listed. LISTs ask for ``page_size`` items a page. Every warning goes to the
    snapshot and, when given, to ``warn``.

    Raises :class:`ClusterUnreachable` when the cluster cannot be reached, and :class:`ApiError` on 401 or when
    every kind was forbidden.
    """
    collected = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    snapshot = Snapshot(SourceInfo("live", f"{config.context} ({config.server})", collected_at=collected))
    say = progress or (lambda _msg: None)

    lock = threading.Lock()

    def warning(message: str) -> None:
        with lock:  # list workers warn too
            before = len(snapshot.warnings)
            snapshot.warn(message)
            fresh = len(snapshot.warnings) > before
        if warn is not None and fresh:
            warn(message)

    wanted = list(DEFAULT_KINDS) if kinds is None else kind_specs(kinds, warning)
    if injectors:
        wanted += [s for s in INJECTOR_KINDS if s not in wanted]
    else:
        wanted = [s for s in wanted if kinds is not None or s not in INJECTOR_KINDS]
    wanted = [s for s in wanted if s.kind != "Secret"]
    scope_ns = namespace or (None if all_namespaces else config.namespace)
    stats = client.stats

    say("discovering API resources")
    t0 = time.monotonic()
    specs = _discover(client, wanted, warning)
    stats.add_seconds("discovery", time.monotonic() - t0)

    t0 = time.monotonic()
    listed: dict[KindSpec, _Listed] = {}
    with ThreadPoolExecutor(max_workers=client.max_workers, thread_name_prefix="podmortem-list") as pool:
        # Injector custom resources configure injection for every namespace (a DynaKube lives in the operator's
        # namespace), so they are read cluster-wide whatever the scope.
        futures: dict[Future[_Listed], KindSpec] = {
            pool.submit(
                _list_kind, client, spec, None if _is_injector(spec) else scope_ns, selector, page_size, warning
            ): spec
            for spec in specs
        }
        try:
            for done, fut in enumerate(as_completed(futures), 1):
                listed[futures[fut]] = fut.result()
                say(f"listed {done}/{len(specs)} kinds")
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    forbidden = 0
    for spec in specs:  # merged in a fixed order, whatever order the lists finished in
        result = listed[spec]
        if result.error is not None:
            exc = result.error
            if exc.status == 404:
                continue  # the kind went away (CRD removed) or the namespace does not exist
            if exc.status == 403:
                forbidden += 1
                warning(f"cannot list {spec.label}: forbidden" + (f" ({exc.message})" if exc.message else ""))
            else:
                warning(f"cannot list {spec.label}: {exc.status} {exc.reason}")
            continue
        for obj in result.items:
            snapshot.add(obj)
    stats.add_seconds("list", time.monotonic() - t0)
    if specs and forbidden == len(specs):
        first = listed[specs[0]].error
        assert first is not None
        raise ApiError(
            403, "Forbidden", first.path, f"every kind is forbidden to this user in context '{config.context}'"
        )

    t0 = time.monotonic()
    _collect_logs(client, snapshot, max_log_containers, tail_lines, limit_bytes, say, warning)
    stats.add_seconds("logs", time.monotonic() - t0)
    snapshot.stats["api"] = stats.to_dict()
    return snapshot


def _collect_logs(
    client: ApiClient,
    snapshot: Snapshot,
    max_log_containers: int,
    tail_lines: int,
    limit_bytes: int,
    say: Callable[[str], None],
    warning: Warn,
) -> None:
    pods = sorted(snapshot.of_kind("Pod"), key=lambda p: (namespace(p), name(p)))
    jobs = _fair_order(_log_jobs(pods))
    if not jobs:
        return
    cap = max(0, max_log_containers)
    if len(jobs) > cap:
        warning(f"logs read for {cap} of {len(jobs)} failing containers (raise the limit with --max-log-containers)")
        jobs = jobs[:cap]
    results: dict[_LogJob, _LogResult] = {}
    with ThreadPoolExecutor(max_workers=client.max_workers, thread_name_prefix="podmortem-logs") as pool:
        futures = [pool.submit(_read_logs, client, job, tail_lines, limit_bytes) for job in jobs]
        try:
            for done, fut in enumerate(as_completed(futures), 1):
                res = fut.result()
                results[res.job] = res
                say(f"read logs of {done}/{len(jobs)} failing containers")
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    for job in jobs:
        res = results[job]
        for previous, text in res.texts.items():
            snapshot.add_log(LogKey(job.ns, job.pod, job.container, previous), text)
            if previous and job.same:
                # a container waiting to restart has no current instance: `kubectl logs` shows this same log
                snapshot.add_log(LogKey(job.ns, job.pod, job.container, False), text)
        for exc in res.errors:
            message = _log_warning(exc)
            if message:
                warning(message)


__all__ = [
    "BUILTIN_KINDS",
    "DEFAULT_KINDS",
    "EXTRA_KINDS",
    "INJECTOR_KINDS",
    "KNOWN_KINDS",
    "ApiClient",
    "ClusterConfig",
    "ClusterUnreachable",
    "KindSpec",
    "kind_specs",
    "load_live",
]
