"""Values a bundle hands its jobs' Python: command lines through argparse and ``sys.argv``, widgets, environment
variables, followed per target into the rules about Unity Catalog model names (DG204, DG210, DG304, DG305).

The fixtures under ``tests/fixtures/dg2xx/*_from_parameters``, ``*argparse*``, ``*widget*``, ``*env_var``,
``*one_target_only`` give the findings and their lines; these tests pin what a user reads in them (where the value
came from), that the parse agrees with argparse itself, and that the template's own scripts are followed.
"""

from __future__ import annotations

import argparse
import ast
import re
import shlex
from pathlib import Path

import pytest

from dab_guard.config import load_settings
from dab_guard.engine import validate
from dab_guard.finding import Finding, Loc
from dab_guard.python.argv import UNKNOWN, Passed, arg_spec, parse_command_line
from tests.conftest import FIXTURES
from tests.files import write_files


def _findings(bundle: Path, rule: str) -> list[Finding]:
    return [f for f in validate(bundle, settings=load_settings(bundle)).findings if f.rule == rule]


# --- argparse, as argparse does it ---------------------------------------------------------------------------------

DECLARATIONS = [
    'p.add_argument("--catalog")',
    'p.add_argument("-s", "--schema", dest="schema_name")',
    'p.add_argument("--model-name", required=False)',
    'p.add_argument("--verbose", action="store_true")',
    'p.add_argument("--tags", nargs="*")',
    'p.add_argument("--stage", nargs="?", const="dev")',
    'p.add_argument("table")',
    'p.add_argument("--rest", nargs=argparse.REMAINDER)',
    'p.add_argument("--count", type=int)',
    'p.add_argument("--files", nargs=argparse.ZERO_OR_MORE)',
]
COMMAND_LINES = [
    "--catalog main --schema ml t1",
    "t1 --catalog=main -s ml",
    "-sml --model-name main.ml.m t1",
    "--verbose --cat main t1",  # an unambiguous prefix
    "--tags a b --schema ml t1",
    "--stage --catalog main t1",
    "--stage prod t1",
    "--catalog main -- t1",
    "--catalog -5 t1",
    "-s=ml --catalog=main t1",
    "--schema=ml t1 --count 3",
    "--files a b --catalog main t1",
    "--catalog main t1 --rest --schema x",
]


def _specs() -> list:  # type: ignore[type-arg]
    out = []
    for line in DECLARATIONS:
        call = ast.parse(line).body[0].value  # type: ignore[attr-defined]
        spec = arg_spec(call)
        assert spec is not None, line
        out.append(spec)
    return out


def _real_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    for line in DECLARATIONS:
        eval(line, {"p": p, "argparse": argparse})  # the test's own declarations, not user code
    return p


def _words(line: str) -> tuple[Passed, ...]:
    return tuple(Passed(w, f"parameter {i + 1}", "task `t`", Loc("job.yml", 3 + i, 9)) for i, w in enumerate(shlex.split(line)))


@pytest.mark.parametrize("line", COMMAND_LINES)
def test_each_value_read_from_a_command_line_is_what_argparse_gives(line: str) -> None:
    parsed = parse_command_line(_specs(), _words(line), known_only=False)
    assert parsed is not None, line
    real = vars(_real_parser().parse_args(shlex.split(line)))
    claimed = {dest: passed.text for dest, passed in parsed.items() if passed is not None}
    assert claimed, line
    for dest, text in claimed.items():
        assert real[dest] == text, (line, dest)
    assert "count" not in claimed  # type=int: the value is what int() makes of the word


@pytest.mark.parametrize(
    "line",
    [
        "--catalog main --unknown x t1",  # an option the parser does not declare: it may take a value
        "--catalog",  # argparse stops: expected one argument
        "t1 t2",  # unrecognised arguments
        f"--catalog main {UNKNOWN} t1",  # a word known only per run where an option may stand
        "-vx t1",  # grouped short options
        "-h",  # argparse prints the help and exits
    ],
)
def test_a_command_line_argparse_would_refuse_or_dab_guard_cannot_tell_claims_nothing(line: str) -> None:
    assert parse_command_line(_specs(), _words(line), known_only=False) is None


