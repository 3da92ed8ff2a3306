"""``dab-guard preflight``: fix what the workspace lacks before a deploy, starting with missing schemas (DG304).

``dab-guard preflight --create-missing-schemas`` lists the Unity Catalog schemas the bundle's jobs register models
to and the workspace does not have, asks before creating each one (``--yes`` does not ask), and creates it. A
missing catalog is only reported: creating one is a decision about storage that a linter should not make.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dab_guard.bundle.loader import load_bundle
from dab_guard.bundle.resolve import resolve_target
from dab_guard.config import Settings
from dab_guard.engine import choose_targets, limits_from
from dab_guard.rules.workspace import missing_schemas
from dab_guard.workspace.client import WorkspaceError
from dab_guard.workspace.lookups import resolve_lookups
from dab_guard.workspace.session import OnlineOptions, OnlineSession


@dataclass
class PreflightOutcome:
    missing: int = 0  # schemas or catalogs still missing at the end
    created: int = 0
    error: WorkspaceError | None = None


def preflight(
    path: Path | None,
    *,
    settings: Settings,
    targets: Sequence[str] = (),
    variables: dict[str, str] | None = None,
    options: OnlineOptions | None = None,
    create: bool = False,
    confirm: Callable[[str], bool] = lambda _question: False,
    out: TextIO,
) -> PreflightOutcome:
    options = options or OnlineOptions()
    session = OnlineSession(options)
    outcome = PreflightOutcome()
    bundle = load_bundle(path, None, limits_from(settings))
    done: set[tuple[str, str, str]] = set()
    try:
        for name in choose_targets(bundle, targets):
            target = resolve_target(bundle, name, variables, dict(options.env))
            facts = session.facts_for(target)
            if facts is None:
                break
            target = resolve_target(bundle, name, variables, dict(options.env), resolve_lookups(target, facts))
            for catalog, schema, catalog_ok, mention in missing_schemas(target, facts):
                key = (facts.connection.host, catalog, schema)
                if key in done:
                    continue
                done.add(key)
                where = mention.loc or mention.yaml_path
                if not catalog_ok:
                    outcome.missing += 1
                    out.write(f"missing catalog {catalog} in {facts.connection.host} (needed for {catalog}.{schema}, {where}); create it first\n")
                    continue
                question = f"create schema {catalog}.{schema} in {facts.connection.host}?"
                if not create or not confirm(question):
                    outcome.missing += 1
                    out.write(f"missing schema {catalog}.{schema} in {facts.connection.host} ({where})\n")
                    continue
                try:
                    full_name = facts.create_schema(catalog, schema)
                except WorkspaceError as exc:
                    outcome.error = exc
                    return outcome
                outcome.created += 1
                out.write(f"created schema {full_name} in {facts.connection.host}\n")
            if facts.error is not None:
                break
    finally:
        session.save()
    outcome.error = outcome.error or session.error
    if not outcome.error and not outcome.missing and not outcome.created:
        out.write("nothing missing: every catalog and schema the jobs register models to exists\n")
    return outcome
