"""Write every finding dab-guard gives on a set of bundles, one line each, so two versions can be compared.

    python scripts/findings_snapshot.py ../shared/corpus tests/fixtures > after.txt
    python scripts/findings_snapshot.py --counts ../shared/corpus

Each folder given is searched for bundles (a ``databricks.yml``); each bundle is validated in every target, offline,
with its own settings, the way ``dab-guard validate --format json`` reports it. A line is
``bundle<TAB>target<TAB>rule<TAB>severity<TAB>file:line:col<TAB>message``; ``--counts`` prints findings per rule and
severity instead. The output is sorted, so ``diff`` shows exactly what changed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

from dab_guard.cli import main as dab_guard

_SKIPPED = {".git", ".venv", "venv", "node_modules", ".databricks", "__pycache__"}


def bundles_below(folder: Path) -> list[Path]:
    found: list[Path] = []
    for config in sorted(folder.rglob("databricks.yml")):
        if _SKIPPED.isdisjoint(config.relative_to(folder).parts):
            found.append(config.parent)
    return found


def findings(bundle: Path) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        written = Path(folder) / "report.json"
        errors = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(errors):
            status = dab_guard(["validate", str(bundle), "--format", "json", "-j", "1", "--output", str(written)])
        if not written.is_file():
            return [f"{bundle}\t-\t-\t-\t-\texit {status}: {errors.getvalue().strip()[:300]}"]
        report = json.loads(written.read_text(encoding="utf-8"))
    lines: list[str] = []
    for finding in report.get("findings", []):
        where = f"{finding.get('file')}:{finding.get('line')}:{finding.get('column')}"
        targets = finding.get("targets") or [finding.get("target", "-")]
        lines.append("\t".join([str(bundle), ",".join(map(str, targets)), finding.get("rule", "-"),
                                finding.get("severity", "-"), where, finding.get("message", "")]))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--counts", action="store_true", help="findings per rule and severity")
    args = parser.parse_args(argv)
    lines = sorted(line for folder in args.folders for bundle in bundles_below(folder) for line in findings(bundle))
    if args.counts:
        counts = Counter((line.split("\t")[2], line.split("\t")[3]) for line in lines)
        for (rule, severity), count in sorted(counts.items()):
            print(f"{rule}\t{severity}\t{count}")
        print(f"total\t\t{len(lines)}")
    else:
        sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