def test_parse_known_args_leaves_extra_positionals_alone() -> None:
    parsed = parse_command_line(_specs(), _words("--catalog main t1 t2"), known_only=True)
    assert parsed is not None and parsed["catalog"] is not None and parsed["catalog"].text == "main"


def test_an_option_value_is_named_after_its_option() -> None:
    parsed = parse_command_line(_specs(), _words("--schema ml t1"), known_only=False)
    assert parsed is not None
    schema, table = parsed["schema_name"], parsed["table"]
    assert schema is not None and schema.describe() == "`--schema` of task `t`, job.yml:4"
    assert table is not None and table.describe() == "argument `table` of task `t`, job.yml:5"


# --- what the user reads ------------------------------------------------------------------------------------------


def test_a_finding_from_a_passed_value_says_where_the_value_is_set() -> None:
    """The issue's example: ``f"{args.schema}.demo_model"`` with ``--schema ${var.schema}`` is a two-part name."""
    (finding,) = _findings(FIXTURES / "dg210" / "bad_argparse_long_option", "DG210")
    assert "'ml.demo_model' has 2 parts" in finding.message
    assert "(from `--schema` of task `log_model`, databricks.yml:24, the value of ${var.schema} defined at databricks.yml:6:3)" in finding.message


def test_job_parameters_win_over_base_parameters_and_say_so() -> None:
    (finding,) = _findings(FIXTURES / "dg210" / "bad_widget_without_default", "DG210")
    assert "'main.ml.v2.forecaster'" in finding.message
    assert "job parameter `schema` of job `train`, databricks.yml:14" in finding.message


def test_an_environment_variable_names_its_cluster() -> None:
    (finding,) = _findings(FIXTURES / "dg210" / "bad_env_var", "DG210")
    assert "spark_env_vars.MODEL_SCHEMA of job cluster `ml`, databricks.yml:20" in finding.message


def test_a_value_overridden_in_one_target_is_judged_in_that_target() -> None:
    (finding,) = _findings(FIXTURES / "dg210" / "bad_one_target_only", "DG210")
    assert finding.targets == ("prod",)
    # the finding points at the parameter; the message names where prod sets the variable
    assert "value of ${var.schema} defined at databricks.yml:6:3, set for target 'prod' at databricks.yml:31" in finding.message


def test_mlflow_3_default_registry_is_given_as_the_reason() -> None:
    (finding,) = _findings(FIXTURES / "dg204" / "bad_mlflow3_default_registry", "DG204")
    assert "MLflow 3.0.1 (Databricks Runtime 17.3 LTS ML) registers to Unity Catalog" in finding.message


def test_a_secret_passed_to_the_code_is_never_shown(tmp_path: Path) -> None:
    bundle = write_files(
        tmp_path,
        {
            "databricks.yml": (FIXTURES / "dg210" / "bad_env_var" / "databricks.yml")
            .read_text()
            .replace('MODEL_SCHEMA: ""', 'MODEL_SCHEMA: "{{secrets/ml/schema}}"'),
            "src/train.py": (FIXTURES / "dg210" / "bad_env_var" / "src" / "train.py").read_text().replace("  # expect: DG210", ""),
        },
    )
    assert _findings(bundle, "DG210") == []  # a secret is not known offline: nothing is claimed, nothing shown


def test_the_registry_uri_from_the_environment_counts(tmp_path: Path) -> None:
    fixture = FIXTURES / "dg210" / "bad_sys_argv"
    yml = (fixture / "databricks.yml").read_text().replace(
        "            data_security_mode: SINGLE_USER\n",
        "            data_security_mode: SINGLE_USER\n            spark_env_vars:\n              MLFLOW_REGISTRY_URI: databricks-uc\n",
    )
    script = (fixture / "src" / "train.py").read_text().replace('mlflow.set_registry_uri("databricks-uc")\n', "")
    bundle = write_files(tmp_path, {"databricks.yml": yml, "src/train.py": script})
    (finding,) = _findings(bundle, "DG210")
    assert "MLFLOW_REGISTRY_URI is 'databricks-uc'" in finding.message


