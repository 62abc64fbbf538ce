"""Finding out how to talk to a cluster: kubeconfig files, the in-cluster service account, exec plugins.

The rules follow ``kubectl``/client-go:

* several kubeconfig files (``KUBECONFIG`` list semantics) are merged; for clusters, contexts and users the first
  file that names an entry wins, and so does the first ``current-context``;
* relative file paths inside a kubeconfig (``certificate-authority``, ``client-certificate``, ``client-key``,
  ``tokenFile``, and an exec plugin ``command`` holding a path separator) are resolved against the directory of
  the file that named them;
* exec credential plugins (``client.authentication.k8s.io/v1`` and ``v1beta1``, as Azure kubelogin, the AWS CLI
  and gke-gcloud-auth-plugin use) are run lazily, with ``KUBERNETES_EXEC_INFO`` set, and their credentials are
  cached until they expire.

Nothing here talks to the API server; :mod:`podmortem.sources.http` does.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import yaml

from podmortem.sources.errors import SourceError

EXEC_API_VERSIONS = (
    "client.authentication.k8s.io/v1",
    "client.authentication.k8s.io/v1beta1",
    "client.authentication.k8s.io/v1alpha1",
)
SERVICE_ACCOUNT_DIR = "var/run/secrets/kubernetes.io/serviceaccount"
#: Credentials that expire within this many seconds are refreshed before use.
EXPIRY_SKEW = 10.0
#: A non-interactive exec plugin that runs longer than this is stopped.
EXEC_TIMEOUT = 120.0


class KubeconfigError(SourceError):
    """A kubeconfig that cannot be used: missing or malformed file, unknown context, failing exec plugin."""


@dataclass(frozen=True)
class Credentials:
    """What a request authenticates with: a bearer token and/or a client certificate, and until when."""

    token: str | None = None
    client_cert: bytes | None = None  # PEM
    client_key: bytes | None = None  # PEM
    expires_at: float | None = None  # seconds since the epoch; None = does not expire

    def expired(self, now: float | None = None) -> bool:
        """Whether these credentials expire within :data:`EXPIRY_SKEW` seconds."""
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) + EXPIRY_SKEW >= self.expires_at


@dataclass(frozen=True)
class ClusterConfig:
    """One cluster, as a kubeconfig context (or the in-cluster service account) describes it."""

    server: str  # https://host:port (or http:// for tests)
    context: str  # context name ("in-cluster" for the service account)
    cluster: str  # cluster name
    namespace: str = "default"  # the context's default namespace
    ca_data: bytes | None = None  # PEM
    insecure: bool = False  # insecure-skip-tls-verify
    client_cert: bytes | None = None  # PEM
    client_key: bytes | None = None  # PEM
    token: str | None = None  # bearer token (static, tokenFile content, or from exec)
    exec_spec: dict[str, Any] | None = None  # users[].user.exec, run lazily by credentials()
    tls_server_name: str | None = None
    proxy_url: str | None = None
    #: The environment an exec plugin runs with (the one the kubeconfig was loaded with; os.environ when empty).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    #: ``clusters[].cluster.extensions["client.authentication.k8s.io/exec"]``, passed to the plugin.
    exec_cluster_config: Any = field(default=None, repr=False, compare=False)

    def credentials(self, *, refresh: bool = False, plugin_stderr: Callable[[str], None] | None = None) -> Credentials:
        """The credentials to send: the static ones, or the exec plugin's (run now unless cached and fresh).

        ``refresh`` runs the plugin even when its cached credentials have not expired (after a 401).
        ``plugin_stderr`` receives the plugin's stderr lines as it prints them (e.g. a device-code prompt).
        """
        if self.exec_spec is None:
            return Credentials(token=self.token, client_cert=self.client_cert, client_key=self.client_key)
        creds = exec_credentials(
            self.exec_spec,
            self.environ or os.environ,
            cluster=self.exec_cluster_info(),
            refresh=refresh,
            plugin_stderr=plugin_stderr,
        )
        return Credentials(
            token=creds.token or self.token,
            client_cert=creds.client_cert or self.client_cert,
            client_key=creds.client_key or self.client_key,
            expires_at=creds.expires_at,
        )

    def exec_cluster_info(self) -> dict[str, Any]:
        """``spec.cluster`` of the ExecCredential handed to a plugin with ``provideClusterInfo: true``."""
        info: dict[str, Any] = {"server": self.server}
        if self.tls_server_name:
            info["tls-server-name"] = self.tls_server_name
        if self.insecure:
            info["insecure-skip-tls-verify"] = True
        if self.ca_data:
            info["certificate-authority-data"] = base64.b64encode(self.ca_data).decode("ascii")
        if self.proxy_url:
            info["proxy-url"] = self.proxy_url
        if self.exec_cluster_config is not None:
            info["config"] = self.exec_cluster_config
        return info


# ---------------------------------------------------------------------------------------------------- kubeconfig


@dataclass
class _Merged:
    """The merged view of several kubeconfig files; each entry remembers the directory of its file."""

    clusters: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)
    current: str = ""


def _named_entries(doc: dict[str, Any], key: str, inner: str, path: str) -> list[tuple[str, dict[str, Any]]]:
    raw = doc.get(key)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise KubeconfigError(f"kubeconfig '{path}': '{key}' is not a list")
    out: list[tuple[str, dict[str, Any]]] = []
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise KubeconfigError(f"kubeconfig '{path}': an entry of '{key}' has no name")
        body = entry.get(inner)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise KubeconfigError(f"kubeconfig '{path}': {key[:-1]} '{entry['name']}' is not a mapping")
        out.append((entry["name"], body))
    return out


def _read_kubeconfig(path: str, merged: _Merged) -> None:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise KubeconfigError(f"cannot read kubeconfig '{path}': {exc.strerror or exc}") from exc
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KubeconfigError(f"cannot read kubeconfig '{path}': not valid YAML ({_first_line(str(exc))})") from exc
    if doc is None:
        return  # an empty file is allowed, as kubectl allows it
    if not isinstance(doc, dict):
        raise KubeconfigError(f"cannot read kubeconfig '{path}': not a kubeconfig (expected a mapping)")
    base = os.path.dirname(os.path.abspath(path))
    for name, body in _named_entries(doc, "clusters", "cluster", path):
        merged.clusters.setdefault(name, (body, base))
    for name, body in _named_entries(doc, "contexts", "context", path):
        merged.contexts.setdefault(name, body)
    for name, body in _named_entries(doc, "users", "user", path):
        merged.users.setdefault(name, (body, base))
    current = doc.get("current-context")
    if not merged.current and isinstance(current, str) and current:
        merged.current = current


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), text.strip())


def _resolve(path: str, base: str) -> str:
    path = os.path.expanduser(path)
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(base, path))


def _file_bytes(what: str, path: str, base: str) -> bytes:
    full = _resolve(path, base)
    try:
        with open(full, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise KubeconfigError(f"cannot read {what} '{full}': {exc.strerror or exc}") from exc


def _b64(what: str, value: Any) -> bytes:
    if not isinstance(value, str):
        raise KubeconfigError(f"kubeconfig: {what} is not a string")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise KubeconfigError(f"kubeconfig: {what} is not valid base64") from exc


def _data_or_file(body: dict[str, Any], key: str, base: str, what: str) -> bytes | None:
    data = body.get(f"{key}-data")
    if data:
        return _b64(f"{what} ({key}-data)", data)
    path = body.get(key)
    if isinstance(path, str) and path:
        return _file_bytes(what, path, base)
    return None


def _server_url(server: Any, cluster_name: str) -> str:
    if not isinstance(server, str) or not server.strip():
        raise KubeconfigError(f"kubeconfig: cluster '{cluster_name}' has no server")
    url: str = server.strip().rstrip("/")
    if "://" not in url:
        url = "https://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise KubeconfigError(f"kubeconfig: cluster '{cluster_name}' has an unusable server URL '{url}'")
    return url


def load_kubeconfig(paths: Sequence[str], *, context: str | None, environ: Mapping[str, str]) -> ClusterConfig:
    """Merge kubeconfig files like kubectl and return the chosen context's cluster and user.

    ``paths`` are tried in order; a missing file is skipped (as kubectl does for ``KUBECONFIG`` lists), but at
    least one must exist. ``context`` overrides ``current-context``. ``environ`` is what exec plugins run with
    and where ``HTTPS_PROXY``/``NO_PROXY`` are read from when the cluster names no ``proxy-url``.
    Raises :class:`KubeconfigError` with a one-line message.
    """
    merged = _Merged()
    found = [p for p in paths if p and os.path.exists(p)]
    if not found:
        shown = ", ".join(f"'{p}'" for p in paths if p) or "(none given)"
        raise KubeconfigError(f"no kubeconfig found: {shown} does not exist")
    for path in found:
        _read_kubeconfig(path, merged)

    ctx_name = context or merged.current
    if not ctx_name:
        raise KubeconfigError("kubeconfig has no current-context; pass --context")
    if ctx_name not in merged.contexts:
        known = ", ".join(sorted(merged.contexts)) or "none"
        raise KubeconfigError(f"context '{ctx_name}' not found in kubeconfig (known contexts: {known})")
    ctx = merged.contexts[ctx_name]
    cluster_name = ctx.get("cluster")
    if not isinstance(cluster_name, str) or cluster_name not in merged.clusters:
        raise KubeconfigError(f"context '{ctx_name}' names cluster '{cluster_name or ''}' that is not in kubeconfig")
    cluster, cbase = merged.clusters[cluster_name]
    user_name = ctx.get("user")
    user: dict[str, Any] = {}
    ubase = cbase
    if isinstance(user_name, str) and user_name:
        if user_name not in merged.users:
            raise KubeconfigError(f"context '{ctx_name}' names user '{user_name}' that is not in kubeconfig")
        user, ubase = merged.users[user_name]

    server = _server_url(cluster.get("server"), cluster_name)
    ca = _data_or_file(cluster, "certificate-authority", cbase, "certificate authority")
    cert = _data_or_file(user, "client-certificate", ubase, "client certificate")
    key = _data_or_file(user, "client-key", ubase, "client key")
    if (cert is None) != (key is None):
        raise KubeconfigError(
            f"kubeconfig: user '{user_name}' has a client certificate without a key, or a key without one"
        )

    token = user.get("token") if isinstance(user.get("token"), str) and user.get("token") else None
    token_file = user.get("tokenFile")
    if token is None and isinstance(token_file, str) and token_file:
        token = _file_bytes("token file", token_file, ubase).decode("utf-8", "replace").strip()
    token = token or _auth_provider_token(user, user_name)

    exec_spec = _exec_spec(user.get("exec"), ubase, user_name)
    exts = cluster.get("extensions")
    exec_cluster_cfg: Any = None
    if isinstance(exts, list):
        for ext in exts:
            if isinstance(ext, dict) and ext.get("name") == "client.authentication.k8s.io/exec":
                exec_cluster_cfg = ext.get("extension")

    ns = ctx.get("namespace")
    proxy = cluster.get("proxy-url")
    if not (isinstance(proxy, str) and proxy):
        proxy = proxy_from_environment(server, environ)
    tls_name = cluster.get("tls-server-name")
    return ClusterConfig(
        server=server,
        context=ctx_name,
        cluster=cluster_name,
        namespace=ns if isinstance(ns, str) and ns else "default",
        ca_data=ca,
        insecure=cluster.get("insecure-skip-tls-verify") is True,
        client_cert=cert,
        client_key=key,
        token=token,
        exec_spec=exec_spec,
        tls_server_name=tls_name if isinstance(tls_name, str) and tls_name else None,
        proxy_url=proxy,
        environ=dict(environ),
        exec_cluster_config=exec_cluster_cfg,
    )


def _auth_provider_token(user: dict[str, Any], user_name: Any) -> str | None:
    """The token of a legacy ``auth-provider`` entry (oidc ``id-token``, or a cached ``access-token``)."""
    provider = user.get("auth-provider")
    if not isinstance(provider, dict):
        return None
    cfg = provider.get("config")
    cfg = cfg if isinstance(cfg, dict) else {}
    for key in ("id-token", "access-token"):
        value = cfg.get(key)
        if isinstance(value, str) and value:
            return value
    raise KubeconfigError(
        f"kubeconfig: user '{user_name}' uses auth-provider '{provider.get('name', '?')}', which is not supported; "
        "use an exec credential plugin (e.g. kubelogin or gke-gcloud-auth-plugin)"
    )


def _exec_spec(raw: Any, base: str, user_name: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("command"), str) or not raw["command"]:
        raise KubeconfigError(f"kubeconfig: user '{user_name}' has an exec entry without a command")
    api = raw.get("apiVersion")
    if api not in EXEC_API_VERSIONS:
        raise KubeconfigError(
            f"kubeconfig: user '{user_name}': exec apiVersion '{api}' is not supported "
            f"(use {' or '.join(EXEC_API_VERSIONS[:2])})"
        )
    spec = dict(raw)
    command = spec["command"]
    if os.sep in command or (os.altsep and os.altsep in command):
        spec["command"] = _resolve(command, base)
    return spec


def proxy_from_environment(server: str, environ: Mapping[str, str]) -> str | None:
    """The proxy for ``server`` from ``HTTPS_PROXY``/``HTTP_PROXY`` and ``NO_PROXY``, as Go's http does."""
    parts = urlsplit(server)
    names = ("HTTPS_PROXY", "https_proxy") if parts.scheme == "https" else ("HTTP_PROXY", "http_proxy")
    proxy = next((environ[n] for n in names if environ.get(n)), "")
    if not proxy:
        return None
    host = (parts.hostname or "").lower()
    no_proxy = environ.get("NO_PROXY") or environ.get("no_proxy") or ""
    if _no_proxy_match(host, parts.port, no_proxy):
        return None
    return proxy if "://" in proxy else "http://" + proxy


