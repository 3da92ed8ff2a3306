"""The workspace side of one ``--online`` run: one :class:`WorkspaceFacts` per workspace and the first fatal error.

Order of a run: load the bundle, resolve each target offline, resolve its ``lookup`` variables online, then run
every rule once with those values substituted (rules ask :meth:`OnlineSession.facts_for` for workspace facts). A
workspace that cannot be used stops all further requests; the offline findings are still reported, and the caller
prints :attr:`OnlineSession.error` and exits 2.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from dab_guard.bundle.resolve import Target
from dab_guard.workspace.client import Budget, Connection, WorkspaceError, connection_for
from dab_guard.workspace.facts import FactCache, Failure, WorkspaceFacts, cache_dir


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
