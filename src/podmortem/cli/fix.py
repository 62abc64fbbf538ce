"""`podmortem fix` and `podmortem undo`: plan and preview a remedy, apply it with a dry run and a backup, undo it."""

from __future__ import annotations

import gc
import json
import os
import sys
import textwrap
from typing import Any

import click

from podmortem.cli.main import EXIT_CLUSTER, EXIT_OK, EXIT_USAGE, Progress, _live, _load, cli, fatal
from podmortem.index import Index
from podmortem.model.findings import Finding
from podmortem.model.scope import filter_snapshot
from podmortem.model.snapshot import Snapshot
from podmortem.remedies.fix import (
    FixPlan,
    choose_remedy,
    diagnose_index,
    plan_fix,
    plan_to_dict,
    to_yaml_documents,
    unified_diff,
)

DEFAULT_BACKUP_DIR = os.path.join(".", "podmortem-backups")


def _pick_finding(findings: list[Finding], finding_id: str | None, workload: str | None) -> Finding:
    listing = "; ".join(f"{f.id} {f.workload} ({f.rule})" for f in findings) or "none"
    if finding_id:
        hits = [f for f in findings if f.id.startswith(finding_id)]
        if len(hits) != 1:
            fatal(f"no single finding with id {finding_id!r}; findings: {listing}")
        return hits[0]
    if workload:
        parts = workload.split("/")
        if len(parts) == 2:
            parts = ["Deployment", *parts]
        if len(parts) != 3:
            fatal(f"--workload takes KIND/NAMESPACE/NAME, not {workload!r}")
        kind, ns, name = parts
        hits = [
            f
            for f in findings
            if f.workload.kind.lower() in (kind.lower(), kind.lower().rstrip("s"))
            and f.workload.namespace == ns
            and f.workload.name == name
        ]
        if not hits:
            fatal(f"no finding for {workload}; findings: {listing}")
        return hits[0]
    if len(findings) == 1:
        return findings[0]
    if not findings:
        fatal("nothing to fix: no failing workload was found")
    fatal(f"{len(findings)} findings: choose one with --finding ID or --workload KIND/NS/NAME ({listing})")


def _plan_text(plan: FixPlan) -> str:
    f, r = plan.finding, plan.remedy
    lines = [
        f"Fix for {f.workload.kind} {f.workload.namespace}/{f.workload.name}: {f.title}",
        f"  finding {f.id}, rule {f.rule}",
        f"  remedy [{r.safety}] {r.id}: {r.title}",
        "",
    ]
    for note in plan.notes:
        lines += textwrap.wrap(note, 78, initial_indent="  ", subsequent_indent="  ")
    if plan.notes:
        lines.append("")
    if not plan.changes:
        lines.append("  This remedy changes no object by itself; do what its commands say:")
        lines += [f"    {c}" for c in r.commands]
    for ch in plan.changes:
        managed = f" (managed by {ch.managed_by})" if ch.managed_by else ""
        lines.append(f"  {ch.patch.type} patch of {ch.target}{managed}:")
        lines += ["    " + ln for ln in unified_diff(ch).rstrip("\n").splitlines()]
        lines.append("")
    if plan.changes:
        lines.append("  Apply it with --apply (server-side dry run, backup of the originals, then the patch);")
        lines.append("  -o yaml prints the patched manifests for a GitOps repository.")
    return "\n".join(lines).rstrip() + "\n"


