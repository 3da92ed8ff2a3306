"""Workspace checks (DG301-DG307) for the language server, only when the user turns ``online`` on in its settings.

Imported only then: an offline server never loads databricks-sdk, nor opens a connection.
"""

from __future__ import annotations

from dab_guard.bundle.loader import Bundle
from dab_guard.config import Settings
from dab_guard.engine import Run
from dab_guard.engine import validate_online as validate_with_workspace


def validate_online(bundle: Bundle, settings: Settings) -> Run:
    """`dab-guard validate --online` of a bundle already loaded (with the editor's texts)."""
    run, _ = validate_with_workspace(None, settings=settings, bundle=bundle, fixes=True)
    return run
