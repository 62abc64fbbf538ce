"""Redaction: sensitive names, token shapes, env lists, Kubernetes objects and report trees."""

from __future__ import annotations

import base64
import json
import random
import string
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podmortem.model.redact import (
    MASK,
    MASK_PREFIX,
    is_masked,
    is_sensitive_name,
    mask,
    redact_args,
    redact_env,
    redact_literals,
    redact_object,
    redact_text,
    redact_tree,
    sensitive_literals,
)

# ---------------------------------------------------------------------------------------------------------
# Generated, real-shaped (never real) credentials
# ---------------------------------------------------------------------------------------------------------

_RNG = random.Random(20240502)
B32 = "abcdefghijklmnopqrstuvwxyz234567"
ALNUM = string.ascii_letters + string.digits


def _pick(alphabet: str, n: int, rng: random.Random = _RNG) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def ado_pat_legacy(rng: random.Random = _RNG) -> str:
    """52 characters of lower-case base32, as Azure DevOps issued PATs before 2024."""
    while True:
        value = _pick(B32, 52, rng)
        if any(c.isdigit() for c in value):
            return value


def ado_pat_new(rng: random.Random = _RNG) -> str:
    """84 characters with the JQQJ / AZDO markers of the newer Azure DevOps PATs."""
    return _pick(ALNUM, 52, rng) + "JQQJ" + _pick(ALNUM, 20, rng) + "AZDO" + _pick(ALNUM, 4, rng)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(rng: random.Random = _RNG) -> str:
    header = _b64url(json.dumps({"alg": "RS256", "kid": _pick(ALNUM, 8, rng), "typ": "JWT"}).encode())
    payload = _b64url(
        json.dumps(
            {
                "aud": ["https://kubernetes.default.svc.cluster.local"],
                "exp": 1735000000 + rng.randrange(10**6),
                "iss": "https://oidc.prod-aks.azure.com/" + _pick(ALNUM, 12, rng),
                "sub": "system:serviceaccount:build-agents:azure-devops-agent",
            }
        ).encode()
    )
    return f"{header}.{payload}.{_b64url(rng.randbytes(256))}"


def github_token(rng: random.Random = _RNG) -> str:
    return rng.choice(["ghp_", "gho_", "ghs_", "ghu_", "ghr_"]) + _pick(ALNUM, 36, rng)


def github_fine_grained(rng: random.Random = _RNG) -> str:
    return "github_pat_" + _pick(ALNUM, 22, rng) + "_" + _pick(ALNUM, 59, rng)


def gitlab_token(rng: random.Random = _RNG) -> str:
    return rng.choice(["glpat-", "glrt-"]) + _pick(ALNUM + "_-", 20, rng)


def slack_token(rng: random.Random = _RNG) -> str:
    return f"xoxb-{rng.randrange(10**11, 10**12)}-{rng.randrange(10**11, 10**12)}-{_pick(ALNUM, 24, rng)}"


def aws_key_id(rng: random.Random = _RNG) -> str:
    return "AKIA" + _pick(string.ascii_uppercase + string.digits, 16, rng)


def dynatrace_token(rng: random.Random = _RNG) -> str:
    up = string.ascii_uppercase + string.digits
    return f"dt0c01.{_pick(up, 24, rng)}.{_pick(up, 64, rng)}"


def hex_secret(rng: random.Random = _RNG, n: int = 64) -> str:
    return _pick("0123456789abcdef", n, rng)


def password(rng: random.Random = _RNG) -> str:
    return _pick(string.ascii_lowercase, 5, rng) + _pick(string.digits, 3, rng) + _pick("!*+~", 1, rng) + "Qx"