@cli.command()
@click.argument("source", required=False, metavar="[SOURCE]")
@click.option("--finding", "finding_id", default=None, metavar="ID", help="The finding to fix (its id or a prefix).")
@click.option("--workload", default=None, metavar="KIND/NS/NAME", help="The workload whose finding to fix.")
@click.option("--remedy", "remedy_id", default=None, metavar="ID", help="The remedy (default: the first safe one).")
@click.option("-o", "--output", type=click.Choice(["text", "yaml", "json"]), default="text", show_default=True)
@click.option("--patch-only", is_flag=True, help="With -o yaml: strategic-merge patch documents, not full manifests.")
@click.option("--apply", "do_apply", is_flag=True, help="Change the live cluster (server-side dry run first).")
@click.option("--dry-run", is_flag=True, help="With --apply: only the server-side dry run, change nothing.")
@click.option("--wait", is_flag=True, help="With --apply: wait for the rollout and diagnose the new pods.")
@click.option("--timeout", default=300.0, show_default=True, metavar="SECONDS", help="How long --wait waits.")
@click.option("--force", is_flag=True, help="Also patch objects managed by Helm, Argo CD or Flux.")
@click.option("--backup-dir", default=DEFAULT_BACKUP_DIR, show_default=True, metavar="DIR")
@click.option(
    "--kubeconfig", default=None, metavar="FILE", help="Live: kubeconfig (default $KUBECONFIG, ~/.kube/config)."
)
@click.option("--context", default=None, help="Live: the kubeconfig context to use.")
@click.option("-n", "--namespace", default=None, help="Only this namespace.")
@click.option("-A", "--all-namespaces", is_flag=True, help="All namespaces.")
@click.option("--request-timeout", default=30.0, show_default=True, metavar="SECONDS")
def fix(
    source: str | None,
    finding_id: str | None,
    workload: str | None,
    remedy_id: str | None,
    output: str,
    patch_only: bool,
    do_apply: bool,
    dry_run: bool,
    wait: bool,
    timeout: float,
    force: bool,
    backup_dir: str,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    all_namespaces: bool,
    request_timeout: float,
) -> None:
    """Plan a fix for a finding and show it (a diff, YAML or JSON); with --apply, make it on the live cluster.

    Nothing changes without --apply. --apply needs a live cluster: it re-reads each object, refuses when it
    changed since the plan, runs a server-side dry run, writes a backup of the originals to --backup-dir, then
    patches with field manager podmortem. `podmortem undo BACKUP` restores them.
    """
    if (dry_run or wait) and not do_apply:
        fatal("--dry-run and --wait go with --apply")
    if do_apply and source:
        fatal("--apply changes a live cluster: drop SOURCE and use --kubeconfig/--context")
    if namespace and all_namespaces:
        fatal("-n/--namespace and -A/--all-namespaces cannot be used together")
    # A plan needs the cluster's view (DaemonSets that land on a pool, operators' configuration in their own
    # namespaces), so a live fix reads every namespace unless -n narrows it on purpose.
    progress = Progress(sys.stderr.isatty())
    gc.disable()
    opts = None
    if source:
        snap: Snapshot = _load((source,), (), (), progress)
        snap = filter_snapshot(snap, namespace=namespace)
    else:
        from podmortem.cli.cluster import LiveOptions

        opts = LiveOptions(kubeconfig, context, namespace, not namespace, None, request_timeout)
        snap = _live(opts, progress)
    index = Index(snap)
    findings = diagnose_index(index)
    gc.freeze()  # the snapshot lives to the end: never make the collector walk it
    gc.enable()
    progress.done()
    finding = _pick_finding(findings, finding_id, workload)
    try:
        remedy = choose_remedy(finding, remedy_id)
        plan = plan_fix(index, finding, remedy)
    except ValueError as exc:
        fatal(str(exc))
    if output == "json":
        click.echo(json.dumps(plan_to_dict(plan), indent=2))
    elif output == "yaml":
        try:
            click.echo(to_yaml_documents(plan, full=not patch_only), nl=False)
        except ValueError as exc:
            fatal(str(exc))
    else:
        click.echo(_plan_text(plan), nl=False)
    if not do_apply:
        sys.exit(EXIT_OK)
    if not plan.changes:
        fatal("this remedy has no patch to apply; follow its commands instead")
    assert opts is not None
    _apply(plan, opts, backup_dir=backup_dir, force=force, dry_run=dry_run, wait=wait, timeout=timeout)


def _client(opts: Any) -> tuple[Any, Any]:
    from podmortem.cli.cluster import ClusterProblem, cluster_config
    from podmortem.sources.errors import SourceError
    from podmortem.sources.http import ApiClient, ApiStats

    try:
        cfg = cluster_config(opts, os.environ)
    except ClusterProblem as exc:
        fatal(str(exc), exc.code)
    except SourceError as exc:
        fatal(str(exc))
    return cfg, ApiClient(cfg, timeout=opts.request_timeout, stats=ApiStats())


