"""bundle_template/ and `dab-guard new`: every answer combination that changes the output renders a bundle that
parses, compiles, conforms to the Databricks CLI's schema, validates clean, and passes its own tests.

Which combinations: the output depends jointly on runtime x model kind x flavour (the Python, the task libraries,
`name=` or `artifact_path=`), on compute (the cluster YAML), on the cloud only through the node type of a job cluster,
and on CI and the predeploy guard as independent blocks. So the product of runtime, kind (plain has no flavour) and
compute is rendered in full (18 renders), and cloud, CI and guard are spread over it so that every value appears,
every cloud with a job cluster (`test_covering_set_covers_every_answer` checks that).
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import dab_guard
from dab_guard.cli import main
from dab_guard.engine import validate
from dab_guard.rules.registry import rules_by_id
from tests.conftest import REFERENCE, ROOT
from tests.files import copy_project_source

pytest.importorskip("cookiecutter", reason="cookiecutter is not installed (pip install -e '.[test]')")
from cookiecutter.exceptions import FailedHookException
from cookiecutter.main import cookiecutter

TEMPLATE = ROOT / "bundle_template"
CLOUDS = ("aws", "azure", "gcp")
NODE_TYPES = {"aws": "i3.xlarge", "azure": "Standard_DS3_v2", "gcp": "n1-standard-4"}
SPARK_VERSIONS = {"16.4": "16.4.x-cpu-ml-scala2.12", "17.3": "17.3.x-cpu-ml-scala2.13"}
# GitHub Actions expressions are meant to survive in workflow files; nothing else with braces may.
GITHUB_EXPRESSION = re.compile(r"\$\{\{[^{}]*\}\}")


def covering_set() -> list[dict[str, str]]:
    combos = []
    kinds = [("agent", "pyfunc"), ("agent", "langchain"), ("plain", "pyfunc")]
    for index, (runtime, (kind, flavour), compute) in enumerate(
        itertools.product(("16.4", "17.3"), kinds, ("job_cluster", "instance_pool", "existing_cluster"))
    ):
        answers = {"runtime": runtime, "model_kind": kind, "model_flavour": flavour, "compute": compute}
        answers["cloud"] = CLOUDS[(index // 3) % 3]  # each block of three computes shares a cloud: 6 blocks, 3 clouds
        answers["ci"] = ("github", "none")[index % 2]
        answers["predeploy_guard"] = ("yes", "no")[(index // 2) % 2]
        if compute == "instance_pool":
            answers["instance_pool_id"] = "0101-120000-brick1-pool-ABCD1234"
        if compute == "existing_cluster":
            answers["existing_cluster_id"] = "0101-120000-abcdefgh"
        combos.append(answers)
    return combos


COMBOS = covering_set()

AWKWARD = [
    {"project_name": "Ünïcödé Agent — «Straße» 'quoted' \"double\" #1: yes"},
    {"project_name": "my-dashed-project-name"},
    {
        "project_name": "An Extraordinarily Long Project Name For Testing " * 4,
        "compute": "instance_pool",
        "instance_pool_id": "p-1",
    },
    {"project_name": "2024 forecast", "model_kind": "plain", "runtime": "16.4"},
    {"project_name": "🚀🚀", "model_flavour": "langchain"},
    {"project_name": "YAML words", "bundle_name": "null", "catalog": "true", "schema": "on", "model_name": "1e3"},
    # Unity Catalog accepts '-' (SQL needs backticks for it; the scripts use the REST API and MLflow, which do not).
    {
        "project_name": "Hyphens",
        "catalog": "dev-catalog",
        "schema": "ml-models",
        "model_name": "churn-v2",
        "ci": "none",
    },
]


def combo_id(answers: dict[str, str]) -> str:
    return "-".join(
        answers[k] for k in ("runtime", "model_kind", "model_flavour", "compute", "cloud", "ci", "predeploy_guard")
    )


@pytest.fixture
def cookiecutter_config(tmp_path: Path) -> str:
    """A cookiecutter configuration that keeps its replay files in tmp_path, not in the home folder."""
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(json.dumps({"replay_dir": str(tmp_path / "replay"), "cookiecutters_dir": str(tmp_path / "cc")}))
    return str(config)


def render(out: Path, config: str, answers: dict[str, str]) -> Path:
    return Path(
        cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(out), config_file=config)
    )


def project_files(project: Path) -> Iterator[Path]:
    return (path for path in sorted(project.rglob("*")) if path.is_file())


# --- what every rendering must satisfy ---------------------------------------------------------------------------


def assert_no_template_syntax(project: Path) -> None:
    for path in project_files(project):
        relative = path.relative_to(project).as_posix()
        assert "{{" not in relative and "{%" not in relative, relative
        text = path.read_text(encoding="utf-8")
        searched = GITHUB_EXPRESSION.sub("", text) if relative.startswith(".github/workflows/") else text
        for marker in ("{{", "{%", "{#"):
            assert marker not in searched, f"{relative} keeps template syntax {marker!r}"
        # Jinja's whitespace control leaves no trailing blanks and exactly one final newline.
        assert not [n for n, line in enumerate(text.splitlines(), 1) if line != line.rstrip()], relative
        assert text.endswith("\n") and not text.endswith("\n\n"), relative
        if path.suffix in (".md", ".yml", ".toml", ".txt"):  # leaving out a block leaves no gap behind
            assert "\n\n\n" not in text, f"{relative} has two blank lines in a row"


def assert_yaml_parses(project: Path) -> list[Path]:
    files = [p for p in project_files(project) if p.suffix in (".yml", ".yaml")]
    for path in files:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(document, dict), path
        assert all(isinstance(key, str) for key in document), path
    return files


def assert_python_compiles(project: Path) -> None:
    for path in project_files(project):
        if path.suffix == ".py":
            compile(path.read_text(encoding="utf-8"), str(path), "exec")  # never imported: just compiled


def assert_validates_clean(project: Path) -> None:
    result = validate(project)
    assert set(result.targets) == {"dev", "prod"}
    shown = [f"{f.file}:{f.line}: {f.rule} [{f.severity.label}] {f.message}" for f in result.findings]
    assert shown == [], "\n".join(shown)


def bundle_yaml(project: Path) -> list[Path]:
    return [project / "databricks.yml", *sorted((project / "resources").glob("*.yml"))]


def check_rendering(project: Path, schema_validator: Any) -> None:
    assert_no_template_syntax(project)
    assert_yaml_parses(project)
    assert_python_compiles(project)
    assert_validates_clean(project)
    if schema_validator is not None:
        for path in bundle_yaml(project):
            errors = sorted(schema_validator.iter_errors(yaml.safe_load(path.read_text("utf-8"))), key=str)
            assert not errors, f"{path.name}: " + "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


@pytest.fixture(scope="module")
def schema_validator() -> Any:
    """The Databricks CLI's own bundle schema, when shared/reference has it (its RE2 patterns translated for `re`)."""
    path = REFERENCE / "databricks-bundle-schema.json"
    if not path.is_file():
        return None
    from jsonschema import Draft202012Validator, ValidationError, validators

    def pattern(validator: Any, regex: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
        if isinstance(instance, str) and not re.search(translate_re2(regex), instance):
            yield ValidationError(f"{instance!r} does not match {regex!r}")

    checker = validators.extend(Draft202012Validator, {"pattern": pattern})
    return checker(json.loads(path.read_text("utf-8")))


def translate_re2(regex: str) -> str:
    """RE2's Unicode classes in Python's `re`: \\p{L} letters, \\p{N} digits (close enough for these patterns)."""
    return regex.replace(r"[\p{L}\p{N}]", r"[^\W_]").replace(r"\p{L}", r"[^\W\d_]").replace(r"\p{N}", r"\d")


def load(project: Path, relative: str) -> Any:
    return yaml.safe_load((project / relative).read_text("utf-8"))


RULE_MENTION = re.compile(r"\b(DG\d{3}) `([a-z-]+)`")


def assert_readme_names_real_rules(project: Path, answers: dict[str, str]) -> None:
    """The README's "which rule protects what" names each rule by its real id and name, and only rules that apply."""
    readme = (project / "README.md").read_text("utf-8")
    rules = rules_by_id()
    mentioned = RULE_MENTION.findall(readme)
    assert mentioned
    for rule_id, name in mentioned:
        assert rule_id in rules and rules[rule_id].name == name, f"README: {rule_id} `{name}`"
    ids = {rule_id for rule_id, _ in mentioned}
    agent = answers["model_kind"] == "agent"
    existing = answers["compute"] == "existing_cluster"
    assert {"DG207", "DG211", "DG212", "DG305"} <= ids if agent else not {"DG207", "DG211", "DG212", "DG305"} & ids
    assert ("DG307" in ids) is existing and ("DG101" in ids) is not existing
    assert ("DG104" in ids) is (answers["compute"] == "instance_pool")
    assert ("DG113" in ids) is (answers["ci"] == "github")


def assert_ci_uses_the_action(project: Path) -> None:
    """The workflow validates with the repository's own composite action, with inputs it declares, and keeps the
    workspace secrets out of every step that does not talk to the workspace."""
    action = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))
    workflow = load(project, ".github/workflows/bundle-ci.yml")
    assert "env" not in workflow and all("env" not in job for job in workflow["jobs"].values())
    (steps,) = [job["steps"] for job in workflow["jobs"].values()]
    (ours,) = [step for step in steps if str(step.get("uses", "")).startswith("dab-guard/dab-guard@")]
    assert ours["uses"] == f"dab-guard/dab-guard@v{dab_guard.__version__}"
    assert set(ours["with"]) <= set(action["inputs"]), set(ours["with"]) - set(action["inputs"])
    assert ours["with"]["format"] == "github" and ours["with"]["fail-on"] in ("error", "warning", "never")
    for step in steps:
        uses_secrets = "secrets." in json.dumps(step)
        talks_to_workspace = "databricks " in step.get("run", "") or step.get("id") == "credentials"
        assert uses_secrets is talks_to_workspace, step.get("name") or step.get("uses")