def pem_private_key(rng: random.Random = _RNG) -> str:
    body = base64.b64encode(rng.randbytes(600)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----"


def pem_certificate(rng: random.Random = _RNG) -> str:
    body = base64.b64encode(rng.randbytes(700)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


SHA256 = "sha256:" + hex_secret(n=64)
CONTAINER_ID = "containerd://" + hex_secret(n=64)
GIT_SHA = hex_secret(n=40)
UID = "3f1c2a9e-7b4d-4c1a-9e2f-0a6b8c4d2e11"


# ---------------------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "AZP_TOKEN",
        "JENKINS_SECRET",
        "RUNNER_TOKEN",
        "ACTIONS_RUNNER_INPUT_JITCONFIG",
        "CI_SERVER_TOKEN",
        "CI_JOB_TOKEN",
        "CI_REGISTRY_PASSWORD",
        "REGISTRATION_TOKEN",
        "SYSTEM_ACCESSTOKEN",
        "GITHUB_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "NEW_RELIC_LICENSE_KEY",
        "DD_API_KEY",
        "DD_APP_KEY",
        "DT_API_TOKEN",
        "DT_PAAS_TOKEN",
        "DT_TENANTTOKEN",
        "APPDYNAMICS_AGENT_ACCOUNT_ACCESS_KEY",
        "APPDYNAMICS_PROXY_AUTH_PASSWORD",
        "ELASTIC_APM_SECRET_TOKEN",
        "ELASTIC_APM_API_KEY",
        "CONTRAST__API__API_KEY",
        "CONTRAST__API__SERVICE_KEY",
        "INSTANA_AGENT_KEY",
        "VAULT_TOKEN",
        "DB_PASSWORD",
        "MYSQL_ROOT_PASSWORD",
        "GITHUB_PAT",
        "AZP_PAT",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "BASIC_AUTH",
        "PROXY_AUTH",
        "clientSecret",
        "apiKey",
        "accessToken",
        "personalAccessToken",
        "AccountKey",
        "SharedAccessKey",
        "Password",
        "Pwd",
        "Authorization",
        "x-api-key",
        "SENTRY_DSN",
        "TLS_KEY",
        "tls.key",
        "github_app_private_key",
        "vault.hashicorp.com/agent-inject-token",
    ],
)
def test_sensitive_names(name: str) -> None:
    assert is_sensitive_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "PATH",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "CLASSPATH",
        "PYTHONPATH",
        "MONKEY_MODE",
        "AUTHOR",
        "AUTHOR_NAME",
        "AZURE_AUTHORITY_HOST",
        "KEYBOARD_LAYOUT",
        "KEY_VAULT_NAME",
        "TOKENIZERS_PARALLELISM",
        "PATCH_LEVEL",
        "AZP_URL",
        "AZP_POOL",
        "AZP_AGENT_NAME",
        "AZP_WORK",
        "AZP_TOKEN_FILE",
        "VSO_AGENT_IGNORE",
        "JAVA_TOOL_OPTIONS",
        "NODE_OPTIONS",
        "CORECLR_PROFILER",
        "CORECLR_PROFILER_PATH_64",
        "DOTNET_STARTUP_HOOKS",
        "DT_TENANT",
        "DT_CONNECTION_POINT",
        "JENKINS_URL",
        "JENKINS_AGENT_NAME",
        "SECRET_NAME",
        "PASSWORD_FILE",
        "AUTH_TYPE",
        "TOKEN_EXPIRES_AT",
        "PUBLIC_KEY",
        "PARTITION_KEY",
        "key",
        "secretKeyRef",
        "secretName",
        "caBundle",
        "serviceAccountName",
        "kubernetes.io/service-account.name",
        "",
    ],
)
def test_not_sensitive_names(name: str) -> None:
    assert not is_sensitive_name(name)


# ---------------------------------------------------------------------------------------------------------
# Text: token shapes
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (ado_pat_legacy, "azure-devops-pat"),
        (ado_pat_new, "azure-devops-pat"),
        (jwt, "jwt"),
        (github_token, "github-token"),
        (github_fine_grained, "github-token"),
        (gitlab_token, "gitlab-token"),
        (slack_token, "slack-token"),
        (aws_key_id, "aws-access-key-id"),
        (dynatrace_token, "dynatrace-token"),
    ],
)
def test_token_shapes_are_masked_anywhere(make: Any, kind: str) -> None:
    secret = make()
    line = f"2024-05-02T09:12:44.120Z [info] using credential {secret} for https://dev.azure.com/contoso\n"
    out, n = redact_text(line)
    assert secret not in out
    assert n == 1
    assert mask(kind) in out
    assert out.startswith("2024-05-02T09:12:44.120Z [info] using credential ")
    assert out.endswith(" for https://dev.azure.com/contoso\n")


def test_private_key_block_is_masked_whole_but_certificates_are_kept() -> None:
    key, cert = pem_private_key(), pem_certificate()
    text = f"tls.crt: |\n{cert}\nkey follows\n{key}\ndone"
    out, n = redact_text(text)
    assert n == 1
    assert "PRIVATE KEY" not in out
    assert key.splitlines()[1] not in out
    assert cert in out
    assert out.endswith("\ndone")


