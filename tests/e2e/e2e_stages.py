"""kwok configuration for the end-to-end cluster: the Stages that play kubelet for fake AKS nodes and their pods,
and the default container logs.

What the "kubelet" does here:

* a node gets Ready conditions and a kubelet endpoint (kwok's own server, which serves container logs);
* a pod bound to a node starts: init containers complete, containers run, and the status carries container and
  image IDs as containerd reports them;
* a .NET agent container (image ``…/azp-agent:…``) that the Dynatrace webhook injected (``LD_PRELOAD`` of
  ``liboneagentproc.so``) crash-loops instead: restartCount, lastState terminated with exit code 134 (SIGABRT),
  waiting in CrashLoopBackOff, a kubelet BackOff event, and the runtime's log text as the current and previous
  log (a kwok ``Logs`` object per pod, applied by the stage);
* a deleted pod goes away.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

Obj = dict[str, Any]

# The containers the injected profiler breaks: the .NET agent image with OneAgent's process module preloaded.
_CRASH_IMAGE_MARK = "/azp-agent:"
_PRELOAD_MARK = "liboneagentproc.so"

MAX_RESTARTS = 4  # restarts played before the pod is left waiting in CrashLoopBackOff

_CRASHING_POD_JQ = (
    '[.spec.containers[] | select((.image | contains("' + _CRASH_IMAGE_MARK + '")) and '
    'any(.env[]?; .name == "LD_PRELOAD" and ((.value // "") | contains("' + _PRELOAD_MARK + '"))))]'
    " | length > 0"
)

# Go template helpers shared by the pod templates. `$crash` is decided per container with the same rule as above.
_CRASH_DECISION = (
    "{{ $crash := false }}"
    '{{ if contains "' + _CRASH_IMAGE_MARK + '" .image }}{{ range .env }}'
    '{{ if and (eq .name "LD_PRELOAD") (contains "' + _PRELOAD_MARK + '" (toString .value)) }}'
    "{{ $crash = true }}{{ end }}{{ end }}{{ end }}"
)

_RFC3339 = '"2006-01-02T15:04:05Z"'
# Times as the kubelet reports them: init containers finish just after the pod was created; a crash-looping
# container's last run started a couple of seconds ago and ended a second ago.
_TIMES = (
    "{{ $now := dateInZone " + _RFC3339 + ' now "UTC" }}\n'
    "{{ $created := toDate " + _RFC3339 + " .metadata.creationTimestamp }}\n"
    "{{ $initDone := dateInZone " + _RFC3339 + ' ($created | dateModify "+1s") "UTC" }}\n'
    "{{ $started := dateInZone " + _RFC3339 + ' (now | dateModify "-2s") "UTC" }}\n'
    "{{ $finished := dateInZone " + _RFC3339 + ' (now | dateModify "-1s") "UTC" }}\n'
    "{{ $uid := .metadata.uid }}\n"
    # restart counts so far, by container
    "{{ $prev := dict }}{{ range .status.containerStatuses }}{{ $_ := set $prev .name (int .restartCount) }}{{ end }}\n"
)

_INIT_STATUSES = """\
initContainerStatuses:
{{ range .spec.initContainers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: {{ printf "%s@sha256:%s" (regexReplaceAll ":[^:/]*$" .image "") (sha256sum .image) | Quote }}
  containerID: {{ printf "containerd://%s" (sha256sum (printf "%s/%s/0" $uid .name)) | Quote }}
  ready: true
  started: false
  restartCount: 0
  state:
    terminated:
      exitCode: 0
      reason: Completed
      startedAt: {{ $initDone | Quote }}
      finishedAt: {{ $initDone | Quote }}
      containerID: {{ printf "containerd://%s" (sha256sum (printf "%s/%s/0" $uid .name)) | Quote }}
{{ end }}
"""

_IPS = """\
{{ with NodeIPsWith .spec.nodeName }}
hostIP: {{ index . 0 | Quote }}
hostIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
{{ $hostNet := or .spec.hostNetwork false }}
{{ $md := .metadata }}
{{ with PodIPsWith .spec.nodeName $hostNet (or $md.uid "") (or $md.name "") (or $md.namespace "") }}
podIP: {{ index . 0 | Quote }}
podIPs:
{{ range . }}
- ip: {{ . | Quote }}
{{ end }}
{{ end }}
"""

_RUNNING_CONTAINER = """\
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: {{ printf "%s@sha256:%s" (regexReplaceAll ":[^:/]*$" .image "") (sha256sum .image) | Quote }}
  containerID: {{ printf "containerd://%s" (sha256sum (printf "%s/%s/0" $uid .name)) | Quote }}
  ready: true
  started: true
  restartCount: 0
  state:
    running:
      startedAt: {{ $started | Quote }}
"""

# One more crash: restartCount goes up by one, the back-off doubles from 10s up to 5m0s.
_CRASHED_CONTAINER = """\
{{ $n := add1 (get $prev .name) }}
{{ $backoff := index (list "10s" "20s" "40s" "1m20s" "2m40s" "5m0s") (min 5 (sub $n 1)) }}
{{ $cid := printf "containerd://%s" (sha256sum (printf "%s/%s/%d" $uid .name $n)) }}
{{ $who := printf "container=%s pod=%s_%s(%s)" .name $pod $ns $uid }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: {{ printf "%s@sha256:%s" (regexReplaceAll ":[^:/]*$" .image "") (sha256sum .image) | Quote }}
  containerID: {{ $cid | Quote }}
  ready: false
  started: false
  restartCount: {{ $n }}
  lastState:
    terminated:
      exitCode: 134
      reason: Error
      startedAt: {{ $started | Quote }}
      finishedAt: {{ $finished | Quote }}
      containerID: {{ $cid | Quote }}
  state:
    waiting:
      reason: CrashLoopBackOff
      message: {{ printf "back-off %s restarting failed %s" $backoff $who | Quote }}
"""

_POD_RUNNING = (
    _TIMES
    + """\
{{ $initDone = $now }}
{{ $runningSince := $now }}
conditions:
- type: PodReadyToStartContainers
  status: "True"
  lastProbeTime: null
  lastTransitionTime: {{ $now | Quote }}
- type: Initialized
  status: "True"
  lastProbeTime: null
  lastTransitionTime: {{ $now | Quote }}
- type: Ready
  status: "True"
  lastProbeTime: null
  lastTransitionTime: {{ $now | Quote }}
- type: ContainersReady
  status: "True"
  lastProbeTime: null
  lastTransitionTime: {{ $now | Quote }}
"""
    + _INIT_STATUSES
    + "containerStatuses:\n{{ range .spec.containers }}\n"
    + _RUNNING_CONTAINER
    + "{{ end }}\n"
    + _IPS
    + """\
phase: Running
startTime: {{ $now | Quote }}
"""
)

_CRASHLOOP_VARS = (
    _TIMES
    + """\
{{ $runningSince := $initDone }}
{{ $pod := .metadata.name }}
{{ $ns := .metadata.namespace }}
{{ $bad := list }}
{{ range .spec.containers }}"""
    + _CRASH_DECISION
    + """{{ if $crash }}{{ $bad = append $bad .name }}{{ end }}{{ end }}
"""
)

_CRASHLOOP_CONTAINERS = (
    "containerStatuses:\n{{ range .spec.containers }}"
    + _CRASH_DECISION
    + "\n{{ if $crash }}\n"
    + _CRASHED_CONTAINER
    + "{{ else }}\n"
    + _RUNNING_CONTAINER
    + "{{ end }}\n{{ end }}\n"
)

# The first crash: the pod starts, its init container completes, the agent container dies and waits.
_POD_CRASHLOOP = (
    _CRASHLOOP_VARS
    + """\
conditions:
- type: PodReadyToStartContainers
  status: "True"
  lastProbeTime: null
  lastTransitionTime: {{ $now | Quote }}
- type: Initialized
  status: "True"
  lastProbeTime: null
  lastTransitionTime: {{ $now | Quote }}
- type: Ready
  status: "False"
  lastProbeTime: null
  lastTransitionTime: {{ $now | Quote }}
  reason: ContainersNotReady
  message: {{ printf "containers with unready status: [%s]" (join " " $bad) | Quote }}
- type: ContainersReady
  status: "False"
  lastProbeTime: null
  lastTransitionTime: {{ $now | Quote }}
  reason: ContainersNotReady
  message: {{ printf "containers with unready status: [%s]" (join " " $bad) | Quote }}
"""
    + _INIT_STATUSES
    + _CRASHLOOP_CONTAINERS
    + _IPS
    + """\
phase: Running
startTime: {{ $now | Quote }}
"""
)

# Each later crash only changes the container statuses.
_POD_RESTART = _CRASHLOOP_VARS + _CRASHLOOP_CONTAINERS


def _crash_logs_apply(crash_log: Path, generic_log: Path) -> str:
    return (
        """\
{{ $bad := list }}
{{ range .spec.containers }}"""
        + _CRASH_DECISION
        + """{{ if $crash }}{{ $bad = append $bad .name }}{{ end }}{{ end }}
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Logs
metadata:
  name: {{ .metadata.name | Quote }}
  namespace: {{ .metadata.namespace | Quote }}
  ownerReferences:
  - apiVersion: v1
    kind: Pod
    name: {{ .metadata.name | Quote }}
    uid: {{ .metadata.uid | Quote }}
spec:
  logs:
  - containers:
"""
        + "    {{ range $bad }}\n    - {{ . | Quote }}\n    {{ end }}\n"
        + f"    logsFile: {str(crash_log)!r}\n"
        + f"    previousLogsFile: {str(crash_log)!r}\n"
        + f"  - logsFile: {str(generic_log)!r}\n"
    )


_BACKOFF_EVENT = (
    _TIMES
    + """\
{{ $first := dateInZone "2006-01-02T15:04:05Z" ($created | dateModify "+2s") "UTC" }}
{{ $pod := .metadata.name }}
{{ $ns := .metadata.namespace }}
{{ $uid := .metadata.uid }}
{{ $node := .spec.nodeName }}
{{ $name := "" }}
{{ range .spec.containers }}"""
    + _CRASH_DECISION
    + """{{ if and $crash (eq $name "") }}{{ $name = .name }}{{ end }}{{ end }}
apiVersion: v1
kind: Event
metadata:
  name: {{ printf "%s.%s" $pod (trunc 16 (sha256sum (printf "%s/backoff" $uid))) | Quote }}
  namespace: {{ $ns | Quote }}
involvedObject:
  apiVersion: v1
  kind: Pod
  name: {{ $pod | Quote }}
  namespace: {{ $ns | Quote }}
  uid: {{ $uid | Quote }}
  fieldPath: {{ printf "spec.containers{%s}" $name | Quote }}
reason: BackOff
message: {{ printf "Back-off restarting failed container %s in pod %s_%s(%s)" $name $pod $ns $uid | Quote }}
source:
  component: kubelet
  host: {{ $node | Quote }}
firstTimestamp: {{ $first | Quote }}
lastTimestamp: {{ $now | Quote }}
count: {{ add1 (get $prev $name) }}
type: Warning
reportingComponent: kubelet
reportingInstance: {{ $node | Quote }}
"""
)

_NODE_READY = """\
{{ $now := dateInZone "2006-01-02T15:04:05Z" now "UTC" }}
conditions:
- type: MemoryPressure
  status: "False"
  reason: KubeletHasSufficientMemory
  message: kubelet has sufficient memory available
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
- type: DiskPressure
  status: "False"
  reason: KubeletHasNoDiskPressure
  message: kubelet has no disk pressure
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
- type: PIDPressure
  status: "False"
  reason: KubeletHasSufficientPID
  message: kubelet has sufficient PID available
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
- type: Ready
  status: "True"
  reason: KubeletReady
  message: kubelet is posting ready status
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
{{ with NodePort }}
daemonEndpoints:
  kubeletEndpoint:
    Port: {{ . }}
{{ end }}
"""


def _stage(name: str, kind: str, selector: list[Obj], steps: list[Obj], delay_ms: tuple[int, int] | None = None) -> Obj:
    spec: Obj = {
        "resourceRef": {"apiGroup": "v1", "kind": kind},
        "selector": {"matchExpressions": selector},
        "steps": steps,
    }
    if delay_ms:
        spec["delay"] = {"durationMilliseconds": delay_ms[0], "jitterDurationMilliseconds": delay_ms[1]}
    return {"apiVersion": "kwok.x-k8s.io/v1alpha1", "kind": "Stage", "metadata": {"name": name}, "spec": spec}


def _jq(key: str, op: str, values: list[str] | None = None) -> Obj:
    expr: Obj = {"key": key, "operator": op}
    if values is not None:
        expr["values"] = values
    return {"jq": expr}


def kwok_documents(log_dir: Path) -> list[Obj]:
    """The kwok configuration documents: stages and the default logs. Log files are written into ``log_dir``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    crash, healthy, generic = log_dir / "crash.log", log_dir / "agent-healthy.log", log_dir / "generic.log"

    pending = [
        _jq(".metadata.deletionTimestamp", "DoesNotExist"),
        _jq(".status.phase", "In", ["Pending"]),
        _jq('.status.conditions[]? | select(.type == "Ready") | .status', "NotIn", ["True"]),
    ]
    status_patch = {"patch": {"subresource": "status", "root": "status"}}
    return [
        _stage(
            "aks-node-ready",
            "Node",
            [_jq('.status.conditions[]? | select(.type == "Ready") | .status', "NotIn", ["True"])],
            [{"patch": {**status_patch["patch"], "template": _NODE_READY}}],
        ),
        _stage(
            "pod-running",
            "Pod",
            [*pending, _jq(_CRASHING_POD_JQ, "In", ["false"])],
            [{"patch": {**status_patch["patch"], "template": _POD_RUNNING}}],
        ),
        _stage(
            "pod-dotnet-profiler-crashloop",
            "Pod",
            [*pending, _jq(_CRASHING_POD_JQ, "In", ["true"])],
            [
                {"apply": {"template": _crash_logs_apply(crash, generic)}},
                {"apply": {"template": _BACKOFF_EVENT}},
                {"patch": {**status_patch["patch"], "template": _POD_CRASHLOOP}},
            ],
            delay_ms=(2000, 2500),
        ),
        # the kubelet restarts it after the back-off and it crashes again (a few times, then it is left waiting)
        _stage(
            "pod-dotnet-profiler-restart",
            "Pod",
            [
                _jq(".metadata.deletionTimestamp", "DoesNotExist"),
                _jq(".status.phase", "In", ["Running"]),
                _jq(
                    '[.status.containerStatuses[]? | select(.state.waiting.reason == "CrashLoopBackOff"'
                    f" and .restartCount < {MAX_RESTARTS})] | length > 0",
                    "In",
                    ["true"],
                ),
            ],
            [
                {"apply": {"template": _BACKOFF_EVENT}},
                {"patch": {**status_patch["patch"], "template": _POD_RESTART}},
            ],
            delay_ms=(3000, 4000),
        ),
        _stage(
            "pod-delete",
            "Pod",
            [_jq(".metadata.deletionTimestamp", "Exists")],
            [{"finalizers": {"empty": True}}, {"delete": True}],
        ),
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterLogs",
            "metadata": {"name": "default-logs"},
            "spec": {
                "selector": {},
                "logs": [
                    {"containers": ["azp-agent"], "logsFile": str(healthy)},
                    {"logsFile": str(generic)},
                ],
            },
        },
    ]


def cri_log(lines: list[str], stamp: str) -> str:
    """Container log lines in the CRI format the kubelet reads back (``<time> <stream> F <text>``)."""
    return "".join(f"{stamp} stdout F {line}\n" for line in lines)
