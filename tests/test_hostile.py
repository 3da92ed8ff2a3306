"""Hostile and broken input (issue 8): every input gets findings or one clear line and a documented exit status,
within bounded time and memory, never a traceback, and nothing in the bundle is ever executed."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dab_guard.bundle import loader, yamlread
from dab_guard.cli import main
from tests.conftest import CORPUS, FIXTURES, ROOT
from tests.files import write_dedented

# --- helpers -----------------------------------------------------------------------------------------------------

HEAD = "bundle:\n  name: hostile\nworkspace:\n  host: https://example.cloud.databricks.com\n"

# Bounded time is shown by what the run does not do (read, expand, parse: the memory it never takes, the finding that
# stops it) and guarded against hangs with a deadline no loaded CI machine comes near. Speed is measured with the
# benchmark (bench/), never asserted here.
HANG_GUARD = 120.0


class Hung(BaseException):
    """Raised in a run that outlived its hang guard (not an Exception, so dab-guard's last-resort handler lets it by)."""


@contextlib.contextmanager
def hang_guard(seconds: float = HANG_GUARD) -> Iterator[None]:
    """Fail the test, rather than hang it, when the body is still running after ``seconds``."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum: int, frame: object) -> None:
        raise Hung(f"still running after {seconds:.0f} s: a hang or unbounded work")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check(capsys: pytest.CaptureFixture[str], root: Path, *options: str) -> tuple[int, dict[str, Any], str]:
    """Run `dab-guard validate ROOT --format json`; the exit status, the parsed report and stderr."""
    code = main(["validate", str(root), "--format", "json", *options])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, (json.loads(out) if out else {}), err


def check_peak_memory(capsys: pytest.CaptureFixture[str], root: Path) -> tuple[int, dict[str, Any], int]:
    """:func:`check` under the hang guard; the exit status, the parsed report and the peak of traced memory."""
    tracemalloc.start()
    try:
        with hang_guard():
            code, report, _ = check(capsys, root)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return code, report, peak


def rules_at(report: dict[str, Any], rule: str) -> list[tuple[str, int, int]]:
    return [(f["file"], f["line"], f["column"]) for f in report["findings"] if f["rule"] == rule]


def messages(report: dict[str, Any], rule: str) -> list[str]:
    return [f["message"] for f in report["findings"] if f["rule"] == rule]


@contextlib.contextmanager
def pure_python_yaml(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Read YAML with PyYAML's pure-Python parser, as on a machine without libyaml."""
    monkeypatch.setattr(yamlread, "HAVE_LIBYAML", False)
    yield


@pytest.fixture(params=["libyaml", "pure-python"])
def yaml_parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "libyaml" and not yamlread.HAVE_LIBYAML:
        pytest.skip("PyYAML was built without libyaml")
    if request.param == "pure-python":
        monkeypatch.setattr(yamlread, "HAVE_LIBYAML", False)
    return str(request.param)


# --- YAML --------------------------------------------------------------------------------------------------------


def billion_laughs(levels: int = 10) -> str:
    lines = [HEAD.rstrip("\n"), 'x-l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"x-l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_a_finding_found_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str], yaml_parser: str) -> None:
    write_dedented(tmp_path, {"databricks.yml": billion_laughs()})  # 9**10 = 3.4 billion strings once expanded
    code, report, peak = check_peak_memory(capsys, tmp_path)
    assert code == 1
    assert any("alias bomb" in m and "max-nodes" in m for m in messages(report, "DG001"))
    assert peak < 50 * 1024 * 1024  # caught before expanding: the values were never built


def test_an_alias_cycle_is_a_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str], yaml_parser: str) -> None:
    write_dedented(tmp_path, {"databricks.yml": HEAD + "x-loop: &loop\n  again: *loop\n"})
    code, report, _ = check(capsys, tmp_path)
    assert code == 1
    assert any("cycle" in m for m in messages(report, "DG001"))


def test_the_alias_limit_is_configurable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(tmp_path, {"databricks.yml": billion_laughs(levels=3)})  # 9**3 = 729 values after expansion
    assert check(capsys, tmp_path, "--select", "DG001")[0] == 0
    write_dedented(tmp_path, {"pyproject.toml": "[tool.dab-guard.limits]\nmax-nodes = 500\n"})
    code, report, _ = check(capsys, tmp_path, "--select", "DG001")
    assert code == 1 and any("more than 500 values" in m for m in messages(report, "DG001"))


@pytest.mark.parametrize(
    "shape",
    [
        pytest.param(lambda n: "x: " + "[" * n + "]" * n + "\n", id="flow-sequences"),
        pytest.param(lambda n: "x: " + "{a: " * n + "1" + "}" * n + "\n", id="flow-mappings"),
        pytest.param(lambda n: "x:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(n)), id="block-mappings"),
        pytest.param(lambda n: "x:\n  " + "- " * n + "deep\n", id="block-sequences"),
    ],
)
def test_nesting_10000_deep_is_a_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], yaml_parser: str, shape: Any
) -> None:
    write_dedented(tmp_path, {"databricks.yml": HEAD + shape(10_000)})
    code, report, _ = check(capsys, tmp_path)
    assert code == 1
    assert rules_at(report, "DG001"), report


