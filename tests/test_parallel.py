"""Targets checked in forked processes give exactly the findings and fixes of a run in one process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from dab_guard import parallel
from dab_guard.bundle.loader import load_bundle
from dab_guard.config import Settings, load_settings
from dab_guard.engine import Run, validate
from tests.conftest import CORPUS, FIXTURES, ROOT
from tests.expectations import all_fixtures

pytestmark = pytest.mark.skipif(not parallel.can_fork(), reason="forking is used on Linux only")


@pytest.fixture(autouse=True)
def _two_cores_at_least(monkeypatch: pytest.MonkeyPatch) -> None:
    """--jobs is capped at the cores; these tests fork whatever machine runs them."""
    from dab_guard import engine

    monkeypatch.setattr(engine, "available_cores", lambda: max(4, parallel.available_cores()))


def _targets(bundle: Path) -> int:
    try:
        return len(load_bundle(bundle, None).target_names())
    except Exception:  # a fixture of unreadable input: not a multi-target bundle
        return 0


_CANDIDATES = all_fixtures(FIXTURES) + (sorted(p for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else [])
MULTI_TARGET = [p for p in _CANDIDATES if _targets(p) > 1]


def _run(bundle: Path, jobs: int, fixes: bool) -> Run:
    settings = load_settings(bundle)
    settings.jobs = jobs
    return validate(bundle, settings=settings, fixes=fixes)


def _fixes(result: Run) -> list[tuple[Any, ...]]:
    return [(f.finding, f.target, f.fix) for f in result.fixes]


def test_there_are_multi_target_bundles_to_compare() -> None:
    assert len(MULTI_TARGET) >= 10


@pytest.mark.parametrize("bundle", MULTI_TARGET, ids=[f"{p.parent.name}/{p.name}" for p in MULTI_TARGET])
def test_forked_and_single_process_runs_agree(bundle: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    forks: list[int] = []
    real_fork = os.fork

    def counted_fork() -> int:
        forks.append(1)
        return real_fork()

    collected: list[object] = []
    real_collect = parallel._collect

    def recorded_collect(pid: int, read_end: int) -> Any:
        found = real_collect(pid, read_end)
        collected.append(found)
        return found

    single = _run(bundle, 1, fixes=True)
    monkeypatch.setattr(parallel.os, "fork", counted_fork)
    monkeypatch.setattr(parallel, "_collect", recorded_collect)
    forked = _run(bundle, 2, fixes=True)
    assert forks, "the second target was not checked in a forked process"
    assert collected and all(found is not None for found in collected), "a worker's results were not used"
    assert forked.findings == single.findings
    assert [f.targets for f in forked.findings] == [f.targets for f in single.findings]
    assert _fixes(forked) == _fixes(single)


def _pid_of(item: int) -> tuple[int, int]:
    return item * item, os.getpid()


def test_map_forked_keeps_the_order_and_uses_other_processes() -> None:
    found = parallel.map_forked(_pid_of, list(range(7)), 3)
    assert [square for square, _ in found] == [i * i for i in range(7)]
    pids = {pid for _, pid in found}
    assert os.getpid() in pids and len(pids) == 3


def test_one_worker_does_not_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel.os, "fork", lambda: pytest.fail("forked"))
    assert parallel.map_forked(_pid_of, [1, 2, 3], 1) == [(1, os.getpid()), (4, os.getpid()), (9, os.getpid())]


def test_a_share_that_fails_in_a_worker_is_redone_here() -> None:
    parent = os.getpid()

    def fails_elsewhere(item: int) -> int:
        if os.getpid() != parent:
            raise RuntimeError("only in the worker")
        return item + 1

    assert parallel.map_forked(fails_elsewhere, [1, 2, 3, 4], 2) == [2, 3, 4, 5]


def test_a_result_that_cannot_be_pickled_is_computed_here() -> None:
    found = parallel.map_forked(lambda item: (lambda: item), [1, 2, 3], 2)  # a lambda cannot be pickled
    assert [f() for f in found] == [1, 2, 3]


def test_an_error_surfaces_as_in_a_single_process() -> None:
    def boom(item: int) -> int:
        if item == 3:
            raise ValueError("item 3")
        return item

    with pytest.raises(ValueError, match="item 3"):
        parallel.map_forked(boom, [1, 2, 3, 4], 2)


def test_no_worker_is_left_behind(tmp_path: Path) -> None:
    parallel.map_forked(_pid_of, list(range(4)), 2)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child of this process remains, finished or not


def test_settings_default_to_one_process() -> None:
    assert Settings().jobs == 1


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "dab_guard.cli", *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_output_is_the_same_with_and_without_workers() -> None:
    example = ROOT / "examples" / "broken-bundle"
    one = _cli("validate", "--jobs", "1", "--format", "json", str(example))
    default = _cli("validate", "--format", "json", str(example))
    two = _cli("validate", "-j", "2", "--format", "json", str(example))
    assert one.returncode == default.returncode == two.returncode == 1
    assert one.stdout == default.stdout == two.stdout


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_cli_refuses_a_bad_number_of_jobs(value: str) -> None:
    done = _cli("validate", "--jobs", value, str(ROOT / "examples" / "broken-bundle"))
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert "--jobs" in done.stderr and "1 or more" in done.stderr


def test_by_default_files_are_parsed_on_every_core_and_targets_checked_in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    from dab_guard import engine

    monkeypatch.setattr(engine, "available_cores", lambda: 4)
    cli_default = Settings(jobs=None)
    assert (engine.load_workers(cli_default), engine.check_workers(cli_default)) == (4, 1)
    assert (engine.load_workers(Settings(jobs=3)), engine.check_workers(Settings(jobs=3))) == (3, 3)
    assert (engine.load_workers(Settings(jobs=1)), engine.check_workers(Settings(jobs=1))) == (1, 1)
    assert (engine.load_workers(Settings(jobs=16)), engine.check_workers(Settings(jobs=16))) == (4, 4)  # no more than the cores


def test_online_runs_stay_in_one_process() -> None:
    from dab_guard import engine
    from dab_guard.rules.base import Rule

    assert (engine.load_workers(Settings(jobs=4), [Rule]), engine.check_workers(Settings(jobs=4), [Rule])) == (1, 1)


def _generator() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _positions(node: Any, path: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Every key and value position of a located tree, with its path."""
    from dab_guard.bundle.located import YMap, YSeq

    out: list[tuple[object, ...]] = []
    if isinstance(node, YMap):
        for key, value in node.items():
            out.append((*path, key, node.key_locs.get(key), node.val_locs.get(key), node.note(key)))
            out.extend(_positions(value, (*path, key)))
    elif isinstance(node, YSeq):
        for index, value in enumerate(node):
            out.append((*path, index, node.item_locs[index], node.note(index)))
            out.extend(_positions(value, (*path, index)))
    return out