# --- the covering set ----------------------------------------------------------------------------------------------


def test_template_names_this_dab_guard_release() -> None:
    # The CI workflow pins dab-guard's action (and requirements-dev.txt dab-guard) to the release the template is from.
    choices = json.loads((TEMPLATE / "cookiecutter.json").read_text("utf-8"))
    assert choices["_dab_guard_version"] == dab_guard.__version__


# What the hooks may import: the answer rules beside them and the standard library's local parts. Nothing that opens
# a connection (socket, urllib, http, requests) or runs a program (subprocess, git).
HOOK_IMPORTS = {"__future__", "bundle_answers", "collections", "json", "os", "re", "shutil", "sys"}


@pytest.mark.parametrize("hook", sorted(path.name for path in (TEMPLATE / "hooks").glob("*.py")))
def test_hooks_do_no_network_and_no_git_work(hook: str) -> None:
    # The hooks are Jinja templates; their one Jinja expression stands in a place where a string is valid Python.
    source = re.sub(r"\{\{.*?\}\}", "'{}'", (TEMPLATE / "hooks" / hook).read_text("utf-8"))
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in ("os.system", "os.popen", "__import__"):
            pytest.fail(f"{hook} runs {ast.unparse(node.func)}")
    assert imported <= HOOK_IMPORTS, imported - HOOK_IMPORTS


