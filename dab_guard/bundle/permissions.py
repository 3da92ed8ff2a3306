"""The permissions a resource gets from the CLI: the bundle's top-level ``permissions`` given to each resource in that
resource's own levels, the deploying identity made owner (or manager), and one entry per principal at its highest
level. As ``databricks bundle validate -o json`` prints them; the deploying identity is not known offline, so it is
the ``${workspace.current_user.userName}`` reference.
"""

from __future__ import annotations

import re
from typing import Any

CURRENT_USER = "${workspace.current_user.userName}"

# The bundle's levels (CAN_MANAGE, CAN_VIEW, CAN_RUN) in each kind of resource's words.
_LEVELS: dict[str, dict[str, str]] = {
    "jobs": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_VIEW", "CAN_RUN": "CAN_MANAGE_RUN"},
    "pipelines": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_VIEW", "CAN_RUN": "CAN_RUN"},
    "experiments": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_READ"},
    "models": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_READ"},
    "model_serving_endpoints": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_VIEW", "CAN_RUN": "CAN_QUERY"},
    "dashboards": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_READ"},
    "genie_spaces": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_READ"},
    "apps": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_USE"},
    "secret_scopes": {"CAN_MANAGE": "MANAGE", "CAN_VIEW": "READ"},
    "alerts": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_READ", "CAN_RUN": "CAN_RUN"},
    "sql_warehouses": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_VIEW", "CAN_RUN": "CAN_MONITOR"},
    "database_instances": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_USE"},
    "postgres_projects": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_USE"},
    "clusters": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_ATTACH_TO", "CAN_RUN": "CAN_RESTART"},
    "vector_search_endpoints": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_USE"},
    "instance_pools": {"CAN_MANAGE": "CAN_MANAGE", "CAN_VIEW": "CAN_ATTACH_TO"},
}
_HAS_OWNER = frozenset({"jobs", "pipelines", "sql_warehouses"})
_ORDER = {
    "": -1, "CAN_VIEW": 2, "CAN_READ": 3, "CAN_VIEW_METADATA": 4, "CAN_RUN": 5, "CAN_QUERY": 6, "CAN_USE": 7,
    "CAN_EDIT": 8, "CAN_EDIT_METADATA": 9, "CAN_CREATE": 10, "CAN_ATTACH_TO": 11, "CAN_RESTART": 12,
    "CAN_MONITOR": 13, "CAN_MANAGE_RUN": 14, "CAN_MANAGE_STAGING_VERSIONS": 15, "CAN_MANAGE_PRODUCTION_VERSIONS": 16,
    "CAN_MANAGE": 17, "IS_OWNER": 18,
}  # fmt: skip
_PRINCIPALS = ("user_name", "service_principal_name", "group_name")


def _principal(permission: dict[str, Any]) -> tuple[str, str] | None:
    for field in _PRINCIPALS:
        value = permission.get(field)
        if isinstance(value, str) and value:
            return field, value
    return None


def _score(level: str) -> int:
    if level in _ORDER:
        return _ORDER[level]
    prefixes = [name for name in _ORDER if name and level.startswith(name)]
    return _ORDER[max(prefixes, key=len)] if prefixes else 0


def _higher(a: str, b: str) -> str:
    sa, sb = _score(a), _score(b)
    return a if (sa, a) >= (sb, b) else b


def apply_permissions(config: dict[str, Any], deployer: str = CURRENT_USER) -> None:
    """Give each resource of ``config`` (plain JSON, changed in place) the permissions the CLI gives it, ``deployer``
    being the deploying identity."""
    resources = config.get("resources")
    top = config.get("permissions")
    top = [p for p in top if isinstance(p, dict)] if isinstance(top, list) else []
    if not isinstance(resources, dict):
        return
    for kind, group in resources.items():
        if not isinstance(group, dict):
            continue
        for resource in group.values():
            if not isinstance(resource, dict):
                continue
            own = resource.get("permissions")
            if own is not None and not isinstance(own, list):
                continue  # a reference or a mistake: left as written
            permissions = [p for p in own or [] if isinstance(p, dict)]
            levels = _LEVELS.get(kind)
            if levels is not None:
                written = {_principal(p) for p in permissions}
                for p in top:
                    level = levels.get(str(p.get("level")))
                    if level is not None and _principal(p) not in written:  # the resource's own entry wins
                        permissions.append({"level": level, **{f: p[f] for f in _PRINCIPALS if p.get(f)}})
            if not permissions:
                continue
            if kind != "secret_scopes":
                permissions = _highest_per_principal(_with_deployer(permissions, kind, deployer))
            resource["permissions"] = permissions


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _identity(name: str) -> dict[str, str]:
    """A service principal's name is its application id (a UUID); anything else is a user's name."""
    return {"service_principal_name": name} if _UUID.fullmatch(name) else {"user_name": name}


def _with_deployer(permissions: list[dict[str, Any]], kind: str, deployer: str) -> list[dict[str, Any]]:
    """The deploying identity made owner where the resource has owners, else given CAN_MANAGE."""
    may_own = kind in _HAS_OWNER
    manage_at = -1
    for index, permission in enumerate(permissions):
        user = permission.get("user_name") or permission.get("service_principal_name")
        if permission.get("level") == "IS_OWNER":
            may_own = False
            if user == deployer:
                return permissions
        if user == deployer and permission.get("level") == "CAN_MANAGE":
            manage_at = index
    permissions = [dict(p) for p in permissions]
    if may_own:
        if manage_at >= 0:
            permissions[manage_at]["level"] = "IS_OWNER"
        else:
            permissions.append({"level": "IS_OWNER", **_identity(deployer)})
    elif manage_at < 0:
        permissions.append({"level": "CAN_MANAGE", **_identity(deployer)})
    return permissions


def _highest_per_principal(permissions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    best: dict[tuple[str, str], str] = {}
    for permission in permissions:
        principal, level = _principal(permission), permission.get("level")
        if principal is None or not isinstance(level, str) or not level:
            continue
        best[principal] = _higher(best.get(principal, ""), level)
    return [{"level": level, field: value} for (field, value), level in best.items()]
