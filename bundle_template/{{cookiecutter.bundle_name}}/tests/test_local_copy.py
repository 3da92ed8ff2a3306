"""log_model.py copies the deployed source to a local folder before importing from it: that logic, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

import log_model

SRC = Path(log_model.__file__).resolve().parent  # fine in a test; the job scripts themselves never use __file__


def make_tree(root: Path) -> None:
    (root / "probe_pkg").mkdir(parents=True)
    (root / "main.py").write_text("VALUE = 1\n")
    (root / "probe_pkg" / "__init__.py").write_text("")
    (root / "probe_pkg" / "helper.py").write_text("def helper():\n    return 2\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "main.cpython-312.pyc").write_bytes(b"\0")


def test_copy_source_copies_the_tree_without_caches(tmp_path: Path) -> None:
    workspace, local = tmp_path / "workspace" / "src", tmp_path / "local"
    make_tree(workspace)

    assert log_model.copy_source(str(workspace), str(local)) == str(local)

    assert (local / "main.py").read_text() == "VALUE = 1\n"
    assert (local / "probe_pkg" / "helper.py").is_file()
    assert not (local / "__pycache__").exists()


def test_copy_source_replaces_an_earlier_copy(tmp_path: Path) -> None:
    workspace, local = tmp_path / "workspace", tmp_path / "local"
    make_tree(workspace)
    local.mkdir()
    (local / "stale.py").write_text("OLD = True\n")

    log_model.copy_source(str(workspace), str(local))

    assert not (local / "stale.py").exists()
    assert (local / "main.py").is_file()


def test_copied_modules_import_from_the_local_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace, local = tmp_path / "workspace", tmp_path / "local_copy_probe"
    make_tree(workspace)
    log_model.copy_source(str(workspace), str(local))
    monkeypatch.syspath_prepend(str(local))

    import probe_pkg.helper  # type: ignore[import-not-found]

    assert probe_pkg.helper.helper() == 2
    assert Path(probe_pkg.helper.__file__).resolve().is_relative_to(local.resolve())


def test_missing_source_folder_stops_with_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="deploy the bundle first"):
        log_model.copy_source(str(tmp_path / "nowhere"), str(tmp_path / "local"))


def test_every_code_path_the_model_needs_exists() -> None:
    for name in log_model.CODE_FILES:
        assert (SRC / name).exists(), name


def test_job_parameters_parse() -> None:
    required = ["--source-dir", "/Workspace/x/src", "--local-dir", "/tmp/x", "--catalog", "c", "--schema", "s"]
    args = log_model.parse_args(
        [*required, "--model-name", "m"{% if cookiecutter.model_kind == "agent" %}, "--llm-endpoint", "endpoint"{% endif %}]
    )
    assert (args.catalog, args.schema, args.model_name) == ("c", "s", "m")
    assert args.experiment_id is None