def test_covering_set_covers_every_answer() -> None:
    choices = json.loads((TEMPLATE / "cookiecutter.json").read_text("utf-8"))
    for key in ("runtime", "model_kind", "model_flavour", "compute", "cloud", "ci", "predeploy_guard"):
        assert {c[key] for c in COMBOS} == set(choices[key]), key
    assert {c["cloud"] for c in COMBOS if c["compute"] == "job_cluster"} == set(CLOUDS)
    assert len({combo_id(c) for c in COMBOS}) == len(COMBOS)


@pytest.mark.parametrize("answers", COMBOS, ids=combo_id)
def test_rendering_is_valid(
    answers: dict[str, str], tmp_path: Path, cookiecutter_config: str, schema_validator: Any
) -> None:
    project = render(tmp_path / "out", cookiecutter_config, answers)
    check_rendering(project, schema_validator)

    agent = answers["model_kind"] == "agent"
    job_file = project / "resources" / f"{project.name}.job.yml"
    job = load(project, f"resources/{project.name}.job.yml")["resources"]["jobs"][f"{project.name}_job"]
    root = load(project, "databricks.yml")

    assert job["max_concurrent_runs"] == 1 and job["queue"] == {"enabled": True}
    tasks = {task["task_key"]: task for task in job["tasks"]}
    deploy_task = "deploy_agent" if agent else "deploy_model"
    assert list(tasks) == ["preflight", "log_and_register", deploy_task]
    assert tasks["log_and_register"]["depends_on"] == [{"task_key": "preflight"}]
    assert tasks[deploy_task]["depends_on"] == [{"task_key": "log_and_register"}]

    if answers["compute"] == "existing_cluster":
        assert "job_clusters" not in job
        assert all(task["existing_cluster_id"] == "${var.cluster_id}" for task in tasks.values())
    else:
        cluster = job["job_clusters"][0]["new_cluster"]
        assert cluster["spark_version"] == SPARK_VERSIONS[answers["runtime"]]
        assert cluster["num_workers"] == 0 and cluster["data_security_mode"] == "SINGLE_USER"
        assert cluster["spark_conf"]["spark.databricks.cluster.profile"] == "singleNode"
        assert cluster["custom_tags"] == {"ResourceClass": "SingleNode"}
        if answers["compute"] == "instance_pool":
            assert cluster["instance_pool_id"] == "${var.instance_pool_id}" and "node_type_id" not in cluster
            assert root["variables"]["instance_pool_id"]["default"] == answers["instance_pool_id"]
        else:
            assert cluster["node_type_id"] == NODE_TYPES[answers["cloud"]]

    libraries = {lib["pypi"]["package"] for task in tasks.values() for lib in task.get("libraries", [])}
    if agent:
        assert {
            "databricks-langchain",
            "langgraph>=0.3.4",
            "langchain-core",
            "databricks-agents>=1.0",
            "mlflow>=3.6",
        } <= libraries
    else:
        assert libraries == set()

    for script in ("preflight.py", "log_model.py", f"{deploy_task}.py"):  # spark_python_task runs them: no __file__
        tree = ast.parse((project / "src" / script).read_text("utf-8"))
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "__file__"], script
    flavour = answers["model_flavour"] if agent else "pyfunc"
    (call,) = [
        node
        for node in ast.walk(ast.parse((project / "src" / "log_model.py").read_text("utf-8")))
        if isinstance(node, ast.Call) and ast.unparse(node.func) == f"mlflow.{flavour}.log_model"
    ]
    keywords = {keyword.arg for keyword in call.keywords}
    assert {"signature", "pip_requirements", "code_paths", "registered_model_name"} <= keywords
    assert ("resources" in keywords) is agent
    # MLflow 2.21 (16.4 LTS ML, which a plain model runs on as it is) has no name=; MLflow 3 deprecates artifact_path=.
    mlflow2 = not agent and answers["runtime"] == "16.4"
    assert ("artifact_path" in keywords) is mlflow2 and ("name" in keywords) is not mlflow2
    if agent:
        assert "handle_tool_errors=True" in (project / "src" / "agent_graph.py").read_text("utf-8")

    scripts = root.get("experimental", {}).get("scripts", {})
    assert (scripts == {"predeploy": "dab-guard validate --target ${bundle.target}"}) is (
        answers["predeploy_guard"] == "yes"
    )
    assert (project / ".github" / "workflows" / "bundle-ci.yml").is_file() is (answers["ci"] == "github")
    if answers["ci"] == "github":
        assert_ci_uses_the_action(project)
    assert_readme_names_real_rules(project, answers)
    assert (project / "src" / "agent.py").is_file() is agent and (project / "src" / "model.py").is_file() is not agent
    assert (project / "notebooks" / ("develop_agent.py" if agent else "develop_model.py")).is_file()
    assert not list(project.rglob("__pycache__"))
    assert job_file.is_file()


