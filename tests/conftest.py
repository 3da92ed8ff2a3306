from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus"
REFERENCE = ROOT.parent / "shared" / "reference"


@pytest.fixture(autouse=True)
def _no_bundle_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the caller's bundle variables or Databricks settings."""
    for key in list(os.environ):
        if key.startswith(("BUNDLE_VAR_", "DATABRICKS_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