def test_truncated_private_key_is_masked() -> None:
    key = pem_private_key()
    truncated = key[: len(key) // 2]
    out, _ = redact_text("payload: " + truncated)
    assert truncated.splitlines()[2] not in out


def test_private_key_inside_escaped_json() -> None:
    key = pem_private_key()
    doc = json.dumps({"type": "service_account", "private_key": key, "client_email": "ci@p.iam.example"})
    out, _ = redact_text(doc)
    assert key.splitlines()[1] not in out
    assert json.loads(out)["client_email"] == "ci@p.iam.example"


# ---------------------------------------------------------------------------------------------------------
# Text: contexts
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "password={s}",
        "db.password = {s}",
        "export GITHUB_TOKEN='{s}'",
        'AZP_TOKEN="{s}"',
        '{{"token": "{s}", "user": "ci"}}',
        '{{"clientSecret":"{s}"}}',
        '{{\\"token\\":\\"{s}\\",\\"n\\":1}}',
        "token: {s}",
        "  client_secret: {s}\n  client_id: abc",
        "ERROR config: token: {s} rejected",
        "Server=sql01;Database=builds;User Id=sa;Password={s};Encrypt=true",
        "DefaultEndpointsProtocol=https;AccountName=ci;AccountKey={s};EndpointSuffix=core.windows.net",
        "https://ci.blob.core.windows.net/c/x.zip?sv=2022-11-02&sr=b&sig={s}&se=2025-01-01",
        "https://build:{s}@dev.azure.com/contoso/_git/agents",
        "postgres://app:{s}@db.internal:5432/app?sslmode=require",
        "curl -LsS -u user:{s} https://dev.azure.com/contoso/_apis/distributedtask/packages/agent",
        "./config.sh --unattended --url https://dev.azure.com/contoso --auth PAT --token {s} --pool Default",
        "runner --token={s} --url https://gitlab.example.com",
        "java -Ddb.password={s} -jar app.jar",
        "Authorization: Bearer {s}",
        "> Authorization: Basic {s}",
        "-H 'Authorization: token {s}'",
        "< Set-Cookie: session={s}; Path=/; HttpOnly",
        "password: |\n  {s}\n  second-line\nuser: ci",
        '[{{"name":"AZP_TOKEN","value":"{s}"}}]',
        "- name: JENKINS_SECRET\n  value: {s}\n- name: JENKINS_NAME\n  value: agent-1",
        "      AZP_TOKEN:       {s}",
        "ghcr login with x-access-token:{s}",
    ],
)
def test_context_masks(template: str) -> None:
    secret = password()
    if "x-access-token" in template:
        secret = github_token()
    text = template.format(s=secret)
    out, n = redact_text(text)
    assert secret not in out, out
    assert n >= 1
    again, m = redact_text(out)
    assert (again, m) == (out, 0)


def test_url_keeps_user_and_host() -> None:
    out, n = redact_text("git clone https://build:" + password() + "@dev.azure.com/contoso/_git/agents")
    assert out == "git clone https://build:<redacted>@dev.azure.com/contoso/_git/agents"
    assert n == 1


def test_authorization_keeps_scheme() -> None:
    secret = base64.b64encode(b"user:" + password().encode()).decode()
    out, _ = redact_text(f"> Authorization: Basic {secret}\r\n> Accept: */*")
    assert out == "> Authorization: Basic <redacted>\r\n> Accept: */*"


def test_connection_string_keeps_other_fields() -> None:
    out, n = redact_text("Server=sql01;Database=builds;User Id=sa;Password=" + password() + ";Encrypt=true")
    assert out == "Server=sql01;Database=builds;User Id=sa;Password=<redacted>;Encrypt=true"
    assert n == 1


@pytest.mark.parametrize(
    "text",
    [
        # what a support engineer needs to keep
        f"image: contoso.azurecr.io/azp-agent@{SHA256}",
        f"containerID: {CONTAINER_ID}",
        f"imageID: docker.io/library/busybox@{SHA256}",
        f"uid: {UID}",
        f"commit {GIT_SHA} (HEAD -> main)",
        "caBundle: " + base64.b64encode(pem_certificate().encode()).decode(),
        pem_certificate(),
        "Unhandled exception. System.TypeInitializationException: The type initializer for "
        "'Microsoft.VisualStudio.Services.Agent.Listener.Program' threw an exception.\n"
        " ---> System.InvalidProgramException: Common Language Runtime detected an invalid program.\n"
        "   at Microsoft.VisualStudio.Services.Agent.Listener.Program.MainAsync(IHostContext context, "
        "String[] args)",
        "error: missing AZP_TOKEN environment variable",
        "failed to get token: connection refused",
        "Bearer token expired, refreshing",
        "AZP_TOKEN:  <set to the key 'AZP_TOKEN' in secret 'azdevops'>  Optional: false",
        "args: ['$(JENKINS_SECRET)', '$(JENKINS_NAME)']",
        './config.sh --auth PAT --token $(cat "$AZP_TOKEN_FILE") --pool Default',
        "VSO_AGENT_IGNORE=AZP_TOKEN,AZP_TOKEN_FILE",
        "LD_PRELOAD=/opt/dynatrace/oneagent/agent/lib64/liboneagentproc.so",
        "vault.hashicorp.com/agent-inject-token: 'true'",
        "automountServiceAccountToken: false",
        "tolerations:\n- key: node.kubernetes.io/not-ready\n  operator: Exists\n  effect: NoExecute",
        "valueFrom:\n  secretKeyRef:\n    key: AZP_TOKEN\n    name: azdevops",
        "pod-template-hash=6d9f7c8b45, node aks-agentpool-12345678-vmss000003",
        "kube-api-access-8x2lq /var/run/secrets/kubernetes.io/serviceaccount",
        "Warning  FailedMount  oneagent-bin: driver name csi.oneagent.dynatrace.com not found",
        "resourceVersion=48120931 generation=7",
        "2024-05-02T09:12:44Z",
        "",
    ],
)
def test_false_positives_are_kept(text: str) -> None:
    out, n = redact_text(text)
    assert (out, n) == (text, 0)


