"""``file:line:col: ID [severity] message (targets: ...)``, one line per finding, then a summary."""

from __future__ import annotations

from dab_guard.engine import Result
from dab_guard.finding import Severity

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


def render(result: Result, color: bool = False, **_: object) -> str:
    lines: list[str] = []
    several = len(result.targets) > 1
    for f in result.findings:
        where = f"{_one_line(f.file)}:{f.line}:{f.column}:"
        level = f"[{f.severity.label}]"
        rule = f.rule
        if color:
            where = f"{_BOLD}{where}{_RESET}"
            level = f"{_COLORS[f.severity]}{level}{_RESET}"
            rule = f"{_BOLD}{rule}{_RESET}"
        suffix = f" (targets: {', '.join(f.targets)})" if several else ""
        lines.append(f"{where} {rule} {level} {_one_line(f.message + suffix)}")
    counts = result.summary()
    name = result.bundle_name or result.bundle.root_dir.name
    scope = f"bundle {name}, target{'s' if several else ''} {', '.join(result.targets)}"
    scope = _one_line(scope)
    if not result.findings:
        lines.append(f"No problems found ({scope}).")
    else:
        parts = [_plural(counts["error"], "error"), _plural(counts["warning"], "warning"), _plural(counts["info"], "info")]
        lines.append(f"Found {', '.join(parts)} ({scope}).")
    return "\n".join(lines) + "\n"
