"""Workspace checks (DG301-DG307) for the language server, only when the user turns ``online`` on in its settings.

Imported only then: an offline server never loads databricks-sdk, nor opens a connection.
"""

from __future__ import annotations

from dab_guard.bundle.loader import Bundle
from dab_guard.bundle.resolve import resolve_target
from dab_guard.config import Settings
from dab_guard.engine import Result, choose_targets, validate
from dab_guard.workspace.lookups import resolve_lookups
from dab_guard.workspace.session import OnlineOptions, OnlineSession


def validate_online(bundle: Bundle, settings: Settings) -> Result:
    """`dab-guard validate --online` of a bundle already loaded (with the editor's texts)."""
    options = OnlineOptions()
    session = OnlineSession(options)
    settings.online = session
    lookups = {}
    for name in choose_targets(bundle, ()):
        target = resolve_target(bundle, name, None, dict(options.env))
        facts = session.facts_for(target)
        if facts is not None:
            lookups[name] = resolve_lookups(target, facts)
    try:
        return validate(None, settings=settings, env=dict(options.env), bundle=bundle, lookups=lookups, fixes=True)
    finally:
        session.save()
