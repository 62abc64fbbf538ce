"""Node pools from cloud-provider node labels (AKS, EKS, GKE, Karpenter)."""

from __future__ import annotations

from podmortem.model.objects import RawObject, labels

POOL_LABELS = (
    ("aks", "kubernetes.azure.com/agentpool"),
    ("aks", "agentpool"),
    ("eks", "eks.amazonaws.com/nodegroup"),
    ("eks", "alpha.eksctl.io/nodegroup-name"),
    ("gke", "cloud.google.com/gke-nodepool"),
    ("karpenter", "karpenter.sh/nodepool"),
)


def node_pool(node: RawObject | None) -> tuple[str, str, str]:
    """``(provider, label key, pool name)`` of a node, or ``("", "", "")`` when no pool label is set."""
    if node is None:
        return ("", "", "")
    lab = labels(node)
    for provider, key in POOL_LABELS:
        if lab.get(key):
            return (provider, key, lab[key])
    return ("", "", "")
