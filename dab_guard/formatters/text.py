"""``file:line:col: ID [severity] message (targets: ...)``, one line per finding, then a summary."""

from __future__ import annotations

from collections.abc import Sequence

from dab_guard.finding import Finding, Severity, shown_from
from dab_guard.result import Result

_COLORS = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_BOLD = "\033[1m"
_RESET = "\033[0m"


# A value quoted in a message (a YAML block scalar, a file name) may hold line breaks or terminal escapes: shown as
# escapes, a finding stays one line and cannot move the cursor, recolour or hide text in a terminal or a CI log.
_CONTROLS = {
    code: ({"\n": "\\n", "\r": "\\r"}.get(chr(code)) or f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    for code in (*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029)
}


def _one_line(text: str) -> str:
    return text.translate(_CONTROLS)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _finding_lines(findings: Sequence[Finding], several: bool, color: bool) -> list[str]:
    lines: list[str] = []
    for f in findings:
        where = f"{_one_line(f.file)}:{f.line}:{f.column}:"
        level = f"[{f.severity.label}]"
        rule = f.rule
        if color:
            where = f"{_BOLD}{where}{_RESET}"
            level = f"{_COLORS[f.severity]}{level}{_RESET}"
            rule = f"{_BOLD}{rule}{_RESET}"
        suffix = f" (targets: {', '.join(f.targets)})" if several else ""
        lines.append(f"{where} {rule} {level} {_one_line(f.message + suffix)}")
    return lines


def _counts(counts: dict[str, int]) -> str:
    return ", ".join([_plural(counts["error"], "error"), _plural(counts["warning"], "warning"), _plural(counts["info"], "info")])


def _scope(result: Result) -> str:
    name = result.bundle_name or result.bundle.root_dir.name
    several = len(result.targets) > 1
    return _one_line(f"bundle {name}, target{'s' if several else ''} {', '.join(result.targets)}")


def render(result: Result, color: bool = False, **_: object) -> str:
    lines = _finding_lines(result.findings, len(result.targets) > 1, color)
    if not result.findings:
        lines.append(f"No problems found ({_scope(result)}).")
    else:
        lines.append(f"Found {_counts(result.summary())} ({_scope(result)}).")
    return "\n".join(lines) + "\n"


def render_many(results: Sequence[tuple[str, Result]], color: bool = False, **_: object) -> str:
    """Each bundle's findings (files shown from the working directory), a line per bundle, then the total."""
    lines: list[str] = []
    total = {"error": 0, "warning": 0, "info": 0}
    for folder, result in results:
        findings = [shown_from(folder, f) for f in result.findings]
        lines.extend(_finding_lines(findings, len(result.targets) > 1, color))
    for folder, result in results:
        counts = result.summary()
        for key, count in counts.items():
            total[key] += count
        verdict = f"{_counts(counts)}" if result.findings else "no problems"
        lines.append(f"{_one_line(folder)}: {verdict} ({_scope(result)})")
    lines.append(f"Checked {_plural(len(results), 'bundle')}: {_counts(total)}.")
    return "\n".join(lines) + "\n"