def _apply(
    plan: FixPlan, opts: Any, *, backup_dir: str, force: bool, dry_run: bool, wait: bool, timeout: float
) -> None:
    from podmortem.remedies.apply import ApplyError, Conflict, apply_plan, wait_for_rollout
    from podmortem.sources.http import ApiError, ClusterUnreachable

    cfg, client = _client(opts)
    try:
        result = apply_plan(client, plan, backup_dir=backup_dir, context=cfg.context, force=force, dry_run_only=dry_run)
    except Conflict as exc:
        fatal(f"conflict, nothing changed: {exc}")
    except ApplyError as exc:
        code = EXIT_CLUSTER if getattr(exc.__cause__, "status", 0) in (401, 403) else EXIT_USAGE
        fatal(str(exc), code)
    except ClusterUnreachable as exc:
        fatal(str(exc), EXIT_CLUSTER)
    except ApiError as exc:
        fatal(str(exc), EXIT_CLUSTER if exc.status in (401, 403) else EXIT_USAGE)
    if dry_run:
        click.echo(f"server-side dry run passed for {len(plan.changes)} object(s); nothing was changed")
        client.close()
        sys.exit(EXIT_OK)
    for a in result.applied:
        click.echo(f"patched {a.target} (resourceVersion {a.before_version} → {a.after_version})")
    click.echo(f"backup of the originals: {result.backup}  (undo: podmortem undo {result.backup})")
    if wait:
        wl = plan.finding.workload
        done, line = wait_for_rollout(client, wl, timeout=timeout)
        click.echo(f"rollout of {wl}: {'complete' if done else 'not complete'} ({line})")
        _rediagnose(plan, opts)
    client.close()
    sys.exit(EXIT_OK)


def _rediagnose(plan: FixPlan, opts: Any) -> None:
    """Diagnose the workload again and say whether its new pods are injected and healthy."""
    snap = _live(opts, Progress(False))
    index = Index(snap)
    findings = diagnose_index(index)
    wl = plan.finding.workload
    still = [f for f in findings if f.workload == wl]
    workload = index.workloads.get(wl)
    pods = workload.pods if workload else []
    injected = [p.name for p in pods if plan.finding.injectors and set(p.injections) & set(plan.finding.injectors)]
    healthy = [p.name for p in pods if p.looks_healthy]
    click.echo(f"new state of {wl}: {len(pods)} pod(s), {len(healthy)} healthy, {len(injected)} injected")
    if still:
        for f in still:
            click.echo(f"  still failing: {f.title} ({f.rule}, confidence {f.confidence:.0%})")
    else:
        click.echo("  no finding any more: the fix worked")


@cli.command()
@click.argument("backup", metavar="BACKUP")
@click.option("--dry-run", is_flag=True, help="Only the server-side dry run; change nothing.")
@click.option("--force", is_flag=True, help="Restore even if the fixed fields were changed again since.")
@click.option("--kubeconfig", default=None, metavar="FILE", help="Kubeconfig (default $KUBECONFIG, ~/.kube/config).")
@click.option("--context", default=None, help="The kubeconfig context to use.")
@click.option("--request-timeout", default=30.0, show_default=True, metavar="SECONDS")
def undo(
    backup: str, dry_run: bool, force: bool, kubeconfig: str | None, context: str | None, request_timeout: float
) -> None:
    """Restore the objects a `podmortem fix --apply` changed, from its backup (dry run and conflict check first)."""
    from podmortem.cli.cluster import LiveOptions
    from podmortem.remedies.apply import ApplyError, Conflict, read_backup, undo_backup
    from podmortem.sources.http import ApiError, ClusterUnreachable

    try:
        doc = read_backup(backup)
    except ApplyError as exc:
        fatal(str(exc))
    opts = LiveOptions(kubeconfig, context, request_timeout=request_timeout)
    cfg, client = _client(opts)
    if doc.get("context") and cfg.context != doc.get("context") and not force:
        fatal(
            f"the backup was made in context {doc.get('context')!r}, the current one is {cfg.context!r}; use --context"
        )
    try:
        restored = undo_backup(client, doc, force=force, dry_run_only=dry_run)
    except Conflict as exc:
        fatal(f"conflict, nothing changed: {exc}")
    except ApplyError as exc:
        fatal(str(exc))
    except ClusterUnreachable as exc:
        fatal(str(exc), EXIT_CLUSTER)
    except ApiError as exc:
        fatal(str(exc), EXIT_CLUSTER if exc.status in (401, 403) else EXIT_USAGE)
    verb = "would restore" if dry_run else "restored"
    for ref in restored:
        click.echo(f"{verb} {ref}")
    client.close()
    sys.exit(EXIT_OK)
