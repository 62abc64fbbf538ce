"""The read-only RBAC podmortem ships: what it grants, and that it covers everything the rules read."""

from __future__ import annotations

import importlib
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from bundle_fixtures import ROOT

from podmortem.bundle import rbac_yaml

PACKAGED = Path(str(resources.files("podmortem.bundle").joinpath("rbac.yaml")))
DEPLOYED = ROOT / "deploy" / "rbac.yaml"
CATALOG = Path(str(resources.files("podmortem.rules").joinpath("catalog")))

# Where each kind a rule may require is served (group, resource); logs are pods/log.
KIND_RESOURCES = {
    "Pod": ("", "pods"),
    "Event": ("", "events"),
    "Namespace": ("", "namespaces"),
    "Node": ("", "nodes"),
    "ReplicaSet": ("apps", "replicasets"),
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "DaemonSet": ("apps", "daemonsets"),
    "Job": ("batch", "jobs"),
    "CronJob": ("batch", "cronjobs"),
    "MutatingWebhookConfiguration": ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"),
    "CSIDriver": ("storage.k8s.io", "csidrivers"),
}
INJECTOR_CRS = {
    ("dynatrace.com", "dynakubes"),
    ("opentelemetry.io", "instrumentations"),
    ("newrelic.com", "instrumentations"),
    ("datadoghq.com", "datadogagents"),
    ("agents.contrastsecurity.com", "agentinjectors"),
    ("cluster.appdynamics.com", "clusteragents"),
    ("opentelemetry.io", "opentelemetrycollectors"),
    ("agents.contrastsecurity.com", "clusteragentinjectors"),
    ("instana.io", "agents"),  # InstanaAgent
}


def docs() -> list[dict[str, Any]]:
    loaded = [d for d in yaml.safe_load_all(rbac_yaml()) if d is not None]
    assert all(isinstance(d, dict) for d in loaded)
    return loaded


def one(kind: str) -> dict[str, Any]:
    found = [d for d in docs() if d["kind"] == kind]
    assert len(found) == 1, kind
    return found[0]


def grants() -> dict[tuple[str, str], set[str]]:
    """(group, resource) -> verbs granted by the ClusterRole."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for rule in one("ClusterRole")["rules"]:
        assert set(rule) <= {"apiGroups", "resources", "verbs"}, rule  # no resourceNames, no nonResourceURLs
        for group in rule["apiGroups"]:
            for res in rule["resources"]:
                out[(group, res)] |= set(rule["verbs"])
    return out


def test_packaged_and_deployed_copies_are_identical() -> None:
    assert DEPLOYED.read_bytes() == PACKAGED.read_bytes()
    assert rbac_yaml() == PACKAGED.read_text(encoding="utf-8")


def test_objects_and_their_wiring() -> None:
    sa = one("ServiceAccount")
    assert (sa["apiVersion"], sa["metadata"]["name"], sa["metadata"]["namespace"]) == ("v1", "podmortem", "podmortem")
    role = one("ClusterRole")
    assert role["apiVersion"] == "rbac.authorization.k8s.io/v1"
    assert role["metadata"]["name"] == "podmortem-reader"
    binding = one("ClusterRoleBinding")
    assert binding["apiVersion"] == "rbac.authorization.k8s.io/v1"
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": "podmortem-reader",
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "podmortem", "namespace": "podmortem"}]
    assert one("Namespace")["metadata"]["name"] == "podmortem"
    assert {d["kind"] for d in docs()} == {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"}


def test_read_only_and_never_secrets() -> None:
    g = grants()
    for (group, res), verbs in g.items():
        assert verbs <= {"get", "list", "watch"}, (group, res, verbs)
        assert "*" not in (group, res)
        assert res.split("/")[0] not in ("secrets", "configmaps"), res
        assert not res.endswith(("/exec", "/attach", "/portforward", "/proxy", "/eviction")), res
    assert all(verbs == {"get", "list"} for verbs in g.values())


def catalog_kinds() -> set[str]:
    kinds: set[str] = set()
    for path in sorted(CATALOG.glob("*.yaml")):
        record = yaml.safe_load(path.read_text())
        for item in record.get("requires", []):
            if isinstance(item, str):
                kinds.add(item)
    return kinds


def test_covers_every_kind_the_rules_require() -> None:
    kinds = catalog_kinds()
    assert {"Pod", "Event", "MutatingWebhookConfiguration"} <= kinds
    g = grants()
    for k in sorted(kinds):
        assert k in KIND_RESOURCES, f"a rule requires {k}: add it to the RBAC (and to this table)"
        assert {"get", "list"} <= g.get(KIND_RESOURCES[k], set()), k
    assert {"get"} <= g[("", "pods/log")]  # current and previous logs
    assert {"get", "list"} <= g[("events.k8s.io", "events")]


def test_covers_the_injector_custom_resources() -> None:
    g = grants()
    for key in sorted(INJECTOR_CRS):
        assert g.get(key) == {"get", "list"}, key
    # and nothing beyond what podmortem reads
    assert set(g) == {*KIND_RESOURCES.values(), ("", "pods/log"), ("events.k8s.io", "events"), *INJECTOR_CRS}


def test_covers_what_the_live_source_lists() -> None:
    try:
        live = importlib.import_module("podmortem.sources.live")
    except ImportError:
        pytest.skip("the live source is not there yet")
    specs = [s for name in ("DEFAULT_KINDS", "INJECTOR_KINDS") for s in getattr(live, name, ())]
    assert specs
    g = grants()
    for spec in specs:
        key = (getattr(spec, "group", ""), getattr(spec, "resource", ""))
        if key[1] == "secrets":
            pytest.fail("the live source lists Secrets")
        assert {"get", "list"} <= g.get(key, set()), f"the live source lists {key} but the RBAC does not grant it"
