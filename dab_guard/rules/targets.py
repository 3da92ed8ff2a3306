"""Rules about targets and where a bundle deploys (DG009, DG110)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from dab_guard.bundle.located import YMap
from dab_guard.bundle.resolve import Target, is_unknown, target_section
from dab_guard.bundle.resolved import ResolvedTarget
from dab_guard.finding import Loc, PathParts, Report, Severity
from dab_guard.rules.base import Rule
from dab_guard.rules.jobs import did_you_mean, resources_of, section

MODES = ("development", "production")
SCRIPT_HOOKS = ("preinit", "postinit", "prebuild", "postbuild", "predeploy", "postdeploy")


def _raw_target(target: Target) -> tuple[str | None, YMap | None]:
    """The name of the targets section and this target's own, unmerged definition in it."""
    key, targets = target_section(target.bundle)
    own = targets.get(target.name) if targets is not None else None
    return key, own if isinstance(own, YMap) else None


def _set(value: Any) -> bool:
    """A setting that is present: a non-empty value, or one only known at deploy time."""
    return value not in (None, "") and (not isinstance(value, (dict, list)) or bool(value))


class Targets(Rule):
    """
    ## What it does
    Checks the `targets` section (or the legacy `environments`) and the settings that depend on the target:
    - several targets marked `default: true`;
    - both `targets` and `environments`;
    - a `mode` other than `development` or `production`;
    - a `mode: production` target whose own `workspace` sets no `root_path` (an error; a warning when every job has
      `run_as`, where the CLI only recommends it);
    - a target override of another kind than what it overrides (a list written over `tasks: ${var.tasks}`), which
      the CLI cannot merge;
    - a `mode: development` target with `presets.trigger_pause_status: UNPAUSED`, and a `mode: production` target
      with a pipeline that sets `development: true` (the CLI refuses both);
    - a target value for a variable the bundle does not declare under `variables`;
    - (warning) an `experimental.scripts` hook the CLI does not know (preinit, postinit, prebuild, postbuild, predeploy,
      postdeploy are the hooks);
    - (info) resources or mutators defined in Python (`python: resources:`), which cannot be analysed without
      running user code.

    ## Why it matters
    The Databricks CLI refuses each of the errors before it deploys anything. Without a `root_path`, every person who
    deploys the production target gets a private copy of it under their home folder. A misspelled hook never runs.

    ## Example
    ```yaml
    targets:
      dev:
        default: true
        mode: developement          # not a mode
      prod:
        default: true               # a second default
        mode: production            # no workspace.root_path
        variables:
          catalgo: ml_prod          # no variable 'catalgo'
    ```

    ## Fix
    Keep one default target; use `mode: development` or `mode: production`; give production targets
    `workspace.root_path: /Workspace/Shared/.bundle/${bundle.name}/${bundle.target}` (or a service principal's
    folder); declare every variable under the top-level `variables`.
    """

    id = "DG009"
    name = "targets"
    severity = Severity.ERROR
    summary = "invalid targets: several defaults, bad mode, production without root_path, undeclared variables"
    source = (
        "The Databricks CLI's target selection and mode checks (select_default_target, process_target_mode), "
        "variable overrides, and its script hooks."
    )

    def check(self, target: Target) -> Iterator[Report]:
        # What resolving the target met: an override the CLI cannot merge into the configuration.
        yield from (Report(p.message, severity=p.severity, at=p.loc) for p in target.problems if p.rule == self.id)
        yield from self._sections(target)
        yield from self._mode(target)
        yield from self._variables(target)
        yield from self._scripts(target)
        yield from self._python(target)

    @staticmethod
    def _sections(target: Target) -> Iterator[Report]:
        """About the raw configuration: the same in every target (the engine reports them once)."""
        config = target.bundle.config
        if isinstance(config.get("targets"), YMap) and "environments" in config:
            yield Report(
                "both 'targets' and 'environments' are defined; 'environments' is the old name of 'targets' and the "
                "Databricks CLI refuses both together",
                ("environments",),
                at=config.key_locs.get("environments"),
            )
        key, targets = target_section(target.bundle)
        if key is None or targets is None:
            return
        defaults = [name for name, body in targets.items() if isinstance(body, YMap) and body.get("default") is True]
        for name in defaults[1:]:
            body = targets[name]
            yield Report(
                f"targets {', '.join(repr(d) for d in defaults)} are each marked default: true; the Databricks CLI "
                "accepts one default target",
                (key, name, "default"),
                at=body.val_locs.get("default") or body.key_locs.get("default"),
            )

    @staticmethod
    def _mode(target: Target) -> Iterator[Report]:
        mode = section(target.config, "bundle", "mode")
        if not isinstance(mode, str) or is_unknown(mode):
            return
        if mode not in MODES:
            yield Report(
                f"mode '{mode}' is not a mode: use development or production{did_you_mean(mode, MODES)}",
                ("bundle", "mode"),
            )
            return
        if mode == "development":
            if section(target.config, "presets", "trigger_pause_status") == "UNPAUSED":
                yield Report(
                    f"target '{target.name}' uses mode: development, where the Databricks CLI refuses presets."
                    "trigger_pause_status: UNPAUSED (development deploys keep schedules and triggers paused)",
                    ("presets", "trigger_pause_status"),
                )
            return
        if mode != "production":
            return
        for name, pipeline in resources_of(target, "pipelines"):
            if pipeline.get("development") is True:
                yield Report(
                    f"target '{target.name}' uses mode: production and pipeline '{name}' sets development: true, "
                    "which the Databricks CLI refuses",
                    ("resources", "pipelines", name, "development"),
                )
        _, own = _raw_target(target)
        if _set(section(own, "workspace", "root_path")):
            return
        advice = (
            "set workspace.root_path in the target (for example /Workspace/Shared/.bundle/${bundle.name}/"
            "${bundle.target}) so that one copy is deployed, whoever deploys it"
        )
        if _set(section(target.bundle.config, "workspace", "root_path")):
            advice += "; the CLI only counts a root_path written in the target, not the top-level one"
        if _every_job_runs_as(target):
            yield Report(
                f"target '{target.name}' uses mode: production and should {advice}",
                ("bundle", "mode"),
                severity=Severity.WARNING,
            )
        else:
            yield Report(
                f"target '{target.name}' uses mode: production without workspace.root_path, which the Databricks CLI "
                f"refuses: {advice}",
                ("bundle", "mode"),
            )

    @staticmethod
    def _variables(target: Target) -> Iterator[Report]:
        key, own = _raw_target(target)
        overrides = own.get("variables") if own is not None else None
        if not isinstance(overrides, YMap):
            return
        declared = target.bundle.config.get("variables")
        names = list(declared) if isinstance(declared, dict) else []
        for name in overrides:
            if name not in names:
                yield Report(
                    f"target '{target.name}' sets variable '{name}', which is not declared under variables"
                    f"{did_you_mean(name, names)}; the Databricks CLI refuses it",
                    (str(key), target.name, "variables", name),
                    at=overrides.key_locs.get(name),
                )

    @staticmethod
    def _scripts(target: Target) -> Iterator[Report]:
        scripts = section(target.config, "experimental", "scripts")
        if not isinstance(scripts, YMap):
            return
        for hook in scripts:
            if hook not in SCRIPT_HOOKS:
                yield Report(
                    f"'{hook}' is not a script hook, so it never runs{did_you_mean(hook, SCRIPT_HOOKS)}; the hooks are "
                    f"{', '.join(SCRIPT_HOOKS)}",
                    ("experimental", "scripts", hook),
                    severity=Severity.WARNING,
                    on_key=True,
                )

    @staticmethod
    def _python(target: Target) -> Iterator[Report]:
        if isinstance(target, ResolvedTarget):
            return  # --resolved: the CLI already ran the Python, its resources are in the configuration checked
        for parts in (("python",), ("experimental", "python"), ("experimental", "pydabs")):
            python = section(target.config, *parts)
            if not isinstance(python, YMap):
                continue
            for field in ("resources", "mutators"):
                if _set(python.get(field)):
                    yield Report(
                        f"{'.'.join(parts)}.{field} defines configuration in Python, which cannot be analysed without "
                        "running user code: dab-guard checks the YAML only (to check everything, give the output of "
                        "`databricks bundle validate -o json` to `dab-guard validate --resolved`)",
                        (*parts, field),
                        severity=Severity.INFO,
                        on_key=True,
                    )


