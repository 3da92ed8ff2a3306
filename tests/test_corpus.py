"""Thirty real bundles from public repositories load in every target without a crash (skipped when absent)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dab_guard.bundle.loader import load_bundle
from dab_guard.cli import main
from tests.conftest import CORPUS

BUNDLES = sorted(p for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []

pytestmark = pytest.mark.skipif(not BUNDLES, reason=f"no corpus at {CORPUS}")


@pytest.mark.parametrize("bundle", BUNDLES, ids=[p.name[:40] for p in BUNDLES])
def test_bundle_loads_in_every_target(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(bundle), "--format", "json"])
    out, err = capsys.readouterr()
    assert code in (0, 1), err
    assert "Traceback" not in err and err == ""
    report = json.loads(out)
    assert report["targets"] == load_bundle(bundle).target_names()
    for finding in report["findings"]:
        assert finding["line"] >= 1 and finding["column"] >= 1
        assert not Path(finding["file"]).is_absolute()
        assert set(finding["targets"]) <= set(report["targets"])


@pytest.mark.parametrize("bundle", BUNDLES, ids=[p.name[:40] for p in BUNDLES])
def test_each_target_alone(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for target in load_bundle(bundle).target_names():
        code = main(["validate", str(bundle), "-t", target, "--format", "json"])
        out, err = capsys.readouterr()
        assert code in (0, 1), f"{target}: {err}"
        assert json.loads(out)["targets"] == [target]