def _no_proxy_match(host: str, port: int | None, no_proxy: str) -> bool:
    try:
        addr: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        addr = None
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if addr is not None:
            try:
                if addr in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name, _, eport = entry.partition(":") if entry.count(":") == 1 else (entry, "", "")
        if eport and port is not None and eport != str(port):
            continue
        name = name.lstrip("*")
        if host == name.lstrip(".") or host.endswith(name if name.startswith(".") else "." + name):
            return True
    return False


def in_cluster_config(environ: Mapping[str, str], root: str = "/") -> ClusterConfig | None:
    """The service-account config of a pod (``KUBERNETES_SERVICE_HOST``/``PORT`` and the mounted token).

    Returns None when not running in a pod, or when the pod has no service-account token mounted.
    """
    host = environ.get("KUBERNETES_SERVICE_HOST", "").strip()
    port = environ.get("KUBERNETES_SERVICE_PORT", "").strip()
    if not host or not port:
        return None
    sa_dir = os.path.join(root, SERVICE_ACCOUNT_DIR)
    try:
        with open(os.path.join(sa_dir, "token"), encoding="utf-8") as fh:
            token = fh.read().strip()
    except OSError:
        return None
    ca: bytes | None = None
    try:
        with open(os.path.join(sa_dir, "ca.crt"), "rb") as fh:
            ca = fh.read()
    except OSError:
        ca = None
    ns = "default"
    try:
        with open(os.path.join(sa_dir, "namespace"), encoding="utf-8") as fh:
            ns = fh.read().strip() or "default"
    except OSError:
        pass
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    server = f"https://{host}:{port}"
    return ClusterConfig(
        server=server,
        context="in-cluster",
        cluster="in-cluster",
        namespace=ns,
        ca_data=ca,
        token=token or None,
        proxy_url=proxy_from_environment(server, environ),
        environ=dict(environ),
    )


