"""Rules about MLflow calls in the code a job runs: signatures, requirements, API versions, langchain, UC names
(DG204-DG206, DG209, DG210).

The calls are read from every file a task runs (its entry point, ``%run`` notebooks and the bundle modules they
import). Facts about MLflow were read from the sources of mlflow-skinny 2.9.2, 2.13.1, 2.21.3, 3.0.1 to 3.8.1.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from functools import partial

from dab_guard.bundle.resolve import Target
from dab_guard.finding import Report, Severity
from dab_guard.jobs.program import (
    TaskProgram,
    first_at,
    is_uc_name,
    log_registers_to_uc,
    max_file_bytes,
    module_registers_to_uc,
    programs,
    registered_name,
    registration_name,
    task_installs,
    task_mlflow,
    task_runtime,
    uc_registry_reason,
)
from dab_guard.python.facts import STANDARD_SIGNATURE_CLASSES, CallFact, LogModel, ModuleFacts, facts_of
from dab_guard.python.pip import LATEST_MINOR, installed_version, normalise, parse_requirement, provides
from dab_guard.python.sources import PythonSource
from dab_guard.python.values import UNKNOWN, Traced, display
from dab_guard.rules.base import Rule
from dab_guard.rules.libraries import BRINGS, NOT_IN_RUNTIME_ML, by_module_prefix


def _is_none(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value in (None, False)


def _logs(program: TaskProgram) -> Iterator[tuple[PythonSource, ModuleFacts, LogModel]]:
    for source in (*program.runs, *program.modules):
        if source.tree is None:
            continue
        facts = facts_of(source)
        for log in facts.log_models:
            yield source, facts, log


def _show(value: str | None) -> str:
    return display(value)


class UcSignature(Rule):
    """
    ## What it does
    For a model registered to Unity Catalog (`registered_model_name` with three parts such as
    `f"{catalog}.{schema}.agent"`, a file that calls `mlflow.register_model` with a three-part name, after
    `mlflow.set_registry_uri("databricks-uc")`, or on MLflow 3, whose default registry on Databricks is Unity
    Catalog), checks the `log_model` call passes a signature with inputs and
    outputs. No `signature=` and no `input_example=` is an error; `infer_signature()` given no model output (or a
    `ModelSignature` without `outputs`) is an error; an `input_example` alone is an error with
    `mlflow.langchain.log_model` and a warning with other flavours, which usually infer a full signature from it.
    A `mlflow.pyfunc` model whose class is a `ChatAgent`, `ResponsesAgent` or `ChatModel` needs none: MLflow sets
    their standard signature itself (2.x and 3.x). When the class cannot be seen (a code model outside the bundle,
    an imported object), a missing signature is a warning.

    ## Why it matters
    Unity Catalog refuses a model version whose signature lacks inputs or outputs
    (`Model did not contain any signature metadata`), after the job has trained or built the model.
    `mlflow.langchain.log_model` often cannot infer the output schema from an input example. This holds for every
    MLflow version (2.x and 3.x) registering to Unity Catalog.

    ## Example
    ```python
    mlflow.langchain.log_model(
        lc_model="agent.py",
        artifact_path="agent",
        input_example={"messages": [{"role": "user", "content": "hi"}]},
        registered_model_name="main.agents.support",   # no signature
    )
    ```

    ## Fix
    Pass `signature=mlflow.models.infer_signature(model_input=example, model_output=example_output)`, or log with
    `mlflow.pyfunc.log_model(python_model="agent.py", ...)`, which infers signatures more reliably.
    """

    id = "DG204"
    name = "uc-signature"
    severity = Severity.ERROR
    summary = "models registered to Unity Catalog without a signature with inputs and outputs"
    source = "Guide, 'Unity Catalog Requires Explicit Model Signature' (5)."

    def check(self, target: Target) -> Iterator[Report]:
        seen: set[tuple[str, int, int]] = set()
        for program in programs(target, max_file_bytes(self.settings)):
            for source, facts, log in _logs(program):
                setting = self.settings.mlflow_version
                registers = log_registers_to_uc(target, program, facts, log, setting) or (
                    log.registered_name is None and module_registers_to_uc(target, program, facts, setting)
                )
                if not registers or log.call.has_star_kwargs:
                    continue
                model = self._pyfunc_model(program, facts, log)
                if model == "standard":
                    continue  # ChatAgent, ResponsesAgent and ChatModel get their signature from MLflow
                problem = self._problem(facts, log)
                if problem is None:
                    continue
                message, severity = problem
                if model == "unknown" and log.keyword("signature") is None:
                    # The model class cannot be seen: it may be one whose signature MLflow sets.
                    message = f"{message}, unless the model class is a ChatAgent, ResponsesAgent or ChatModel"
                    severity = Severity.WARNING
                anchor: ast.AST = log.registered_name if log.registered_name is not None else log.call.node
                loc = source.loc_of(anchor)
                name = registered_name(program, facts, log)
                if name.origins:
                    message += f"; model name {_show(name.value)!r}{name.came_from()}"
                if not is_uc_name(name.value):
                    reason = uc_registry_reason(target, program, facts, log.call, setting)
                    message += f"; {reason}" if reason else ""
                if first_at(seen, loc):
                    yield Report(message, program.path, severity=severity, at=loc)

    @staticmethod
    def _pyfunc_model(program: TaskProgram, facts: ModuleFacts, log: LogModel) -> str:
        """For mlflow.pyfunc: "standard" when the model class has a signature MLflow sets, "unknown" when the class
        cannot be seen, "plain" otherwise (and for other flavours)."""
        if log.flavor != "pyfunc" or log.code_model is None:
            return "plain"
        if log.code_model_path is not None:
            for model in program.code_models:
                if model.log is log:
                    if not model.files:
                        return "unknown"
                    return "standard" if any(f.tree is not None and facts_of(f).defines_agent_class() for f in model.files) else "plain"
            return "unknown"
        node = log.code_model
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in facts.class_bases:
            bases = facts.class_bases[node.func.id]
            return "standard" if any(b.rsplit(".", 1)[-1] in STANDARD_SIGNATURE_CLASSES for b in bases) else "plain"
        return "unknown"

    @staticmethod
    def _problem(facts: ModuleFacts, log: LogModel) -> tuple[str, Severity] | None:
        flavor = f"mlflow.{log.flavor}.log_model"
        signature = log.keyword("signature")
        example = log.keyword("input_example")
        if signature is None or _is_none(signature.value):
            if example is not None and not _is_none(example.value):
                if log.flavor == "langchain":
                    return (
                        f"{flavor}() registers to Unity Catalog with an input_example but no signature: that is not "
                        "enough for langchain models; pass signature=infer_signature(model_input, model_output) or "
                        "log with mlflow.pyfunc.log_model",
                        Severity.ERROR,
                    )
                return (
                    f"{flavor}() registers to Unity Catalog with no signature: MLflow has to infer one from "
                    "input_example, and Unity Catalog refuses it when that fails; pass "
                    "signature=infer_signature(model_input, model_output)",
                    Severity.WARNING,
                )
            return (
                f"{flavor}() registers to Unity Catalog with no signature (and no input_example): Unity Catalog "
                "needs a signature with inputs and outputs; pass signature=infer_signature(model_input, model_output)",
                Severity.ERROR,
            )
        call = facts.signature_call(signature.value, log.call.site, log.call.at)
        if call is None:
            return None
        name = facts.qualname(call.func) or ""
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        if name.endswith("infer_signature") and (name.startswith("mlflow.") or name == "infer_signature"):
            has_output = (len(call.args) >= 2 and not _is_none(call.args[1])) or ("model_output" in keywords and not _is_none(keywords["model_output"]))
            if not has_output and not any(k.arg is None for k in call.keywords):
                return (
                    f"{flavor}() registers to Unity Catalog with a signature from infer_signature() given no model "
                    "output: the signature has inputs only, which Unity Catalog refuses; pass model_output too",
                    Severity.ERROR,
                )
        elif name.endswith("ModelSignature") and name.startswith("mlflow."):
            has_output = (len(call.args) >= 2 and not _is_none(call.args[1])) or ("outputs" in keywords and not _is_none(keywords["outputs"]))
            if not has_output and not any(k.arg is None for k in call.keywords):
                return (
                    f"{flavor}() registers to Unity Catalog with a ModelSignature without outputs, which Unity "
                    "Catalog refuses; give it outputs=",
                    Severity.ERROR,
                )
        return None


# Packages a model file may import that serving only has when the requirements list them.
TRACKED_MODEL_PACKAGES: dict[str, str] = {
    **NOT_IN_RUNTIME_ML,
    "langchain": "langchain",
    "langchain_core": "langchain-core",
    "langchain_openai": "langchain-openai",
    "openai": "openai",
}
# Always installed with a logged model: MLflow adds itself and its own dependencies.
_ALWAYS_PRESENT = frozenset({"mlflow", "mlflow-skinny"})


def _tracked(module: str) -> str | None:
    return by_module_prefix(module, TRACKED_MODEL_PACKAGES)


class PipRequirements(Rule):
    """
    ## What it does
    Checks each `log_model` call given a code model as a path (`python_model="agent.py"`, `lc_model=...`): it must
    pass `pip_requirements`, `extra_pip_requirements` or `conda_env`. When the model file can be followed into the
    bundle and `pip_requirements` is a literal list, also reports agent packages the model file (or the bundle
    modules it imports) imports but the list lacks, counting what listed packages bring with them
    (`databricks-langchain` brings `langgraph` ...).

    ## Why it matters
    The serving endpoint installs only what the model's requirements say. A code model's imports are not captured
    from a Python object, so a missing `databricks-langchain` or `langgraph` surfaces when the endpoint starts, as
    `No module named ...`, long after the job succeeded. Applies to code models, MLflow 2.12 and later.

    ## Example
    ```python
    mlflow.pyfunc.log_model(name="agent", python_model="agent.py")   # no requirements
    ```

    ## Fix
    ```python
    mlflow.pyfunc.log_model(
        name="agent",
        python_model="agent.py",
        pip_requirements=["mlflow[databricks]>=3", "databricks-langchain", "langgraph>=0.3.4"],
    )
    ```
    """

    id = "DG205"
    name = "pip-requirements"
    severity = Severity.WARNING
    summary = "code-model log_model calls without requirements, or whose requirements miss the model's imports"
    source = "Guide, pre-job checklist: pip_requirements in log_model() include all runtime dependencies."

    def check(self, target: Target) -> Iterator[Report]:
        seen: set[tuple[str, int, int]] = set()
        for program in programs(target, max_file_bytes(self.settings)):
            for model in program.code_models:
                log = model.log
                if log.code_model is None or log.call.has_star_kwargs:
                    continue
                owner = model.owner
                given = {k: log.keyword(k) for k in ("pip_requirements", "extra_pip_requirements", "conda_env")}
                if all(v is None or _is_none(v.value) for v in given.values()):
                    loc = owner.loc_of(log.code_model)
                    if first_at(seen, loc):
                        yield Report(
                            f"mlflow.{log.flavor}.log_model() logs the code model {_show(log.code_model_path)} without "
                            "pip_requirements, extra_pip_requirements or conda_env: the serving endpoint installs only "
                            "what the model's requirements list",
                            program.path,
                            at=loc,
                        )
                    continue
                requirements = given["pip_requirements"]
                if requirements is None or not model.files:
                    continue
                listed = self._listed(facts_of(owner), log, requirements.value)
                if listed is None:
                    continue
                missing = self._missing(model.files, listed)
                if missing:
                    loc = owner.loc_of(requirements)
                    if first_at(seen, loc):
                        names = ", ".join(f"{dist} (imported as {module} in {where})" for dist, module, where in missing)
                        yield Report(
                            f"pip_requirements of the code model {model.rel} lacks {names}: the serving endpoint will "
                            "not have it",
                            program.path,
                            at=loc,
                        )

    @staticmethod
    def _listed(facts: ModuleFacts, log: LogModel, node: ast.expr) -> set[str] | None:
        """The distributions a literal ``pip_requirements`` list names; None when it is not a literal list."""
        if not isinstance(node, (ast.List, ast.Tuple)):
            return None
        names: set[str] = set()
        for element in node.elts:
            value = facts.call_value(log.call, element)
            if value is None or UNKNOWN in value:
                return None
            requirement = parse_requirement(value)
            if requirement is None:
                return None  # a wheel, a file or a URL: it may bring anything
            names.add(requirement.name)
        brought = set(names)
        for name in names:
            brought |= BRINGS.get(name, frozenset())
        return brought | _ALWAYS_PRESENT

    @staticmethod
    def _missing(files: list[PythonSource], listed: set[str]) -> list[tuple[str, str, str]]:
        missing: list[tuple[str, str, str]] = []
        reported: set[str] = set()
        for source in files:
            if source.tree is None:
                continue
            for fact in facts_of(source).imports:
                if fact.guarded or fact.level:
                    continue
                for module in fact.loaded():
                    dist = _tracked(module)
                    if dist is None or dist in reported or normalise(dist) in listed:
                        continue
                    if any(provides(d, module) for d in listed):
                        continue
                    reported.add(dist)
                    at = source.loc_of(fact.node)
                    missing.append((dist, module, f"{at.file}:{at.line}"))
        return missing


class MlflowApi(Rule):
    """
    ## What it does
    Checks `log_model` keywords against the MLflow the task runs: `name=` on MLflow 2.x is an error (it arrived in
    MLflow 3.0); `name=` together with `artifact_path=` (or the artifact path passed by position) is an error on any
    version; `artifact_path` on MLflow 3 is a warning (deprecated). The version is the `mlflow-version` setting if
    set, else the MLflow of the task's Databricks Runtime ML (14.3 LTS: 2.9.2, 15.4 LTS: 2.13.1, 16.4 LTS: 2.21.3,
    17.3 LTS: 3.0.1, 18: 3.8.1) changed by any `mlflow` install of the task (`libraries`, environment dependencies,
    `%pip install` in its notebook; an unpinned install keeps the runtime's version). Installing
    `databricks-agents`, `databricks-langchain` or `databricks-openai` without a pin counts as installing the newest
    MLflow 3 (their current releases require it: databricks-agents 1.13, databricks-langchain 0.22,
    databricks-openai 0.18); pinned, they make the version unknown. Without a known version, only the `name=` +
    `artifact_path=` check runs. Other packages that upgrade MLflow as a dependency are not followed.

    ## Why it matters
    MLflow 2's `log_model()` has no `name` parameter and fails with `got an unexpected keyword argument 'name'`;
    MLflow 3 raises when both are given (`Both artifact_path (deprecated) and name parameters were specified`).

    ## Example
    ```python
    # spark_version: 16.4.x-cpu-ml-scala2.12 (MLflow 2.21.3)
    mlflow.langchain.log_model(lc_model="agent.py", name="agent")
    ```

    ## Fix
    On MLflow 2 use `artifact_path="agent"`; or install `mlflow>=3` in the task (`libraries: - pypi: {package:
    "mlflow>=3"}`) and use `name=`. Set `mlflow-version` in `[tool.dab-guard]` when the job's MLflow comes from
    elsewhere.
    """

    id = "DG206"
    name = "mlflow-api"
    severity = Severity.ERROR
    summary = "log_model(name=) on MLflow 2, name= with artifact_path=, artifact_path= on MLflow 3"
    source = "Guide, troubleshooting 'log_model() got unexpected keyword name'; MLflow 3.0 Model.log()."

    def check(self, target: Target) -> Iterator[Report]:
        seen: set[tuple[str, int, int]] = set()
        for program in programs(target, max_file_bytes(self.settings)):
            logs = list(_logs(program))
            if not logs:
                continue
            version = task_mlflow(target, program, self.settings.mlflow_version)
            for source, _, log in logs:
                flavor = f"mlflow.{log.flavor}.log_model"
                name = log.keyword("name")
                artifact = log.artifact_path
                report: Report | None = None
                if name is not None and artifact is not None:
                    report = Report(
                        f"{flavor}() is given both name= and artifact_path: MLflow 3 raises when both are given and "
                        "MLflow 2 has no name=; keep name= on MLflow 3 and artifact_path= on MLflow 2"
                        f"{self._running(version)}",
                        program.path,
                        at=source.loc_of(name),
                    )
                elif name is not None and version is not None and version.major < 3:
                    report = Report(
                        f"{flavor}(name=...) needs MLflow 3, but this task runs MLflow {version.text} ({version.source}), "
                        "where log_model() has no 'name' parameter; use artifact_path= or install mlflow>=3",
                        program.path,
                        at=source.loc_of(name),
                    )
                elif artifact is not None and version is not None and version.major >= 3:
                    written = "artifact_path=" if isinstance(artifact, ast.keyword) else "the artifact path (by position)"
                    report = Report(
                        f"{flavor}() gets {written}, deprecated in MLflow 3, which this task runs ({version.text}, "
                        f"{version.source}); use name=",
                        program.path,
                        severity=Severity.WARNING,
                        at=source.loc_of(artifact),
                    )
                if report is not None and report.at is not None and first_at(seen, report.at):
                    yield report

    @staticmethod
    def _running(version: object) -> str:
        text = getattr(version, "text", None)
        return f" (this task runs MLflow {text})" if text else ""


# MLflow releases before 3.6.0 import `langchain.schema` unconditionally in mlflow.langchain (checked in 2.9.2,
# 2.13.1, 2.21.3, 3.0.1, 3.2.0, 3.4.0, 3.5.0); 3.6.0 falls back to langchain_core.
LANGCHAIN_SCHEMA_FIXED = (3, 6)
# From this runtime on, langchain 1.x installs over the runtime's packages (pydantic 2); older runtimes keep their own.
LANGCHAIN_1_RUNTIME = (16, 4)
# The langchain a runtime ML release may ship: a 0.x (16.4 and 17.3 LTS ML predate langchain 1.0, October 2025).
RUNTIME_LANGCHAIN = (0, LATEST_MINOR)


def _langchain_1_install(target: Target, program: TaskProgram) -> str | None:
    """Where the task installs langchain 1.x (``langchain>=1`` ...), or None when it may keep a runtime's 0.x.

    An unpinned ``langchain`` leaves an installed 0.x in place (without ``--upgrade``), so it is not counted.
    """
    for installed in task_installs(target, program).packages:
        if installed.name != "langchain":
            continue
        after = installed_version(RUNTIME_LANGCHAIN, installed.requirement, installed.upgrade)
        if after is not None and after[0] >= 1:
            return f"{installed.requirement.text}, {installed.where}"
    return None


class StaleLangchain(Rule):
    """
    ## What it does
    Reports imports of `langchain.schema` (and its submodules) in any file a task runs or logs as a code model, and
    `mlflow.langchain.log_model` on a task that installs langchain 1.x (`langchain>=1` in its libraries, environment
    or `%pip install`) while its MLflow still imports `langchain.schema` when logging: MLflow before 3.6 (checked in
    2.21.3, 3.0.1 and 3.5.0; Databricks Runtime 16.4 LTS ML ships 2.21.3, 17.3 LTS ML 3.0.1) unless the job installs
    a newer MLflow. Installing `databricks-langchain`, which requires langchain 1.x, also brings MLflow 3 (see
    DG206), so it is not reported. Imports inside `try/except ImportError` are not reported.

    ## Why it matters
    langchain 1.0 removed `langchain.schema`, and `databricks-langchain` pulls langchain 1.x in: the job fails with
    `No module named 'langchain.schema'`, from the code or from inside MLflow's langchain flavour.

    ## Example
    ```python
    from langchain.schema import HumanMessage
    mlflow.langchain.log_model(lc_model="agent.py", artifact_path="agent")   # on 16.4 LTS ML
    ```

    ## Fix
    Import from `langchain_core` (`langchain_core.messages`, `langchain_core.runnables` ...) and log the agent with
    `mlflow.pyfunc.log_model(python_model="agent.py", ...)`.
    """

    id = "DG209"
    name = "stale-langchain"
    severity = Severity.ERROR
    summary = "langchain.schema imports, and mlflow.langchain.log_model on an MLflow that imports it"
    source = "Guide, 'Runtime Compatibility Matrix' and troubleshooting 'No module named langchain.schema'."

    def check(self, target: Target) -> Iterator[Report]:
        seen: set[tuple[str, int, int]] = set()
        for program in programs(target, max_file_bytes(self.settings)):
            for source, facts in program.parsed():
                for fact in facts.imports:
                    if fact.guarded:
                        continue
                    hit = next((n for n in fact.loaded() if n == "langchain.schema" or n.startswith("langchain.schema.")), None)
                    if hit is None:
                        continue
                    loc = source.loc_of(fact.node)
                    if first_at(seen, loc):
                        yield Report(
                            f"{hit} is gone since langchain 1.0 (which databricks-langchain installs): import from "
                            "langchain_core instead (langchain_core.messages, langchain_core.runnables ...)",
                            program.path,
                            at=loc,
                        )
            langchain_logs = [(source, log) for source, _, log in _logs(program) if log.flavor == "langchain"]
            if not langchain_logs:
                continue
            version = task_mlflow(target, program, self.settings.mlflow_version)
            if version is None or version.version[:2] >= LANGCHAIN_SCHEMA_FIXED:
                continue
            runtime = task_runtime(target, program.ref)
            if runtime is not None and runtime.version is not None and runtime.version < LANGCHAIN_1_RUNTIME:
                continue
            langchain_1 = _langchain_1_install(target, program)
            if langchain_1 is None:
                continue  # the runtime's own langchain 0.x still has langchain.schema
            for source, log in langchain_logs:
                loc = source.loc_of(log.call.node)
                if first_at(seen, loc):
                    yield Report(
                        f"mlflow.langchain.log_model() on MLflow {version.text} ({version.source}) imports "
                        f"langchain.schema, which the langchain 1.x this task installs ({langchain_1}) no longer has: "
                        "log with mlflow.pyfunc.log_model(python_model=...) instead, or install mlflow>=3.6",
                        program.path,
                        at=loc,
                    )


class UcModelName(Rule):
    """
    ## What it does
    For a registration to Unity Catalog (after `mlflow.set_registry_uri("databricks-uc")`, with
    `MLFLOW_REGISTRY_URI` or `spark.mlflow.modelRegistryUri` set to it on the cluster, on MLflow 3 when the code sets
    no registry, or a name that is meant to be three parts), checks the model name is `catalog.schema.model`: exactly three parts, none empty. Applies
    to `registered_model_name=` and `mlflow.register_model(model_uri, name)`. Names built from values the job
    passes (`--schema ${var.schema}` read with argparse, `sys.argv`, widgets, `spark_env_vars`) are checked per
    target with those values, and the finding says where each is set. Names built from unknown values are
    checked only where the dots that are known already decide (`f"{catalog}.{schema}.x.y"` has four parts).

    ## Why it matters
    Unity Catalog rejects a two-part or four-part name (`INVALID_PARAMETER_VALUE`) when the job registers the
    model, after the model has been trained and logged. Holds for every MLflow version with the `databricks-uc`
    registry.

    ## Example
    ```python
    mlflow.set_registry_uri("databricks-uc")
    mlflow.register_model(model_info.model_uri, "support_agent")
    ```

    ## Fix
    Use the full name: `mlflow.register_model(model_info.model_uri, f"{catalog}.{schema}.support_agent")`.
    """

    id = "DG210"
    name = "uc-model-name"
    severity = Severity.ERROR
    summary = "Unity Catalog registrations whose model name is not catalog.schema.model"
    source = "Guide, 'Verify Catalog and Schema Exist Before Registration' (6): names are catalog.schema.model."

    def check(self, target: Target) -> Iterator[Report]:
        seen: set[tuple[str, int, int]] = set()
        for program in programs(target, max_file_bytes(self.settings)):
            for source in (*program.runs, *program.modules):
                if source.tree is None:
                    continue
                facts = facts_of(source)
                named: list[tuple[ast.AST, Traced, CallFact]] = []
                for log in facts.log_models:
                    if log.registered_name is not None:
                        named.append((log.registered_name.value, registered_name(program, facts, log), log.call))
                for registration in facts.registrations:
                    if registration.name is not None:
                        named.append((registration.name, registration_name(program, facts, registration), registration.call))
                for node, name, call in named:
                    problem = self._problem(name.value, partial(uc_registry_reason, target, program, facts, call, self.settings.mlflow_version))
                    if problem is None:
                        continue
                    loc = source.loc_of(node)
                    if first_at(seen, loc):
                        yield Report(problem + name.came_from(), program.path, at=loc)

    @staticmethod
    def _problem(value: str | None, registry: Callable[[], str | None]) -> str | None:
        """What is wrong with a model name. ``registry`` tells (when asked) why the registry is Unity Catalog: None
        when it is not, "" when the code says so, else the reason (MLflow 3's default)."""
        if value is None:
            return None
        parts = value.split(".")
        shown = _show(value)
        if UNKNOWN in value:
            if len(parts) > 3 and registry() is not None:
                return f"Unity Catalog model name {shown!r} has {len(parts)} parts; it must be catalog.schema.model"
            return None
        empty = any(not p.strip() for p in parts)
        if len(parts) == 3 and not empty:
            return None
        if empty and len(parts) >= 2:
            if len(parts) != 3 and registry() is None:
                return None
            return f"Unity Catalog model name {shown!r} has an empty part; it must be catalog.schema.model"
        reason = registry()
        if reason is None:
            return None
        return (
            f"Unity Catalog model name {shown!r} has {len(parts)} part{'s' if len(parts) != 1 else ''}; the registry "
            f"is databricks-uc{f' ({reason})' if reason else ''}, which needs catalog.schema.model"
        )

