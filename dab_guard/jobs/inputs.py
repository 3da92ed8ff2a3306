"""The values a task hands its code, per resolved target: command line, widgets and environment variables.

- ``spark_python_task.parameters`` and ``python_wheel_task.parameters`` are ``sys.argv[1:]``; a wheel task's
  ``named_parameters`` are ``--key=value`` words, and the job's parameters are pushed down to them.
- ``notebook_task.base_parameters`` are the notebook's widgets; the job's parameters are pushed down to notebooks and
  win over a base parameter of the same name.
- ``spark_env_vars`` of the cluster the task runs on are its environment.

The target's variables are already substituted. ``{{job.parameters.x}}`` takes the job parameter's default; every
other ``{{...}}`` (run ids, task values, ``{{input}}``, secrets) and every reference left unresolved is unknown. A job
parameter whose default is empty is unknown too: such a parameter is a placeholder each run fills in.
"""

from __future__ import annotations

import json
import re
from typing import Any

from dab_guard.bundle.clusters import ClusterSpec, TaskRef
from dab_guard.bundle.located import YMap, YSeq
from dab_guard.bundle.resolve import Target
from dab_guard.finding import Loc
from dab_guard.python.argv import UNKNOWN, Passed, TaskInputs

_DYNAMIC = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_UNRESOLVED = re.compile(r"\$\{[^}]*\}?")
_JOB_PARAMETER = re.compile(r"^job\.parameters\.(?:`([^`]+)`|([\w.-]+))$")


def _job_of(target: Target, ref: TaskRef) -> YMap | None:
    resources = target.config.get("resources")
    jobs = resources.get("jobs") if isinstance(resources, YMap) else None
    job = jobs.get(ref.job) if isinstance(jobs, YMap) else None
    return job if isinstance(job, YMap) else None


def _text(value: Any) -> str | None:
    """A parameter value as the Jobs API gets it (a string), or None for a list or mapping."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return value if isinstance(value, str) else None


def _job_parameters(job: YMap | None) -> dict[str, tuple[str, Loc | None]]:
    """The job's parameters: name -> (default, where it is set). An empty default is unknown."""
    out: dict[str, tuple[str, Loc | None]] = {}
    parameters = job.get("parameters") if job is not None else None
    for entry in parameters if isinstance(parameters, YSeq) else ():
        if not isinstance(entry, YMap) or not isinstance(entry.get("name"), str):
            continue
        default = _text(entry.get("default"))
        if default is None:
            continue
        out[entry["name"]] = (_substituted(default, {}) if default else UNKNOWN, entry.val_loc("default") or entry.val_loc("name"))
    return out


def _substituted(text: str, job_parameters: dict[str, tuple[str, Loc | None]]) -> str:
    """``text`` with ``{{job.parameters.x}}`` replaced by the default, other dynamic references and unresolved
    ``${...}`` references as unknown."""

    def dynamic(match: re.Match[str]) -> str:
        name = _JOB_PARAMETER.match(match.group(1))
        if name is not None:
            found = job_parameters.get(name.group(1) or name.group(2))
            if found is not None:
                return found[0]
        return UNKNOWN

    if "${" in text:
        text = _UNRESOLVED.sub(UNKNOWN, text)
    if "{{" in text:
        text = _DYNAMIC.sub(dynamic, text)
    return text


def _argv(section: YMap, key: str, owner: str, job_parameters: dict[str, tuple[str, Loc | None]]) -> list[Passed] | None:
    words = section.get(key)
    if not isinstance(words, YSeq):
        return None
    out: list[Passed] = []
    for index, word in enumerate(words):
        text = _text(word)
        out.append(Passed(UNKNOWN if text is None else _substituted(text, job_parameters), f"parameter {index + 1}", owner, words.item_loc(index)))
    return out


def _named(section: YMap, key: str, owner: str, job_parameters: dict[str, tuple[str, Loc | None]], label: str) -> dict[str, Passed]:
    values = section.get(key)
    out: dict[str, Passed] = {}
    if not isinstance(values, YMap):
        return out
    for name, value in values.items():
        text = _text(value)
        out[name] = Passed(UNKNOWN if text is None else _substituted(text, job_parameters), f"{label}.{name}", owner, values.val_loc(name))
    return out


def _pushed(job_parameters: dict[str, tuple[str, Loc | None]], job_key: str) -> dict[str, Passed]:
    return {name: Passed(text, f"job parameter `{name}`", f"job `{job_key}`", loc) for name, (text, loc) in job_parameters.items()}


def task_inputs(target: Target, ref: TaskRef, cluster: ClusterSpec | None) -> TaskInputs:
    """What task ``ref`` of ``target`` hands its code; ``cluster`` is the cluster it runs on (None: not in the bundle)."""
    job = _job_of(target, ref)
    job_parameters = _job_parameters(job)
    owner = f"task `{ref.key}`"
    task = ref.task
    argv: list[Passed] | None = None
    widgets: dict[str, Passed] = {}
    script = task.get("spark_python_task")
    notebook = task.get("notebook_task")
    wheel = task.get("python_wheel_task")
    if isinstance(script, YMap):
        argv = _argv(script, "parameters", owner, job_parameters) or []
    elif isinstance(notebook, YMap):
        widgets = {**_named(notebook, "base_parameters", owner, job_parameters, "base_parameters"), **_pushed(job_parameters, ref.job)}
    elif isinstance(wheel, YMap):
        named = _named(wheel, "named_parameters", owner, job_parameters, "named_parameters")
        if named or not isinstance(wheel.get("parameters"), YSeq):
            named = {**named, **(_pushed(job_parameters, ref.job) if named else {})}
            argv = [Passed(f"--{name}={passed.text}", passed.what, passed.owner, passed.loc) for name, passed in named.items()]
        else:
            argv = _argv(wheel, "parameters", owner, job_parameters) or []
    env: dict[str, Passed] = {}
    if cluster is not None:
        env_vars = cluster.spec.get("spark_env_vars")
        if isinstance(env_vars, YMap):
            cluster_owner = f"cluster `{cluster.label}`"
            for name, value in env_vars.items():
                text = _text(value)
                env[name] = Passed(UNKNOWN if text is None else _substituted(text, {}), f"spark_env_vars.{name}", cluster_owner, env_vars.val_loc(name))
    return TaskInputs(tuple(argv) if argv is not None else None, widgets, env)