def _every_job_runs_as(target: Target) -> bool:
    """The CLI only recommends root_path when run_as is set for all jobs (a top-level run_as applies to all)."""
    if _set(target.config.get("run_as")):
        return True
    return all(_set(job.get("run_as")) for _, job in resources_of(target, "jobs"))


class WorkspaceTarget(Rule):
    """
    ## What it does
    Warns about a target that sets neither `workspace.host` nor `workspace.profile` (in the target or at the top
    level of the bundle).

    ## Why it matters
    The deploy then goes to whichever workspace the caller's `DATABRICKS_CONFIG_PROFILE`, `DATABRICKS_HOST` or
    default profile points at: a production bundle can land in a development workspace, or the other way round.

    ## Example
    ```yaml
    targets:
      prod:
        mode: production        # no workspace: deploys wherever the shell points
    ```

    ## Fix
    Give every target its workspace:
    ```yaml
    targets:
      prod:
        workspace:
          host: https://adb-1234567890123456.7.azuredatabricks.net
    ```
    """

    id = "DG110"
    name = "workspace"
    severity = Severity.WARNING
    summary = "a target with neither workspace.host nor workspace.profile"
    source = "Guide: always set the CLI profile explicitly (DATABRICKS_CONFIG_PROFILE) before running commands."

    def check(self, target: Target) -> Iterator[Report]:
        if not target.bundle.config:
            return  # the root file could not be read: DG001 says so
        workspace = target.config.get("workspace")
        if isinstance(workspace, dict) and (_set(workspace.get("host")) or _set(workspace.get("profile"))):
            return
        if isinstance(workspace, str):
            return  # a variable holds the whole section
        key, targets = target_section(target.bundle)
        path: PathParts
        at: Loc | None
        if targets is not None and target.name in targets:
            path, at = (str(key), target.name), targets.key_locs.get(target.name)
        else:
            top = "workspace" if "workspace" in target.bundle.config else "bundle"
            path, at = (top,), target.bundle.config.key_locs.get(top)
        yield Report(
            f"target '{target.name}' sets neither workspace.host nor workspace.profile: the deploy goes to whichever "
            "workspace the caller's DATABRICKS_CONFIG_PROFILE or DATABRICKS_HOST points at",
            path,
            at=at,
        )
