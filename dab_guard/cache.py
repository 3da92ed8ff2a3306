"""Values computed once per loaded object (a Bundle, a Target) and shared by everything that checks it."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")

_PER_OBJECT: dict[tuple[int, str], Any] = {}
_SLOT = "_dab_guard_cache"


def per_object(owner: object, kind: str, build: Callable[[], _T]) -> _T:
    """A value computed once per ``owner`` (a Bundle, a Target, a task's program), dropped when the owner is.

    Kept on the owner itself when it can hold them (its ``__dict__``, or a ``_dab_guard_cache`` field): no
    bookkeeping per value, which matters when there is one value per task. Other objects fall back to a table keyed
    by identity (bundles and targets are mutable dataclasses, not hashable), cleaned up when the owner goes.
    """
    values: dict[str, Any] | None = getattr(owner, _SLOT, None)  # a field of its own (classes with __slots__)
    if values is None:
        try:
            values = vars(owner).setdefault(_SLOT, {})
        except TypeError:  # no __dict__
            values = None
    if values is not None:
        try:
            return values[kind]  # type: ignore[no-any-return]
        except KeyError:
            value = values[kind] = build()
            return value
    key = (id(owner), kind)
    try:
        return _PER_OBJECT[key]  # type: ignore[no-any-return]
    except KeyError:
        pass
    value = build()
    _PER_OBJECT[key] = value
    weakref.finalize(owner, _PER_OBJECT.pop, key, None)
    return value