def test_the_depth_limit_is_configurable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(tmp_path, {"databricks.yml": HEAD + "x: " + "[" * 30 + "]" * 30 + "\n"})
    assert check(capsys, tmp_path, "--select", "DG001")[0] == 0
    write_dedented(tmp_path, {".dab-guard.toml": "[limits]\nmax-depth = 20\n"})
    code, report, _ = check(capsys, tmp_path, "--select", "DG001")
    assert code == 1 and any("deeper than 20 levels" in m for m in messages(report, "DG001"))


def _huge(path: Path, size: int) -> None:
    """A file of ``size`` bytes that costs no disk: a sparse file, so only its size is real."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(HEAD.encode())
        handle.truncate(size)


@pytest.mark.parametrize("where", ["databricks.yml", "resources/huge.yml"])
def test_a_50_mb_file_is_a_finding_without_being_read(tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str) -> None:
    write_dedented(tmp_path, {"databricks.yml": HEAD + "include:\n  - resources/*.yml\n"})
    _huge(tmp_path / where, 50 * 1024 * 1024)
    code, report, peak = check_peak_memory(capsys, tmp_path)
    assert code == 1
    assert rules_at(report, "DG001") == [(where, 1, 1)]
    assert "max-file-bytes" in messages(report, "DG001")[0]
    assert peak < 20 * 1024 * 1024  # the 50 MB were never read into memory


def test_the_file_size_limit_is_configurable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(tmp_path, {"databricks.yml": HEAD, "pyproject.toml": "[tool.dab-guard.limits]\nmax-file-bytes = 20\n"})
    code, report, _ = check(capsys, tmp_path)
    assert code == 1 and rules_at(report, "DG001") == [("databricks.yml", 1, 1)]


def _peak_memory_run(argv: list[str]) -> tuple[int, str, int]:
    """Run dab-guard in a fresh interpreter: exit status, stdout, and the process's peak resident memory in bytes."""
    probe = (
        "import resource, sys\n"
        "from dab_guard.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "sys.stdout.flush()\n"
        "sys.stderr.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, env=env, timeout=HANG_GUARD, text=True)
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is in bytes on macOS, kilobytes elsewhere
    return done.returncode, done.stdout, int(done.stderr.strip().splitlines()[-1]) * scale


@pytest.mark.skipif(os.name != "posix", reason="peak memory through the resource module")
def test_a_file_full_of_tiny_values_is_bounded(tmp_path: Path) -> None:
    # 15 MiB of "1," is 7.8 million values: composing them all would take gigabytes and tens of seconds.
    write_dedented(tmp_path, {"databricks.yml": HEAD + "x: [" + "1," * (15 * 1024 * 1024 // 2) + "1]\n"})
    code, out, peak = _peak_memory_run(["validate", str(tmp_path), "--format", "json"])
    assert code == 1 and any("more than 1000000 values" in m for m in messages(json.loads(out), "DG001"))
    assert peak < 400 * 1024 * 1024, f"{peak / 2**20:.0f} MiB"


@pytest.mark.parametrize(
    ("content", "line", "column"),
    [
        pytest.param(b"bundle:\n  name: x\nbad: \x00\x01\x02\n", 3, 1, id="nul-bytes"),
        pytest.param(b"bundle:\n  name: caf\xc3\xa9\n  x: ab\xffcd\n", 3, 8, id="invalid-utf8"),
        pytest.param(bytes(range(256)) * 4, 2, 118, id="binary"),  # 0x80 follows the 0x0a at offset 10
    ],
)
def test_bytes_that_are_not_yaml_text_are_a_finding_with_a_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, line: int, column: int
) -> None:
    write_dedented(tmp_path, {"databricks.yml": HEAD + "include:\n  - bad.yml\n", "bad.yml": content})
    code, report, _ = check(capsys, tmp_path)
    assert code == 1
    assert ("bad.yml", line, column) in rules_at(report, "DG001"), report["findings"]


def test_a_root_file_that_is_not_utf8_is_a_finding_not_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(tmp_path, {"databricks.yml": b"bundle:\n  name: \xff\n"})
    code, report, _ = check(capsys, tmp_path)
    assert code == 1 and rules_at(report, "DG001") == [("databricks.yml", 2, 9)]


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda text: b"\xef\xbb\xbf" + text.encode(), id="utf8-bom"),
        pytest.param(lambda text: text.replace("\n", "\r\n").encode(), id="crlf"),
        pytest.param(lambda text: text.encode("utf-16"), id="utf16-bom"),
    ],
)
def test_bom_crlf_and_utf16_read_as_the_cli_reads_them(tmp_path: Path, capsys: pytest.CaptureFixture[str], encode: Any) -> None:
    text = HEAD + "resources:\n  jobs:\n    train:\n      name: train\n      tasks:\n        - task_key: a\n          depends_on: [{task_key: nope}]\n"
    write_dedented(tmp_path / "plain", {"databricks.yml": text.encode()})
    write_dedented(tmp_path / "encoded", {"databricks.yml": encode(text)})
    _, plain, _ = check(capsys, tmp_path / "plain")
    _, encoded, _ = check(capsys, tmp_path / "encoded")
    assert not rules_at(encoded, "DG001")
    # The same findings at the same positions: the byte order mark and the carriage returns change nothing.
    assert rules_at(encoded, "DG008") == rules_at(plain, "DG008") == [("databricks.yml", 11, 35)]
    assert encoded["findings"] == plain["findings"]


