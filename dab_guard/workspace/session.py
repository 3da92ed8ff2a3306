"""The workspace side of one ``--online`` run: one :class:`WorkspaceFacts` per workspace and the first fatal error.

Order of a run: load the bundle, resolve each target offline, resolve its ``lookup`` variables online, then run
every rule once with those values substituted (rules ask :meth:`OnlineSession.facts_for` for workspace facts). A
workspace that cannot be used stops all further requests; the offline findings are still reported, and the caller
prints :attr:`OnlineSession.error` and exits 2.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dab_guard.bundle.loader import load_bundle
from dab_guard.bundle.resolve import Target, resolve_target
from dab_guard.config import Settings
from dab_guard.workspace.client import Budget, Connection, WorkspaceError, connection_for
from dab_guard.workspace.facts import FactCache, Failure, WorkspaceFacts, cache_dir
from dab_guard.workspace.lookups import resolve_lookups


@dataclass
class OnlineOptions:
    profile: str | None = None
    use_cache: bool = True
    verbose: bool = False
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


class OnlineSession:
    def __init__(self, options: OnlineOptions) -> None:
        self.options = options
        self.failure = Failure()
        self.workspaces: dict[Connection, WorkspaceFacts] = {}
        self._connections: dict[str, Connection | None] = {}
        try:
            self.budget = Budget.from_env(options.env)
        except WorkspaceError as exc:
            self.failure.error = exc
            self.budget = Budget(0)

    @property
    def error(self) -> WorkspaceError | None:
        return self.failure.error

    def facts_for(self, target: Target) -> WorkspaceFacts | None:
        """The facts of ``target``'s workspace; None once the run's workspace access has failed."""
        if self.failure.error is not None:
            return None
        if target.name not in self._connections:
            try:
                self._connections[target.name] = connection_for(target, self.options.profile, self.options.env)
            except WorkspaceError as exc:
                self._connections[target.name] = None
                self.failure.error = exc
        connection = self._connections[target.name]
        if connection is None:
            return None
        facts = self.workspaces.get(connection)
        if facts is None:
            cache = FactCache(cache_dir(self.options.env), connection, read=self.options.use_cache)
            facts = self.workspaces[connection] = WorkspaceFacts(connection, self.budget, cache, self.options.verbose, self.failure)
        return facts

    def save(self) -> None:
        for facts in self.workspaces.values():
            facts.save()


def validate_online(
    path: Path | None,
    *,
    settings: Settings,
    targets: Sequence[str] = (),
    variables: dict[str, str] | None = None,
    options: OnlineOptions | None = None,
) -> tuple[Any, OnlineSession]:
    """``engine.validate`` with workspace facts and ``lookup`` variables resolved online; returns (Result, session)."""
    from dab_guard.engine import choose_targets, limits_from, validate

    options = options or OnlineOptions()
    session = OnlineSession(options)
    settings.online = session
    bundle = load_bundle(path, None, limits_from(settings))
    names = choose_targets(bundle, targets)
    lookups: dict[str, dict[str, Any]] = {}
    for name in names:
        target = resolve_target(bundle, name, variables, dict(options.env))
        facts = session.facts_for(target)
        if facts is not None:
            lookups[name] = resolve_lookups(target, facts)
    try:
        result = validate(None, settings=settings, targets=names, variables=variables, env=dict(options.env), bundle=bundle, lookups=lookups)
    finally:
        session.save()
    return result, session