@pytest.mark.parametrize("answers", AWKWARD, ids=lambda a: a.get("bundle_name") or a["project_name"][:24])
def test_awkward_names(
    answers: dict[str, str], tmp_path: Path, cookiecutter_config: str, schema_validator: Any
) -> None:
    project = render(tmp_path / "out", cookiecutter_config, answers)
    check_rendering(project, schema_validator)
    root = load(project, "databricks.yml")
    assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", root["bundle"]["name"])
    assert root["bundle"]["name"] == project.name
    for key in ("catalog", "schema", "model_name"):
        assert isinstance(root["variables"][key]["default"], str), key  # `true`, `on` and `1e3` stay strings
    job = load(project, f"resources/{project.name}.job.yml")["resources"]["jobs"][f"{project.name}_job"]
    assert job["name"] == answers["project_name"].strip()


def test_cookiecutter_command_line_with_answers(tmp_path: Path, cookiecutter_config: str) -> None:
    """What the README shows: `cookiecutter --no-input bundle_template key=value ...`, through cookiecutter's own CLI."""
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "--config-file", cookiecutter_config, str(TEMPLATE)]
    good = ["project_name=Fraud agent", "runtime=17.3", "compute=instance_pool", "instance_pool_id=pool-1"]
    run = subprocess.run([*command, "-o", str(tmp_path / "good"), *good], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    project = tmp_path / "good" / "fraud_agent"
    assert_validates_clean(project)
    cluster = load(project, "resources/fraud_agent.job.yml")["resources"]["jobs"]["fraud_agent_job"]["job_clusters"]
    assert cluster[0]["new_cluster"]["instance_pool_id"] == "${var.instance_pool_id}"

    bad = ["bundle_name=fraud-agent", "compute=instance_pool"]
    run = subprocess.run([*command, "-o", str(tmp_path / "bad"), *bad], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "error: bundle_name 'fraud-agent' is not an identifier" in run.stderr
    assert "error: compute is instance_pool but instance_pool_id is empty" in run.stderr
    assert not list((tmp_path / "bad").glob("*"))


@pytest.mark.parametrize("form", ["relative", "dot-relative", "absolute"])
def test_cookiecutter_takes_the_template_by_any_path_from_any_folder(tmp_path: Path, cookiecutter_config: str, form: str) -> None:
    """`cookiecutter --no-input ../path/to/bundle_template` run from another folder, as people call it from a checkout:
    the hooks find their answer rules however the path is written."""
    cwd = tmp_path / "work" / "here"
    cwd.mkdir(parents=True)
    relative = os.path.relpath(TEMPLATE, cwd)
    template = {"relative": relative, "dot-relative": f"./{relative}" if not relative.startswith("..") else relative, "absolute": str(TEMPLATE)}[form]
    run = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "--config-file", cookiecutter_config, template, "project_name=Relative"],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr
    assert_validates_clean(cwd / "relative")
    bad = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "--config-file", cookiecutter_config, template, "bundle_name=no-dash", "-o", "bad"],
        cwd=cwd, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode != 0 and "error: bundle_name 'no-dash' is not an identifier" in bad.stderr


