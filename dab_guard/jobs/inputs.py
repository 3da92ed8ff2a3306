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

from dab_guard.bundle.clusters import ClusterKind, ClusterSpec, TaskRef
from dab_guard.bundle.located import YMap, YSeq
from dab_guard.bundle.resolve import Target
from dab_guard.finding import Loc
from dab_guard.jobs.files import job_named
from dab_guard.python.argv import UNKNOWN, Passed, TaskInputs

_DYNAMIC = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_UNRESOLVED = re.compile(r"\$\{[^}]*\}?")
# name -> (default, where it is set, the note of the variable it was substituted from)
JobParameters = dict[str, tuple[str, Loc | None, str | None]]
_JOB_PARAMETER = re.compile(r"^job\.parameters\.(?:`([^`]+)`|([\w.-]+))$")


def _text(value: Any) -> str | None:
    """A parameter value as the Jobs API gets it (a string), or None for a list or mapping."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return value if isinstance(value, str) else None


def _job_parameters(job: YMap | None) -> dict[str, tuple[str, Loc | None, str | None]]:
    """The job's parameters: name -> (default, where it is set, its variable's note). An empty default is unknown."""
    out: dict[str, tuple[str, Loc | None, str | None]] = {}
    parameters = job.get("parameters") if job is not None else None
    for entry in parameters if isinstance(parameters, YSeq) else ():
        if not isinstance(entry, YMap) or not isinstance(entry.get("name"), str):
            continue
        default = _text(entry.get("default"))
        if default is None:
            continue
        out[entry["name"]] = (_substituted(default, {}) if default else UNKNOWN, entry.val_loc("default") or entry.val_loc("name"), entry.note("default"))
    return out


def _substituted(text: str, job_parameters: JobParameters) -> str:
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


def _argv(section: YMap, key: str, owner: str, job_parameters: JobParameters) -> list[Passed] | None:
    words = section.get(key)
    if not isinstance(words, YSeq):
        return None
    out: list[Passed] = []
    for index, word in enumerate(words):
        text = _text(word)
        text = UNKNOWN if text is None else _substituted(text, job_parameters)
        out.append(Passed(text, f"parameter {index + 1}", owner, words.item_loc(index), words.note(index)))
    return out


def _named(section: YMap, key: str, owner: str, job_parameters: JobParameters, label: str) -> dict[str, Passed]:
    values = section.get(key)
    out: dict[str, Passed] = {}
    if not isinstance(values, YMap):
        return out
    for name, value in values.items():
        text = _text(value)
        text = UNKNOWN if text is None else _substituted(text, job_parameters)
        out[name] = Passed(text, f"{label}.{name}", owner, values.val_loc(name), values.note(name))
    return out


def _pushed(job_parameters: JobParameters, job_key: str) -> dict[str, Passed]:
    return {name: Passed(text, f"job parameter `{name}`", f"job `{job_key}`", loc, note) for name, (text, loc, note) in job_parameters.items()}


def task_inputs(target: Target, ref: TaskRef, cluster: ClusterSpec | None) -> TaskInputs:
    """What task ``ref`` of ``target`` hands its code; ``cluster`` is the cluster it runs on (None: not in the bundle)."""
    job = job_named(target, ref.job)
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
    conf: dict[str, Passed] = {}
    if cluster is not None:
        cluster_owner = _cluster_name(cluster)
        for section, into in (("spark_env_vars", env), ("spark_conf", conf)):
            values = cluster.spec.get(section)
            if not isinstance(values, YMap):
                continue
            for name, value in values.items():
                text = _text(value)
                into[name] = Passed(UNKNOWN if text is None else _substituted(text, {}), f"{section}.{name}", cluster_owner, values.val_loc(name), values.note(name))
    return TaskInputs(tuple(argv) if argv is not None else None, widgets, env, conf)


def _cluster_name(cluster: ClusterSpec) -> str:
    if cluster.kind is ClusterKind.TASK_CLUSTER:
        return f"the new_cluster of task `{cluster.label}`"
    if cluster.kind is ClusterKind.JOB_CLUSTER:
        return f"job cluster `{cluster.label}`"
    return f"cluster `{cluster.label}`"