def test_tabs_for_indentation_are_a_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(tmp_path, {"databricks.yml": "bundle:\n\tname: tabs\n"})
    code, report, _ = check(capsys, tmp_path)
    assert code == 1 and rules_at(report, "DG001") == [("databricks.yml", 2, 1)]
    assert "tabs" in messages(report, "DG001")[0]


@pytest.mark.parametrize("content", ["", "\n\n# only a comment\n", "---\n"])
def test_an_empty_root_file_is_no_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str) -> None:
    write_dedented(tmp_path, {"databricks.yml": content})
    code, report, err = check(capsys, tmp_path)
    assert code in (0, 1) and report["targets"] == ["default"] and err == ""


@pytest.mark.parametrize("content", ["- a\n- b\n", "just a scalar\n", "42\n", "[1, 2]\n"])
def test_a_root_that_is_a_list_or_a_scalar_is_a_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str) -> None:
    write_dedented(tmp_path, {"databricks.yml": content})
    code, report, _ = check(capsys, tmp_path)
    assert code == 1 and rules_at(report, "DG002") == [("databricks.yml", 1, 1)]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("variables:\n  id:\n    default: !Ref ClusterId\n", 7, id="custom-scalar-tag"),
        pytest.param("x: !GetAtt\n  - a\n  - b\n", 5, id="custom-sequence-tag"),
        pytest.param("x: !!python/object/apply:os.system ['touch {marker}']\n", 5, id="python-apply-sequence"),
        pytest.param("x: !!python/object/apply:os.system\n  args: ['touch {marker}']\n", 5, id="python-apply-mapping"),
        pytest.param("x: !!python/name:os.system ''\n", 5, id="python-name"),
        pytest.param("x: !!python/object/new:subprocess.Popen [['touch', '{marker}']]\n", 5, id="python-new"),
    ],
)
def test_tags_are_findings_and_never_build_python_objects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], yaml_parser: str, text: str, line: int
) -> None:
    marker = tmp_path / "pwned"
    write_dedented(tmp_path, {"databricks.yml": HEAD + text.format(marker=marker)})
    code, report, _ = check(capsys, tmp_path)
    assert code == 1
    assert [loc[1] for loc in rules_at(report, "DG001")] == [line]
    assert not marker.exists()


@pytest.mark.parametrize("key", ["1.5", "!!int 7", "false", "0x1F"])
def test_keys_that_are_not_strings_are_a_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str) -> None:
    write_dedented(tmp_path, {"databricks.yml": HEAD + f"x-tags:\n  {key}: value\n  '1.5': quoted keys are strings\n"})
    code, report, _ = check(capsys, tmp_path)
    assert code == 1 and rules_at(report, "DG001") == [("databricks.yml", 6, 3)]


def test_a_duplicate_merge_key_is_a_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": HEAD
            + "x-a: &a {timeout_seconds: 10}\nx-b: &b {max_retries: 2}\nx-merged:\n  <<: *a\n  <<: *b\n  name: n\n"
        },
    )
    code, report, _ = check(capsys, tmp_path)
    assert code == 1
    assert rules_at(report, "DG005") == [("databricks.yml", 9, 3)]  # the CLI panics on it
    assert "<<" in messages(report, "DG005")[0]


# --- files -------------------------------------------------------------------------------------------------------


def test_an_include_outside_the_bundle_is_read_as_the_cli_reads_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """acceptance/bundle/includes: the CLI reads an include wherever it lies; so does dab-guard (reading runs
    nothing), and a broken file there is reported at its own line."""
    bundle = tmp_path / "bundle"
    write_dedented(tmp_path, {"elsewhere/creds.yml": "not: [valid yaml\n"})
    write_dedented(bundle, {"databricks.yml": HEAD + "include:\n  - ../elsewhere/creds.yml\n"})
    code, report, _ = check(capsys, bundle)
    assert code == 1
    assert not rules_at(report, "DG004")
    assert [file for file, _, _ in rules_at(report, "DG001")] == ["../elsewhere/creds.yml"]


def test_an_include_outside_the_bundle_but_inside_the_repository_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".git").mkdir()
    bundle = tmp_path / "bundles" / "one"
    shared = "resources:\n  jobs:\n    shared:\n      name: shared\n      tasks: [{task_key: a, depends_on: [{task_key: b}]}]\n"
    write_dedented(tmp_path, {"shared/jobs.yml": shared})
    write_dedented(bundle, {"databricks.yml": HEAD + "include:\n  - ../../shared/*.yml\n"})
    _, report, _ = check(capsys, bundle)
    assert not rules_at(report, "DG004"), report["findings"]
    assert [file for file, _, _ in rules_at(report, "DG008")] == ["../../shared/jobs.yml"]  # it was read