def test_cookiecutter_takes_the_template_from_a_zip(tmp_path: Path, cookiecutter_config: str) -> None:
    """`cookiecutter bundle_template.zip` (cookiecutter unpacks it under its cookiecutters_dir): the hooks find their
    answer rules there too."""
    archive = tmp_path / "bundle_template.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("bundle_template/", "")  # the top-level folder cookiecutter looks for
        for path in sorted(TEMPLATE.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zipped.write(path, Path("bundle_template") / path.relative_to(TEMPLATE))
    run = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "--config-file", cookiecutter_config, str(archive),
         "-o", str(tmp_path / "out"), "project_name=From zip"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert_validates_clean(tmp_path / "out" / "from_zip")


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_cookiecutter_takes_the_template_from_a_git_repository_with_directory(tmp_path: Path) -> None:
    """`cookiecutter <git repository> --directory bundle_template`, as from a clone of dab-guard under
    ~/.cookiecutters (here a repository on disk, cloned by cookiecutter into a folder of the test's own)."""
    repo = tmp_path / "dab-guard"
    shutil.copytree(TEMPLATE, repo / "bundle_template", ignore=shutil.ignore_patterns("__pycache__"))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "template"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True, timeout=60)
    config = tmp_path / "cookiecutter.yaml"
    config.write_text(f"cookiecutters_dir: {tmp_path / 'clones'}\nreplay_dir: {tmp_path / 'replay'}\n", encoding="utf-8")
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "cookiecutter", "--no-input", "--config-file", str(config), f"git+file://{repo}",
         "--directory", "bundle_template", "-o", str(out), "project_name=From git"],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert_validates_clean(out / "from_git")


