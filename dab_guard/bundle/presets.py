"""What a target's ``presets`` and ``mode: development`` change in the resources, as the CLI applies them before its
defaults: name prefixes, tags, paused triggers, pipelines in development, a job's concurrent runs.

On plain JSON (the rendered configuration). The deploying user's short name is not known offline: development mode's
prefix and tag name it with the ``${workspace.current_user.short_name}`` reference.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

SHORT_NAME = "${workspace.current_user.short_name}"
_DEVELOPMENT_CONCURRENT_RUNS = 4


def effective_presets(config: dict[str, Any], short_name: str = SHORT_NAME) -> dict[str, Any]:
    """The target's presets with what development mode adds where they leave it unset."""
    presets = config.get("presets")
    presets = dict(presets) if isinstance(presets, dict) else {}
    bundle = config.get("bundle")
    if isinstance(bundle, dict) and bundle.get("mode") == "development":
        if not presets.get("name_prefix"):
            presets["name_prefix"] = f"[dev {short_name}] "
        tags = dict(presets.get("tags") or {}) if isinstance(presets.get("tags") or {}, dict) else {}
        tags.setdefault("dev", short_name)
        presets["tags"] = tags
        if not presets.get("jobs_max_concurrent_runs"):
            presets["jobs_max_concurrent_runs"] = _DEVELOPMENT_CONCURRENT_RUNS
        presets.setdefault("trigger_pause_status", "PAUSED")
        if presets.get("pipelines_development") is not False:
            presets["pipelines_development"] = True
    return presets


def apply_presets(config: dict[str, Any], short_name: str = SHORT_NAME) -> None:
    """Change ``config``'s resources (in place) as the CLI's presets do."""
    presets = effective_presets(config, short_name)
    resources = config.get("resources")
    if not presets or not isinstance(resources, dict):
        return
    written_prefix = presets.get("name_prefix")
    prefix: str = written_prefix if isinstance(written_prefix, str) else ""
    raw_tags = presets.get("tags")
    tags = sorted(raw_tags.items()) if isinstance(raw_tags, dict) else []
    pause = presets.get("trigger_pause_status") if presets.get("trigger_pause_status") in ("PAUSED", "UNPAUSED") else None
    uc_prefix = normalize_prefix(prefix)

    for job in each_resource(resources, "jobs"):
        _prefix_name(job, "name", prefix)
        _add_tags(job, "tags", tags)
        if not job.get("max_concurrent_runs") and presets.get("jobs_max_concurrent_runs"):
            job["max_concurrent_runs"] = presets["jobs_max_concurrent_runs"]
        if pause:
            for key in ("schedule", "continuous", "trigger"):
                if isinstance(job.get(key), dict) and not job[key].get("pause_status"):
                    job[key]["pause_status"] = pause
    for pipeline in each_resource(resources, "pipelines"):
        _prefix_name(pipeline, "name", prefix)
        if presets.get("pipelines_development") is True:
            pipeline["development"] = True
        if pause == "PAUSED":
            pipeline.pop("continuous", None)  # the CLI sets it false, which it does not print
        _add_tags(pipeline, "tags", tags)
    for model in each_resource(resources, "models"):
        _prefix_name(model, "name", prefix)
        _add_tag_list(model, tags)
    for experiment in each_resource(resources, "experiments"):
        name = experiment.get("name")
        if isinstance(name, str):
            folder, base = posixpath.dirname(name), posixpath.basename(name)
            experiment["name"] = f"{folder}/{prefix}{base}" if folder else prefix + base
        _add_tag_list(experiment, tags)
    for kind in ("model_serving_endpoints", "registered_models"):
        for resource in each_resource(resources, kind):
            _prefix_name(resource, "name", uc_prefix)
    if pause == "PAUSED":
        for monitor in each_resource(resources, "quality_monitors"):
            schedule = monitor.get("schedule")
            if isinstance(schedule, dict) and schedule.get("pause_status") != "UNPAUSED":
                del monitor["schedule"]
    experimental = config.get("experimental")
    skip = experimental.get("skip_name_prefix_for_schema") if isinstance(experimental, dict) else None
    if skip not in (True, "true"):
        for schema in each_resource(resources, "schemas"):
            _prefix_name(schema, "name", uc_prefix)
    for cluster in each_resource(resources, "clusters"):
        _prefix_name(cluster, "cluster_name", prefix)
        _add_tags(cluster, "custom_tags", tags)
    for pool in each_resource(resources, "instance_pools"):
        _prefix_name(pool, "instance_pool_name", prefix)
        _add_tags(pool, "custom_tags", tags)
    for dashboard in each_resource(resources, "dashboards"):
        _prefix_name(dashboard, "display_name", prefix)
    for space in each_resource(resources, "genie_spaces"):
        _prefix_name(space, "title", prefix)
    for alert in each_resource(resources, "alerts"):
        _prefix_name(alert, "display_name", prefix)
        schedule = alert.get("schedule")
        if pause and isinstance(schedule, dict) and schedule.get("quartz_cron_schedule") and not schedule.get("pause_status"):
            schedule["pause_status"] = pause
    for warehouse in each_resource(resources, "sql_warehouses"):
        _prefix_name(warehouse, "name", prefix)
        if tags:
            holder = warehouse.setdefault("tags", {})
            if isinstance(holder, dict):
                pairs = holder.setdefault("custom_tags", [])
                if isinstance(pairs, list):
                    written = {p.get("key") for p in pairs if isinstance(p, dict)}
                    pairs.extend({"key": k, "value": v} for k, v in tags if k not in written)