def test_symbolic_links_out_of_the_bundle_loops_and_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = tmp_path / "bundle"
    write_dedented(tmp_path, {"secret.yml": "password: hunter2\n"})
    write_dedented(
        bundle,
        {
            "databricks.yml": HEAD
            + "include:\n  - resources/*.yml\n  - resources/*/*.yml\n  - resources/folder.yml\n  - resources/self.yml\n",
            "resources/ok.yml": "resources:\n  jobs:\n    ok:\n      name: ok\n",
        },
    )
    (bundle / "resources" / "out.yml").symlink_to(tmp_path / "secret.yml")
    (bundle / "resources" / "dev-zero.yml").symlink_to("/dev/zero")
    (bundle / "resources" / "self.yml").symlink_to("self.yml")
    (bundle / "resources" / "a.yml").symlink_to("b.yml")
    (bundle / "resources" / "b.yml").symlink_to("a.yml")
    (bundle / "resources" / "dangling.yml").symlink_to("missing.yml")
    (bundle / "resources" / "folder.yml").mkdir()
    (bundle / "resources" / "loop").symlink_to("..")  # a folder loop: resources/loop/resources/loop/...
    with hang_guard():
        code, report, _ = check(capsys, bundle)
    assert code == 1
    found = messages(report, "DG004")
    assert not any("out.yml" in m for m in found)  # read, as the CLI reads it; its credential is never shown
    assert sum("dev-zero.yml" in m and "not a regular file" in m for m in found) == 1
    assert sum("symbolic link loop" in m for m in found) == 3  # a.yml, b.yml, self.yml
    assert any("dangling.yml does not exist" in m for m in found)
    assert any("names a folder" in m for m in found)
    assert not any("hunter2" in json.dumps(f) for f in report["findings"])


