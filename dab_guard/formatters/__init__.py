"""Reporters: each turns a :class:`~dab_guard.engine.Result` into text. They know nothing of rules."""

from __future__ import annotations

from collections.abc import Callable

from dab_guard.engine import Result
from dab_guard.formatters import github, json_format, junit, sarif, text

Formatter = Callable[..., str]

FORMATTERS: dict[str, Formatter] = {
    "text": text.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "github": github.render,
    "junit": junit.render,
}


def render(name: str, result: Result, **options: object) -> str:
    return FORMATTERS[name](result, **options)