def test_masks_are_recognised() -> None:
    assert is_masked(MASK)
    assert is_masked(mask("jwt"))
    assert mask("jwt") == "<redacted:jwt>"
    assert MASK.startswith(MASK_PREFIX)
    assert not is_masked("redacted")


def test_counts_each_value() -> None:
    text = f"a={github_token()} password={password()} url=https://u:{password()}@h/ {jwt()}"
    _, n = redact_text(text)
    assert n == 4


def test_redact_literals() -> None:
    secret = hex_secret()
    out, n = redact_literals(f"java -jar agent.jar {secret} agent-1 -secret {secret}", {secret, "true", "ab"})
    assert secret not in out
    assert n == 2


# ---------------------------------------------------------------------------------------------------------
# Performance: linear on multi-megabyte lines, also on inputs built to make a regex backtrack
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "unit",
    [
        "a",
        "eyJ",
        "eyJabcd.",
        "password=",
        '"token":"',
        '\\"token\\":\\"',
        "https://a:",
        "x://",
        "-----BEGIN PRIVATE KEY-----",
        "--token ",
        "token: ",
        "Bearer ",
        "password: |\n",
        '"name":"AZP_TOKEN","value":"',
        "abcdefghijklmnopqrstuvwxyz234567",
        "2024-05-02T09:12:44Z INFO token=abcDEF123 url=https://u:p4ss@h/ Authorization: Bearer x1y2z3w4v5u6t7s8\n",
    ],
)
def test_linear_time_on_large_lines(unit: str) -> None:
    text = unit * (1_500_000 // len(unit))
    start = time.perf_counter()
    redact_text(text)
    elapsed = time.perf_counter() - start
    # A quadratic pattern would take hours here; linear scanning takes around a second.
    assert elapsed < 20, f"{unit!r}: {elapsed:.1f}s"


# ---------------------------------------------------------------------------------------------------------
# Env, args
# ---------------------------------------------------------------------------------------------------------


def test_redact_env() -> None:
    token, jw = ado_pat_legacy(), jwt()
    env = [
        {"name": "AZP_URL", "value": "https://dev.azure.com/contoso"},
        {"name": "AZP_TOKEN", "value": token},
        {"name": "AZP_POOL", "valueFrom": {"configMapKeyRef": {"key": "pool", "name": "agent-config"}}},
        {"name": "GITHUB_TOKEN", "valueFrom": {"secretKeyRef": {"key": "token", "name": "gh"}}},
        {"name": "SOME_SETTING", "value": jw},
        {
            "name": "JAVA_TOOL_OPTIONS",
            "value": "-javaagent:/otel/javaagent.jar -Dotel.exporter.otlp.headers=x",
        },
        {"name": "DB_PASSWORD", "value": ""},
        {"name": "ENABLE_AUTH", "value": "true"},
        {"name": "VAULT_TOKEN", "value": "$(VAULT_TOKEN_FROM_FILE)"},
    ]
    original = json.loads(json.dumps(env))
    out, n = redact_env(env)
    assert env == original  # input untouched
    assert n == 2
    assert out[1] == {"name": "AZP_TOKEN", "value": MASK}
    assert out[2] == env[2]
    assert out[3] == env[3]
    assert out[4]["value"] == mask("jwt")
    assert out[0] == env[0]
    assert out[5] == env[5]
    assert out[6] == env[6]
    assert out[8] == env[8]


def test_redact_args() -> None:
    secret = hex_secret()
    args, n = redact_args(["--url", "https://jenkins.example", "--secret", secret, "--token=" + password(), "-v"])
    assert args[:3] == ["--url", "https://jenkins.example", "--secret"]
    assert args[3] == MASK
    assert args[4] == "--token=" + MASK
    assert args[5] == "-v"
    assert n == 2
    kept, m = redact_args(["--token", "$(RUNNER_TOKEN)", "--once"])
    assert (kept, m) == (["--token", "$(RUNNER_TOKEN)", "--once"], 0)


# ---------------------------------------------------------------------------------------------------------
# Objects
# ---------------------------------------------------------------------------------------------------------


def _container(name: str, env: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    c: dict[str, Any] = {
        "name": name,
        "image": "contoso.azurecr.io/azp-agent:ubuntu-22.04",
        "imagePullPolicy": "IfNotPresent",
        "env": env,
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [
            {
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "name": "kube-api-access-8x2lq",
                "readOnly": True,
            }
        ],
    }
    c.update(extra)
    return c


def agent_deployment(token: str) -> dict[str, Any]:
    """The seed case's Deployment, with a literal AZP_TOKEN in the template and in last-applied."""
    template_env = [
        {"name": "AZP_URL", "value": "https://dev.azure.com/contoso"},
        {"name": "AZP_TOKEN", "value": token},
        {"name": "AZP_POOL", "value": "aks-linux"},
    ]
    applied = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"annotations": {}, "name": "azure-devops-agent", "namespace": "build-agents"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "azure-devops-agent"}},
            "template": {
                "metadata": {"labels": {"app": "azure-devops-agent"}},
                "spec": {
                    "containers": [
                        {
                            "env": template_env,
                            "image": "contoso.azurecr.io/azp-agent:ubuntu-22.04",
                            "name": "azp-agent",
                        }
                    ]
                },
            },
        },
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "annotations": {
                "deployment.kubernetes.io/revision": "7",
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(applied, separators=(",", ":")) + "\n",
            },
            "creationTimestamp": "2024-03-11T08:02:19Z",
            "generation": 7,
            "labels": {"app": "azure-devops-agent"},
            "name": "azure-devops-agent",
            "namespace": "build-agents",
            "resourceVersion": "48120931",
            "uid": UID,
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "azure-devops-agent"}},
            "template": {
                "metadata": {
                    "annotations": {"oneagent.dynatrace.com/inject": "true"},
                    "labels": {"app": "azure-devops-agent"},
                },
                "spec": {
                    "containers": [_container("azp-agent", template_env)],
                    "dnsPolicy": "ClusterFirst",
                    "restartPolicy": "Always",
                },
            },
        },
        "status": {"replicas": 2, "unavailableReplicas": 2},
    }


