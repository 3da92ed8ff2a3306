from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus"
REFERENCE = ROOT.parent / "shared" / "reference"


def load_script(path: Path) -> ModuleType:
    """A script of ``scripts/`` loaded as a module (scripts are not part of the package)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _no_bundle_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the caller's bundle variables or Databricks settings."""
    for key in list(os.environ):
        if key.startswith(("BUNDLE_VAR_", "DATABRICKS_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
