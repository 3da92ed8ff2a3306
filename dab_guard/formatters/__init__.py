"""Reporters: each turns a :class:`~dab_guard.result.Result` into text. They know nothing of rules.

Several bundles checked in one run (``dab-guard validate DIR`` over a repository of bundles) give one report too:
:func:`render_many` takes each bundle's folder, relative to the working directory, with its result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from dab_guard.formatters import github, json_format, junit, sarif, text
from dab_guard.result import Result

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


def render_many(name: str, results: Sequence[tuple[str, Result]], color: bool = False, strict: bool = False) -> str:
    """One report of several bundles' results; ``results`` pairs each bundle's folder (relative to the working
    directory, as its findings' files are shown) with its result."""
    if name == "text":
        return text.render_many(results, color=color)
    if name == "json":
        return json_format.render_many(results)
    if name == "sarif":
        return sarif.render_many([result for _, result in results])
    if name == "junit":
        return junit.render_many(results, strict=strict)
    return "".join(FORMATTERS[name](result, strict=strict) for _, result in results)
