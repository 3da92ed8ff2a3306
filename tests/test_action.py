"""The composite GitHub Action (action.yml): it parses, declares its inputs, and uses only what it declares."""

from __future__ import annotations

import re
from typing import Any

import yaml

from dab_guard.formatters import FORMATTERS
from tests.conftest import ROOT

ACTION_FILE = ROOT / "action.yml"
INPUT_RE = re.compile(r"\binputs\.([A-Za-z0-9_-]+)")
STEP_OUTPUT_RE = re.compile(r"\bsteps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)")


def _action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION_FILE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_action_is_a_composite_action_with_the_documented_inputs() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    assert {"path", "target", "format", "version", "fail-on"} <= set(action["inputs"])
    for name, spec in action["inputs"].items():
        assert spec.get("description"), f"input {name} has no description"
    for step in action["runs"]["steps"]:
        assert "uses" in step or step.get("shell"), f"a composite run step needs a shell: {step}"


def test_steps_reference_only_declared_inputs_and_existing_step_outputs() -> None:
    action = _action()
    text = ACTION_FILE.read_text(encoding="utf-8")
    used = set(INPUT_RE.findall(text))
    assert used, "the action reads its inputs"
    assert used <= set(action["inputs"]), used - set(action["inputs"])
    step_ids = {step.get("id") for step in action["runs"]["steps"]}
    for step_id, _ in STEP_OUTPUT_RE.findall(text):
        assert step_id in step_ids, f"steps.{step_id} is not a step of the action"


def test_inputs_reach_scripts_through_env_not_template_expansion() -> None:
    # `${{ inputs.x }}` inside a `run:` script is expanded before the shell sees it (script injection).
    for step in _action()["runs"]["steps"]:
        assert "${{ inputs." not in step.get("run", ""), step.get("name")


def test_action_installs_dab_guard_validates_and_uploads_sarif() -> None:
    action = _action()
    steps = action["runs"]["steps"]
    scripts = "\n".join(step.get("run", "") for step in steps)
    assert "pip install" in scripts and "dab-guard==$VERSION" in scripts and "$GITHUB_ACTION_PATH" in scripts
    assert '"$DAB_GUARD" "${args[@]}"' in scripts and "validate" in scripts
    assert "--strict" in scripts, "fail-on: warning maps to --strict"
    upload = [s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/upload-sarif@")]
    assert len(upload) == 1 and "inputs.format == 'sarif'" in upload[0]["if"]
    described = action["inputs"]["format"]["description"]
    for fmt in FORMATTERS:
        assert fmt in described, f"format {fmt} is not described"
