"""The one list of rules. A rule that is not listed here does not exist."""

from __future__ import annotations

from dab_guard.rules.base import Rule
from dab_guard.rules.loading import Duplicate, Include, Reference, YamlSyntax

ALL_RULES: tuple[type[Rule], ...] = (
    YamlSyntax,
    Include,
    Duplicate,
    Reference,
)


def rules_by_id() -> dict[str, type[Rule]]:
    return {rule.id: rule for rule in ALL_RULES}