# --- the online rules -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fixture", "rule"), [("dg304/bad_schema_from_parameters", "DG304"), ("dg305/bad_endpoint_from_parameters", "DG305")])
def test_online_findings_say_where_the_name_comes_from(fixture: str, rule: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dab_guard.engine import validate_online
    from dab_guard.workspace.session import OnlineOptions
    from tests.fake_workspace import TOKEN, FakeWorkspace, WorkspaceState

    folder = FIXTURES / fixture
    server = FakeWorkspace().start()
    try:
        monkeypatch.setenv("DATABRICKS_HOST", server.url)
        monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
        monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        server.state = WorkspaceState.from_file(folder / "workspace.json")
        result, _ = validate_online(folder, settings=load_settings(folder), options=OnlineOptions(use_cache=False))
    finally:
        server.stop()
    (finding,) = [f for f in result.findings if f.rule == rule]
    assert re.search(
        r"\(from `--catalog` of task `\w+`, databricks\.yml:\d+, the value of \$\{var\.catalog\} defined at databricks\.yml:\d+:\d+; "
        r"`--schema` of task `\w+`, databricks\.yml:\d+, the value of \$\{var\.schema\}",
        finding.message,
    ), finding.message


# --- the template's own scripts -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.test_template import TEMPLATE

    pytest.importorskip("cookiecutter")
    from cookiecutter.main import cookiecutter

    out = tmp_path_factory.mktemp("template")
    config = out / "cookiecutter.yaml"
    config.write_text(f'{{"replay_dir": "{out / "replay"}", "cookiecutters_dir": "{out / "cc"}"}}')
    return Path(cookiecutter(str(TEMPLATE), no_input=True, output_dir=str(out), config_file=str(config)))


@pytest.mark.parametrize(("schema", "problem"), [("ml.v2", "has 4 parts"), ("", "has an empty part")])
def test_the_template_schema_variable_is_followed_into_log_model(template_bundle: Path, schema: str, problem: str, tmp_path: Path) -> None:
    assert [f for f in validate(template_bundle).findings if f.rule == "DG210"] == []
    broken = tmp_path / "bundle"
    import shutil

    shutil.copytree(template_bundle, broken)
    config = broken / "databricks.yml"
    text = config.read_text()
    start = text.index("  schema:\n")
    line_start = text.index("    default: ", start)
    line_end = text.index("\n", line_start)
    config.write_text(text[:line_start] + f'    default: "{schema}"' + text[line_end:])
    findings = _findings(broken, "DG210")
    assert findings, "the template's schema variable reaches src/log_model.py"
    assert {f.file for f in findings} >= {"src/log_model.py"}
    finding = next(f for f in findings if f.file == "src/log_model.py")
    assert problem in finding.message
    assert "`--schema` of task `log_and_register`" in finding.message


# --- what each kind of task hands its code -------------------------------------------------------------------------

WHEEL_BUNDLE = """
bundle:
  name: wheel
variables:
  schema:
    default: ml
resources:
  jobs:
    train:
      name: train
      parameters:
        - name: catalog
          default: main
        - name: run_date
          default: ""
      tasks:
        - task_key: named
          python_wheel_task:
            package_name: trainer
            entry_point: main
            named_parameters:
              schema: ${var.schema}
              catalog: ignored
        - task_key: positional
          python_wheel_task:
            package_name: trainer
            entry_point: main
            parameters: ["--catalog", "{{job.parameters.catalog}}", "--date", "{{job.parameters.run_date}}", "{{job.run_id}}"]
        - task_key: notebook
          notebook_task:
            notebook_path: nb.py
            base_parameters:
              schema: ${var.schema}
              secret: "{{secrets/ml/token}}"
"""


def test_task_inputs_of_wheel_and_notebook_tasks(tmp_path: Path) -> None:
    from dab_guard.bundle.clusters import iter_job_tasks, iter_jobs
    from dab_guard.bundle.loader import load_bundle
    from dab_guard.bundle.resolve import resolve_target
    from dab_guard.jobs.inputs import task_inputs

    write_files(tmp_path, {"databricks.yml": WHEEL_BUNDLE, "nb.py": "# Databricks notebook source\n"})
    target = resolve_target(load_bundle(tmp_path), "default")
    refs = {ref.key: ref for path, job in iter_jobs(target) for ref in iter_job_tasks(path, job)}
    named = task_inputs(target, refs["named"], None)
    # named parameters are --key=value words; the job's parameters are pushed down and win
    assert named.argv is not None
    assert [w.text for w in named.argv] == ["--schema=ml", "--catalog=main", f"--run_date={UNKNOWN}"]
    positional = task_inputs(target, refs["positional"], None)
    assert positional.argv is not None
    # {{job.parameters.x}} takes the default; an empty default and other dynamic references are unknown
    assert [w.text for w in positional.argv] == ["--catalog", "main", "--date", UNKNOWN, UNKNOWN]
    notebook = task_inputs(target, refs["notebook"], None)
    assert notebook.argv is None
    assert {k: v.text for k, v in notebook.widgets.items()} == {"schema": "ml", "secret": UNKNOWN, "catalog": "main", "run_date": UNKNOWN}


# --- what the code does to its inputs before reading them ----------------------------------------------------------

REWRITES = {
    "an attribute assigned after the parse": (
        '["--catalog", "main", "--schema", ""]',
        "args = parser.parse_args()\nif not args.schema:\n    args.schema = 'ml'\n",
        'f"{args.catalog}.{args.schema}.m"',
    ),
    "setattr on the namespace": (
        '["--catalog", "main", "--schema", "ml"]',
        "args = parser.parse_args()\nsetattr(args, 'schema', 'ml.v2')\n",
        'f"{args.catalog}.{args.schema}"',
    ),
    "sys.argv rewritten": (
        '["--catalog", "main", "--schema", ""]',
        "sys.argv = [sys.argv[0], '--catalog', 'main', '--schema', 'ml']\nargs = parser.parse_args()\n",
        'f"{args.catalog}.{args.schema}.m"',
    ),
    "sys.argv changed in place": (
        '["extra", "forecaster"]',
        "sys.argv.pop(1)\nargs = parser.parse_args()\n",
        "sys.argv[1]",
    ),
    "a helper handed an explicit list": (
        '["--catalog", "main", "--schema", ""]',
        "def get_args(argv=None):\n    return parser.parse_args(argv)\nargs = get_args(['--catalog', 'main', '--schema', 'ml'])\n",
        'f"{args.catalog}.{args.schema}.m"',
    ),
    "a converter": (
        '["--catalog", "main", "--schema", "ml.v2"]',
        "args = parser.parse_args()\n",
        'f"{args.catalog}.{args.schema}.m"',
    ),
}


@pytest.mark.parametrize("case", list(REWRITES))
def test_values_the_code_changes_before_reading_them_claim_nothing(case: str, tmp_path: Path) -> None:
    parameters, parse, name = REWRITES[case]
    converter = ", type=lambda s: s.split('.')[0]" if case == "a converter" else ""
    script = (
        "import argparse\nimport sys\n\nimport mlflow\n\nparser = argparse.ArgumentParser()\n"
        f"parser.add_argument('--catalog')\nparser.add_argument('--schema'{converter})\n{parse}"
        f"mlflow.set_registry_uri('databricks-uc')\nmlflow.register_model('runs:/a/m', {name})\n"
    )
    yml = (FIXTURES / "dg210" / "bad_sys_argv" / "databricks.yml").read_text().replace('["${var.schema}.forecaster"]', parameters)
    bundle = write_files(tmp_path, {"databricks.yml": yml, "src/train.py": script})
    assert _findings(bundle, "DG210") == []
    # the same parameters read without the change are followed (so the case above is silent for its reason)
    plain = script.replace(parse, "args = parser.parse_args()\n").replace(converter, "")
    write_files(tmp_path, {"src/train.py": plain})
    assert _findings(bundle, "DG210") != []


def test_environment_set_by_the_code_is_not_the_clusters(tmp_path: Path) -> None:
    fixture = FIXTURES / "dg210" / "bad_env_var"
    script = (fixture / "src" / "train.py").read_text().replace("import mlflow\n", "import mlflow\n\nos.environ['MODEL_SCHEMA'] = 'ml'\n", 1)
    bundle = write_files(tmp_path, {"databricks.yml": (fixture / "databricks.yml").read_text(), "src/train.py": script.replace("  # expect: DG210", "")})
    assert _findings(bundle, "DG210") == []


def test_a_run_magic_with_arguments_hands_its_own_widgets(tmp_path: Path) -> None:
    fixture = FIXTURES / "dg210" / "bad_widget_with_default"
    register = (fixture / "src" / "train.py").read_text().replace("  # expect: DG210", "")
    caller = '# Databricks notebook source\n# MAGIC %run ./register $catalog="main" $schema="ml"\n'
    yml = (fixture / "databricks.yml").read_text().replace("src/train.py", "src/caller.py")
    bundle = write_files(tmp_path, {"databricks.yml": yml, "src/caller.py": caller, "src/register.py": register})
    assert _findings(bundle, "DG210") == []


@pytest.mark.parametrize(
    ("spark_conf", "expected"),
    [("databricks", False), ("databricks-uc", True)],
)
def test_the_registry_uri_spark_setting_decides_before_mlflow_3s_default(spark_conf: str, expected: bool, tmp_path: Path) -> None:
    fixture = FIXTURES / "dg204" / "bad_mlflow3_default_registry"
    yml = (fixture / "databricks.yml").read_text().replace(
        "            data_security_mode: SINGLE_USER\n",
        f"            data_security_mode: SINGLE_USER\n            spark_conf:\n              spark.mlflow.modelRegistryUri: {spark_conf}\n",
    )
    bundle = write_files(tmp_path, {"databricks.yml": yml, "src/train.py": (fixture / "src" / "train.py").read_text()})
    findings = _findings(bundle, "DG204")
    assert bool(findings) is expected
    if expected:
        assert "spark.mlflow.modelRegistryUri is 'databricks-uc'" in findings[0].message


# --- the layouts scripts are written in --------------------------------------------------------------------------

LAYOUTS = {
    "a parser built by a helper": (
        "def build_parser():\n    parser = argparse.ArgumentParser()\n    parser.add_argument('--catalog')\n"
        "    parser.add_argument('--schema')\n    return parser\n\nargs = build_parser().parse_args()\n"
        "mlflow.set_registry_uri('databricks-uc')\nmlflow.register_model('runs:/a/m', f'{args.catalog}.{args.schema}')\n"
    ),
    "the namespace passed to main": (
        "parser = argparse.ArgumentParser()\nparser.add_argument('--catalog')\nparser.add_argument('--schema')\n\n"
        "def main(args):\n    mlflow.set_registry_uri('databricks-uc')\n"
        "    mlflow.register_model('runs:/a/m', f'{args.catalog}.{args.schema}')\n\n"
        "if __name__ == '__main__':\n    main(parser.parse_args())\n"
    ),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_values_are_followed_in_the_usual_layouts(layout: str, tmp_path: Path) -> None:
    script = "import argparse\n\nimport mlflow\n\n" + LAYOUTS[layout]
    yml = (FIXTURES / "dg210" / "bad_sys_argv" / "databricks.yml").read_text().replace(
        '["${var.schema}.forecaster"]', '["--catalog", "main", "--schema", "ml"]'
    )
    bundle = write_files(tmp_path, {"databricks.yml": yml, "src/train.py": script})
    (finding,) = _findings(bundle, "DG210")
    assert "'main.ml' has 2 parts" in finding.message and "`--schema` of task `log_model`" in finding.message


def test_a_function_called_twice_does_not_take_either_callers_value(tmp_path: Path) -> None:
    script = "import argparse\n\nimport mlflow\n\n" + LAYOUTS["the namespace passed to main"].replace(
        "    main(parser.parse_args())\n", "    main(parser.parse_args())\n    main(parser.parse_args(['--catalog', 'a', '--schema', 'b.c']))\n"
    )
    yml = (FIXTURES / "dg210" / "bad_sys_argv" / "databricks.yml").read_text().replace(
        '["${var.schema}.forecaster"]', '["--catalog", "main", "--schema", "ml"]'
    )
    bundle = write_files(tmp_path, {"databricks.yml": yml, "src/train.py": script})
    assert _findings(bundle, "DG210") == []
