"""`dab-guard lsp` driven as an editor drives it: the real server in a subprocess, pygls's client over stdio."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient

from dab_guard.lsp.session import BundleSession
from dab_guard.result import rule_help_uri

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60.0

ROOT_YML = """\
bundle:
  name: {name}

include:
  - resources/*.yml

targets:
  dev:
    default: true
    mode: development
    workspace:
      host: https://adb-1234567890123456.7.azuredatabricks.net
"""

JOB_YML = """\
resources:
  jobs:
    train:
      name: train
      job_clusters:
        - job_cluster_key: main
          new_cluster:
            spark_version: 16.4.x-ml-scala2.12
            node_type_id: i3.xlarge
            num_workers: 1
            data_security_mode: SINGLE_USER
      tasks:
        - task_key: train
          job_cluster_key: main
          spark_python_task:
            python_file: ../src/train.py
"""

SCRIPT = 'print("training")\n'
SCRIPT_WITH_FILE = 'import pathlib\n\nHERE = pathlib.Path(__file__).parent\nprint(HERE)\n'


def make_bundle(folder: Path, name: str = "demo") -> Path:
    (folder / "resources").mkdir(parents=True)
    (folder / "src").mkdir()
    (folder / "databricks.yml").write_text(ROOT_YML.format(name=name))
    (folder / "resources" / "train.yml").write_text(JOB_YML)
    (folder / "src" / "train.py").write_text(SCRIPT)
    return folder


class Editor:
    """A language client that remembers the last diagnostics published for each document."""

    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.diagnostics: dict[str, list[types.Diagnostic]] = {}
        self.versions: dict[str, int] = {}
        self.changed = asyncio.Condition()
        self.logs: list[str] = []

    async def wait_for(self, uri: str, test: Callable[[list[types.Diagnostic]], bool]) -> list[types.Diagnostic]:
        async def until() -> list[types.Diagnostic]:
            async with self.changed:
                while not (uri in self.diagnostics and test(self.diagnostics[uri])):
                    await self.changed.wait()
                return self.diagnostics[uri]

        return await asyncio.wait_for(until(), TIMEOUT)

    def open(self, path: Path, text: str | None = None) -> str:
        uri = path.resolve().as_uri()
        self.versions[uri] = 1
        language = "yaml" if path.suffix in (".yml", ".yaml") else "python"
        item = types.TextDocumentItem(uri=uri, language_id=language, version=1, text=path.read_text() if text is None else text)
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
        return uri

    def change(self, uri: str, text: str) -> None:
        self.versions[uri] += 1
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )

    def close(self, uri: str) -> None:
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))

    async def status(self) -> dict[str, Any]:
        result = await self.client.workspace_execute_command_async(types.ExecuteCommandParams(command="dab-guard.status"))
        return dict(result) if not isinstance(result, dict) else result


def codes(diagnostics: list[types.Diagnostic]) -> set[str]:
    return {str(d.code) for d in diagnostics}


def run_editor(workspace: Path, scenario: Callable[[Editor], Awaitable[None]], options: dict[str, Any] | None = None) -> None:
    """Start the server as `dab-guard lsp` does, run ``scenario`` against it, and shut it down cleanly."""

    async def main() -> None:
        client = LanguageClient("dab-guard-tests", "1")
        editor = Editor(client)

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        async def published(params: types.PublishDiagnosticsParams) -> None:
            async with editor.changed:
                editor.diagnostics[params.uri] = list(params.diagnostics)
                editor.changed.notify_all()

        @client.feature(types.WINDOW_LOG_MESSAGE)
        def logged(params: types.LogMessageParams) -> None:
            editor.logs.append(params.message)

        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "BUNDLE_VAR_"))}
        await client.start_io(sys.executable, "-m", "dab_guard.cli", "lsp", env=env, cwd=str(workspace))
        await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                root_uri=workspace.as_uri(),
                initialization_options={"debounceMs": 10, "fullCheckDelayMs": 200, **(options or {})},
            )
        )
        client.initialized(types.InitializedParams())
        try:
            await scenario(editor)
            assert (await editor.status())["online"] is bool(options and options.get("online"))
        finally:
            await asyncio.wait_for(client.shutdown_async(None), TIMEOUT)
            client.exit(None)
            await client.stop()

    asyncio.run(main())


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """The edits of a WorkspaceEdit applied to one document, last first (positions are ASCII here)."""
    lines = text.split("\n")
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)

    def offset(p: types.Position) -> int:
        return starts[p.line] + p.character

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


# --- the editing loop --------------------------------------------------------------------------------------------


def test_open_change_hover_fix_and_close(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "ml")
    job = bundle / "resources" / "train.yml"

    async def scenario(editor: Editor) -> None:
        uri = editor.open(job)
        found = await editor.wait_for(uri, lambda ds: "DG102" in codes(ds))
        spark = next(d for d in found if d.code == "DG102")
        assert spark.severity == types.DiagnosticSeverity.Error
        assert spark.source == "dab-guard"
        assert spark.range.start == types.Position(line=7, character=27)  # the value on line 8, column 28
        assert spark.range.end.character == 27 + len("16.4.x-ml-scala2.12")
        assert spark.code_description is not None and spark.code_description.href == rule_help_uri("DG102")
        assert spark.code_description.href.endswith("docs/rules.md#dg102")

        # Hover shows what `dab-guard explain DG102` prints.
        hover = await editor.client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=7, character=30))
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert "DG102 spark-version [error]" in hover.contents.value
        assert "## Automatic fix" in hover.contents.value
        nothing = await editor.client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=0))
        )
        assert nothing is None

        # A change is checked again: removing the access mode adds DG101.
        text = job.read_text().replace("            data_security_mode: SINGLE_USER\n", "")
        editor.change(uri, text)
        found = await editor.wait_for(uri, lambda ds: "DG101" in codes(ds))
        spark = next(d for d in found if d.code == "DG102")

        # The code action is the fix `dab-guard fix` makes; applied, its diagnostic is gone.
        actions = await editor.client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=spark.range,
                context=types.CodeActionContext(diagnostics=[spark]),
            )
        )
        assert actions, "a fix for DG102"
        action = actions[0]
        assert isinstance(action, types.CodeAction) and action.is_preferred
        assert action.edit is not None and action.edit.changes is not None
        text = apply(text, action.edit.changes[uri])
        assert "spark_version: 16.4.x-cpu-ml-scala2.12" in text
        editor.change(uri, text)
        found = await editor.wait_for(uri, lambda ds: "DG102" not in codes(ds))
        assert "DG101" in codes(found)

        # The disk was never written: fixes are edits the editor applies.
        assert "16.4.x-ml-scala2.12" in job.read_text()

        # Closing the bundle's last document clears its diagnostics.
        editor.close(uri)
        await editor.wait_for(uri, lambda ds: ds == [])

    run_editor(tmp_path, scenario)


def test_broken_yaml_gives_dg001_then_recovers(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "ml")
    job = bundle / "resources" / "train.yml"
    good = job.read_text()

    async def scenario(editor: Editor) -> None:
        uri = editor.open(job)
        await editor.wait_for(uri, lambda ds: "DG102" in codes(ds))
        half_typed = good.replace("name: train", "name: 'train")  # an unclosed string
        editor.change(uri, half_typed)
        broken = await editor.wait_for(uri, lambda ds: "DG001" in codes(ds))
        assert codes(broken) == {"DG001"}, "a file that does not parse gives DG001 and nothing else"
        assert broken[0].severity == types.DiagnosticSeverity.Error

        # Still serving: hover answers, and a fixed file is checked as before.
        await editor.client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=0))
        )
        editor.change(uri, good)
        recovered = await editor.wait_for(uri, lambda ds: "DG001" not in codes(ds) and "DG102" in codes(ds))
        assert "DG001" not in codes(recovered)

    run_editor(tmp_path, scenario)


def test_two_bundles_in_one_workspace_each_get_their_own(tmp_path: Path) -> None:
    first = make_bundle(tmp_path / "bundles" / "first", "first")
    second = make_bundle(tmp_path / "bundles" / "second", "second")
    (second / "resources" / "train.yml").write_text(JOB_YML.replace("16.4.x-ml-scala2.12", "16.4.x-cpu-ml-scala2.12"))
    (second / "src" / "train.py").write_text(SCRIPT_WITH_FILE)

    async def scenario(editor: Editor) -> None:
        one = editor.open(first / "resources" / "train.yml")
        two = editor.open(second / "resources" / "train.yml")
        in_first = await editor.wait_for(one, lambda ds: "DG102" in codes(ds))
        # The second bundle's own finding lands on its script, not on the first bundle's files.
        script = (second / "src" / "train.py").resolve().as_uri()
        in_script = await editor.wait_for(script, lambda ds: "DG201" in codes(ds))
        assert in_script[0].range.start.line == 2
        assert "DG201" not in codes(in_first)
        assert "DG102" not in codes(editor.diagnostics.get(two, []))
        assert (first / "src" / "train.py").resolve().as_uri() not in editor.diagnostics
        status = await editor.status()
        assert status["bundles"] == sorted([str(first.resolve()), str(second.resolve())])
        # An edit in one bundle leaves the other's diagnostics alone.
        editor.change(one, (first / "resources" / "train.yml").read_text().replace("16.4.x-ml-scala2.12", "16.4.x-cpu-ml-scala2.12"))
        await editor.wait_for(one, lambda ds: "DG102" not in codes(ds))
        assert "DG201" in codes(editor.diagnostics[script])

    run_editor(tmp_path, scenario)


def test_editing_a_job_script_gives_its_findings(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "ml")
    script = bundle / "src" / "train.py"

    async def scenario(editor: Editor) -> None:
        editor.open(bundle / "resources" / "train.yml")
        uri = editor.open(script)
        await editor.wait_for((bundle / "resources" / "train.yml").resolve().as_uri(), lambda ds: "DG102" in codes(ds))
        assert "DG201" not in codes(editor.diagnostics.get(uri, []))
        editor.change(uri, SCRIPT_WITH_FILE)
        found = await editor.wait_for(uri, lambda ds: "DG201" in codes(ds))
        dunder = next(d for d in found if d.code == "DG201")
        assert dunder.range.start == types.Position(line=2, character=20)
        assert "spark_python_task" in dunder.message
        # A noqa comment typed in the editor silences it, as on disk.
        editor.change(uri, SCRIPT_WITH_FILE.replace(".parent\n", ".parent  # noqa: DG201\n"))
        await editor.wait_for(uri, lambda ds: "DG201" not in codes(ds))
        editor.change(uri, SCRIPT)
        await editor.wait_for(uri, lambda ds: ds == [])

    run_editor(tmp_path, scenario)


# --- robustness and the network --------------------------------------------------------------------------------------


def test_bad_input_never_stops_the_server(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "ml")
    job = bundle / "resources" / "train.yml"

    async def scenario(editor: Editor) -> None:
        uri = editor.open(job)
        await editor.wait_for(uri, lambda ds: "DG102" in codes(ds))
        # Documents outside any bundle, of other schemes, never opened; hostile YAML; a NUL byte.
        editor.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri="untitled:Untitled-1", version=2),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text="x")],
            )
        )
        editor.open(tmp_path / "notes.yml", "a: [")
        for text in ("resources: !!python/object/apply:os.system ['echo hi']\n", "resources:\x00\n", "- [\n" * 300, ""):
            editor.change(uri, text)
            await asyncio.sleep(0.05)
        editor.change(uri, job.read_text())
        await editor.wait_for(uri, lambda ds: "DG102" in codes(ds))
        completion = await editor.client.text_document_completion_async(
            types.CompletionParams(text_document=types.TextDocumentIdentifier(uri="file:///nowhere/x.yml"), position=types.Position(line=0, character=0))
        )
        assert completion is None
        status = await editor.status()
        assert status["bundles"] == [str(bundle.resolve())]

    run_editor(tmp_path, scenario)


def test_offline_server_never_imports_the_sdk(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "ml")

    async def scenario(editor: Editor) -> None:
        uri = editor.open(bundle / "resources" / "train.yml")
        await editor.wait_for(uri, lambda ds: "DG102" in codes(ds))
        status = await editor.status()
        assert status == {"online": False, "sdk_imported": False, "bundles": [str(bundle.resolve())]}

    run_editor(tmp_path, scenario)


def test_validate_never_imports_pygls() -> None:
    fixture = ROOT / "databricks.yml.example"
    code = (
        "import sys\n"
        "from dab_guard.cli import main\n"
        f"status = main(['validate', {str(fixture)!r}, '--format', 'json'])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('pygls', 'lsprotocol', 'dab_guard') and ('lsp' in m or 'pygls' in m))\n"
        "sys.stderr.write(repr((status, loaded)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert done.stderr.strip().endswith("(0, [])"), done.stderr


# --- completion ------------------------------------------------------------------------------------------------------


def test_completion_offers_schema_keys_and_enum_values(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "ml")
    job = bundle / "resources" / "train.yml"
    text = job.read_text().replace("            data_security_mode: SINGLE_USER\n", "            data_security_mode: SI\n            spark_en\n")

    async def scenario(editor: Editor) -> None:
        uri = editor.open(job, text)
        lines = text.split("\n")
        mode_line = next(i for i, line in enumerate(lines) if "data_security_mode" in line)

        async def labels(line: int) -> list[str]:
            found = await editor.client.text_document_completion_async(
                types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=len(lines[line])))
            )
            assert isinstance(found, types.CompletionList)
            return [item.label for item in found.items]

        assert await labels(mode_line) == ["SINGLE_USER"]
        assert set(await labels(mode_line + 1)) == {"spark_env_vars"}

    run_editor(tmp_path, scenario)


# --- the quick check agrees with the full one ------------------------------------------------------------------------


def _generated(folder: Path, jobs: int) -> Path:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from generate import generate  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    generated: Path = generate(folder, jobs, bad=0.4)
    return generated.resolve()


@pytest.mark.parametrize(
    "edit",
    [
        ("resources/job_3.yml", lambda t: t.replace("max_concurrent_runs: 1", "max_concurrent_runs: 4")),
        ("resources/job_3.yml", lambda t: t.replace("16.4.x-cpu-ml-scala2.12", "16.4.x-ml-scala2.12")),
        ("resources/job_3.yml", lambda t: t.replace("16.4.x-ml-scala2.12", "16.4.x-cpu-ml-scala2.12")),
        ("resources/job_3.yml", lambda t: t.replace("task_key: task_1", "task_key: 'task_1")),
        ("resources/job_3.yml", lambda t: t.replace("job_3:", "job_3b:")),
        ("resources/job_3.yml", lambda t: t + "      tags: {owner: ${resources.jobs.job_4.name}}\n"),
        ("src/job_3.py", lambda t: SCRIPT_WITH_FILE),
        ("src/job_3.py", lambda t: "def broken(:\n"),
    ],
)
def test_a_quick_check_gives_what_a_full_check_gives(tmp_path: Path, edit: tuple[str, Callable[[str], str]]) -> None:
    root = _generated(tmp_path / "big", 12)
    rel, change = edit
    session = BundleSession(root)
    session.check({})
    path = root / rel
    texts = {path: change(path.read_text())}
    quick = session.check(texts)
    assert quick.quick, "this edit is checked on a slice"
    full = BundleSession(root).check(texts, full=True)
    assert [f.to_dict() for f in quick.findings] == [f.to_dict() for f in full.findings]


@pytest.mark.parametrize(
    "edit",
    [
        # prod gains a variable value and lines (findings of dev below... and above stay put or move)
        lambda t: t.replace("  prod:\n    mode: production\n", "  prod:\n    mode: production\n    variables:\n      schema: prod_schema\n"),
        # dev loses its host: DG110 for dev only, prod keeps its findings
        lambda t: t.replace("    default: true\n    workspace:\n      host: https://adb-1234567890123456.7.azuredatabricks.net\n", "    default: true\n    workspace:\n"),
        # prod switches to development mode
        lambda t: t.replace("    mode: production", "    mode: development"),
    ],
)
def test_an_edit_of_one_target_checks_that_target_and_keeps_the_others(tmp_path: Path, edit: Callable[[str], str]) -> None:
    """The root file's `targets.<name>` edited alone: only that target is checked again (issue: unaffected targets
    reuse their results); what the user sees equals a full check."""
    root = _generated(tmp_path / "big", 12)
    session = BundleSession(root)
    session.check({})
    path = root / "databricks.yml"
    text = edit(path.read_text())
    assert text != path.read_text()
    texts = {path: text}
    quick = session.check(texts)
    assert quick.quick, "an edit inside one target's section checks that target alone"
    assert quick.parts[1].result.targets != quick.parts[0].result.targets
    full = BundleSession(root).check(texts, full=True)
    assert [f.to_dict() for f in quick.findings] == [f.to_dict() for f in full.findings]


def test_an_edit_a_slice_cannot_see_is_checked_in_full(tmp_path: Path) -> None:
    root = _generated(tmp_path / "big", 6)
    session = BundleSession(root)
    session.check({})
    root_file = root / "databricks.yml"
    texts = {root_file: root_file.read_text().replace("default: bench", "default: other")}
    outcome = session.check(texts)
    assert not outcome.quick
    duplicate = root / "resources" / "job_1.yml"
    texts = {duplicate: duplicate.read_text().replace("job_1:", "job_2:")}
    assert not session.check(texts).quick, "a resource another file defines too"


def test_readme_shows_the_editor_setups() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Your editor") :]
    for needle in ("dab-guard lsp", "vim.lsp.start", "languages.toml", "eglot", "settings.json"):
        assert needle in section, needle
    server = section[section.index("#### The language server") :]
    vscode = json.loads(server[server.index("```json") + len("```json") : server.index("```", server.index("```json") + 7)])
    assert [vscode["glspc.server.command"], *vscode["glspc.server.commandArguments"]] == ["dab-guard", "lsp"]
    assert '{ "dab-guard", "lsp" }' in server and 'args = ["lsp"]' in server and '("dab-guard" "lsp")' in server
    help_text = subprocess.run([sys.executable, "-m", "dab_guard.cli", "lsp", "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert help_text.returncode == 0 and "--stdio" in help_text.stdout


# --- from a newcomer's review: what must not go wrong in a long editing session -------------------------------------


def test_a_full_check_frees_the_one_before(tmp_path: Path) -> None:
    """The server freezes what a full check keeps (the collector then skips it); the next full check must let the
    old objects go, or memory grows with every pause in typing."""
    import gc

    from dab_guard.lsp.server import DabGuardServer, _Bundle

    root = make_bundle(tmp_path / "b")
    server = DabGuardServer()
    bundle = _Bundle(BundleSession(root.resolve()))
    try:
        gc.unfreeze()
        counts = []
        script = root.resolve() / "src" / "train.py"
        for typed in range(6):
            # each check reads a new text of the script, so the one before (a cycle: source <-> facts) is garbage
            server._check(bundle, {script: "".join(f"x{n} = {n}\n" for n in range(200)) + f"print({typed})\n"}, True)
            counts.append(gc.get_freeze_count())
        # what stays frozen is the last check's, not the sum of every check so far (it grew by about 1,800 objects
        # a check, the old script's parse among them, when nothing was let go)
        assert counts[5] - counts[1] < 100, counts
    finally:
        gc.unfreeze()


def test_an_edit_stops_the_full_check_under_way(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b").resolve()
    session = BundleSession(root)
    first = session.check({})
    assert not first.superseded and session.baseline is not None
    kept = session.baseline
    session.stop.set()  # what the server does when an edit arrives during a full check
    stopped = session.check({}, full=True)
    assert stopped.superseded and session.baseline is kept  # quick checks go on from the last full check
    session.stop.clear()
    text = (root / "resources" / "train.yml").read_text().replace("16.4.x-ml-scala2.12", "16.4.x-cpu-ml-scala2.12")
    quick = session.check({root / "resources" / "train.yml": text}, changed=[root / "resources" / "train.yml"])
    assert "DG102" not in {f.rule for f in quick.findings}


def test_a_lone_surrogate_in_a_script_is_one_dg001(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b").resolve()
    session = BundleSession(root)
    outcome = session.check({root / "src" / "train.py": 'print("\udcff")\n'})
    assert outcome.error is None
    assert [f.file for f in outcome.findings if f.rule == "DG001"] == ["src/train.py"]


def test_a_symlinked_folder_gets_diagnostics_on_the_uri_the_editor_opened(tmp_path: Path) -> None:
    real = make_bundle(tmp_path / "real")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    path = link / "resources" / "train.yml"

    async def scenario(editor: Editor) -> None:
        uri = path.as_uri()  # not resolved: what an editor opened
        item = types.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=path.read_text())
        editor.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
        found = await editor.wait_for(uri, lambda d: "DG102" in codes(d))
        hover = await editor.client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=found[0].range.start)
        )
        assert hover is not None

    run_editor(tmp_path, scenario)


def test_a_half_typed_file_leaves_the_other_files_alone(tmp_path: Path) -> None:
    root = make_bundle(tmp_path / "b")
    other = root / "resources" / "notify.yml"
    other.write_text("resources:\n  jobs:\n    notify:\n      name: after ${resources.jobs.train.name}\n      tasks: []\n")

    async def scenario(editor: Editor) -> None:
        train = editor.open(root / "resources" / "train.yml")
        notify = editor.open(other)
        await editor.wait_for(train, lambda d: "DG102" in codes(d))
        await asyncio.sleep(1.0)  # both checked in full
        assert "DG006" not in codes(editor.diagnostics.get(notify, []))
        editor.change(train, JOB_YML.replace("name: train", 'name: "train'))  # an unclosed string
        await editor.wait_for(train, lambda d: codes(d) == {"DG001"})
        await asyncio.sleep(1.0)  # past the full check once edits pause (200 ms here)
        assert "DG006" not in codes(editor.diagnostics.get(notify, []))
        editor.change(train, JOB_YML)
        await editor.wait_for(train, lambda d: "DG102" in codes(d))

    run_editor(tmp_path, scenario)


def test_shutdown_and_exit_end_the_server_with_status_0(tmp_path: Path) -> None:
    def frame(message: dict[str, Any]) -> bytes:
        body = json.dumps(message).encode()
        return b"Content-Length: %d\r\n\r\n" % len(body) + body

    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "rootUri": tmp_path.as_uri()}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "BUNDLE_VAR_"))}
    done = subprocess.run(
        [sys.executable, "-m", "dab_guard.cli", "lsp"],
        input=b"".join(frame(m) for m in messages),
        capture_output=True,
        timeout=TIMEOUT,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"Traceback" not in done.stderr


def test_completion_finds_its_place_in_a_list_written_at_its_key_indent() -> None:
    from dab_guard.lsp.completion import LIST_ITEM, path_at

    indented = ["resources:", "  jobs:", "    j:", "      tasks:", "        - task_key: a", "          spark_py"]
    flush = ["resources:", "  jobs:", "    j:", "      tasks:", "      - task_key: a", "        spark_py"]
    expected = ["resources", "jobs", "j", "tasks", LIST_ITEM]
    assert path_at(indented, 5, 10) == expected
    assert path_at(flush, 5, 8) == expected
