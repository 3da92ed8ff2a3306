"""Fast paths never change findings: libyaml versus the pure-Python reader, sharing between targets on and off, and
the shortcuts the reader takes, on every fixture and corpus bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dab_guard.bundle import yamlread
from dab_guard.config import load_settings
from dab_guard.engine import validate
from tests.conftest import CORPUS, FIXTURES
from tests.expectations import all_fixtures

BUNDLES = all_fixtures(FIXTURES) + (sorted(p for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else [])


def _findings(bundle: Path) -> list[tuple[object, ...]]:
    result = validate(bundle, settings=load_settings(bundle))
    # The two parsers word a syntax error differently; where and what it is must agree.
    return [
        (f.file, f.line, f.column, f.rule, f.severity, "invalid YAML" if f.message.startswith("invalid YAML:") else f.message, f.path, f.targets)
        for f in result.findings
    ]


@pytest.mark.skipif(not yamlread.HAVE_LIBYAML, reason="PyYAML was built without libyaml")
@pytest.mark.parametrize("bundle", BUNDLES, ids=[f"{p.parent.name}/{p.name}" for p in BUNDLES])
def test_libyaml_and_pure_python_readers_give_identical_findings(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _findings(bundle)
    monkeypatch.setattr(yamlread, "HAVE_LIBYAML", False)
    slow = _findings(bundle)
    assert fast == slow


def _entries(node: object, path: tuple[str | int, ...] = ()) -> list[tuple[object, str, tuple[str | int, ...]]]:
    from dab_guard.bundle.located import YMap, YSeq

    out: list[tuple[object, str, tuple[str | int, ...]]] = []
    if isinstance(node, YMap):
        for key, value in node.items():
            out.append((node, key, (*path, key)))
            out.extend(_entries(value, (*path, key)))
    elif isinstance(node, YSeq):
        for index, value in enumerate(node):
            out.extend(_entries(value, (*path, index)))
    return out


@pytest.mark.parametrize("bundle", BUNDLES, ids=[f"{p.parent.name}/{p.name}" for p in BUNDLES])
def test_the_file_of_a_value_is_the_file_its_path_locates(bundle: Path) -> None:
    from dab_guard.bundle.located import file_at, file_of

    result = validate(bundle, settings=load_settings(bundle))
    for target in result.resolved.values():
        for container, key, path in _entries(target.config):
            known = file_of(container, key)  # type: ignore[arg-type]
            if known is not None:
                assert known == file_at(target.config, path), path


@pytest.mark.parametrize("bundle", BUNDLES, ids=[f"{p.parent.name}/{p.name}" for p in BUNDLES])
def test_a_file_the_reader_clears_of_credentials_has_none(bundle: Path) -> None:
    from dab_guard.bundle.loader import BundleError, load_bundle
    from dab_guard.secrets import could_take_part, find_secrets

    try:
        loaded = load_bundle(bundle, None, prescan=could_take_part)
    except BundleError:
        return
    for source in loaded.files.values():
        if not source.doc.may_hold_secrets:
            assert find_secrets(source.doc.value) == [], source.rel


@pytest.mark.parametrize(
    ("text", "holds"),
    [
        ("a:\n  b: plain\n  task_key: x\n", False),
        ("a:\n  db_password: hunter22\n", True),
        ("a:\n  - --token\n  - abc123\n", True),
        ("a:\n  - api_key=abc123\n", True),
        ("a:\n  - name: HF_TOKEN\n    value: abc123\n", True),
        ("a:\n  host: https://user:pw@example.com\n", True),
        ("variables:\n  openai_api_key:\n    default: sk-x\n", True),
    ],
)
def test_the_reader_notes_which_files_may_hold_credentials(text: str, holds: bool) -> None:
    from dab_guard.secrets import could_take_part

    assert yamlread.read_yaml(text, "f.yml", prescan=could_take_part).may_hold_secrets is holds


def _everything(bundle: Path) -> tuple[object, ...]:
    """Findings (every field, targets included) and fixes of a run, or the error that stopped it."""
    try:
        result = validate(bundle, settings=load_settings(bundle), fixes=True)
    except Exception as exc:  # a fixture of unusable input: the same error either way
        return ("error", type(exc).__name__, str(exc))
    return (tuple(result.findings), tuple((f.finding, f.target, f.fix) for f in result.fixes))


@pytest.mark.parametrize("bundle", BUNDLES, ids=[f"{p.parent.name}/{p.name}" for p in BUNDLES])
def test_sharing_between_targets_never_changes_findings(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    from dab_guard import engine
    from dab_guard.cache import per_object
    from dab_guard.schema.validate import SchemaChecker

    shared = _everything(bundle)
    # Off: targets share no resolved value, the schema pre-check keeps no verdict, and every task's program and
    # every referenced path is worked out again.
    monkeypatch.setattr(engine, "SharedSubstitutions", lambda: None)
    monkeypatch.setattr(SchemaChecker, "remembering", lambda self, memo: contextlib.nullcontext())

    def unshared(owner: object, kind: str, build: Any) -> Any:
        return build() if kind in ("programs", "path-problems") else per_object(owner, kind, build)

    from dab_guard.jobs import program
    from dab_guard.rules import jobs

    monkeypatch.setattr(program, "per_object", unshared)
    monkeypatch.setattr(jobs, "per_object", unshared)
    assert _everything(bundle) == shared
