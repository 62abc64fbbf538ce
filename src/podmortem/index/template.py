"""The difference between a live pod and the pod template of its owner: what admission added or changed."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from podmortem.model.objects import (
    RawObject,
    annotations_of,
    as_dict,
    as_list,
    as_str,
    containers,
    labels,
    spec,
)

# Added by controllers or built-in admission plugins; never the work of an injector.
CONTROLLER_LABELS = frozenset(
    {
        "pod-template-hash",
        "controller-revision-hash",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
        "pod-template-generation",
        "job-name",
        "controller-uid",
        "batch.kubernetes.io/job-name",
        "batch.kubernetes.io/controller-uid",
        "batch.kubernetes.io/job-completion-index",
    }
)
SYSTEM_ANNOTATION_PREFIXES = (
    "kubernetes.io/config.",
    "kubernetes.io/psp",
    "openshift.io/scc",
    "batch.kubernetes.io/",
    "cni.projectcalico.org/",
    "k8s.v1.cni.cncf.io/",
    "kubectl.kubernetes.io/last-applied-configuration",
)
SA_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
_LEGACY_TOKEN = re.compile(r"^.+-token-[a-z0-9]{5}$")


def _is_sa_volume(vol: dict[str, Any]) -> bool:
    """The service-account token volume the ServiceAccount admission plugin adds."""
    name = as_str(vol.get("name"))
    if name.startswith("kube-api-access-"):
        return True
    return "secret" in vol and bool(_LEGACY_TOKEN.match(name))


@dataclass(frozen=True)
class Mutation:
    """One difference: ``op`` added/changed, ``what`` the item kind, in ``container`` ("" for pod-level)."""

    op: str  # added | changed
    what: str  # init-container | container | volume | mount | env | annotation | label | image | command
    name: str
    container: str = ""
    value: str = ""
    old: str = ""

    def describe(self) -> str:
        """One line for evidence."""
        where = f" in container {self.container}" if self.container else ""
        val = f" = {self.value}" if self.value else ""
        if self.op == "changed" and self.old:
            return f"{self.what} {self.name}{where} changed from {self.old} to {self.value}"
        return f"{self.op} {self.what} {self.name}{where}{val}"


def _env_value(entry: dict[str, Any]) -> str:
    if "value" in entry:
        return as_str(entry.get("value"))
    if "valueFrom" in entry:
        return "valueFrom:" + json.dumps(entry.get("valueFrom"), sort_keys=True)
    return ""


def _volume_summary(vol: dict[str, Any]) -> str:
    for key, val in vol.items():
        if key == "name":
            continue
        if key == "csi":
            return f"csi:{as_str(as_dict(val).get('driver'))}"
        return key
    return ""


def _container_diff(live: dict[str, Any], tpl: dict[str, Any], cname: str) -> list[Mutation]:
    out: list[Mutation] = []
    if as_str(live.get("image")) != as_str(tpl.get("image")) and tpl.get("image"):
        out.append(Mutation("changed", "image", cname, cname, as_str(live.get("image")), as_str(tpl.get("image"))))
    tenv = {as_str(as_dict(e).get("name")): as_dict(e) for e in as_list(tpl.get("env"))}
    for e in as_list(live.get("env")):
        ed = as_dict(e)
        ename = as_str(ed.get("name"))
        if ename not in tenv:
            out.append(Mutation("added", "env", ename, cname, _env_value(ed)))
        elif _env_value(ed) != _env_value(tenv[ename]):
            out.append(Mutation("changed", "env", ename, cname, _env_value(ed), _env_value(tenv[ename])))
    tmounts = {as_str(as_dict(m).get("mountPath")) for m in as_list(tpl.get("volumeMounts"))}
    for m in as_list(live.get("volumeMounts")):
        md = as_dict(m)
        path = as_str(md.get("mountPath"))
        if path not in tmounts and path != SA_MOUNT:
            sub = as_str(md.get("subPath"))
            detail = as_str(md.get("name")) + (f" (subPath {sub})" if sub else "")
            out.append(Mutation("added", "mount", path, cname, detail))
    for field in ("command", "args"):
        if live.get(field) != tpl.get(field) and tpl.get(field) is not None:
            out.append(Mutation("changed", "command", field, cname, json.dumps(live.get(field))))
    return out


def diff_pod(pod: RawObject, template: RawObject) -> list[Mutation]:
    """Everything in ``pod`` that its owner's ``template`` does not have (or has differently)."""
    out: list[Mutation] = []
    pspec, tspec = spec(pod), as_dict(template.get("spec"))
    tlabels = as_dict(as_dict(template.get("metadata")).get("labels"))
    tann = as_dict(as_dict(template.get("metadata")).get("annotations"))
    for key, value in labels(pod).items():
        if key in CONTROLLER_LABELS:
            continue
        if key not in tlabels:
            out.append(Mutation("added", "label", key, "", value))
        elif tlabels[key] != value:
            out.append(Mutation("changed", "label", key, "", value, as_str(tlabels[key])))
    for key, value in annotations_of(pod).items():
        if key.startswith(SYSTEM_ANNOTATION_PREFIXES):
            continue
        if key not in tann:
            out.append(Mutation("added", "annotation", key, "", value))
        elif tann[key] != value:
            out.append(Mutation("changed", "annotation", key, "", value, as_str(tann[key])))
    for init in (True, False):
        tcs = {as_str(c.get("name")): c for c in containers(tspec, init=init)}
        what = "init-container" if init else "container"
        for c in containers(pspec, init=init):
            cname = as_str(c.get("name"))
            if cname not in tcs:
                out.append(Mutation("added", what, cname, cname, as_str(c.get("image"))))
            else:
                out.extend(_container_diff(c, tcs[cname], cname))
    tvols = {as_str(as_dict(v).get("name")) for v in as_list(tspec.get("volumes"))}
    for v in as_list(pspec.get("volumes")):
        vd = as_dict(v)
        vname = as_str(vd.get("name"))
        if vname not in tvols and not _is_sa_volume(vd):
            out.append(Mutation("added", "volume", vname, "", _volume_summary(vd)))
    return out
