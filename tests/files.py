"""Writing a test's bundle files."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def write_files(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write ``files`` (path relative to ``root`` -> text, or bytes written as they are) under ``root``; return
    ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def write_dedented(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """:func:`write_files` for text written indented in the test: dedented, without its leading blank lines."""
    return write_files(root, {rel: _dedent(content) for rel, content in files.items()})


def _dedent(content: str | bytes) -> str | bytes:
    return content if isinstance(content, bytes) else textwrap.dedent(content).lstrip("\n")


def copy_project_source(destination: Path) -> Path:
    """What `pip install .` builds dab-guard from, copied to ``destination`` (the checkout stays untouched)."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(ROOT / name, destination / name)
    for folder in ("dab_guard", "bundle_template"):
        shutil.copytree(ROOT / folder, destination / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return destination