def test_deployment_template_and_last_applied() -> None:
    token = ado_pat_legacy()
    dep = agent_deployment(token)
    original = json.dumps(dep)
    out, n = redact_object(dep)
    assert json.dumps(dep) == original  # deep copy, input untouched
    dumped = json.dumps(out)
    assert token not in dumped
    assert n == 2
    env = out["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[1] == {"name": "AZP_TOKEN", "value": MASK}
    assert env[0]["value"] == "https://dev.azure.com/contoso"
    applied_text = out["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert applied_text.endswith("\n")
    applied = json.loads(applied_text)
    assert applied["spec"]["template"]["spec"]["containers"][0]["env"][1]["value"] == MASK
    # what identifies the workload is kept
    assert out["metadata"]["uid"] == UID
    assert out["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "7"
    assert out["spec"]["template"]["metadata"]["annotations"] == {"oneagent.dynatrace.com/inject": "true"}


def test_clean_last_applied_is_kept_byte_for_byte() -> None:
    dep = agent_deployment("placeholder")
    dep["spec"]["template"]["spec"]["containers"][0]["env"][1] = {
        "name": "AZP_TOKEN",
        "valueFrom": {"secretKeyRef": {"key": "AZP_TOKEN", "name": "azdevops"}},
    }
    ann = dep["metadata"]["annotations"]
    ann["kubectl.kubernetes.io/last-applied-configuration"] = '{"apiVersion":"apps/v1","kind":"Deployment"}\n'
    out, n = redact_object(dep)
    assert n == 0
    assert out == dep


def injected_pod() -> dict[str, Any]:
    """A pod after the Dynatrace webhook, with the ref-only token and ordinary status fields."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "annotations": {
                "oneagent.dynatrace.com/injected": "true",
                "dynakube.dynatrace.com/injected": "true",
            },
            "name": "azure-devops-agent-6d9f7c8b45-f6cz6",
            "namespace": "build-agents",
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "blockOwnerDeletion": True,
                    "controller": True,
                    "kind": "ReplicaSet",
                    "name": "azure-devops-agent-6d9f7c8b45",
                    "uid": "9b0d2f7e-1c3a-4e5b-8d6f-7a8b9c0d1e2f",
                }
            ],
            "uid": UID,
        },
        "spec": {
            "initContainers": [
                _container(
                    "install-oneagent",
                    [
                        {"name": "DT_TENANT", "value": "abc12345"},
                        {"name": "FAILURE_POLICY", "value": "silent"},
                    ],
                    args=["init"],
                )
            ],
            "containers": [
                _container(
                    "azp-agent",
                    [
                        {"name": "AZP_URL", "value": "https://dev.azure.com/contoso"},
                        {
                            "name": "AZP_TOKEN",
                            "valueFrom": {"secretKeyRef": {"key": "AZP_TOKEN", "name": "azdevops"}},
                        },
                        {
                            "name": "LD_PRELOAD",
                            "value": "/opt/dynatrace/oneagent-paas/agent/lib64/liboneagentproc.so",
                        },
                        {
                            "name": "DT_DEPLOYMENT_METADATA",
                            "value": "orchestration_tech=Operator-cloud_native_fullstack",
                        },
                    ],
                )
            ],
            "tolerations": [
                {
                    "effect": "NoExecute",
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "tolerationSeconds": 300,
                },
            ],
            "volumes": [
                {"csi": {"driver": "csi.oneagent.dynatrace.com", "readOnly": True}, "name": "oneagent-bin"},
                {
                    "name": "kube-api-access-8x2lq",
                    "projected": {
                        "defaultMode": 420,
                        "sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {
                                "configMap": {
                                    "items": [{"key": "ca.crt", "path": "ca.crt"}],
                                    "name": "kube-root-ca.crt",
                                }
                            },
                        ],
                    },
                },
            ],
        },
        "status": {
            "containerStatuses": [
                {
                    "containerID": CONTAINER_ID,
                    "image": "contoso.azurecr.io/azp-agent:ubuntu-22.04",
                    "imageID": f"contoso.azurecr.io/azp-agent@{SHA256}",
                    "lastState": {
                        "terminated": {
                            "exitCode": 134,
                            "reason": "Error",
                            "finishedAt": "2024-05-02T09:12:44Z",
                        }
                    },
                    "name": "azp-agent",
                    "ready": False,
                    "restartCount": 14,
                    "state": {
                        "waiting": {
                            "message": "back-off 5m0s restarting failed container=azp-agent "
                            "pod=azure-devops-agent-6d9f7c8b45-f6cz6_build-agents(" + UID + ")",
                            "reason": "CrashLoopBackOff",
                        }
                    },
                }
            ]
        },
    }


def test_pod_without_secrets_is_unchanged() -> None:
    pod = injected_pod()
    out, n = redact_object(pod)
    assert n == 0
    assert out == pod
    assert out is not pod


def test_jenkins_agent_secret_repeated_in_args() -> None:
    secret = hex_secret()
    pod = injected_pod()
    pod["spec"]["containers"][0] = _container(
        "jnlp",
        [
            {"name": "JENKINS_SECRET", "value": secret},
            {"name": "JENKINS_NAME", "value": "example-c-pipeline-main-13-5qsdm-2n7dh"},
            {"name": "JENKINS_URL", "value": "http://jenkins.ci.svc:8080/"},
        ],
        args=[secret, "example-c-pipeline-main-13-5qsdm-2n7dh"],
        image="jenkins/inbound-agent:3206.vb_15dcf73f6a_9-1",
    )
    out, n = redact_object(pod)
    assert secret not in json.dumps(out)
    c = out["spec"]["containers"][0]
    assert c["args"] == [MASK, "example-c-pipeline-main-13-5qsdm-2n7dh"]
    assert c["env"][1]["value"] == "example-c-pipeline-main-13-5qsdm-2n7dh"
    assert c["image"] == "jenkins/inbound-agent:3206.vb_15dcf73f6a_9-1"
    assert n == 2
    assert sensitive_literals(pod) == {secret}


def test_every_container_list_and_templates() -> None:
    secrets = [password() for _ in range(6)]
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly", "namespace": "ci"},
        "spec": {
            "schedule": "0 2 * * *",
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "initContainers": [_container("init", [{"name": "RUNNER_TOKEN", "value": secrets[0]}])],
                            "containers": [
                                _container(
                                    "runner",
                                    [{"name": "CI_SERVER_TOKEN", "value": secrets[1]}],
                                    command=["/bin/sh", "-c", f"gitlab-runner register --token {secrets[2]}"],
                                    livenessProbe={
                                        "httpGet": {
                                            "path": "/healthz",
                                            "port": 8080,
                                            "httpHeaders": [{"name": "Authorization", "value": f"Bearer {secrets[3]}"}],
                                        }
                                    },
                                )
                            ],
                            "ephemeralContainers": [
                                _container("debugger", [{"name": "DD_API_KEY", "value": secrets[4]}])
                            ],
                        }
                    }
                }
            },
        },
    }
    pod = injected_pod()
    pod["metadata"]["annotations"]["example.com/deploy-note"] = f"deployed with password={secrets[5]}"
    lst = {"apiVersion": "v1", "kind": "List", "items": [cron, pod]}
    out, n = redact_object(lst)
    dumped = json.dumps(out)
    for s in secrets:
        assert s not in dumped
    assert n == 6
    probe = out["items"][0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    assert probe["httpGet"]["httpHeaders"][0]["value"] == "Bearer <redacted>"


def test_secret_objects_keep_only_metadata() -> None:
    token = ado_pat_legacy()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "azdevops",
            "namespace": "build-agents",
            "uid": UID,
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                    {
                        "apiVersion": "v1",
                        "kind": "Secret",
                        "metadata": {"name": "azdevops"},
                        "stringData": {"AZP_TOKEN": token},
                    }
                )
            },
        },
        "type": "Opaque",
        "data": {
            "AZP_URL": base64.b64encode(b"https://dev.azure.com/contoso").decode(),
            "AZP_TOKEN": base64.b64encode(token.encode()).decode(),
        },
    }
    out, n = redact_object(secret)
    assert set(out) == {"apiVersion", "kind", "metadata", "type"}
    assert "data" not in out
    dumped = json.dumps(out)
    assert token not in dumped
    assert base64.b64encode(token.encode()).decode() not in dumped
    assert out["metadata"]["name"] == "azdevops"
    assert n == 3


def test_configmap_values_and_sensitive_keys() -> None:
    glrt = "glrt-" + _pick(ALNUM, 20)
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "gitlab-runner", "namespace": "ci"},
        "data": {
            "config.toml": (f'concurrent = 4\n[[runners]]\n  url = "https://gitlab.example.com"\n  token = "{glrt}"\n'),
            "api-key": "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
            "log_level": "info",
        },
    }
    out, n = redact_object(cm)
    assert glrt not in json.dumps(out)
    assert out["data"]["api-key"] == MASK
    assert out["data"]["log_level"] == "info"
    assert 'url = "https://gitlab.example.com"' in out["data"]["config.toml"]
    assert n == 2


def test_redact_tree_on_report_dict() -> None:
    pat = ado_pat_legacy()
    tree = {
        "findings": [
            {
                "evidence": [{"type": "log", "summary": f"curl -u user:{pat} failed", "ref": "logs/a.log:3"}],
                "remedies": [
                    {
                        "patch": {
                            "type": "strategic",
                            "body": {
                                "spec": {
                                    "template": {
                                        "spec": {
                                            "containers": [
                                                {
                                                    "name": "azp-agent",
                                                    "env": [{"name": "AZP_TOKEN", "value": pat}],
                                                }
                                            ]
                                        }
                                    }
                                }
                            },
                        }
                    }
                ],
                "confidence": 0.95,
            }
        ]
    }
    out, n = redact_tree(tree)
    assert pat not in json.dumps(out)
    assert n == 2
    assert out["findings"][0]["confidence"] == 0.95
    assert out["findings"][0]["evidence"][0]["ref"] == "logs/a.log:3"


# ---------------------------------------------------------------------------------------------------------
# Property: a secret planted anywhere never comes out
# ---------------------------------------------------------------------------------------------------------

SENSITIVE_ENV = [
    "AZP_TOKEN",
    "JENKINS_SECRET",
    "RUNNER_TOKEN",
    "ACTIONS_RUNNER_INPUT_JITCONFIG",
    "CI_SERVER_TOKEN",
    "NEW_RELIC_LICENSE_KEY",
    "DD_API_KEY",
    "DB_PASSWORD",
    "GITHUB_PAT",
    "VAULT_TOKEN",
    "SYSTEM_ACCESSTOKEN",
    "INSTANA_AGENT_KEY",
]
_SECRET_CHARS = string.ascii_letters + string.digits + "-_.~+=!*"
secrets_st = st.text(alphabet=_SECRET_CHARS, min_size=10, max_size=48).filter(
    lambda s: any(c.isdigit() for c in s) and any(c.isupper() for c in s) and not s.startswith("-")
)
prose_st = st.text(alphabet=string.ascii_lowercase + " ", max_size=40)

LOG_CONTEXTS = [
    "password={s}",
    "{k}={s}",
    "{k}: {s}",
    "\n  {k}: {s}\n",
    '{{"{k}": "{s}"}}',
    '{{\\"{k}\\":\\"{s}\\"}}',
    "Authorization: Bearer {s}",
    "curl -u user:{s} https://dev.azure.com/contoso",
    "https://user:{s}@dev.azure.com/contoso",
    "--token {s}",
    "--password={s}",
    "Server=db;User Id=sa;Password={s};",
    "export {k}='{s}'",
    '[{{"name":"{k}","value":"{s}"}}]',
    "- name: {k}\n  value: {s}\n",
]
SHAPED = [
    ado_pat_legacy,
    ado_pat_new,
    jwt,
    github_token,
    gitlab_token,
    slack_token,
    aws_key_id,
    dynatrace_token,
]


def _plant(place: str, secret: str, name: str, context: str, before: str, after: str) -> dict[str, Any]:
    pod = injected_pod()
    azp = pod["spec"]["containers"][0]
    line = before + " " + context.format(s=secret, k=name) + " " + after
    if place == "env":
        azp["env"].insert(1, {"name": name, "value": secret})
    elif place == "annotation":
        pod["metadata"]["annotations"]["example.com/" + name.lower().replace("_", "-")] = secret
    elif place == "annotation-text":
        pod["metadata"]["annotations"]["example.com/notes"] = line
    elif place == "last-applied":
        applied = {
            "kind": "Pod",
            "spec": {"containers": [{"name": "azp-agent", "env": [{"name": name, "value": secret}]}]},
        }
        pod["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = json.dumps(applied)
    elif place == "arg":
        azp["args"] = [
            "--url",
            "https://dev.azure.com/contoso",
            "--" + name.lower().replace("_", "-"),
            secret,
        ]
    elif place == "arg-text":
        azp["command"] = ["/bin/sh", "-c", line]
    elif place == "message":
        azp_status = pod["status"]["containerStatuses"][0]
        azp_status["lastState"]["terminated"]["message"] = line
    return pod


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=secrets_st,
    place=st.sampled_from(["env", "annotation", "annotation-text", "last-applied", "arg", "arg-text", "message"]),
    name=st.sampled_from(SENSITIVE_ENV),
    context=st.sampled_from(LOG_CONTEXTS),
    before=prose_st,
    after=prose_st,
)
def test_property_planted_secret_never_appears_in_object(
    secret: str, place: str, name: str, context: str, before: str, after: str
) -> None:
    pod = _plant(place, secret, name, context, before, after)
    out, n = redact_object(pod)
    assert secret not in json.dumps(out)
    assert n >= 1


@settings(max_examples=300, deadline=None)
@given(
    secret=secrets_st,
    context=st.sampled_from(LOG_CONTEXTS),
    name=st.sampled_from(SENSITIVE_ENV),
    before=prose_st,
    after=prose_st,
)
def test_property_planted_secret_never_appears_in_log_line(
    secret: str, context: str, name: str, before: str, after: str
) -> None:
    line = f"{before} {context.format(s=secret, k=name)} {after}\n"
    out, n = redact_text(line)
    assert secret not in out
    assert n >= 1
    assert redact_text(out) == (out, 0)


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    maker=st.sampled_from(SHAPED),
    before=st.text(alphabet=string.printable, max_size=60),
    after=st.text(alphabet=string.printable, max_size=60),
    sep=st.sampled_from([" ", "\n", "=", ": ", "\t", '"', "'", "(", ",", "/"]),
)
def test_property_shaped_token_is_masked_in_any_text(seed: int, maker: Any, before: str, after: str, sep: str) -> None:
    token = maker(random.Random(seed))
    text = before + sep + token + {"(": ")", '"': '"', "'": "'"}.get(sep, " ") + after
    out, _ = redact_text(text)
    assert token not in out
    tree, _ = redact_tree({"findings": [{"evidence": [{"summary": text}]}]})
    assert token not in json.dumps(tree)


def test_redacting_twice_changes_nothing() -> None:
    dep = agent_deployment(ado_pat_new())
    dep["spec"]["template"]["spec"]["containers"][0]["args"] = ["--token", password(), f"--jwt={jwt()}"]
    once, n = redact_object(dep)
    assert n == 4
    twice, m = redact_object(once)
    assert (twice, m) == (once, 0)
