"""The JSON report: the contract other tools build on.

``version`` 1 is one bundle's report. ``version`` 2 is the report of several bundles checked in one run: ``bundles``
holds each one's ``path`` (its folder, relative to the working directory), ``bundle``, ``targets``, ``findings``
(files relative to the working directory) and ``summary``, and ``summary`` adds them up.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from dab_guard.finding import shown_from
from dab_guard.result import Result


def render(result: Result, **_: object) -> str:
    report = {
        "version": 1,
        "bundle": result.bundle_name,
        "targets": result.targets,
        "findings": [f.to_dict() for f in result.findings],
        "summary": result.summary(),
    }
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def render_many(results: Sequence[tuple[str, Result]]) -> str:
    bundles = []
    total = {"error": 0, "warning": 0, "info": 0}
    for folder, result in results:
        summary = result.summary()
        for key, count in summary.items():
            total[key] += count
        bundles.append(
            {
                "path": folder,
                "bundle": result.bundle_name,
                "targets": result.targets,
                "findings": [shown_from(folder, f).to_dict() for f in result.findings],
                "summary": summary,
            }
        )
    return json.dumps({"version": 2, "bundles": bundles, "summary": total}, indent=2, ensure_ascii=False) + "\n"
