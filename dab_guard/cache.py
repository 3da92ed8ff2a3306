"""Values computed once per loaded object (a Bundle, a Target) and shared by everything that checks it."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")

_PER_OBJECT: dict[tuple[int, str], Any] = {}


def per_object(owner: object, kind: str, build: Callable[[], _T]) -> _T:
    """A value computed once per ``owner`` (a Bundle or a Target), dropped when the owner is.

    Keyed by identity: bundles and targets are mutable dataclasses (not hashable), and each run loads its own.
    """
    key = (id(owner), kind)
    try:
        return _PER_OBJECT[key]  # type: ignore[no-any-return]
    except KeyError:
        pass
    value = build()
    _PER_OBJECT[key] = value
    weakref.finalize(owner, _PER_OBJECT.pop, key, None)
    return value
