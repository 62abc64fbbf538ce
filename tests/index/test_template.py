from typing import Any

from podmortem.index.template import diff_pod


def test_plain_pod_has_no_mutations(plain_pod: dict[str, Any], replicaset: dict[str, Any]) -> None:
    # Controller labels, the service-account volume and mount, tolerations and nodeName are not mutations.
    assert diff_pod(plain_pod, replicaset["spec"]["template"]) == []


def test_injected_pod_diff_lists_exactly_what_the_webhook_added(
    injected_pod: dict[str, Any], replicaset: dict[str, Any]
) -> None:
    muts = {(m.op, m.what, m.container, m.name) for m in diff_pod(injected_pod, replicaset["spec"]["template"])}
    assert muts == {
        ("added", "annotation", "", "dynakube.dynatrace.com/injected"),
        ("added", "annotation", "", "oneagent.dynatrace.com/injected"),
        ("added", "annotation", "", "metadata-enrichment.dynatrace.com/injected"),
        ("added", "init-container", "install-oneagent", "install-oneagent"),
        ("added", "volume", "", "oneagent-bin"),
        ("added", "volume", "", "oneagent-share"),
        ("added", "env", "azp-agent", "LD_PRELOAD"),
        ("added", "env", "azp-agent", "DT_DEPLOYMENT_METADATA"),
        ("added", "mount", "azp-agent", "/etc/ld.so.preload"),
        ("added", "mount", "azp-agent", "/opt/dynatrace/oneagent-paas"),
    }


def test_changed_env_and_image_are_reported(plain_pod: dict[str, Any], replicaset: dict[str, Any]) -> None:
    plain_pod["spec"]["containers"][0]["env"][1]["value"] = "other-pool"
    plain_pod["spec"]["containers"][0]["image"] = "myacr.azurecr.io/azp-agent:patched"
    muts = diff_pod(plain_pod, replicaset["spec"]["template"])
    assert [(m.op, m.what, m.name, m.old, m.value) for m in muts] == [
        (
            "changed",
            "image",
            "azp-agent",
            "myacr.azurecr.io/azp-agent:ubuntu-22.04-3.242.1",
            "myacr.azurecr.io/azp-agent:patched",
        ),
        ("changed", "env", "AZP_POOL", "aks-linux", "other-pool"),
    ]
