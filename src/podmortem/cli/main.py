"""The command line: the only place that prints, reads the environment and exits.

Exit codes: 0 ran (findings or not), 1 ``--fail-on`` threshold met, 2 usage or input error,
3 cluster unreachable or forbidden.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from typing import Any, NoReturn

import click

from podmortem import __version__
from podmortem.api import diagnose as run_diagnosis
from podmortem.model.findings import Report
from podmortem.model.scope import filter_snapshot
from podmortem.model.snapshot import Snapshot
from podmortem.report import OutputFormat, render
from podmortem.rules.registry import all_rules
from podmortem.sources import open_source
from podmortem.sources.audit import parse_audit_log
from podmortem.sources.errors import SourceError

EXIT_OK, EXIT_FAIL_ON, EXIT_USAGE, EXIT_CLUSTER = 0, 1, 2, 3
FAIL_ON_LEVELS = {"none": 2.0, "any": 0.0, "low": 0.0, "medium": 0.5, "high": 0.8}


def fatal(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print one clear line on stderr and exit."""
    click.echo(f"podmortem: error: {message}", err=True)
    sys.exit(code)


class Progress:
    """Short progress lines on stderr, only on a terminal, at most a few per second."""

    def __init__(self, enabled: bool) -> None:
        """Enable or silence progress."""
        self.enabled = enabled
        self._last = 0.0
        self._shown = False

    def __call__(self, message: str) -> None:
        """Show a progress message (rate-limited)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.2:
            return
        self._last = now
        self._shown = True
        click.echo(f"\r\033[K{message}", err=True, nl=False)

    def done(self) -> None:
        """Clear the progress line."""
        if self.enabled and self._shown:
            click.echo("\r\033[K", err=True, nl=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="podmortem")
def cli() -> None:
    """Find out why a Kubernetes workload crash-loops or won't start, with the evidence and the fix.

    Start with: podmortem diagnose BUNDLE (a directory, .tar.gz or .zip, e.g. the output of
    `kubectl cluster-info dump --output-directory DIR`), or podmortem diagnose pod.yaml --previous-logs prev.log.
    """


def _load(
    sources: tuple[str, ...], logs: tuple[str, ...], previous_logs: tuple[str, ...], progress: Progress
) -> Snapshot:
    try:
        return open_source(
            sources[0], more_paths=sources[1:], logs=logs, previous_logs=previous_logs, progress=progress
        )
    except SourceError as exc:
        fatal(str(exc))


@cli.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@click.option(
    "--logs",
    "logs",
    multiple=True,
    metavar="[POD/][CONTAINER=]FILE",
    help="Current log of a container (with manifests).",
)
@click.option(
    "--previous-logs",
    "previous_logs",
    multiple=True,
    metavar="[POD/][CONTAINER=]FILE",
    help="Previous log (kubectl logs --previous).",
)
@click.option(
    "--kubeconfig", default=None, metavar="FILE", help="Live: kubeconfig (default $KUBECONFIG, ~/.kube/config)."
)
@click.option("--context", default=None, help="Live: the kubeconfig context to use.")
@click.option(
    "--request-timeout", default=30.0, show_default=True, metavar="SECONDS", help="Live: per-request timeout."
)
@click.option(
    "--max-log-containers",
    default=50,
    show_default=True,
    help="Live: read logs of at most this many failing containers.",
)
@click.option(
    "--audit-log",
    "audit_logs",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="API server audit log (JSON lines) to attribute mutations to webhooks.",
)
@click.option("-n", "--namespace", default=None, help="Only this namespace.")
@click.option("-A", "--all-namespaces", is_flag=True, help="All namespaces (the default for bundles).")
@click.option("-l", "--selector", default=None, help="Only pods/workloads matching this label selector (a=b,c!=d,e).")
@click.option("-o", "--output", type=click.Choice([f.value for f in OutputFormat]), default="text", show_default=True)
@click.option(
    "--fail-on",
    type=click.Choice(list(FAIL_ON_LEVELS)),
    default="none",
    show_default=True,
    help="Exit 1 when a finding of at least this confidence exists.",
)
@click.option("--color/--no-color", default=None, help="Colour the text report (default: when a terminal).")
@click.option("-v", "--verbose", is_flag=True, help="Show the whole timeline of each finding.")
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
def diagnose(
    sources: tuple[str, ...],
    logs: tuple[str, ...],
    previous_logs: tuple[str, ...],
    kubeconfig: str | None,
    context: str | None,
    request_timeout: float,
    max_log_containers: int,
    audit_logs: tuple[str, ...],
    namespace: str | None,
    all_namespaces: bool,
    selector: str | None,
    output: str,
    fail_on: str,
    color: bool | None,
    verbose: bool,
    quiet: bool,
) -> None:
    """Diagnose failing workloads in SOURCE, or in the current kubeconfig context when no SOURCE is given.

    SOURCE is a bundle (a directory, .tar.gz or .zip; e.g. `kubectl cluster-info dump` output or a
    `podmortem collect` bundle), or pod manifests with --logs/--previous-logs. Live, -n defaults to the context's
    namespace and -A reads every namespace, as kubectl does; only get/list calls are made.
    """
    if namespace and all_namespaces:
        fatal("-n/--namespace and -A/--all-namespaces cannot be used together")
    if not sources and (logs or previous_logs):
        fatal("--logs and --previous-logs need pod manifests or a bundle as SOURCE")
    progress = Progress(not quiet and sys.stderr.isatty())
    # A run builds millions of small objects and frees few: the cyclic collector only costs time here.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if sources:
            snap = _load(sources, logs, previous_logs, progress)
        else:
            from podmortem.cli.cluster import LiveOptions  # bundles never need the HTTP client

            opts = LiveOptions(
                kubeconfig, context, namespace, all_namespaces, selector, request_timeout, max_log_containers
            )
            snap = _live(opts, progress)
            namespace = selector = None  # already applied by the API server
        for path in audit_logs:
            _add_audit(snap, path)
        try:
            snap = filter_snapshot(snap, namespace=namespace, selector=selector)
        except ValueError as exc:
            fatal(str(exc))
        report = run_diagnosis(snap, on_progress=lambda n, t: progress(f"diagnosing workloads {n}/{t}"))
    finally:
        if gc_was_enabled:
            gc.freeze()  # the snapshot lives to the end: never make the collector walk it
            gc.enable()
    progress.done()
    use_color = sys.stdout.isatty() if color is None else color
    click.echo(render(report, OutputFormat(output), color=use_color, verbose=verbose), nl=False)
    sys.exit(_exit_code(report, fail_on))


def _live(opts: Any, progress: Progress) -> Snapshot:
    from podmortem.cli.cluster import ClusterProblem, read_cluster
    from podmortem.sources.errors import SourceError as _SourceError

    try:
        return read_cluster(opts, os.environ, progress, plugin_stderr=lambda line: click.echo(line, err=True))
    except ClusterProblem as exc:
        fatal(str(exc), exc.code)
    except _SourceError as exc:  # a bad kubeconfig or a failing exec credential plugin
        fatal(str(exc))


def _add_audit(snap: Snapshot, path: str) -> None:
    try:
        with open(path, "rb") as fh:
            read = parse_audit_log(fh.read())
    except OSError as exc:
        fatal(f"cannot read audit log '{path}': {exc.strerror or exc}")
    if read.bad_lines:
        snap.warn(
            f"skipped {read.bad_lines} of {read.lines} lines of {path} that are not audit events ({read.first_problem})"
        )
    snap.audit_events.extend(read.events)


def _exit_code(report: Report, fail_on: str) -> int:
    threshold = FAIL_ON_LEVELS[fail_on]
    return EXIT_FAIL_ON if any(f.confidence >= threshold for f in report.findings) else EXIT_OK


@cli.command()
@click.argument("source", required=False, metavar="[SOURCE]")
@click.option(
    "-o", "--output", "out", required=True, metavar="PATH", help="Bundle to write: a new directory, or *.tar.gz."
)
@click.option(
    "--for",
    "for_workload",
    default=None,
    metavar="KIND/NS/NAME",
    help="Only what one failing workload's diagnosis needs (e.g. deployment/build-agents/azure-devops-agent).",
)
@click.option(
    "--kubeconfig", default=None, metavar="FILE", help="The kubeconfig (default: $KUBECONFIG, ~/.kube/config)."
)
@click.option("--context", default=None, help="The kubeconfig context to use.")
@click.option("-n", "--namespace", default=None, help="Only this namespace.")
@click.option("-A", "--all-namespaces", is_flag=True, help="All namespaces.")
@click.option("-l", "--selector", default=None, help="Only pods/workloads matching this label selector.")
@click.option("--request-timeout", default=30.0, show_default=True, metavar="SECONDS")
@click.option("--max-log-containers", default=50, show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress messages.")
def collect(
    source: str | None,
    out: str,
    for_workload: str | None,
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    all_namespaces: bool,
    selector: str | None,
    request_timeout: float,
    max_log_containers: int,
    quiet: bool,
) -> None:
    """Write a redacted support bundle that `podmortem diagnose` reads back.

    Reads the current kubeconfig context (or SOURCE, a bundle to narrow and redact), never Secrets, and masks
    sensitive values; manifest.json lists what was collected, what failed, what was masked, and a sha256 of
    every file.
    """
    from podmortem.bundle import select_for, write_bundle

    if namespace and all_namespaces:
        fatal("-n/--namespace and -A/--all-namespaces cannot be used together")
    progress = Progress(not quiet and sys.stderr.isatty())
    live_namespace = namespace
    if for_workload and not namespace and not all_namespaces:
        parts = for_workload.split("/")
        live_namespace = parts[-2] if len(parts) >= 2 else None  # KIND/NS/NAME or NS/NAME: read that namespace
    if source:
        try:
            snap = open_source(source, progress=progress)
            snap = filter_snapshot(snap, namespace=namespace, selector=selector)
        except (SourceError, ValueError) as exc:
            fatal(str(exc))
    else:
        from podmortem.cli.cluster import LiveOptions

        opts = LiveOptions(
            kubeconfig, context, live_namespace, all_namespaces, selector, request_timeout, max_log_containers
        )
        snap = _live(opts, progress)
    if for_workload:
        try:
            snap = select_for(snap, for_workload)
        except ValueError as exc:
            fatal(str(exc))
    try:
        manifest = write_bundle(snap, out, tool_version=__version__)
    except (OSError, ValueError) as exc:
        fatal(f"cannot write bundle '{out}': {exc}")
    progress.done()
    click.echo(_collect_summary(out, manifest))
    sys.exit(EXIT_OK)


def _collect_summary(out: str, manifest: Any) -> str:
    data = manifest if isinstance(manifest, dict) else getattr(manifest, "to_dict", lambda: {})()
    files = len(data.get("files", {})) if isinstance(data, dict) else 0
    red = data.get("redaction", {}).get("total", 0) if isinstance(data, dict) else 0
    warns = data.get("warnings", []) if isinstance(data, dict) else []
    line = f"wrote {out}: {files} files, {red} values masked"
    if warns:
        line += f", {len(warns)} warnings (see manifest.json)"
    return line


@cli.command()
def rbac() -> None:
    """Print the read-only ClusterRole, ServiceAccount and binding podmortem needs (kubectl apply -f -)."""
    from podmortem.bundle import rbac_yaml

    click.echo(rbac_yaml(), nl=False)


@cli.command(name="rules")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_rules(output: str) -> None:
    """List every rule: id, category and what it detects."""
    rules = all_rules()
    if output == "json":
        data = [{"id": r.id, "category": r.category, "title": r.title, "requires": r.requires} for r in rules]
        click.echo(json.dumps(data, indent=2))
        return
    width = max(len(r.id) for r in rules)
    for r in rules:
        click.echo(f"{r.id.ljust(width)}  {r.title}")


@cli.command()
@click.argument("rule_id", metavar="RULE")
@click.option("-o", "--output", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True)
def explain(rule_id: str, output: str) -> None:
    """Explain one rule: what it detects, why it breaks the workload, the evidence used, how to fix it."""
    rules = {r.id: r for r in all_rules()}
    r = rules.get(rule_id)
    if r is None:
        close = [rid for rid in rules if rule_id.split(".")[-1] in rid or rid.startswith(rule_id)]
        hint = f" Did you mean: {', '.join(close[:5])}?" if close else " Run `podmortem rules` for the list."
        fatal(f"unknown rule {rule_id!r}.{hint}")
    click.echo(_explain_text(r.id, r.catalog, output))


SECTIONS = (
    ("detects", "What it detects"),
    ("why", "Why it breaks the workload"),
    ("evidence", "Evidence used"),
    ("fix", "How to fix"),
    ("references", "References"),
)


def _explain_text(rule_id: str, cat: dict[str, Any], output: str) -> str:
    if output == "json":
        return json.dumps(cat, indent=2)
    docs = cat.get("docs", {}) if isinstance(cat.get("docs"), dict) else {}
    md = output == "markdown"
    lines = [f"# {rule_id}: {cat.get('title', '')}" if md else f"{rule_id} — {cat.get('title', '')}", ""]
    lines.append(f"Category: {cat.get('category', rule_id.split('.')[0])}   Status: {cat.get('status', '')}")
    lines.append("")
    for key, heading in SECTIONS:
        val = docs.get(key)
        if not val:
            continue
        lines.append(f"## {heading}" if md else heading)
        if isinstance(val, list):
            lines.extend(f"  - {v}" if not md else f"- {v}" for v in val)
        else:
            import textwrap

            for para in str(val).strip().split("\n\n"):
                lines.extend(
                    textwrap.wrap(" ".join(para.split()), 78, initial_indent="  ", subsequent_indent="  ")
                    if not md
                    else [" ".join(para.split())]
                )
                lines.append("")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    """Console entry point: turn unexpected errors into one line and exit code 2.

    The process ends with ``os._exit`` once output is flushed: freeing a large snapshot object by object
    would only add seconds at exit.
    """
    code: int = EXIT_OK
    try:
        cli.main(standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
        if isinstance(exc.code, str):
            click.echo(exc.code, err=True)
    except KeyboardInterrupt:
        click.echo("podmortem: interrupted", err=True)
        code = 130
    except Exception as exc:  # never a traceback for the user
        click.echo(f"podmortem: error: internal error: {type(exc).__name__}: {exc}", err=True)
        code = EXIT_USAGE
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, OSError):
        code = code or EXIT_OK
    os._exit(code)