def test_a_glob_through_links_to_parent_folders_is_bounded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pattern = "/".join(["*"] * 20) + ".yml"  # 3**20 paths through three links to "."
    write_dedented(tmp_path, {"databricks.yml": HEAD + f"include:\n  - '{pattern}'\n"})
    for name in "abc":
        (tmp_path / name).symlink_to(".")
    with hang_guard():
        code, report, _ = check(capsys, tmp_path)
    assert code == 1 and any("more than 100000 paths" in m for m in messages(report, "DG004"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_posing_as_yaml_does_not_hang(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(tmp_path, {"databricks.yml": HEAD + "include:\n  - pipe.yml\n"})
    os.mkfifo(tmp_path / "pipe.yml")
    with hang_guard(30):  # opening the pipe would block for ever: no one writes to it
        code, report, _ = check(capsys, tmp_path)
    assert code == 1 and any("not a regular file" in m for m in messages(report, "DG004"))


def _run_as_nobody(argv: list[str]) -> tuple[int, str, str]:
    """Run ``main(argv)`` in a forked child that has dropped root, so that file permissions apply to it."""
    main(argv)  # warm up: import every module while they can still be read
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(argv)
            os.write(write_end, json.dumps([code, out.getvalue(), err.getvalue()]).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    code, out, err = json.loads(b"".join(chunks) or b"[-1, \"\", \"the child failed\"]")
    return code, out, err


def _unreadable_run(root: Path, capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    if os.name != "posix":
        pytest.skip("file permissions are POSIX here")
    if os.geteuid() != 0:
        code = main(argv)
        out, err = capsys.readouterr()
        return code, out, err
    return _run_as_nobody(argv)


@pytest.fixture
def world_readable_tmp() -> Iterator[Path]:
    """A temporary folder that an unprivileged user can enter (pytest's own are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="dab-guard-perm-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in sorted(folder.rglob("*"), reverse=True):
            path.chmod(0o755)
        subprocess.run(["rm", "-rf", str(folder)], check=False)


def test_an_unreadable_include_is_a_finding(world_readable_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = world_readable_tmp
    write_dedented(root, {"databricks.yml": HEAD + "include:\n  - locked.yml\n", "locked.yml": "x: 1\n"})
    (root / "databricks.yml").chmod(0o644)
    (root / "locked.yml").chmod(0)
    code, out, err = _unreadable_run(root, capsys, ["validate", str(root), "--format", "json"])
    assert code == 1, err
    found = json.loads(out)["findings"]
    assert any(f["rule"] == "DG004" and "Permission denied" in f["message"] for f in found), found


def test_an_unreadable_root_file_is_one_line_and_exit_2(world_readable_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = world_readable_tmp
    write_dedented(root, {"databricks.yml": HEAD})
    (root / "databricks.yml").chmod(0)
    code, out, err = _unreadable_run(root, capsys, ["validate", str(root)])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Permission denied" in err and "Traceback" not in err


def test_a_file_deleted_between_listing_and_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_dedented(tmp_path, {"databricks.yml": HEAD + "include:\n  - resources/*.yml\n", "resources/gone.yml": "x: 1\n"})
    read = loader.read_text

    def deleted_first(path: Path, max_bytes: int) -> str:
        if path.name == "gone.yml":
            path.unlink()  # another process removes it after the listing, just before the read
        return read(path, max_bytes)

    monkeypatch.setattr(loader, "read_text", deleted_first)
    code, report, _ = check(capsys, tmp_path)
    assert code == 1
    assert messages(report, "DG004") == ["cannot read included file resources/gone.yml: No such file or directory"]


def test_names_with_spaces_and_non_ascii_characters(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": HEAD + "include:\n  - 'resources/*.yml'\n  - 'jobs ü/Ωmega job.yml'\n",
            "resources/tâche de nuit.yml": "resources:\n  jobs:\n    nuit:\n      name: nuit\n      tasks: [{task_key: a, depends_on: [{task_key: ø}]}]\n",
            "jobs ü/Ωmega job.yml": "resources:\n  jobs:\n    omega: {name: Ω, tasks: [{task_key: a, depends_on: [{task_key: z}]}]}\n",
        },
    )
    _, report, _ = check(capsys, tmp_path)
    files = {f for f, _, _ in rules_at(report, "DG008")}
    assert files == {"resources/tâche de nuit.yml", "jobs ü/Ωmega job.yml"}
    assert main(["validate", str(tmp_path)]) == 1
    text = capsys.readouterr().out
    assert "resources/tâche de nuit.yml:5:" in text and "jobs ü/Ωmega job.yml:3:" in text


def test_a_hostile_configuration_file_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(tmp_path, {"databricks.yml": HEAD, "pyproject.toml": "[tool.dab-guard]\nselect = " + "[" * 5000 + "]" * 5000 + "\n"})
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nested too deeply" in err and "internal error" not in err


def test_a_hostile_variable_overrides_file_is_ignored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = '{"a": ' * 100_000 + "1" + "}" * 100_000
    write_dedented(tmp_path, {"databricks.yml": HEAD, ".databricks/bundle/default/variable-overrides.json": deep})
    code, report, err = check(capsys, tmp_path)
    assert code in (0, 1) and err == "" and report["targets"] == ["default"]


def test_non_ascii_names_on_an_output_that_cannot_encode_them(tmp_path: Path) -> None:
    write_dedented(tmp_path, {"databricks.yml": HEAD + "include:\n  - 'jobs ü/*.yml'\n", "jobs ü/Ωmega.yml": "resources:\n  jobs:\n    o: {name: Ω, tasks: [{task_key: a, depends_on: [{task_key: z}]}]}\n"})
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "ascii"}
    done = subprocess.run([*DAB_GUARD, "validate", str(tmp_path)], capture_output=True, env=env, timeout=HANG_GUARD)
    assert done.returncode == 1, done.stderr
    assert b"jobs \\xfc/\\u03a9mega.yml:3:" in done.stdout and done.stderr == b""


# --- Python the jobs run -----------------------------------------------------------------------------------------

PYTHON_JOB = HEAD + """\
resources:
  jobs:
    run:
      name: run
      tasks:
        - task_key: script
          spark_python_task:
            python_file: src/job.py
          environment_key: default
        - task_key: notebook
          notebook_task:
            notebook_path: src/notebook.ipynb
          environment_key: default
      environments:
        - environment_key: default
          spec:
            client: "2"
"""

GOOD_NOTEBOOK = json.dumps(
    {"cells": [{"cell_type": "code", "metadata": {}, "source": ["print(1)\n"], "outputs": [], "execution_count": None}],
     "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
)


def _python_bundle(root: Path, script: str | bytes = "print('ok')\n", notebook: str | bytes = GOOD_NOTEBOOK) -> Path:
    return write_dedented(root, {"databricks.yml": PYTHON_JOB, "src/job.py": script, "src/notebook.ipynb": notebook})


def _dg001_in(report: dict[str, Any], file: str) -> list[tuple[str, int, int]]:
    return [loc for loc in rules_at(report, "DG001") if loc[0] == file]


@pytest.mark.parametrize(
    ("script", "line"),
    [
        pytest.param("def broken(:\n    pass\n", 1, id="syntax-error"),
        pytest.param("x = 1\nif x:\npass\n", 3, id="indentation-error"),
        pytest.param(b"x = 1\ny = '\x00'\n", 2, id="nul-byte"),
        pytest.param(b"x = '\xff\xfe'\n", 1, id="not-utf8"),
    ],
)
def test_a_script_that_does_not_parse_is_one_dg001(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], script: str | bytes, line: int
) -> None:
    code, report, _ = check(capsys, _python_bundle(tmp_path, script=script))
    assert code == 1
    assert [loc[1] for loc in _dg001_in(report, "src/job.py")] == [line], report["findings"]


@pytest.mark.parametrize(
    "script",
    [
        pytest.param("y = " + "-" * 100_000 + "1\n", id="unary-minus-100000"),
        pytest.param("x = a" + ".b" * 50_000 + "\n", id="attributes-50000"),
        pytest.param("x = " + "+".join(["a"] * 50_000) + "\n", id="additions-50000"),
        pytest.param("if a:\n    pass\n" + "elif a:\n    pass\n" * 20_000, id="elif-20000"),
        pytest.param("x = " + "(" * 5000 + "1" + ")" * 5000 + "\n", id="parentheses-5000"),
        pytest.param("f = " + "lambda: " * 20_000 + "1\n", id="lambdas-20000"),
    ],
)
def test_python_nested_too_deeply_to_parse_is_one_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str], script: str) -> None:
    # Python itself cannot compile these (RecursionError or a syntax error): one DG001, never a crash.
    code, report, _ = check(capsys, _python_bundle(tmp_path, script=script))
    assert code == 1
    assert [(file, line) for file, line, _ in _dg001_in(report, "src/job.py")] == [("src/job.py", 1)], report["findings"]
    message = next(f["message"] for f in report["findings"] if f["rule"] == "DG001")
    assert "nested too deeply" in message or "syntax error" in message, message


def test_deep_python_that_parses_is_analysed_without_a_recursion_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Deeper than Python's recursion limit: a walker that recursed once per level would fail on any of these.
    depth = sys.getrecursionlimit() + 100
    script = (
        "import mlflow\n"
        f"x = a{'.b' * depth}\n"
        f"y = {'+'.join(['a'] * depth)}\n"
        f"z = {'1 if a else ' * depth}2\n"
        f"mlflow.pyfunc.log_model(name='m', python_model={'+'.join([repr('m')] * depth)}, registered_model_name=z)\n"
    )
    try:
        ast.parse(script)
    except (RecursionError, MemoryError, SyntaxError):
        pytest.skip("this Python cannot parse the script at all")
    code, report, _ = check(capsys, _python_bundle(tmp_path, script=script))
    assert code == 0 and report["findings"] == []


def test_a_10_mb_script_is_one_finding_and_never_parsed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = "value_{0} = compute({0}, 'some text to make the line longer', key=[1, 2, 3])\n"
    script = "".join(line.format(i) for i in range(10 * 1024 * 1024 // len(line.format(0))))
    _python_bundle(tmp_path, script=script)
    code, report, peak = check_peak_memory(capsys, tmp_path)
    assert code == 1
    assert _dg001_in(report, "src/job.py") == [("src/job.py", 1, 1)]
    assert "more than 2097152 bytes of Python code" in messages(report, "DG001")[0]
    assert "max-python-bytes" in messages(report, "DG001")[0]
    # Parsing it would build two million syntax tree nodes, well over a gigabyte; reading it takes its 11 MB.
    assert peak < 64 * 1024 * 1024, f"{peak / 2**20:.0f} MiB"


def _notebook_json(code: str, output: str = "") -> str:
    outputs = [{"output_type": "stream", "name": "stdout", "text": [output]}] if output else []
    cell: dict[str, Any] = {"cell_type": "code", "metadata": {}, "source": code.splitlines(keepends=True), "outputs": outputs, "execution_count": None}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


SMALL_PYTHON_LIMIT = "[tool.dab-guard.limits]\nmax-python-bytes = 1000\n"
CODE_3_KB = "".join(f"value_{i:03} = {i}\n" for i in range(200))


@pytest.mark.parametrize(
    ("file", "script", "notebook"),
    [
        pytest.param("src/job.py", CODE_3_KB, GOOD_NOTEBOOK, id="script"),
        pytest.param("src/job.py", "# Databricks notebook source\n" + CODE_3_KB, GOOD_NOTEBOOK, id="source-notebook"),
        pytest.param("src/notebook.ipynb", "print('ok')\n", _notebook_json(CODE_3_KB), id="ipynb-code-cells"),
    ],
)
def test_the_python_size_limit_is_configurable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], file: str, script: str, notebook: str
) -> None:
    _python_bundle(tmp_path, script=script, notebook=notebook)
    assert not rules_at(check(capsys, tmp_path)[1], "DG001")  # under the default limit: parsed
    write_dedented(tmp_path, {"pyproject.toml": SMALL_PYTHON_LIMIT})
    code, report, _ = check(capsys, tmp_path)
    assert code == 1 and rules_at(report, "DG001") == [(file, 1, 1)]
    assert "more than 1000 bytes of Python code" in messages(report, "DG001")[0]


def test_notebook_outputs_do_not_count_toward_the_python_size_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _python_bundle(tmp_path, notebook=_notebook_json("print(1)\n", output="x" * 50_000))
    write_dedented(tmp_path, {"pyproject.toml": SMALL_PYTHON_LIMIT})
    code, report, _ = check(capsys, tmp_path)
    assert code == 0 and not rules_at(report, "DG001"), report["findings"]


def test_an_unknown_limit_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A misspelt limit would otherwise bound nothing, silently.
    write_dedented(tmp_path, {"databricks.yml": HEAD, ".dab-guard.toml": "[limits]\nmax-node = 10\n"})
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown limit max-node" in err


@pytest.mark.parametrize(
    "notebook",
    [
        pytest.param('{"cells": [{"cell_type": "code", "source": ["x = 1\\n"', id="truncated-json"),
        pytest.param("not json at all", id="not-json"),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param("[]", id="json-list"),
        pytest.param('{"cells": 42}', id="cells-not-a-list"),
        pytest.param('{"cells": [42, "text", null, {"cell_type": 7}, {"cell_type": "code", "source": 9}]}', id="odd-cells"),
        pytest.param('{"cells": [{"cell_type": "code", "source": [1, null, {"a": 2}]}]}', id="odd-source"),
        pytest.param('{"cells": [{"cell_type": "markdown", "source": "import os"}, {"cell_type": "raw", "source": "def ("}]}', id="non-code-cells"),
        pytest.param('{"cells": [{"cell_type": "code", "source": "def broken(:"}]}', id="code-cell-syntax-error"),
        pytest.param('{"a": ' * 100_000 + "1" + "}" * 100_000, id="deep-json"),
    ],
)
def test_a_broken_notebook_is_no_crash(tmp_path: Path, capsys: pytest.CaptureFixture[str], notebook: str | bytes) -> None:
    code, report, _ = check(capsys, _python_bundle(tmp_path, notebook=notebook))
    assert code in (0, 1)
    assert len(_dg001_in(report, "src/notebook.ipynb")) <= 1


def test_a_notebook_that_is_not_json_is_one_dg001(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report, _ = check(capsys, _python_bundle(tmp_path, notebook='{"cells": [\n  {"cell_type": "code",\n'))
    assert code == 1
    assert len(_dg001_in(report, "src/notebook.ipynb")) == 1, report["findings"]


def test_an_unreadable_python_file_is_a_finding(world_readable_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _python_bundle(world_readable_tmp)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    (root / "src" / "job.py").chmod(0)
    code, out, err = _unreadable_run(root, capsys, ["validate", str(root), "--format", "json"])
    assert code == 1, err
    found = [(f["rule"], f["file"], f["line"], f["message"]) for f in json.loads(out)["findings"]]
    assert found == [("DG001", "src/job.py", 1, "cannot read the file: Permission denied")]


def test_a_python_file_deleted_between_listing_and_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _python_bundle(tmp_path)
    opened = Path.open

    def deleted_first(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.name == "job.py" and self.exists():
            self.unlink()  # another process removes it after it was found, just before it is read
        return opened(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", deleted_first)
    code, report, _ = check(capsys, tmp_path)
    assert code == 1
    found = [(f["file"], f["message"]) for f in report["findings"] if f["rule"] == "DG001"]
    assert found == [("src/job.py", "cannot read the file: No such file or directory")]


# --- nothing runs, nothing leaves the machine -------------------------------------------------------------------


def test_code_in_the_bundle_is_linted_never_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "pwned"
    payload = f"open({str(marker)!r}, 'w').write('ran')\n"
    notebook = json.dumps({"cells": [{"cell_type": "code", "metadata": {}, "source": [payload], "outputs": []}], "metadata": {},
                           "nbformat": 4, "nbformat_minor": 5})
    _python_bundle(tmp_path, script=f"import os\n{payload}if __name__ == '__main__':\n    {payload}", notebook=notebook)
    write_dedented(
        tmp_path,
        {
            "setup.py": payload,
            "conftest.py": payload,
            "src/__init__.py": payload,
            "src/helpers.py": payload,
            # Hooks and builds the CLI would run at deploy time: dab-guard only reads them.
            "databricks.yml": PYTHON_JOB
            + f"scripts:\n  preinit: touch {marker}\nartifacts:\n  wheel:\n    type: whl\n    build: touch {marker}\n",
        },
    )
    code, _, _ = check(capsys, tmp_path)
    assert code in (0, 1)
    assert not marker.exists()


# A child that refuses every socket operation through an audit hook (which no code in the process can get around,
# however it imported socket), then validates each bundle named on its command line.
_SOCKETS_DISABLED = """
import contextlib, io, json, socket, sys

def refuse(event, args):
    if event.startswith("socket."):
        raise RuntimeError(f"dab-guard used the network: {event}")

sys.addaudithook(refuse)
try:
    socket.create_connection(("127.0.0.1", 9), timeout=1)
except RuntimeError:
    pass
else:
    sys.exit("the audit hook does not stop sockets")

from dab_guard.cli import main

failures = []
for bundle in sys.argv[1:]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", bundle, "--format", "json"])
    if code not in (0, 1) or err.getvalue():
        failures.append([bundle, code, err.getvalue()])
    else:
        json.loads(out.getvalue())
print(json.dumps(failures))
"""


def _offline_bundles() -> list[Path]:
    bundles = [p for p in sorted(FIXTURES.glob("dg*/*")) if p.is_dir()]  # the workspace rules' fixtures too
    if CORPUS.is_dir():
        bundles += sorted(p for p in CORPUS.iterdir() if p.is_dir())
    return bundles


def test_an_offline_run_with_sockets_disabled_succeeds() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-c", _SOCKETS_DISABLED, *map(str, _offline_bundles())]
    done = subprocess.run(argv, capture_output=True, env=env, timeout=HANG_GUARD * 2, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


# --- the process -------------------------------------------------------------------------------------------------

DAB_GUARD = [sys.executable, "-m", "dab_guard.cli"]


def _many_findings(root: Path, jobs: int = 3000) -> Path:
    body = "".join(f"    job{i}:\n      name: job{i}\n      tasks: [{{task_key: a, depends_on: [{{task_key: missing}}]}}]\n" for i in range(jobs))
    return write_dedented(root, {"databricks.yml": HEAD + "resources:\n  jobs:\n" + body})


def test_a_closed_pipe_ends_the_run_quietly(tmp_path: Path) -> None:
    bundle = _many_findings(tmp_path / "bundle")  # a report far larger than a pipe's buffer
    report = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [*DAB_GUARD, "validate", str(bundle), "--report", f"json={report}"]
    producer = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert producer.stdout is not None
    first = producer.stdout.readline()  # what `| head -1` does: read one line, then close the pipe
    producer.stdout.close()
    _, err = producer.communicate(timeout=HANG_GUARD)
    assert first.startswith(b"databricks.yml:")
    assert err == b"", err.decode()
    # The run's own status (its findings are errors), and the report file it was asked for.
    assert producer.returncode == 1
    assert len(json.loads(report.read_text(encoding="utf-8"))["findings"]) == 3000


def test_head_in_a_real_shell_pipeline(tmp_path: Path) -> None:
    _many_findings(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = " ".join([sys.executable, "-m", "dab_guard.cli", "validate", f"'{tmp_path}'", "| head -1"])
    done = subprocess.run(["sh", "-c", command], capture_output=True, env=env, timeout=HANG_GUARD)
    assert done.stdout.count(b"\n") == 1
    assert done.stderr == b"", done.stderr.decode()


# Runs dab-guard's console entry point, saying on stderr when the bundle starts loading, so that the interrupt lands
# in the middle of the work however fast or loaded the machine is.
_ANNOUNCE_LOADING = """
import sys
import dab_guard.engine
from dab_guard.cli import entry

load = dab_guard.engine.load_bundle

def announced(*args, **kwargs):
    sys.stderr.write("loading\\n")
    sys.stderr.flush()
    return load(*args, **kwargs)

dab_guard.engine.load_bundle = announced
sys.argv[0] = "dab-guard"
entry()
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGINT to a child process")
def test_ctrl_c_exits_130_without_a_traceback(tmp_path: Path) -> None:
    # Three million values (allowed by raised limits): seconds of reading on any machine.
    write_dedented(
        tmp_path,
        {
            "databricks.yml": HEAD + "x-values:\n" + "  - 1\n" * 3_000_000,
            "pyproject.toml": "[tool.dab-guard.limits]\nmax-nodes = 5000000\nmax-file-bytes = 100000000\n",
        },
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", _ANNOUNCE_LOADING, "validate", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert child.stderr is not None
    assert child.stderr.readline() == b"loading\n"  # blocks until the run is reading the bundle
    time.sleep(0.2)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=HANG_GUARD)
    assert child.returncode == 130, (out, err)
    assert out == b""
    assert err == b"dab-guard: interrupted\n"


def test_ctrl_c_in_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(tmp_path, {"databricks.yml": HEAD})

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("dab_guard.engine.load_bundle", interrupted)
    assert main(["validate", str(tmp_path)]) == 130
    assert capsys.readouterr().err == "dab-guard: interrupted\n"


def test_an_internal_error_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_dedented(tmp_path, {"databricks.yml": HEAD})
    token = "dapi" + "0123456789abcdef" * 2

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError(f"unexpected value {token}\nwith a second line")

    monkeypatch.setattr("dab_guard.engine.load_bundle", broken)
    monkeypatch.delenv("DAB_GUARD_DEBUG", raising=False)
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("dab-guard: internal error: ValueError: unexpected value")
    assert "DAB_GUARD_DEBUG=1" in err and token not in err
    monkeypatch.setenv("DAB_GUARD_DEBUG", "1")
    with pytest.raises(ValueError):
        main(["validate", str(tmp_path)])


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_behind_stdout_is_one_line_and_exit_2() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "dab_guard.cli", "validate", str(ROOT / "examples" / "broken-bundle")],
            stdout=full, stderr=subprocess.PIPE, text=True, env=env, timeout=HANG_GUARD,
        )
    assert done.returncode == 2
    assert done.stderr == "dab-guard: No space left on device\n"


@pytest.mark.skipif(os.name != "posix", reason="closing a standard stream of a child process")
def test_closed_standard_streams_keep_the_exit_status() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    rules = subprocess.run(["sh", "-c", '"$0" -m dab_guard.cli rules >&-', sys.executable], env=env, capture_output=True, text=True, timeout=HANG_GUARD)
    assert rules.returncode == 0 and "Traceback" not in rules.stderr
    quiet = subprocess.run(["sh", "-c", '"$0" -m dab_guard.cli rules 2>&-', sys.executable], env=env, capture_output=True, text=True, timeout=HANG_GUARD)
    assert quiet.returncode == 0 and "DG101" in quiet.stdout
    example = str(ROOT / "examples" / "broken-bundle")
    closed = subprocess.run(["sh", "-c", '"$0" -m dab_guard.cli validate "$1" >&-', sys.executable, example], env=env, capture_output=True, text=True, timeout=HANG_GUARD)
    assert closed.returncode == 2
    assert len(closed.stderr.strip().splitlines()) == 1 and "Traceback" not in closed.stderr


def test_warnings_from_the_checked_code_are_not_printed(tmp_path: Path) -> None:
    write_dedented(
        tmp_path,
        {
            "databricks.yml": HEAD + "resources:\n  jobs:\n    j:\n      tasks:\n        - task_key: t\n          existing_cluster_id: abc\n          spark_python_task:\n            python_file: ./job.py\n",
            "job.py": 'import re\nPATTERN = re.compile("\\d+")\nif PATTERN is "x":\n    pass\n',
        },
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "default"}
    done = subprocess.run([sys.executable, "-m", "dab_guard.cli", "validate", str(tmp_path)], env=env, capture_output=True, text=True, timeout=HANG_GUARD)
    assert "Warning" not in done.stderr, done.stderr
