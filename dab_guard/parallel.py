"""Run independent pieces of work (the checks of each target) on several cores, by forking.

The work is CPU-bound Python, so threads would not help; forked processes start with the loaded bundle already in
memory (copy-on-write), so nothing large crosses a process boundary: only each item's results go back, pickled.
Forking is used only where it is safe and cheap (Linux, no threads started); everywhere else, and whenever a worker
fails for any reason, the work runs in this process, so results and errors are exactly those of a sequential run.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

_T = TypeVar("_T")
_R = TypeVar("_R")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and taskset restrict)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Fork only on Linux and only while this process runs a single thread (a fork copies no other thread)."""
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


def map_forked(work: Callable[[_T], _R], items: Sequence[_T], workers: int) -> list[_R]:
    """``[work(item) for item in items]``, spread over up to ``workers`` processes (this one included).

    Items are dealt out in turn; this process takes the first share. A worker that fails (an exception in ``work``,
    a result that cannot be pickled, a crash) has its share redone here, so an exception surfaces as it would have
    without workers.
    """
    workers = min(workers, len(items))
    if workers <= 1 or not can_fork():
        return [work(item) for item in items]
    shares = [list(range(start, len(items), workers)) for start in range(workers)]
    children: list[tuple[int, int, list[int]]] = []  # pid, read end of its pipe, its share
    results: dict[int, _R] = {}
    mine = list(shares[0])
    try:
        for share in shares[1:]:
            try:
                read_end, write_end = os.pipe()
            except OSError:  # out of file descriptors: do this share here
                mine.extend(share)
                continue
            try:
                pid = os.fork()
            except OSError:  # out of processes or memory: do this share here
                os.close(read_end)
                os.close(write_end)
                mine.extend(share)
                continue
            if pid == 0:  # pragma: no cover - the child's coverage is not collected
                os.close(read_end)
                _child(work, items, share, write_end)
            os.close(write_end)
            children.append((pid, read_end, share))
        for index in sorted(mine):
            results[index] = work(items[index])
        while children:
            pid, read_end, share = children.pop(0)
            found: dict[int, _R] | None = _collect(pid, read_end)
            if found is None or sorted(found) != share:
                found = {index: work(items[index]) for index in share}
            results.update(found)
    finally:
        for pid, read_end, _ in children:  # interrupted or failed here: stop the workers, leave no zombie
            _stop(pid, read_end)
    return [results[index] for index in range(len(items))]


def _child(work: Callable[[_T], _R], items: Sequence[_T], share: list[int], write_end: int) -> None:  # pragma: no cover
    """The worker: compute its share, send it pickled, and leave without running any of the parent's clean-up."""
    status = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C reaches the whole process group; the parent reports it
        data = pickle.dumps({index: work(items[index]) for index in share}, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_end, "wb") as out:
            out.write(data)
        status = 0
    except BaseException:  # any failure means "redo this share in the parent"
        pass
    finally:
        os._exit(status)


def _collect(pid: int, read_end: int) -> dict[int, _R] | None:
    """A worker's results, or None when it did not finish cleanly. Always reaps the worker and closes the pipe."""
    try:
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()  # read to the end before waiting: a full pipe would block the worker
    finally:
        _, status = _reap(pid)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0 or not data:
        return None
    try:
        found = pickle.loads(data)  # written by our own forked child a moment ago
    except Exception:
        return None
    return found if isinstance(found, dict) else None


def _reap(pid: int) -> tuple[int, int]:
    """Wait for a worker, retrying when a signal interrupts the wait."""
    while True:
        try:
            return os.waitpid(pid, 0)
        except ChildProcessError:
            return pid, 1 << 8  # already reaped: count it as failed
        except InterruptedError:  # pragma: no cover - Python retries EINTR itself since 3.5
            continue


def _stop(pid: int, read_end: int) -> None:
    """End a worker that is not needed any more (this process was interrupted or failed)."""
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)
    with contextlib.suppress(OSError):
        os.close(read_end)