# ---------------------------------------------------------------------------------------------------- exec plugins

_CACHE: dict[str, Credentials] = {}
_CACHE_LOCK = threading.Lock()


def clear_exec_cache() -> None:
    """Forget every cached exec-plugin credential."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError as exc:
        raise KubeconfigError(f"exec plugin returned an unreadable expirationTimestamp '{value}'") from exc


def exec_credentials(
    spec: dict[str, Any],
    environ: Mapping[str, str],
    *,
    cluster: dict[str, Any] | None = None,
    refresh: bool = False,
    plugin_stderr: Callable[[str], None] | None = None,
) -> Credentials:
    """Run an exec credential plugin and parse the ExecCredential it prints; cached until it expires.

    ``cluster`` is sent as ``spec.cluster`` when the plugin asks for it (``provideClusterInfo: true``).
    ``interactiveMode: Never`` (or no terminal on stdin) runs the plugin without stdin. A plugin that fails, is
    missing or prints no usable credential raises :class:`KubeconfigError` naming it, with the last line of its
    stderr. ``refresh`` ignores the cache; ``plugin_stderr`` receives each stderr line as the plugin prints it.
    """
    key = json.dumps([spec, cluster if spec.get("provideClusterInfo") else None], sort_keys=True, default=str)
    with _CACHE_LOCK:  # one plugin run at a time; concurrent callers wait for it and share the result
        cached = _CACHE.get(key)
        if cached is not None and not refresh and not cached.expired():
            return cached
        creds = _run_plugin(spec, environ, cluster, plugin_stderr)
        _CACHE[key] = creds
        return creds


def _run_plugin(
    spec: dict[str, Any],
    environ: Mapping[str, str],
    cluster: dict[str, Any] | None,
    plugin_stderr: Callable[[str], None] | None,
) -> Credentials:
    api_version = spec.get("apiVersion")
    if api_version not in EXEC_API_VERSIONS:
        raise KubeconfigError(f"exec plugin apiVersion '{api_version}' is not supported")
    command = str(spec.get("command", ""))
    label = os.path.basename(command) or command
    args = [str(a) for a in spec.get("args") or [] if a is not None]
    env = dict(environ)
    for entry in spec.get("env") or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            env[entry["name"]] = str(entry.get("value", ""))

    mode = spec.get("interactiveMode") or "IfAvailable"
    tty = _stdin_is_tty()
    interactive = mode != "Never" and tty
    if mode == "Always" and not tty:
        raise KubeconfigError(f"exec plugin '{label}' needs an interactive terminal (interactiveMode: Always)")
    info: dict[str, Any] = {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": interactive}}
    if spec.get("provideClusterInfo") and cluster is not None:
        info["spec"]["cluster"] = cluster
    env["KUBERNETES_EXEC_INFO"] = json.dumps(info)

    exe = command if os.path.isabs(command) else shutil.which(command, path=env.get("PATH", os.defpath))
    if exe is None or not os.path.exists(exe):
        hint = spec.get("installHint")
        extra = f": {_first_line(hint)}" if isinstance(hint, str) and hint.strip() else ""
        raise KubeconfigError(f"exec plugin '{command}' not found{extra}")
    try:
        proc = subprocess.Popen(
            [exe, *args],
            stdin=None if interactive else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
    except OSError as exc:
        raise KubeconfigError(f"exec plugin '{label}' could not be started: {exc.strerror or exc}") from exc

    err_lines: list[str] = []
    assert proc.stderr is not None  # for the type checker: stderr=PIPE

    def pump(stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            err_lines.append(line)
            if plugin_stderr is not None:
                plugin_stderr(line)

    reader = threading.Thread(target=pump, args=(proc.stderr,), daemon=True)
    reader.start()
    try:
        out = _read_stdout(proc, None if interactive else EXEC_TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        proc.kill()
        proc.wait()
        raise KubeconfigError(f"exec plugin '{label}' did not finish within {EXEC_TIMEOUT:.0f}s") from exc
    reader.join(timeout=5)
    last = next((ln.strip() for ln in reversed(err_lines) if ln.strip()), "")
    if proc.returncode != 0:
        raise KubeconfigError(
            f"exec plugin '{label}' failed (exit code {proc.returncode})" + (f": {last}" if last else "")
        )
    return _parse_exec_output(out, api_version, label)


def _read_stdout(proc: subprocess.Popen[bytes], timeout: float | None) -> bytes:
    """Read stdout to the end (stderr has its own reader) and wait for the process; TimeoutExpired when slow."""
    result: list[bytes] = []

    def read() -> None:
        if proc.stdout is not None:
            result.append(proc.stdout.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        raise subprocess.TimeoutExpired(proc.args, timeout or 0.0)
    proc.wait()
    return result[0] if result else b""


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        return False


def _parse_exec_output(out: bytes, api_version: str, label: str) -> Credentials:
    try:
        doc = json.loads(out.decode("utf-8", "replace"))
    except json.JSONDecodeError as exc:
        raise KubeconfigError(f"exec plugin '{label}' printed no ExecCredential JSON ({exc.msg})") from exc
    if not isinstance(doc, dict) or doc.get("kind") != "ExecCredential":
        raise KubeconfigError(f"exec plugin '{label}' printed something other than an ExecCredential")
    if doc.get("apiVersion") != api_version:
        raise KubeconfigError(
            f"exec plugin '{label}' returned apiVersion '{doc.get('apiVersion')}', expected '{api_version}'"
        )
    status = doc.get("status")
    if not isinstance(status, dict):
        raise KubeconfigError(f"exec plugin '{label}' returned an ExecCredential without status")
    token = status.get("token")
    cert = status.get("clientCertificateData")
    key = status.get("clientKeyData")
    has_token = isinstance(token, str) and bool(token)
    has_cert = isinstance(cert, str) and bool(cert) and isinstance(key, str) and bool(key)
    if not has_token and not has_cert:
        raise KubeconfigError(f"exec plugin '{label}' returned neither a token nor a client certificate and key")
    if bool(isinstance(cert, str) and cert) != bool(isinstance(key, str) and key) and not has_token:
        raise KubeconfigError(f"exec plugin '{label}' returned a client certificate without a key or vice versa")
    return Credentials(
        token=token if has_token else None,
        client_cert=cert.encode() if has_cert and isinstance(cert, str) else None,
        client_key=key.encode() if has_cert and isinstance(key, str) else None,
        expires_at=_parse_time(status.get("expirationTimestamp")),
    )