def test_derived_bundle_names(tmp_path: Path, cookiecutter_config: str) -> None:
    names = {
        "Ünïcödé Agent": "unicode_agent",
        "my-dashed-project-name": "my_dashed_project_name",
        "2024 forecast": "bundle_2024_forecast",
        "🚀🚀": "my_bundle",
    }
    for index, (project_name, bundle_name) in enumerate(names.items()):
        project = render(tmp_path / str(index), cookiecutter_config, {"project_name": project_name, "ci": "none"})
        assert project.name == bundle_name


# --- the generated project's own tests ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answers",
    [
        {"model_kind": "agent", "model_flavour": "pyfunc", "runtime": "16.4"},
        {
            "model_kind": "agent",
            "model_flavour": "langchain",
            "runtime": "17.3",
            "project_name": "Ünïcödé — 'agent' #1",
        },
        {"model_kind": "plain", "runtime": "16.4"},
        {"model_kind": "plain", "runtime": "17.3", "compute": "existing_cluster", "existing_cluster_id": "0101-x"},
    ],
    ids=["agent-pyfunc", "agent-langchain-unicode", "plain-16.4", "plain-17.3-existing"],
)
def test_generated_tests_pass(answers: dict[str, str], tmp_path: Path, cookiecutter_config: str) -> None:
    project = render(tmp_path / "out", cookiecutter_config, answers)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert re.search(r"\d+ passed", run.stdout), run.stdout[-2000:]
    # Where this suite has LangGraph (the test extra installs it), the graph tests really ran: a fake chat model, a
    # failing tool answered, a failing model answered.
    if answers["model_kind"] == "agent" and all(
        importlib.util.find_spec(name) is not None for name in ("langgraph", "langchain_core")
    ):
        assert "test_agent_graph.py" not in "".join(re.findall(r"SKIPPED.*", run.stdout)), run.stdout[-2000:]


# --- the hooks refuse bad answers and write nothing ---------------------------------------------------------------

REJECTED = [
    ({"bundle_name": "my-agent"}, "bundle_name 'my-agent' is not an identifier"),
    ({"catalog": "my catalog"}, "catalog 'my catalog' contains a character Unity Catalog refuses"),
    ({"schema": "agents.v2"}, "schema 'agents.v2' contains a character Unity Catalog refuses"),
    ({"model_name": "x" * 256}, "Unity Catalog allows at most 255"),
    ({"workspace_host": "http://dbc-1.cloud.databricks.com"}, "is not a workspace URL of the form https://"),
    ({"prod_workspace_host": "dbc-1.cloud.databricks.com"}, "prod_workspace_host"),
    ({"compute": "instance_pool"}, "compute is instance_pool but instance_pool_id is empty"),
    ({"compute": "existing_cluster", "existing_cluster_id": "  "}, "existing_cluster_id is empty"),
    ({"user_email": "nobody"}, "user_email 'nobody' is not an email address"),
    ({"llm_endpoint": "my endpoint"}, "llm_endpoint 'my endpoint' is not a serving endpoint name"),
]


