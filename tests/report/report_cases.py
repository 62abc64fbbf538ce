"""Reports built by hand for the renderer tests: the Azure Pipelines agent / Dynatrace seed case, and more."""

from __future__ import annotations

import json

from podmortem.model.findings import Evidence, Finding, Patch, Remedy, Report, RuleError, TimelineEntry
from podmortem.model.objects import ObjectRef

WORKLOAD = ObjectRef("Deployment", "build-agents", "azure-devops-agent")
DYNAKUBE = ObjectRef("DynaKube", "dynatrace", "dynakube")
INJECT_OFF = {"spec": {"template": {"metadata": {"annotations": {"oneagent.dynatrace.com/inject": "false"}}}}}


def dynatrace_finding() -> Finding:
    """The seed case: OneAgent code modules make the agent's CLR reject its own code."""
    pod = "azure-devops-agent-6d9f7c8b45-f6cz6"
    return Finding(
        workload=WORKLOAD,
        rule="injection.clr-profiler",
        category="injection",
        title="Dynatrace code module breaks the .NET runtime of azp-agent",
        symptom="CrashLoopBackOff",
        confidence=0.95,
        pods=[
            pod,
            "azure-devops-agent-6d9f7c8b45-k2m9x",
            "azure-devops-agent-6d9f7c8b45-tq7wd",
            "azure-devops-agent-6d9f7c8b45-zz4pl",
        ],
        containers=["azp-agent"],
        injectors=["dynatrace"],
        explanation=(
            "The Dynatrace operator's webhook injected the OneAgent code modules into the agent pods "
            "(init container install-oneagent, the oneagent-bin CSI volume, /etc/ld.so.preload and "
            "LD_PRELOAD). The .NET process Agent.Listener then fails in MainAsync with "
            "System.InvalidProgramException, the signature of a CLR profiler that rewrote code the runtime "
            "cannot verify.\n\nPods of the same image that were not injected run fine."
        ),
        evidence=[
            Evidence(
                "log",
                "Unhandled exception. System.TypeInitializationException: The type initializer for "
                "'Microsoft.VisualStudio.Services.Agent.Listener.Program' threw an exception.\n"
                " ---> System.InvalidProgramException: Common Language Runtime detected an invalid program.\n"
                "   at Microsoft.VisualStudio.Services.Agent.Listener.Program.MainAsync(IHostContext "
                "context, String[] args)",
                f"logs/build-agents/{pod}/azp-agent.previous.log:14",
                0.5,
            ),
            Evidence(
                "exit-code",
                "azp-agent terminated with exit code 134 (SIGABRT), restartCount 14",
                f"pods/build-agents/{pod} status.containerStatuses[azp-agent].lastState.terminated",
            ),
            Evidence(
                "mutation",
                "not in the Deployment's pod template: init container install-oneagent, CSI volume "
                "oneagent-bin (csi.oneagent.dynatrace.com), mount /etc/ld.so.preload, env "
                "LD_PRELOAD=/opt/dynatrace/oneagent-paas/agent/lib64/liboneagentproc.so",
                f"pods/build-agents/{pod} vs replicasets/build-agents/azure-devops-agent-6d9f7c8b45 template",
            ),
            Evidence(
                "webhook",
                "MutatingWebhookConfiguration dynatrace-webhook (webhook.pod.dynatrace.com) selects "
                "namespace "
                "build-agents",
                "mutatingwebhookconfigurations/dynatrace-webhook",
            ),
            Evidence(
                "peer",
                "Deployment build-agents/azure-devops-agent-canary runs the same image without injection "
                "and is healthy",
                "deployments/build-agents/azure-devops-agent-canary",
            ),
            Evidence(
                "timeline",
                "failures began 3 minutes after the code modules were first injected",
                "",
            ),
        ],
        remedies=[
            Remedy(
                id="dynatrace.exclude-pod",
                title="Stop OneAgent injection into the agent pods with the inject annotation",
                safety="safe",
                target=WORKLOAD,
                patch=Patch("strategic", INJECT_OFF),
                commands=[
                    "kubectl -n build-agents patch deployment azure-devops-agent --type strategic -p "
                    f"'{json.dumps(INJECT_OFF, separators=(',', ':'))}'"
                ],
                notes="Rolls the Deployment: running pipeline jobs on the old pods are cancelled.",
            ),
            Remedy(
                id="dynatrace.exclude-namespace",
                title="Leave namespace build-agents out of the DynaKube's namespaceSelector",
                safety="manual",
                target=DYNAKUBE,
                commands=["kubectl -n dynatrace edit dynakube dynakube"],
                notes="Add a matchExpressions entry that excludes build-agents; affects every pod there.",
            ),
            Remedy(
                id="dynatrace.pin-version",
                title="Pin the OneAgent code modules to the version that worked",
                safety="unsafe",
                target=DYNAKUBE,
                patch=Patch(
                    "merge",
                    {"spec": {"oneAgent": {"cloudNativeFullStack": {"version": "1.287.129.20240318-133105"}}}},
                ),
                commands=[],
                notes="Changes monitoring for every injected workload in the cluster.",
            ),
        ],
        timeline=[
            TimelineEntry("2024-05-01T16:40:02Z", "azure-devops-agent-6d9f7c8b45 created (3 replicas)"),
            TimelineEntry("2024-05-02T08:55:10Z", "DynaKube dynatrace/dynakube updated: cloudNativeFullStack"),
            TimelineEntry("2024-05-02T08:55:41Z", f"pod {pod} created, injected by webhook.pod.dynatrace.com"),
            TimelineEntry("2024-05-02T08:56:03Z", "azp-agent exited 134 (first failure)"),
            TimelineEntry("2024-05-02T09:01:12Z", "Back-off restarting failed container azp-agent"),
            TimelineEntry("2024-05-02T09:19:40Z", "restartCount 14"),
        ],
    )


def oom_finding() -> Finding:
    return Finding(
        workload=ObjectRef("StatefulSet", "ci", "sonarqube"),
        rule="oom.killed",
        category="oom",
        title="sonarqube is killed for using more memory than its 2Gi limit",
        symptom="CrashLoopBackOff",
        confidence=0.9,
        pods=["sonarqube-0"],
        containers=["sonarqube"],
        injectors=["datadog"],
        evidence=[Evidence("exit-code", "sonarqube terminated: OOMKilled, exit code 137", "pods/ci/sonarqube-0")],
        remedies=[
            Remedy(
                id="oom.raise-limit",
                title="Raise the memory limit of sonarqube to 3Gi",
                safety="unsafe",
                target=ObjectRef("StatefulSet", "ci", "sonarqube"),
                patch=Patch(
                    "strategic",
                    {
                        "spec": {
                            "template": {
                                "spec": {
                                    "containers": [{"name": "sonarqube", "resources": {"limits": {"memory": "3Gi"}}}]
                                }
                            }
                        }
                    },
                ),
            )
        ],
    )


def seed_report() -> Report:
    return Report(
        tool_version="0.1.0",
        source={"type": "bundle", "name": "aks-prod-westeurope.tgz", "collected_at": "2024-05-02T09:20:00Z"},
        findings=[dynatrace_finding(), oom_finding()],
        warnings=["file build-agents/events.json: not JSON (line 3), skipped"],
        workloads_failing=2,
        workloads_checked=148,
        errors=[RuleError("probe.liveness", "Deployment/ci/nexus", "KeyError: 'httpGet'")],
        stats={"seconds": 0.42, "pods": 611},
    )