def normalize_prefix(prefix: str) -> str:
    """The name prefix as a Unity Catalog name starts: ``[dev jane] `` -> ``dev_jane_``."""
    prefix = prefix.replace("[", "").strip(" ")
    suffix = "_" if prefix.endswith("]") else ""
    return _normalize_string(prefix) + suffix


def _normalize_string(text: str) -> str:
    """As the CLI's textutil.NormalizeString: lower case, every character but a letter or digit an '_', runs of '_'
    made one, none at either end; a ``${...}`` reference is kept whole."""
    out = []
    for part in re.split(r"(\$\{[^}]+\})", text.lower()):
        out.append(part if part.startswith("${") else "".join(c if c.isalnum() else "_" for c in part))
    return re.sub(r"_+", "_", "".join(out)).strip("_")


def each_resource(resources: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The resources of one kind in plain JSON (those written as mappings)."""
    group = resources.get(kind)
    return [r for r in group.values() if isinstance(r, dict)] if isinstance(group, dict) else []


def _prefix_name(resource: dict[str, Any], key: str, prefix: str) -> None:
    if prefix:
        value = resource.get(key)
        resource[key] = prefix + (value if isinstance(value, str) else "")


def _add_tags(resource: dict[str, Any], key: str, tags: list[tuple[str, Any]]) -> None:
    if not tags:
        return
    held = resource.get(key)
    if not isinstance(held, dict):
        held = resource[key] = {}
    for name, value in tags:
        if not held.get(name):
            held[name] = value


def _add_tag_list(resource: dict[str, Any], tags: list[tuple[str, Any]]) -> None:
    if not tags:
        return
    held = resource.get("tags")
    if not isinstance(held, list):
        held = resource["tags"] = []
    written = {t.get("key") for t in held if isinstance(t, dict)}
    held.extend({"key": name, "value": value} for name, value in tags if name not in written)


def capture_uc_dependencies(config: dict[str, Any]) -> None:
    """A catalog or schema written by name that the bundle itself defines becomes a reference to it, as the CLI
    rewrites it before any prefix applies (the deploy then uses the schema as the bundle names it)."""
    resources = config.get("resources")
    if not isinstance(resources, dict):
        return
    schemas = {
        (s.get("catalog_name"), s.get("name")): key for key, s in (resources.get("schemas") or {}).items() if isinstance(s, dict)
    } if isinstance(resources.get("schemas"), dict) else {}
    catalogs = {
        c.get("name"): key for key, c in (resources.get("catalogs") or {}).items() if isinstance(c, dict)
    } if isinstance(resources.get("catalogs"), dict) else {}

    def schema_ref(catalog: Any, schema: Any) -> Any:
        key = schemas.get((catalog, schema)) if catalog and schema else None
        return f"${{resources.schemas.{key}.name}}" if key is not None else schema

    def catalog_ref(catalog: Any) -> Any:
        key = catalogs.get(catalog) if catalog else None
        return f"${{resources.catalogs.{key}.name}}" if key is not None else catalog

    def rewrite(holder: Any, catalog_key: str, schema_keys: tuple[str, ...]) -> None:
        if not isinstance(holder, dict):
            return
        catalog = holder.get(catalog_key)
        for key in schema_keys:
            if key in holder:
                holder[key] = schema_ref(catalog, holder[key])
        if catalog_key in holder:
            holder[catalog_key] = catalog_ref(catalog)

    for kind in ("volumes", "secrets", "registered_models"):
        for resource in each_resource(resources, kind):
            rewrite(resource, "catalog_name", ("schema_name",))
    for pipeline in each_resource(resources, "pipelines"):
        rewrite(pipeline, "catalog", ("schema", "target"))
    for monitor in each_resource(resources, "quality_monitors"):
        output = monitor.get("output_schema_name")
        if isinstance(output, str) and "." in output:
            catalog, schema = output.split(".", 1)
            monitor["output_schema_name"] = f"{catalog_ref(catalog)}.{schema_ref(catalog, schema)}"
    for endpoint in each_resource(resources, "model_serving_endpoints"):
        gateway = endpoint.get("ai_gateway")
        rewrite(gateway.get("inference_table_config") if isinstance(gateway, dict) else None, "catalog_name", ("schema_name",))
        settings = endpoint.get("config")
        rewrite(settings.get("auto_capture_config") if isinstance(settings, dict) else None, "catalog_name", ("schema_name",))
    for defined in each_resource(resources, "schemas"):
        if "catalog_name" in defined:
            defined["catalog_name"] = catalog_ref(defined["catalog_name"])
