"""kubeconfig loading, in-cluster config and exec credential plugins (podmortem.sources.kubeconfig)."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from podmortem.sources.errors import SourceError
from podmortem.sources.kubeconfig import (
    ClusterConfig,
    KubeconfigError,
    clear_exec_cache,
    exec_credentials,
    in_cluster_config,
    load_kubeconfig,
    proxy_from_environment,
)

CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfake-ca\n-----END CERTIFICATE-----\n"
CERT_PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfake-client\n-----END CERTIFICATE-----\n"
KEY_PEM = b"-----BEGIN EC PRIVATE KEY-----\nMHcfake-key\n-----END EC PRIVATE KEY-----\n"

PLUGIN = textwrap.dedent(
    """\
    import json, os, sys
    info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
    counter = os.environ.get("PLUGIN_COUNTER")
    n = 1
    if counter:
        n = int(open(counter).read() or "0") + 1 if os.path.exists(counter) else 1
        open(counter, "w").write(str(n))
    if os.environ.get("PLUGIN_RECORD"):
        json.dump({"info": info, "args": sys.argv[1:], "stdin_closed": sys.stdin is None or not sys.stdin.isatty()},
                  open(os.environ["PLUGIN_RECORD"], "w"))
    mode = os.environ.get("PLUGIN_MODE", "token")
    if mode == "fail":
        print("trying to get a token...", file=sys.stderr)
        print("ERROR: AADSTS700082: The refresh token has expired due to inactivity.", file=sys.stderr)
        sys.exit(1)
    if mode == "garbage":
        print("not json")
        sys.exit(0)
    status = {}
    if mode == "cert":
        status["clientCertificateData"] = os.environ["PLUGIN_CERT"]
        status["clientKeyData"] = os.environ["PLUGIN_KEY"]
    else:
        status["token"] = "token-%d" % n
    if os.environ.get("PLUGIN_EXPIRES"):
        status["expirationTimestamp"] = os.environ["PLUGIN_EXPIRES"]
    api = os.environ.get("PLUGIN_API", info["apiVersion"])
    print(json.dumps({"apiVersion": api, "kind": "ExecCredential", "status": status}))
    """
)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_exec_cache()
    yield
    clear_exec_cache()


def write_config(path: Path, doc: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def kubeconfig(
    *,
    clusters: dict[str, dict[str, Any]],
    users: dict[str, dict[str, Any]] | None = None,
    contexts: dict[str, dict[str, Any]] | None = None,
    current: str | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": n, "cluster": c} for n, c in clusters.items()],
        "users": [{"name": n, "user": u} for n, u in (users or {}).items()],
        "contexts": [{"name": n, "context": c} for n, c in (contexts or {}).items()],
    }
    if current is not None:
        doc["current-context"] = current
    return doc


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def plugin(tmp_path: Path) -> Path:
    script = tmp_path / "plugin.py"
    script.write_text(PLUGIN, encoding="utf-8")
    return script


def exec_spec(plugin: Path, api: str = "client.authentication.k8s.io/v1", **env: str) -> dict[str, Any]:
    return {
        "apiVersion": api,
        "command": sys.executable,
        "args": [str(plugin), "get-token", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"],
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "interactiveMode": "Never",
        "provideClusterInfo": True,
    }


# ------------------------------------------------------------------------------------------------ merging


def test_merge_first_occurrence_wins_and_first_current_context(tmp_path: Path) -> None:
    first = write_config(
        tmp_path / "a" / "config",
        kubeconfig(
            clusters={"shared": {"server": "https://first.example:6443"}},
            users={"alice": {"token": "first-token"}},
            contexts={"aks": {"cluster": "shared", "user": "alice", "namespace": "build-agents"}},
            current="aks",
        ),
    )
    second = write_config(
        tmp_path / "b" / "config",
        kubeconfig(
            clusters={
                "shared": {"server": "https://second.example:6443"},
                "other": {"server": "https://other.example"},
            },
            users={"alice": {"token": "second-token"}, "bob": {"token": "bob-token"}},
            contexts={"aks": {"cluster": "other", "user": "bob"}, "kind": {"cluster": "other", "user": "bob"}},
            current="kind",
        ),
    )
    cfg = load_kubeconfig([str(first), str(second)], context=None, environ={})
    assert (cfg.context, cfg.cluster, cfg.server) == ("aks", "shared", "https://first.example:6443")
    assert cfg.token == "first-token"
    assert cfg.namespace == "build-agents"

    other = load_kubeconfig([str(first), str(second)], context="kind", environ={})
    assert (other.cluster, other.server, other.token, other.namespace) == (
        "other",
        "https://other.example",
        "bob-token",
        "default",
    )

    # reversed order: the other file's entries and current-context win
    rev = load_kubeconfig([str(second), str(first)], context=None, environ={})
    assert (rev.context, rev.server, rev.token) == ("kind", "https://other.example", "bob-token")


def test_missing_files_in_list_are_skipped_but_one_must_exist(tmp_path: Path) -> None:
    real = write_config(
        tmp_path / "config",
        kubeconfig(clusters={"c": {"server": "10.0.0.1:6443"}}, contexts={"x": {"cluster": "c"}}, current="x"),
    )
    cfg = load_kubeconfig([str(tmp_path / "nope"), str(real)], context=None, environ={})
    assert cfg.server == "https://10.0.0.1:6443"  # no scheme: https is assumed, as kubectl does
    assert cfg.token is None and cfg.exec_spec is None
    with pytest.raises(KubeconfigError, match="no kubeconfig found"):
        load_kubeconfig([str(tmp_path / "nope")], context=None, environ={})


def test_unknown_context_names_the_known_ones(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "config",
        kubeconfig(
            clusters={"c": {"server": "https://c"}},
            contexts={"prod": {"cluster": "c"}, "dev": {"cluster": "c"}},
            current="prod",
        ),
    )
    with pytest.raises(KubeconfigError) as err:
        load_kubeconfig([str(path)], context="staging", environ={})
    assert str(err.value) == "context 'staging' not found in kubeconfig (known contexts: dev, prod)"
    assert isinstance(err.value, SourceError)


def test_no_current_context_and_dangling_references(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "config",
        kubeconfig(
            clusters={"c": {"server": "https://c"}},
            contexts={"no-cluster": {"cluster": "gone"}, "no-user": {"cluster": "c", "user": "ghost"}},
        ),
    )
    with pytest.raises(KubeconfigError, match="no current-context"):
        load_kubeconfig([str(path)], context=None, environ={})
    with pytest.raises(KubeconfigError, match="cluster 'gone'"):
        load_kubeconfig([str(path)], context="no-cluster", environ={})
    with pytest.raises(KubeconfigError, match="user 'ghost'"):
        load_kubeconfig([str(path)], context="no-user", environ={})


def test_malformed_kubeconfig(tmp_path: Path) -> None:
    bad = tmp_path / "config"
    bad.write_text("clusters: [unclosed\n", encoding="utf-8")
    with pytest.raises(KubeconfigError, match="not valid YAML"):
        load_kubeconfig([str(bad)], context=None, environ={})
    bad.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(KubeconfigError, match="expected a mapping"):
        load_kubeconfig([str(bad)], context=None, environ={})


# ------------------------------------------------------------------------------------------------ files and data


def test_relative_paths_resolve_against_the_file_that_names_them(tmp_path: Path) -> None:
    cdir = tmp_path / "clusters"
    udir = tmp_path / "users" / "deep"
    (cdir / "pki").mkdir(parents=True)
    (udir / "certs").mkdir(parents=True)
    (cdir / "pki" / "ca.crt").write_bytes(CA_PEM)
    (udir / "certs" / "me.crt").write_bytes(CERT_PEM)
    (udir / "certs" / "me.key").write_bytes(KEY_PEM)
    (udir / "token").write_text("  file-token\n", encoding="utf-8")
    cfile = write_config(
        cdir / "config",
        kubeconfig(
            clusters={"c": {"server": "https://c:6443", "certificate-authority": "pki/ca.crt"}},
            contexts={"ctx": {"cluster": "c", "user": "u"}},
            current="ctx",
        ),
    )
    ufile = write_config(
        udir / "config",
        kubeconfig(
            clusters={},
            users={
                "u": {
                    "client-certificate": "certs/me.crt",
                    "client-key": "./certs/me.key",
                    "tokenFile": "token",
                }
            },
        ),
    )
    cfg = load_kubeconfig([str(cfile), str(ufile)], context=None, environ={})
    assert cfg.ca_data == CA_PEM
    assert cfg.client_cert == CERT_PEM
    assert cfg.client_key == KEY_PEM
    assert cfg.token == "file-token"


def test_missing_referenced_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "config",
        kubeconfig(
            clusters={"c": {"server": "https://c", "certificate-authority": "missing/ca.crt"}},
            contexts={"x": {"cluster": "c"}},
            current="x",
        ),
    )
    with pytest.raises(KubeconfigError) as err:
        load_kubeconfig([str(path)], context=None, environ={})
    assert str(tmp_path / "missing" / "ca.crt") in str(err.value)


def test_inline_data_wins_over_files(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "config",
        kubeconfig(
            clusters={
                "c": {
                    "server": "https://aks-1a2b3c.hcp.westeurope.azmk8s.io:443",
                    "certificate-authority-data": b64(CA_PEM),
                    "certificate-authority": "/does/not/exist",
                    "tls-server-name": "kubernetes.default",
                    "proxy-url": "http://proxy.corp:3128",
                }
            },
            users={"u": {"client-certificate-data": b64(CERT_PEM), "client-key-data": b64(KEY_PEM), "token": "t"}},
            contexts={"x": {"cluster": "c", "user": "u"}},
            current="x",
        ),
    )
    cfg = load_kubeconfig([str(path)], context=None, environ={})
    assert (cfg.ca_data, cfg.client_cert, cfg.client_key, cfg.token) == (CA_PEM, CERT_PEM, KEY_PEM, "t")
    assert cfg.tls_server_name == "kubernetes.default"
    assert cfg.proxy_url == "http://proxy.corp:3128"
    assert cfg.insecure is False


def test_bad_inline_data_and_half_a_client_identity(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "config",
        kubeconfig(
            clusters={"c": {"server": "https://c", "certificate-authority-data": "%%% not base64"}},
            contexts={"x": {"cluster": "c"}},
            current="x",
        ),
    )
    with pytest.raises(KubeconfigError, match="not valid base64"):
        load_kubeconfig([str(path)], context=None, environ={})
    path = write_config(
        tmp_path / "config2",
        kubeconfig(
            clusters={"c": {"server": "https://c", "insecure-skip-tls-verify": True}},
            users={"u": {"client-certificate-data": b64(CERT_PEM)}},
            contexts={"x": {"cluster": "c", "user": "u"}},
            current="x",
        ),
    )
    with pytest.raises(KubeconfigError, match="without a key"):
        load_kubeconfig([str(path)], context=None, environ={})


def test_token_wins_over_token_file_and_oidc_auth_provider(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "config",
        kubeconfig(
            clusters={"c": {"server": "https://c"}},
            users={
                "static": {"token": "static", "tokenFile": "absent"},
                "oidc": {"auth-provider": {"name": "oidc", "config": {"id-token": "eyJhbGciOi.id.token"}}},
                "gcp": {"auth-provider": {"name": "gcp", "config": {}}},
            },
            contexts={
                "s": {"cluster": "c", "user": "static"},
                "o": {"cluster": "c", "user": "oidc"},
                "g": {"cluster": "c", "user": "gcp"},
            },
        ),
    )
    assert load_kubeconfig([str(path)], context="s", environ={}).token == "static"
    assert load_kubeconfig([str(path)], context="o", environ={}).token == "eyJhbGciOi.id.token"
    with pytest.raises(KubeconfigError, match="uses auth-provider 'gcp', which is not supported"):
        load_kubeconfig([str(path)], context="g", environ={})


def test_proxy_from_environment_honours_no_proxy() -> None:
    env = {"HTTPS_PROXY": "proxy.corp:3128", "NO_PROXY": "localhost,.internal,10.0.0.0/8"}
    assert proxy_from_environment("https://api.example.com", env) == "http://proxy.corp:3128"
    assert proxy_from_environment("https://aks.internal:443", env) is None
    assert proxy_from_environment("https://internal:443", env) is None
    assert proxy_from_environment("https://10.1.2.3:6443", env) is None
    assert proxy_from_environment("https://11.1.2.3:6443", env) == "http://proxy.corp:3128"
    assert proxy_from_environment("http://api.example.com", env) is None  # only HTTP_PROXY applies to http
    assert proxy_from_environment("https://x", {"https_proxy": "http://p:1", "no_proxy": "*"}) is None


# ------------------------------------------------------------------------------------------------ in-cluster


def test_in_cluster_config(tmp_path: Path) -> None:
    sa = tmp_path / "var/run/secrets/kubernetes.io/serviceaccount"
    sa.mkdir(parents=True)
    (sa / "token").write_text("eyJhbGciOiJSUzI1NiJ9.sa.token\n", encoding="utf-8")
    (sa / "ca.crt").write_bytes(CA_PEM)
    (sa / "namespace").write_text("build-agents", encoding="utf-8")
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    cfg = in_cluster_config(env, root=str(tmp_path))
    assert cfg is not None
    assert (cfg.server, cfg.context, cfg.cluster, cfg.namespace) == (
        "https://10.0.0.1:443",
        "in-cluster",
        "in-cluster",
        "build-agents",
    )
    assert cfg.token == "eyJhbGciOiJSUzI1NiJ9.sa.token"
    assert cfg.ca_data == CA_PEM

    v6 = in_cluster_config({"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}, root=str(tmp_path))
    assert v6 is not None and v6.server == "https://[fd00::1]:443"

    assert in_cluster_config({}, root=str(tmp_path)) is None
    assert in_cluster_config(env, root=str(tmp_path / "elsewhere")) is None  # no token mounted


# ------------------------------------------------------------------------------------------------ exec plugins


@pytest.mark.parametrize("api", ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"])
def test_exec_plugin_from_kubeconfig(tmp_path: Path, plugin: Path, api: str) -> None:
    record = tmp_path / "record.json"
    path = write_config(
        tmp_path / "config",
        kubeconfig(
            clusters={
                "aks": {
                    "server": "https://aks.example:443",
                    "certificate-authority-data": b64(CA_PEM),
                    "extensions": [{"name": "client.authentication.k8s.io/exec", "extension": {"audience": "x"}}],
                }
            },
            users={"kubelogin": {"exec": exec_spec(plugin, api, PLUGIN_RECORD=str(record))}},
            contexts={"aks": {"cluster": "aks", "user": "kubelogin"}},
            current="aks",
        ),
    )
    cfg = load_kubeconfig([str(path)], context=None, environ={"PATH": os.environ.get("PATH", ""), "AZURE_X": "1"})
    assert cfg.token is None and cfg.exec_spec is not None
    assert not record.exists()  # the plugin runs lazily
    creds = cfg.credentials()
    assert creds.token == "token-1"
    seen = json.loads(record.read_text())
    assert seen["args"] == ["get-token", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
    info = seen["info"]
    assert info["apiVersion"] == api and info["kind"] == "ExecCredential"
    assert info["spec"]["interactive"] is False
    assert info["spec"]["cluster"]["server"] == "https://aks.example:443"
    assert base64.b64decode(info["spec"]["cluster"]["certificate-authority-data"]) == CA_PEM
    assert info["spec"]["cluster"]["config"] == {"audience": "x"}


def test_exec_plugin_client_certificate(plugin: Path) -> None:
    spec = exec_spec(plugin, PLUGIN_MODE="cert", PLUGIN_CERT=CERT_PEM.decode(), PLUGIN_KEY=KEY_PEM.decode())
    creds = exec_credentials(spec, dict(os.environ))
    assert (creds.token, creds.client_cert, creds.client_key) == (None, CERT_PEM, KEY_PEM)


def test_failing_plugin_reports_last_stderr_line(plugin: Path) -> None:
    seen: list[str] = []
    with pytest.raises(KubeconfigError) as err:
        exec_credentials(exec_spec(plugin, PLUGIN_MODE="fail"), dict(os.environ), plugin_stderr=seen.append)
    msg = str(err.value)
    assert "exit code 1" in msg
    assert msg.endswith("ERROR: AADSTS700082: The refresh token has expired due to inactivity.")
    assert seen == ["trying to get a token...", "ERROR: AADSTS700082: The refresh token has expired due to inactivity."]


def test_plugin_output_problems(plugin: Path) -> None:
    with pytest.raises(KubeconfigError, match="no ExecCredential JSON"):
        exec_credentials(exec_spec(plugin, PLUGIN_MODE="garbage"), dict(os.environ))
    with pytest.raises(KubeconfigError, match=re.escape("expected 'client.authentication.k8s.io/v1'")):
        exec_credentials(exec_spec(plugin, PLUGIN_API="client.authentication.k8s.io/v1beta1"), dict(os.environ))
    missing = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": "kubelogin-not-installed",
        "installHint": "Install kubelogin: https://azure.github.io/kubelogin/install.html",
    }
    with pytest.raises(KubeconfigError) as err:
        exec_credentials(missing, {"PATH": "/nonexistent"})
    assert str(err.value) == (
        "exec plugin 'kubelogin-not-installed' not found: Install kubelogin: https://azure.github.io/kubelogin/install.html"
    )


def test_credentials_cached_until_expiry(tmp_path: Path, plugin: Path) -> None:
    counter = tmp_path / "count"
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    spec = exec_spec(plugin, PLUGIN_COUNTER=str(counter), PLUGIN_EXPIRES=later)
    first = exec_credentials(spec, dict(os.environ))
    second = exec_credentials(spec, dict(os.environ))
    assert first.token == second.token == "token-1"
    assert counter.read_text() == "1"
    assert first.expires_at is not None and not first.expired()
    refreshed = exec_credentials(spec, dict(os.environ), refresh=True)
    assert refreshed.token == "token-2"

    # credentials that expire (within the skew) are fetched again each time
    soon = (datetime.now(UTC) + timedelta(seconds=3)).isoformat()
    spec2 = exec_spec(plugin, PLUGIN_COUNTER=str(tmp_path / "count2"), PLUGIN_EXPIRES=soon)
    a = exec_credentials(spec2, dict(os.environ))
    b = exec_credentials(spec2, dict(os.environ))
    assert (a.token, b.token) == ("token-1", "token-2")
    assert a.expired()

    # no expiry: cached for the life of the process
    spec3 = exec_spec(plugin, PLUGIN_COUNTER=str(tmp_path / "count3"))
    assert exec_credentials(spec3, dict(os.environ)).token == exec_credentials(spec3, dict(os.environ)).token
    assert (tmp_path / "count3").read_text() == "1"


def test_relative_plugin_command_resolves_against_kubeconfig_dir(tmp_path: Path) -> None:
    bindir = tmp_path / "kube" / "bin"
    bindir.mkdir(parents=True)
    exe = bindir / "get-token"
    exe.write_text(f"#!{sys.executable}\n" + PLUGIN, encoding="utf-8")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    path = write_config(
        tmp_path / "kube" / "config",
        kubeconfig(
            clusters={"c": {"server": "https://c"}},
            users={"u": {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "./bin/get-token"}}},
            contexts={"x": {"cluster": "c", "user": "u"}},
            current="x",
        ),
    )
    cfg = load_kubeconfig([str(path)], context=None, environ=dict(os.environ))
    assert cfg.exec_spec is not None and cfg.exec_spec["command"] == str(exe)
    assert cfg.credentials().token == "token-1"


def test_unsupported_exec_api_version(tmp_path: Path) -> None:
    path = write_config(
        tmp_path / "config",
        kubeconfig(
            clusters={"c": {"server": "https://c"}},
            users={"u": {"exec": {"apiVersion": "client.authentication.k8s.io/v2", "command": "x"}}},
            contexts={"x": {"cluster": "c", "user": "u"}},
            current="x",
        ),
    )
    with pytest.raises(
        KubeconfigError, match=re.escape("apiVersion 'client.authentication.k8s.io/v2' is not supported")
    ):
        load_kubeconfig([str(path)], context=None, environ={})


def test_static_credentials_need_no_plugin() -> None:
    cfg = ClusterConfig(server="https://c", context="c", cluster="c", token="abc")
    creds = cfg.credentials()
    assert (creds.token, creds.expires_at, creds.expired()) == ("abc", None, False)
