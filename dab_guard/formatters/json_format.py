"""The JSON report: the contract other tools build on (``version`` 1)."""

from __future__ import annotations

import json

from dab_guard.engine import Result


def render(result: Result, **_: object) -> str:
    report = {
        "version": 1,
        "bundle": result.bundle_name,
        "targets": result.targets,
        "findings": [f.to_dict() for f in result.findings],
        "summary": result.summary(),
    }
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"
