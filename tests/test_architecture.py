"""Imports point down only: the layers of docs/architecture.md, checked against every import of the package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import ROOT

PACKAGE = ROOT / "dab_guard"
ARCHITECTURE = ROOT / "docs" / "architecture.md"
_ROW = re.compile(r"^\|\s*([a-z]+)\s*\|([^|]*)\|([^|]*)\|\s*$")


def layer_table() -> tuple[dict[str, str], dict[str, set[str]]]:
    """From the table in docs/architecture.md: module prefix -> layer, and layer -> the layers it may import."""
    prefixes: dict[str, str] = {}
    allowed: dict[str, set[str]] = {}
    for line in ARCHITECTURE.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if not match or match.group(1) == "layer":
            continue
        layer = match.group(1)
        for name in re.findall(r"`([\w.]+)`", match.group(2)):
            prefixes["dab_guard" if name == "dab_guard" else f"dab_guard.{name}"] = layer
        allowed[layer] = {part.strip() for part in match.group(3).split(",") if part.strip()}
    return prefixes, allowed


def modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports, anywhere in it (functions and TYPE_CHECKING blocks too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            for alias in node.names:
                submodule = f"{module}.{alias.name}"
                found.add(submodule if submodule in known else module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if called in ("import_module", "__import__") and node.args[0].value.startswith("dab_guard"):
                found.add(node.args[0].value)  # importlib.import_module("dab_guard.engine") is an import too
    return {m for m in found if m in known and m != name}


def layer_of(name: str, prefixes: dict[str, str]) -> str | None:
    best = max((p for p in prefixes if name == p or name.startswith(p + ".")), key=len, default=None)
    return prefixes[best] if best is not None else None


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_the_table_places_every_module() -> None:
    prefixes, allowed = layer_table()
    assert set(allowed) >= {"values", "bundle", "python", "analysis", "rules", "engine", "app"}
    unplaced = [name for name in modules() if layer_of(name, prefixes) is None]
    assert unplaced == [], f"add these modules to a layer of docs/architecture.md: {unplaced}"
    for layer, below in allowed.items():
        assert below <= set(allowed), f"{layer} may import an unknown layer: {below - set(allowed)}"


def test_imports_point_down_only() -> None:
    prefixes, allowed = layer_table()
    upward = []
    for name, targets in graph().items():
        layer = layer_of(name, prefixes)
        assert layer is not None
        for target in sorted(targets):
            target_layer = layer_of(target, prefixes)
            if target_layer != layer and target_layer not in allowed[layer]:
                upward.append(f"{name} ({layer}) imports {target} ({target_layer})")
    assert upward == [], "imports that point up or sideways:\n" + "\n".join(upward)


def test_no_import_circle() -> None:
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    assert circles == []


def test_only_the_command_line_is_the_face() -> None:
    importers = [name for name, targets in graph().items() if "dab_guard.cli" in targets]
    assert importers == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    """The walk finds imports where they hide: inside a function, under TYPE_CHECKING, relative ones."""
    known = {"dab_guard.bundle.loader": tmp_path / "loader.py", "dab_guard.engine": tmp_path / "engine.py", "dab_guard.bundle.located": tmp_path / "located.py"}
    source = known["dab_guard.bundle.loader"]
    source.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from dab_guard.engine import Run\n"
        "def f():\n    from . import located\n    importlib.import_module('dab_guard.engine')\n",
        encoding="utf-8",
    )
    found = imports("dab_guard.bundle.loader", source, known)
    assert found == {"dab_guard.engine", "dab_guard.bundle.located"}
    prefixes, allowed = layer_table()
    assert layer_of("dab_guard.engine", prefixes) not in allowed[str(layer_of("dab_guard.bundle.loader", prefixes))]


def test_the_engine_hands_the_loader_the_credential_prescan(tmp_path: Path) -> None:
    """A file with no scalar that could be a credential is marked so by the loader the engine calls (the scanner
    then skips it); without the pre-scan every file would be scanned."""
    from dab_guard.engine import validate
    from tests.files import write_files

    bundle = write_files(
        tmp_path,
        {
            "databricks.yml": "bundle:\n  name: b\ninclude:\n  - resources/*.yml\n",
            "resources/clean.yml": "resources:\n  jobs:\n    j:\n      name: j\n",
            "resources/token.yml": "variables:\n  api_token:\n    default: dapi0123456789abcdef0123456789abcdef\n",
        },
    )
    files = validate(bundle).bundle.files
    assert files["resources/clean.yml"].doc.may_hold_secrets is False
    assert files["resources/token.yml"].doc.may_hold_secrets is True
