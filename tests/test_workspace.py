"""``--online`` against a fake workspace on 127.0.0.1, through the real databricks-sdk.

Covers the DG301-DG307 fixtures (those with a ``workspace.json``), ``lookup`` variables, the cache, failures (401,
a 503 the SDK retries, a 500 it does not, a server that never answers, a closed port), where the workspace comes
from, ``preflight --create-missing-schemas`` and that no token reaches any output.
"""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dab_guard.cli import main
from dab_guard.config import load_settings
from dab_guard.engine import validate_online
from dab_guard.workspace.session import OnlineOptions
from tests.conftest import FIXTURES, ROOT
from tests.expectations import WORKSPACE_FILE, all_fixtures, assert_fixture_findings, is_online
from tests.fake_workspace import TOKEN, FakeWorkspace, WorkspaceState
from tests.files import write_files

ONLINE_FIXTURES = [p for p in all_fixtures(FIXTURES) if is_online(p)]


@pytest.fixture
def fake() -> Iterator[FakeWorkspace]:
    server = FakeWorkspace().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def online_env(fake: FakeWorkspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The caller's workspace is the fake one (DATABRICKS_HOST + DATABRICKS_TOKEN); caches go to a temporary folder."""
    monkeypatch.setenv("DATABRICKS_HOST", fake.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-databrickscfg"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("DAB_GUARD_ONLINE_TIMEOUT", "10")
    return tmp_path / "cache"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _bundle(tmp_path: Path, text: str, files: dict[str, str] | None = None) -> Path:
    return write_files(tmp_path / "bundle", {"databricks.yml": text, **(files or {})})


SIMPLE = """
bundle:
  name: simple
resources:
  jobs:
    train:
      name: train
      job_clusters:
        - job_cluster_key: ml
          new_cluster:
            spark_version: 13.1.x-cpu-ml-scala2.12
            node_type_id: i3.xlarge
            num_workers: 1
            data_security_mode: NONE
      tasks:
        - task_key: t
          job_cluster_key: ml
          notebook_task:
            notebook_path: /Workspace/Shared/nb
"""


# --- the fixtures of the online rules ------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ONLINE_FIXTURES, ids=[f"{p.parent.name}/{p.name}" for p in ONLINE_FIXTURES])
def test_online_fixture(fixture: Path, fake: FakeWorkspace, online_env: Path) -> None:
    fake.state = WorkspaceState.from_file(fixture / WORKSPACE_FILE)
    result, session = validate_online(fixture, settings=load_settings(fixture), options=OnlineOptions(use_cache=False))
    assert session.error is None, str(session.error)
    assert_fixture_findings(fixture, result.findings)


def test_online_rules_are_silent_offline() -> None:
    from dab_guard.engine import validate

    for fixture in ONLINE_FIXTURES:
        result = validate(fixture, settings=load_settings(fixture))
        assert not [f for f in result.findings if f.rule.startswith("DG30")], fixture


def test_offline_run_never_imports_the_sdk() -> None:
    fixture = FIXTURES / "dg306" / "bad_local_policy"
    code = (
        "import sys\n"
        "from dab_guard.cli import main\n"
        f"status = main(['validate', {str(fixture)!r}, '--format', 'json'])\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('databricks.sdk'))\n"
        "sys.stderr.write(repr((status, loaded)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert done.stderr.strip().endswith("(1, [])"), done.stderr


# --- failures -------------------------------------------------------------------------------------------------------


def test_unauthorised_workspace_reports_offline_findings_then_exits_2(
    fake: FakeWorkspace, online_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong-token-000000000")
    folder = _bundle(tmp_path, SIMPLE)
    code, out, err = _run(capsys, "validate", str(folder), "--online")
    assert code == 2
    assert "DG101" in out  # the offline findings are still reported
    assert "DG301" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "401" in lines[0] and fake.url in lines[0], err
    assert "dapi-wrong-token" not in out + err
    # After the refusal nothing more is asked.
    assert len(fake.api_requests()) == 1


def test_503_is_retried_by_the_sdk(fake: FakeWorkspace, online_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake.faults["/api/2.1/clusters/spark-versions"] = [503]
    folder = _bundle(tmp_path, SIMPLE)
    code, out, err = _run(capsys, "validate", str(folder), "--online", "--select", "DG301")
    assert (code, err) == (1, "")
    assert "DG301" in out and "13.1.x-cpu-ml-scala2.12" in out
    assert fake.api_requests().count(("GET", "/api/2.1/clusters/spark-versions")) == 2


def test_500_is_not_retried(fake: FakeWorkspace, online_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake.faults["/api/2.1/clusters/spark-versions"] = [500, 500]
    folder = _bundle(tmp_path, SIMPLE)
    code, _, err = _run(capsys, "validate", str(folder), "--online", "--select", "DG301")
    assert code == 2
    assert "failed on spark_versions" in err and len(err.strip().splitlines()) == 1
    assert fake.api_requests().count(("GET", "/api/2.1/clusters/spark-versions")) == 1


def test_a_workspace_that_never_answers_is_bounded(
    fake: FakeWorkspace, online_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAB_GUARD_ONLINE_TIMEOUT", "2")
    fake.hang = True
    folder = _bundle(tmp_path, SIMPLE)
    started = time.monotonic()
    code, out, err = _run(capsys, "validate", str(folder), "--online")
    elapsed = time.monotonic() - started
    assert code == 2
    assert "did not answer within 2 s" in err
    assert "DG101" in out
    # Unbounded, the SDK would wait 60 s per request and retry for 300 s; the margin absorbs a loaded CI machine.
    assert elapsed < 25, elapsed


def test_an_unreachable_workspace_is_bounded(
    online_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("DATABRICKS_HOST", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("DAB_GUARD_ONLINE_TIMEOUT", "2")
    folder = _bundle(tmp_path, SIMPLE)
    started = time.monotonic()
    code, _, err = _run(capsys, "validate", str(folder), "--online")
    assert code == 2
    assert ("cannot reach" in err or "did not answer" in err) and len(err.strip().splitlines()) == 1, err
    assert time.monotonic() - started < 25  # unbounded, the SDK retries for 300 s


def test_a_server_that_never_answers_even_the_probe_is_bounded(
    online_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A socket that listens but never accepts: connections open, and no byte ever comes back, the SDK's
    # /.well-known/databricks-config probe included (FakeWorkspace.hang still answers the probe).
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        monkeypatch.setenv("DATABRICKS_HOST", f"http://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setenv("DAB_GUARD_ONLINE_TIMEOUT", "2")
        folder = _bundle(tmp_path, SIMPLE)
        started = time.monotonic()
        code, out, err = _run(capsys, "validate", str(folder), "--online")
        elapsed = time.monotonic() - started
    assert code == 2
    assert "DG101" in out  # the offline report is on stdout
    assert err.count("\n") == 1 and "did not answer within 2 s" in err, err
    # Unbounded, the SDK would wait 60 s per request and retry for 300 s; the margin absorbs a loaded CI machine.
    assert elapsed < 25, elapsed


def test_default_bounds_stay_within_30_seconds() -> None:
    from dab_guard.workspace.client import DEFAULT_BUDGET_SECONDS, Budget, sdk_timeouts

    budget = Budget.from_env({})
    assert budget.seconds == DEFAULT_BUDGET_SECONDS < 30
    http_timeout, retry_timeout = sdk_timeouts(budget)
    # The SDK's own defaults (60 s per request, 300 s of retries) would not fit; the run's deadline cuts the rest.
    assert http_timeout <= budget.seconds and retry_timeout <= budget.seconds


def test_sdk_log_lines_stay_off_the_terminal(fake: FakeWorkspace, online_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A failing host-metadata probe makes the SDK log a warning; without --verbose it must not show.
    fake.faults["/.well-known/databricks-config"] = [500, 500, 500, 500, 500]
    folder = _bundle(tmp_path, SIMPLE)
    code, _, err = _run(capsys, "validate", str(folder), "--online", "--select", "DG301")
    assert (code, err) == (1, "")


# --- which workspace -------------------------------------------------------------------------------------------------


def test_databricks_host_naming_another_workspace_is_an_error(
    fake: FakeWorkspace, online_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = SIMPLE.replace("bundle:\n  name: simple\n", "bundle:\n  name: simple\nworkspace:\n  host: https://other.cloud.databricks.com\n")
    folder = _bundle(tmp_path, text)
    code, out, err = _run(capsys, "validate", str(folder), "--online")
    assert code == 2
    assert f"DATABRICKS_HOST is {fake.url}, but target 'default' deploys to https://other.cloud.databricks.com" in err
    assert "DG101" in out
    assert fake.requests == []


def test_profile_from_the_config_file(
    fake: FakeWorkspace, online_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "databrickscfg"
    config.write_text(f"[fake]\nhost = {fake.url}\ntoken = {TOKEN}\n\n[other]\nhost = https://other.cloud.databricks.com\ntoken = x\n")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(config))
    monkeypatch.delenv("DATABRICKS_HOST")
    monkeypatch.delenv("DATABRICKS_TOKEN")
    folder = _bundle(tmp_path, SIMPLE)
    code, out, err = _run(capsys, "validate", str(folder), "--online", "--profile", "fake", "--select", "DG301")
    assert (code, err) == (1, "") and "DG301" in out
    # The target's host picks the matching profile by itself, as the CLI does.
    text = SIMPLE.replace("bundle:\n  name: simple\n", f"bundle:\n  name: simple\nworkspace:\n  host: {fake.url}/\n")
    folder = _bundle(tmp_path, text)
    code, out, err = _run(capsys, "validate", str(folder), "--online", "--select", "DG301", "--no-cache")
    assert (code, err) == (1, "") and "DG301" in out
    # A profile for another host than the target's is refused.
    code, _, err = _run(capsys, "validate", str(folder), "--online", "--profile", "other")
    assert code == 2 and "profile 'other' is for https://other.cloud.databricks.com" in err


def test_credentials_in_the_environment_win_over_profiles_matched_by_host(tmp_path: Path) -> None:
    from dab_guard.bundle.loader import load_bundle
    from dab_guard.bundle.resolve import resolve_target
    from dab_guard.workspace.client import WorkspaceError, connection_for

    config = tmp_path / "databrickscfg"
    config.write_text("[a]\nhost = https://a.cloud.databricks.com\ntoken = x\n\n[a2]\nhost = https://a.cloud.databricks.com/\ntoken = y\n")
    text = "bundle:\n  name: b\nworkspace:\n  host: https://a.cloud.databricks.com\n"
    target = resolve_target(load_bundle(_bundle(tmp_path, text)), "default", None, {})
    env = {"DATABRICKS_CONFIG_FILE": str(config)}
    with pytest.raises(WorkspaceError, match="several profiles match"):
        connection_for(target, None, env)
    # OAuth machine-to-machine credentials in the environment are used as they are, as a token would be.
    oauth = {**env, "DATABRICKS_CLIENT_ID": "app-id", "DATABRICKS_CLIENT_SECRET": "secret"}
    assert (connection_for(target, None, oauth).profile, connection_for(target, "a2", oauth).profile) == (None, "a2")


def test_workspace_options_need_online(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _bundle(tmp_path, SIMPLE)
    code, _, err = _run(capsys, "validate", str(folder), "--profile", "x")
    assert code == 2 and "only apply with --online" in err


# --- lookups ----------------------------------------------------------------------------------------------------------

LOOKUPS = """
bundle:
  name: lookups
variables:
  pool:
    lookup:
      instance_pool: ml-pool
  policy:
    lookup:
      cluster_policy: ML jobs
  warehouse:
    lookup:
      warehouse: reporting
  runner:
    lookup:
      service_principal: deployer
  missing:
    lookup:
      instance_pool: no-such-pool
resources:
  jobs:
    train:
      name: train
      run_as:
        service_principal_name: ${var.runner}
      job_clusters:
        - job_cluster_key: ml
          new_cluster:
            spark_version: 15.4.x-cpu-ml-scala2.12
            instance_pool_id: ${var.pool}
            policy_id: ${var.policy}
            num_workers: 1
            data_security_mode: SINGLE_USER
      tasks:
        - task_key: t
          job_cluster_key: ml
          sql_task:
            warehouse_id: ${var.warehouse}
            query: {query_id: q}
targets:
  dev:
    default: true
  prod:
    variables:
      pool:
        lookup:
          instance_pool: other-pool
"""


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


def _lookup_state() -> WorkspaceState:
    return WorkspaceState(
        spark_versions=["15.4.x-cpu-ml-scala2.12", "16.4.x-cpu-ml-scala2.12"],
        instance_pools=[
            {"instance_pool_id": "pool-ml", "instance_pool_name": "ml-pool", "node_type_id": "i3.xlarge", "preloaded_spark_versions": ["16.4.x-cpu-ml-scala2.12"]},
            {"instance_pool_id": "pool-other", "instance_pool_name": "other-pool", "node_type_id": "i3.xlarge"},
        ],
        cluster_policies=[{"policy_id": "pol-1", "name": "ML jobs", "definition": {"num_workers": {"type": "range", "maxValue": 0}}}],
        warehouses=[{"id": "wh-1", "name": "reporting"}],
        service_principals=[{"id": "1", "displayName": "deployer", "applicationId": "app-uuid-1"}],
    )


def test_lookup_variables_are_resolved_before_the_rules_run(fake: FakeWorkspace, online_env: Path, tmp_path: Path) -> None:
    fake.state = _lookup_state()
    folder = _bundle(tmp_path, LOOKUPS)
    result, session = validate_online(folder, settings=load_settings(folder))
    assert session.error is None
    dev = result.resolved["dev"].config["resources"]["jobs"]["train"]
    cluster = dev["job_clusters"][0]["new_cluster"]
    assert (cluster["instance_pool_id"], cluster["policy_id"]) == ("pool-ml", "pol-1")
    assert dev["tasks"][0]["sql_task"]["warehouse_id"] == "wh-1"
    assert dev["run_as"]["service_principal_name"] == "app-uuid-1"
    prod = result.resolved["prod"].config["resources"]["jobs"]["train"]["job_clusters"][0]["new_cluster"]
    assert prod["instance_pool_id"] == "pool-other"  # the target's own lookup
    found = {(f.rule, f.line, f.targets) for f in result.findings if f.rule in ("DG303", "DG306", "DG006")}
    # The pool's preloaded runtime (dev only: other-pool preloads nothing), the policy's limit, the failed lookup.
    assert ("DG303", _line(LOOKUPS, "spark_version: 15.4"), ("dev",)) in found
    assert ("DG306", _line(LOOKUPS, "num_workers: 1"), ("dev", "prod")) in found
    assert ("DG006", _line(LOOKUPS, "instance_pool: no-such-pool"), ("dev", "prod")) in found
    failed = next(f for f in result.findings if f.rule == "DG006")
    assert "no instance pool named 'no-such-pool'" in failed.message


def test_local_policy_matches_a_lookup_name_offline() -> None:
    from dab_guard.engine import validate

    fixture = FIXTURES / "dg306" / "bad_local_policy"
    result = validate(fixture, settings=load_settings(fixture))
    messages = [f.message for f in result.findings if f.rule == "DG306"]
    assert any("breaks cluster policy 'ML jobs'" in m and "allows only" in m for m in messages), messages


def test_deeply_nested_local_policy_is_one_line_not_an_internal_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    folder = tmp_path / "bundle"
    shutil.copytree(FIXTURES / "dg306" / "bad_local_policy", folder)
    policy = folder / "policies" / "ml-jobs.json"
    for text in ("[" * 100_000 + "]" * 100_000, '{"spark_version": {"type": "fixed", "value": ' + "[" * 900 + "]" * 900 + "}}"):
        policy.write_text(text)
        code, _, err = _run(capsys, "validate", str(folder))
        assert code == 2, err
        assert err.count("\n") == 1 and "nested too deeply" in err and "internal error" not in err, err


def test_default_endpoint_name_is_the_one_databricks_agents_derives() -> None:
    from dab_guard.jobs.scripts import default_endpoint_name

    # databricks-agents 1.13.0 (deployments._create_endpoint_name): "agents_" + the model name cut to 56 characters,
    # dots as dashes, trailing "_" and "-" dropped.
    assert default_endpoint_name("main.agents.support_bot") == "agents_main-agents-support_bot"
    assert default_endpoint_name("main.ml.bot_") == "agents_main-ml-bot"
    assert default_endpoint_name("cat.sch." + "m" * 60) == "agents_cat-sch-" + "m" * 48
    assert default_endpoint_name("c.s." + "x" * 52 + ".tail") == "agents_c-s-" + "x" * 52


def test_clusters_sharing_an_anchor_are_reported_once(fake: FakeWorkspace, online_env: Path, tmp_path: Path) -> None:
    text = """
bundle:
  name: anchors
resources:
  jobs:
    first:
      name: first
      tasks:
        - task_key: a
          new_cluster: &cluster
            spark_version: 13.1.x-cpu-ml-scala2.12
            node_type_id: Standard_DS3_v2
            num_workers: 1
            data_security_mode: SINGLE_USER
          notebook_task: {notebook_path: /Workspace/Shared/nb}
    second:
      name: second
      tasks:
        - task_key: b
          new_cluster: *cluster
          notebook_task: {notebook_path: /Workspace/Shared/nb}
"""
    folder = _bundle(tmp_path, text)
    result, session = validate_online(folder, settings=load_settings(folder), options=OnlineOptions(use_cache=False))
    assert session.error is None
    found = sorted((f.rule, f.line) for f in result.findings if f.rule in ("DG301", "DG302"))
    assert found == [("DG301", _line(text, "spark_version:")), ("DG302", _line(text, "node_type_id:"))]


# --- the cache -------------------------------------------------------------------------------------------------------


def test_facts_are_cached_per_workspace(
    fake: FakeWorkspace, online_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.state = _lookup_state()
    folder = _bundle(tmp_path, LOOKUPS)
    first = _run(capsys, "validate", str(folder), "--online", "--format", "json")
    asked = len(fake.requests)
    assert asked > 0
    # Each fact once per run, although two targets need it.
    assert fake.api_requests().count(("GET", "/api/2.0/instance-pools/list")) == 1
    second = _run(capsys, "validate", str(folder), "--online", "--format", "json")
    assert len(fake.requests) == asked, "a second run within the cache's lifetime asks nothing"
    assert json.loads(first[1])["findings"] == json.loads(second[1])["findings"]
    _run(capsys, "validate", str(folder), "--online", "--no-cache")
    assert len(fake.api_requests()) > len([r for r in fake.requests[:asked] if not r[1].startswith("/.well-known/")])
    files = list((online_env / "dab-guard" / "workspace").glob("*.json"))
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert TOKEN not in files[0].read_text()


def test_no_token_in_any_output(fake: FakeWorkspace, online_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake.state = _lookup_state()
    folder = _bundle(tmp_path, LOOKUPS)
    outputs: list[str] = []
    for argv in (["--format", "json"], ["--verbose", "--no-cache"], ["--format", "sarif"]):
        code, out, err = _run(capsys, "validate", str(folder), "--online", *argv)
        assert code == 1
        outputs += [out, err]
    assert "sdk:" in outputs[3]  # --verbose shows the SDK's log lines ...
    assert all(TOKEN not in text and "Bearer" not in text for text in outputs)  # ... without credentials
    assert all(header == f"Bearer {TOKEN}" for header in fake.auth_headers if header)  # the token was really used
    cached = "".join(p.read_text() for p in online_env.rglob("*.json"))
    assert TOKEN not in cached


# --- preflight ---------------------------------------------------------------------------------------------------------


def test_preflight_creates_missing_schemas(fake: FakeWorkspace, online_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = FIXTURES / "dg304" / "bad_missing_schema"
    fake.state = WorkspaceState.from_file(fixture / WORKSPACE_FILE)
    code, out, _ = _run(capsys, "preflight", str(fixture))
    assert code == 1 and "missing schema main.agents_dev" in out and "missing catalog sandbox" in out
    code, _, err = _run(capsys, "preflight", str(fixture), "--create-missing-schemas", "--no-cache")
    assert code == 2 and "pass --yes" in err  # no terminal to ask
    assert "main.agents_dev" not in fake.state.schemas
    code, out, err = _run(capsys, "preflight", str(fixture), "--create-missing-schemas", "--yes", "--no-cache")
    assert "created schema main.agents_dev" in out
    assert ("POST", "/api/2.1/unity-catalog/schemas") in fake.requests
    assert "main.agents_dev" in fake.state.schemas
    assert code == 1  # the catalog sandbox is still missing: preflight does not create catalogs
    result, _ = validate_online(fixture, settings=load_settings(fixture))
    assert [f.message for f in result.findings if f.rule == "DG304" and "agents_dev" in f.message] == []


def test_budget_must_be_a_number(online_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAB_GUARD_ONLINE_TIMEOUT", "soon")
    folder = _bundle(tmp_path, SIMPLE)
    code, _, err = _run(capsys, "validate", str(folder), "--online")
    assert code == 2 and "DAB_GUARD_ONLINE_TIMEOUT must be a number" in err