def test_included_files_read_by_two_processes_load_the_same_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = _generator().generate(tmp_path / "big", jobs=160, bad=0.3)
    # File names this process has never numbered (positions name files by number), as in a fresh run.
    folder = f"resources_{uuid.uuid4().hex}"
    (bundle / "resources").rename(bundle / folder)
    root = bundle / "databricks.yml"
    root.write_text(root.read_text().replace("resources/*.yml", f"{folder}/*.yml"))
    forks: list[int] = []
    real_fork = os.fork

    def counted_fork() -> int:
        forks.append(1)
        return real_fork()

    monkeypatch.setattr(parallel.os, "fork", counted_fork)
    forked = load_bundle(bundle, None, workers=2)
    assert forks, "the included files were not read in a second process"
    single = load_bundle(bundle, None, workers=1)
    assert list(forked.files) == list(single.files)
    assert forked.config == single.config
    assert _positions(forked.config) == _positions(single.config)
    assert forked.problems == single.problems
    one = _run(bundle, 1, fixes=True)
    two = _run(bundle, 2, fixes=True)
    assert one.findings and two.findings == one.findings and _fixes(two) == _fixes(one)


def test_results_are_used_when_sigchld_is_ignored() -> None:
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # inherited so from some parents; waitpid then fails
    try:
        found = parallel.map_forked(_pid_of, [1, 2], 2)
    finally:
        signal.signal(signal.SIGCHLD, previous)
    assert found[0] == (1, os.getpid())
    assert found[1][0] == 4 and found[1][1] != os.getpid()  # computed by the worker, not redone here


def test_an_interrupt_while_waiting_for_a_worker_stops_it_at_once() -> None:
    parent = os.getpid()

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    def work(item: int) -> int:
        if os.getpid() != parent:
            time.sleep(30)  # a worker still busy when the user presses Ctrl-C
        else:
            signal.setitimer(signal.ITIMER_REAL, 0.3)  # "Ctrl-C" while this process waits for the worker
        return item

    previous = signal.signal(signal.SIGALRM, interrupt)
    start = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            parallel.map_forked(work, [1, 2], 2)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - start < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # the worker was stopped and reaped
