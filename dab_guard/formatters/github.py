"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` annotation per finding.

``::error file=bundles/x/databricks.yml,line=12,col=9,title=DG101 access-mode::message``. File paths are relative to
the root of the git work tree that holds the bundle, which is where GitHub looks for them. Escaping follows GitHub's
rules for workflow commands: ``%``, carriage return and line feed in the message; those and ``:`` and ``,`` in
property values.
"""

from __future__ import annotations

from dab_guard.finding import Finding, Severity
from dab_guard.repo import RepoPaths
from dab_guard.result import Result

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding, file: str, several_targets: bool) -> str:
    properties = {
        "file": file,
        "line": str(finding.line),
        "col": str(finding.column),
        "title": f"{finding.rule} {finding.name}",
    }
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    message = finding.message
    if several_targets and finding.targets:
        message = f"{message} (targets: {', '.join(finding.targets)})"
    return f"::{COMMANDS[finding.severity]} {props}::{escape_data(message)}"


def render(result: Result, **_: object) -> str:
    paths = RepoPaths(result.bundle.root_dir)
    several = len(result.targets) > 1
    lines = [annotation(f, paths.relative(f.file), several) for f in result.findings]
    counts = result.summary()
    name = result.bundle_name or result.bundle.root_dir.name
    # A plain log line, but one built from names the bundle chose: escaped too, so that no line break in a target
    # name can start a workflow command of its own.
    summary = (
        f"dab-guard: {counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} info "
        f"(bundle {name}, targets {', '.join(result.targets)})"
    )
    lines.append(escape_data(summary))
    return "\n".join(lines) + "\n"
