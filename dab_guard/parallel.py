"""Run independent pieces of work on several cores, by forking: the included files of a large bundle, and the
targets with --jobs.

The work is CPU-bound Python, so threads would not help; forked processes start with what this process has loaded
already in memory (copy-on-write), so only the items' results cross a process boundary, pickled. Forking is used only
where it is safe (Linux, no threads started); everywhere else, and whenever a worker fails for any reason, the work
runs in this process, so the results are those of a sequential run and an error surfaces as it would there.
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
    a result that cannot be pickled, a crash) has its share redone here, so an exception in ``work`` surfaces here,
    as without workers (when several items fail, not necessarily the first one's).
    """
    workers = min(workers, len(items))
    if workers <= 1 or not can_fork():
        return [work(item) for item in items]
    shares = [list(range(start, len(items), workers)) for start in range(workers)]
    children: list[tuple[int, int, list[int]]] = []  # pid, read end of its pipe, its share
    results: dict[int, _R] = {}
    mine = list(shares[0])
    try:
        # Ctrl-C is held back while forking: it must neither reach a worker before it is ready for it, nor leave a
        # worker this process does not know of. It is delivered as soon as the workers are started.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            for share in shares[1:]:
                started = _start(work, items, share)
                if started is None:
                    mine.extend(share)
                else:
                    children.append((*started, share))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
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


def _start(work: Callable[[_T], _R], items: Sequence[_T], share: list[int]) -> tuple[int, int] | None:
    """Fork a worker for ``share``: its pid and the read end of its pipe, or None when no worker could start."""
    try:
        read_end, write_end = os.pipe()
    except OSError:  # out of file descriptors
        return None
    try:
        pid = os.fork()
    except OSError:  # out of processes or memory
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # pragma: no cover - the worker's coverage is not collected
        try:
            os.close(read_end)
            _child(work, items, share, write_end)
        finally:
            os._exit(1)  # whatever happens, the worker never returns into the caller's code
    os.close(write_end)
    return pid, read_end


def _child(work: Callable[[_T], _R], items: Sequence[_T], share: list[int], write_end: int) -> None:  # pragma: no cover
    """The worker: compute its share, send it pickled, and leave without running any of the parent's clean-up."""
    status = 1
    try:
        _end_with_parent()
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C reaches the whole process group; the parent reports it
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        data = pickle.dumps({index: work(items[index]) for index in share}, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_end, "wb") as out:
            out.write(data)
        status = 0
    except BaseException:  # any failure means "redo this share in the parent"
        pass
    finally:
        os._exit(status)


def _end_with_parent() -> None:  # pragma: no cover - runs in the worker
    """Have the kernel end this worker if its parent dies (SIGTERM, SIGKILL): no orphan keeps computing."""
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def _collect(pid: int, read_end: int) -> dict[int, _R] | None:
    """A worker's results, or None when it did not send them whole. Reaps the worker and closes the pipe, and
    stops the worker when this process is interrupted while waiting for it."""
    try:
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()  # to the end, that is until the worker has written everything or died
    except BaseException:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        _reap(pid)
        raise
    _reap(pid)
    # A worker's exit status is not needed (and is lost when SIGCHLD is ignored): what it sent is complete exactly
    # when it unpickles.
    try:
        found = pickle.loads(data)  # written by our own forked worker a moment ago
    except Exception:
        return None
    return found if isinstance(found, dict) else None


def _reap(pid: int) -> None:
    """Wait for a worker to end (nothing to wait for when SIGCHLD is ignored: the kernel reaps it)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _stop(pid: int, read_end: int) -> None:
    """End a worker that is not needed any more (this process was interrupted or failed)."""
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    _reap(pid)
    with contextlib.suppress(OSError):
        os.close(read_end)
