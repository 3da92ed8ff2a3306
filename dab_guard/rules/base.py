"""The rule protocol: a small self-describing object whose ``check`` yields reports for one resolved target."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import ClassVar

from dab_guard.bundle.resolve import Target
from dab_guard.config import Settings
from dab_guard.finding import Report, Severity


class Rule:
    """Base of every rule. Subclasses set the class attributes and implement :meth:`check`.

    The class docstring is the rule's user documentation (``dab-guard explain``), written under the headings
    *What it does*, *Why it matters*, *Example* and *Fix*.
    """

    id: ClassVar[str]
    name: ClassVar[str]
    severity: ClassVar[Severity]
    summary: ClassVar[str]
    # The constraint of the guide (or the CLI behaviour) the rule comes from.
    source: ClassVar[str] = ""
    # Whether `dab-guard fix` can repair it: "safe", "suggested" or None.
    fix: ClassVar[str | None] = None

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()

    def check(self, target: Target) -> Iterator[Report]:
        raise NotImplementedError
        yield  # pragma: no cover

    @classmethod
    def documentation(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def sections(cls) -> dict[str, str]:
        """The documentation split by its headings (``What it does`` -> text)."""
        parts = re.split(r"^## (.+)$", cls.documentation(), flags=re.MULTILINE)
        return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


class ProblemRule(Rule):
    """A rule whose findings are problems the loader met while reading and resolving the bundle."""

    def check(self, target: Target) -> Iterator[Report]:
        for problem in (*target.bundle.problems, *target.problems):
            if problem.rule == self.id:
                yield Report(problem.message, severity=problem.severity, at=problem.loc)
