"""What the template accepts as answers, and which files each answer leaves out.

Plain Python with no Jinja in it, so that the hooks, ``dab-guard new`` and the tests share one set of rules.
No network, no git, no third-party imports.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

CHOICES: dict[str, tuple[str, ...]] = {
    "model_kind": ("agent", "plain"),
    "model_flavour": ("pyfunc", "langchain"),
    "cloud": ("aws", "azure", "gcp"),
    "runtime": ("16.4", "17.3"),
    "compute": ("job_cluster", "instance_pool", "existing_cluster"),
    "ci": ("github", "none"),
    "predeploy_guard": ("yes", "no"),
}

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Unity Catalog refuses '.', ' ', '/', ASCII control characters and DEL, and names longer than 255 characters.
# The template keeps to letters, digits, '_' and '-' so that every name is also safe unquoted in YAML and Python.
_UC_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")
_UC_MAX = 255
_UC_REFUSED = re.compile(r"[. /\x00-\x1f\x7f]")
_HOST = re.compile(r"https://[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*(:[0-9]{1,5})?/?")
_EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_ENDPOINT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
_COMPUTE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def problems(answers: Mapping[str, object]) -> list[str]:
    """Every reason the answers cannot make a working bundle, one clear sentence each (empty when fine)."""
    found: list[str] = []

    def text(key: str) -> str:
        value = answers.get(key, "")
        return value if isinstance(value, str) else str(value)

    for key, allowed in CHOICES.items():
        if text(key) not in allowed:
            found.append(f"{key} {text(key)!r} is not one of: {', '.join(allowed)}")

    project = text("project_name")
    if not project.strip():
        found.append("project_name is empty")
    elif _CONTROL.search(project):
        found.append("project_name must be one line of text without control characters")

    bundle = text("bundle_name")
    if not _IDENTIFIER.fullmatch(bundle):
        found.append(
            f"bundle_name {bundle!r} is not an identifier: use letters, digits and '_', starting with a letter or '_' "
            "(it names the bundle, its folder, its job and its resource file)"
        )

    for key in ("catalog", "schema", "model_name"):
        found.extend(_uc_name_problems(key, text(key)))

    for key in ("workspace_host", "prod_workspace_host"):
        host = text(key)
        if not _HOST.fullmatch(host):
            found.append(f"{key} {host!r} is not a workspace URL of the form https://<host> (https only, no path)")

    email = text("user_email")
    if not _EMAIL.fullmatch(email):
        found.append(f"user_email {email!r} is not an email address (it names /Workspace/Users/<email>)")

    if text("model_kind") == "agent" and not _ENDPOINT.fullmatch(text("llm_endpoint")):
        found.append(
            f"llm_endpoint {text('llm_endpoint')!r} is not a serving endpoint name "
            "(letters, digits, '-' and '_', at most 63 characters)"
        )

    compute = text("compute")
    pool = text("instance_pool_id").strip()
    cluster = text("existing_cluster_id").strip()
    if compute == "instance_pool" and not pool:
        found.append("compute is instance_pool but instance_pool_id is empty: give the pool's id (Compute > Pools)")
    if compute == "existing_cluster" and not cluster:
        found.append("compute is existing_cluster but existing_cluster_id is empty: give the cluster's id")
    for key, value in (("instance_pool_id", pool), ("existing_cluster_id", cluster)):
        if value and not _COMPUTE_ID.fullmatch(value):
            found.append(f"{key} {value!r} is not an id (letters, digits, '-' and '_')")
    return found


def _uc_name_problems(key: str, name: str) -> list[str]:
    if not name:
        return [f"{key} is empty"]
    if len(name) > _UC_MAX:
        return [f"{key} is {len(name)} characters long; Unity Catalog allows at most {_UC_MAX}"]
    if _UC_REFUSED.search(name):
        return [f"{key} {name!r} contains a character Unity Catalog refuses (a dot, space, slash or control character)"]
    if not _UC_NAME.fullmatch(name):
        return [f"{key} {name!r}: use letters, digits, '_' and '-' only (other characters need quoting everywhere)"]
    return []


# Files of the template that only some answers keep, relative to the generated project.
_AGENT_ONLY = (
    "src/agent.py",
    "src/agent_graph.py",
    "src/chat_schema.py",
    "src/tools",
    "src/deploy_agent.py",
    "notebooks/develop_agent.py",
    "tests/test_agent_graph.py",
    "tests/test_chat_schema.py",
    "tests/test_tools.py",
)
_PLAIN_ONLY = (
    "src/model.py",
    "src/scoring.py",
    "src/deploy_model.py",
    "notebooks/develop_model.py",
    "tests/test_model.py",
    "tests/test_scoring.py",
)
_CI_ONLY = (".github",)


def files_to_remove(answers: Mapping[str, object]) -> list[str]:
    """Paths (relative, '/'-separated) the post-generation hook deletes for these answers."""
    remove: list[str] = []
    remove.extend(_PLAIN_ONLY if answers.get("model_kind") == "agent" else _AGENT_ONLY)
    if answers.get("ci") != "github":
        remove.extend(_CI_ONLY)
    return remove