@pytest.mark.parametrize(("answers", "message"), REJECTED, ids=[next(iter(a)) for a, _ in REJECTED])
def test_hook_rejects_bad_answers(
    answers: dict[str, str], message: str, tmp_path: Path, cookiecutter_config: str, capfd: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(FailedHookException):
        render(out, cookiecutter_config, answers)
    assert message in capfd.readouterr().err
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(("answers", "message"), REJECTED, ids=[next(iter(a)) for a, _ in REJECTED])
def test_new_rejects_bad_answers_in_one_line(
    answers: dict[str, str],
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    out = tmp_path / "new" / "deeper"
    code = main(["new", "--no-input", "-o", str(out), *(f"{k}={v}" for k, v in answers.items())])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "new").exists()
    assert not (tmp_path / "home").exists()


# --- dab-guard new --------------------------------------------------------------------------------------------------


def test_new_no_input_creates_a_valid_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert main(["new", "--no-input", "-o", "my-bundle", "project_name=Fraud Agent", "runtime=17.3"]) == 0
    project = tmp_path / "my-bundle" / "fraud_agent"
    assert f"created {Path('my-bundle', 'fraud_agent')}" in capsys.readouterr().out
    assert_validates_clean(project)
    assert (
        load(project, "resources/fraud_agent.job.yml")["resources"]["jobs"]["fraud_agent_job"]["job_clusters"][0][
            "new_cluster"
        ]["spark_version"]
        == SPARK_VERSIONS["17.3"]
    )
    assert not (tmp_path / "home").exists()  # no cookiecutter replay file in the home folder

    # A second run into the same place refuses instead of overwriting.
    assert main(["new", "--no-input", "-o", "my-bundle", "project_name=Fraud Agent"]) == 2
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["runtme=17.3"], "unknown template answer 'runtme'; did you mean runtime?"),
        (["runtime=15.4"], "15.4 provided for choice variable runtime"),
        (["runtime"], "expected KEY=VALUE"),
        # Cookiecutter would evaluate these as Jinja: a syntax error, an undefined name, or someone else's value.
        (["project_name={% bad"], "contains '{{' or '{%' or '{#'"),
        (["project_name={{ cookiecutter._runtimes }}"], "which cookiecutter would evaluate as a template"),
        (["catalog=a{#b"], "answer catalog="),
    ],
)
def test_new_rejects_unusable_arguments(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", "--no-input", "-o", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "internal error" not in err, err
    assert not (tmp_path / "out").exists()


def test_new_without_a_terminal_asks_for_no_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", open(os.devnull))  # noqa: SIM115 - closed with the test's monkeypatch
    assert main(["new", "-o", str(tmp_path / "out")]) == 2
    assert "pass --no-input" in capsys.readouterr().err


def test_new_without_cookiecutter_says_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == "cookiecutter" or m.startswith("cookiecutter.")]:
        monkeypatch.setitem(sys.modules, name, None)
    assert main(["new", "--no-input", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "needs cookiecutter" in err and "pip install dab-guard" in err and len(err.strip().splitlines()) == 1


def test_new_works_from_an_installed_wheel(tmp_path: Path) -> None:
    """Build the wheel, install it apart from the checkout, and run `dab-guard new` from it (the template is package data)."""
    source = copy_project_source(tmp_path / "source")
    wheels = tmp_path / "wheels"
    command = [sys.executable, "-m", "pip", "wheel", str(source), "-w", str(wheels), "--no-deps", "-q"]
    if importlib.util.find_spec("wheel") is not None:
        command.append("--no-build-isolation")  # build with what is installed: no download
    build = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if build.returncode != 0 and re.search(
        r"No module named pip|No matching distribution|Could not find a version", build.stderr
    ):
        pytest.skip("cannot build a wheel here (no pip, or the build backend cannot be downloaded)")
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheels.glob("dab_guard-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "dab_guard/_template/cookiecutter.json" in archive.namelist()
        assert "dab_guard/_template/hooks/pre_gen_project.py" in archive.namelist()

    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--target", str(site), str(wheel), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "HOME": str(tmp_path / "home")}
    script = (
        "import sys, dab_guard; from dab_guard.cli import main; "
        "print(dab_guard.__file__); sys.exit(main(['new', '--no-input', '-o', 'my-bundle']))"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[0].startswith(str(site))  # the installed copy ran, not the checkout
    project = work / "my-bundle" / "my_agent"
    assert_validates_clean(project)
    assert not list(project.rglob("__pycache__"))  # pip byte-compiled the installed template; nothing of it is copied
