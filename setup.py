"""Build step that pyproject.toml cannot express: ship ``bundle_template/`` inside the wheel as ``dab_guard/_template``.

``dab-guard new`` renders that copy. The template stays at the repository's top level, where cookiecutter users find
it; an editable install reads it there directly. Everything else about the package is declared in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

TEMPLATE = Path(__file__).resolve().parent / "bundle_template"


class BuildPyWithTemplate(build_py):
    """build_py, plus a copy of the cookiecutter template as package data."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # dab_guard/new.py falls back to the checkout's bundle_template/
        target = Path(self.build_lib) / "dab_guard" / "_template"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(TEMPLATE, target, ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]"))


setup(cmdclass={"build_py": BuildPyWithTemplate})
