"""`dab-guard lsp`: findings while typing, over the Language Server Protocol (stdio), built on pygls.

Each open document (bundle YAML, a job's script or notebook) belongs to the nearest bundle above it. Every bundle
with an open document is checked with the editor's texts of all open documents standing in for the files on disk,
in one worker thread, so the server keeps answering while a check runs: an edit is checked quickly after a short
debounce (see :mod:`dab_guard.lsp.session`), and in full once edits pause. Diagnostics are published for every file
of the bundle, and only where they changed. Nothing the user writes can stop the server: a check that fails is
logged to the client, and the server goes on.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from dab_guard import __version__
from dab_guard.bundle.loader import BundleError, find_root
from dab_guard.edits import digest
from dab_guard.finding import Finding, Severity, TextEdit
from dab_guard.lsp.completion import SchemaWalker, complete
from dab_guard.lsp.session import BundleSession, Outcome
from dab_guard.result import rule_help_uri
from dab_guard.rules.base import Rule
from dab_guard.rules.registry import ALL_RULES

SOURCE = "dab-guard"
YAML_SUFFIXES = (".yml", ".yaml")
CHECKED_SUFFIXES = (".yml", ".yaml", ".json", ".py", ".ipynb")
STATUS_COMMAND = "dab-guard.status"
_SEVERITIES = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}
log = logging.getLogger("dab_guard.lsp")


@dataclass
class Options:
    """The server's settings (initializationOptions, or the `dab-guard` section of the client's configuration)."""

    online: bool = False  # workspace checks (DG301-DG307): the only way the server reaches the network
    debounce: float = 0.03  # seconds of quiet after an edit before it is checked
    full_delay: float = 1.5  # seconds of quiet before the whole bundle is checked again

    def update(self, values: Any) -> None:
        if not isinstance(values, dict):
            return
        values = values.get("dab-guard", values) if isinstance(values.get("dab-guard", values), dict) else values
        if isinstance(values.get("online"), bool):
            self.online = values["online"]
        for key, attr in (("debounceMs", "debounce"), ("fullCheckDelayMs", "full_delay")):
            value = values.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 60_000:
                setattr(self, attr, value / 1000)


@dataclass
class _Pending:
    changed_at: float
    quick: bool = True
    full: bool = True


@dataclass
class _Published:
    diagnostic: types.Diagnostic
    finding: Finding


@dataclass
class _Bundle:
    session: BundleSession
    published: dict[str, list[_Published]] = field(default_factory=dict)  # uri -> what was published
    # What a finding kept from one check to the next was published as (by identity), and each file's URI: a quick
    # check of a large bundle keeps thousands of findings, which are not converted again.
    made: dict[int, _Published] = field(default_factory=dict)
    uris: dict[str, tuple[Path, str]] = field(default_factory=dict)
    read_paths: tuple[int, frozenset[Path]] = (0, frozenset())  # (id of the baseline, the files it read)


def path_of(uri: str) -> Path | None:
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    try:
        return Path(unquote(parsed.path)).resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def explain(rule: type[Rule]) -> str:
    """What `dab-guard explain` prints for ``rule``."""
    lines = [f"{rule.id} {rule.name} [{rule.severity.label}]: {rule.summary}", "", rule.documentation()]
    if rule.source:
        lines += ["", "## Comes from", rule.source]
    if rule.fix:
        how = "`dab-guard fix` applies it" if rule.fix == "safe" else "`dab-guard fix --unsafe-fixes` applies it"
        lines += ["", "## Automatic fix", f"{rule.fix}: {how} (see Fix above for what it changes)"]
    else:
        lines += ["", "## Automatic fix", "none: `dab-guard fix` leaves this finding to you"]
    return "\n".join(lines)


def utf16(text: str, chars: int) -> int:
    """The UTF-16 offset (LSP's default) of the first ``chars`` characters of ``text``."""
    head = text[:chars]
    return chars if head.isascii() else len(head.encode("utf-16-le")) // 2


def _token_end(line: str, start: int) -> int:
    """Where the value or key written at ``start`` ends (at least one character on)."""
    if start >= len(line):
        return start + 1
    quote = line[start]
    if quote in "'\"":
        end = line.find(quote, start + 1)
        return end + 1 if end != -1 else len(line)
    end = start
    while end < len(line) and not line[end].isspace() and line[end] not in ",]}#":
        end += 1
    while end > start + 1 and line[end - 1] == ":":
        end -= 1
    return max(end, start + 1)


class DabGuardServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("dab-guard", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.options = Options()
        self.texts: dict[Path, str] = {}  # every open document's text, by resolved path
        self.bundles: dict[Path, _Bundle] = {}  # bundle root -> its session
        self.root_of: dict[Path, Path | None] = {}  # document -> the root of the bundle it belongs to
        self.lock = threading.Condition()
        self.pending: dict[Path, _Pending] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.worker: threading.Thread | None = None
        self.walker: SchemaWalker | None = None
        self._lines: dict[Path, tuple[int, list[str]]] = {}  # disk file -> (mtime, lines), for ranges
        self.uris: dict[Path, str] = {}  # open document (resolved path) -> the URI the editor opened it by
        self.running: tuple[Path, bool] | None = None  # the bundle being checked, and whether in full

    # --- logging ----------------------------------------------------------------------------------------------

    def log(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        def send() -> None:
            try:
                self.window_log_message(types.LogMessageParams(type=kind, message=message))
            except Exception:  # the client went away: nothing left to tell
                log.debug("could not log to the client", exc_info=True)

        self._in_loop(send)

    def _in_loop(self, call: Callable[[], None]) -> None:
        loop = self.loop
        if loop is None or threading.current_thread() is threading.main_thread():
            call()
        else:
            loop.call_soon_threadsafe(call)

    def guarded(self, what: str, call: Callable[[], Any], default: Any = None) -> Any:
        """``call()``, with any failure logged to the client instead of ending the request or the server."""
        try:
            return call()
        except Exception as exc:
            self.log(f"dab-guard: {what} failed: {type(exc).__name__}: {exc}\n{traceback.format_exc()}", types.MessageType.Error)
            return default

    # --- documents --------------------------------------------------------------------------------------------

    def bundle_root(self, path: Path) -> Path | None:
        if path not in self.root_of:
            root: Path | None = None
            if path.name.endswith(CHECKED_SUFFIXES):
                try:
                    folder, _ = find_root(None, path.parent)
                    root = folder.resolve()
                except (BundleError, OSError):
                    root = None
            self.root_of[path] = root
        return self.root_of[path]

    def document_changed(self, uri: str, text: str | None) -> None:
        path = path_of(uri)
        if path is None:
            return
        root = self.bundle_root(path)
        with self.lock:
            if text is None:
                self.texts.pop(path, None)
                self.uris.pop(path, None)
            else:
                self.texts[path] = text
                self.uris[path] = uri
            if root is None:
                # A file outside every bundle folder that a bundle includes (../shared/*.yml): check those bundles.
                for other, bundle in self.bundles.items():
                    if self._reads(bundle, other, path):
                        self._changed(other)
                return
            if root not in self.bundles:
                self.bundles[root] = _Bundle(BundleSession(root, online=self.options.online))
            if text is None and not any(self.bundle_root(p) == root for p in self.texts):
                # The bundle's last open document: forget the bundle and clear what was published for it.
                closed = self.bundles.pop(root)
                self.pending.pop(root, None)
                self._in_loop(lambda: self._publish(closed, {}))
                return
            self._changed(root)

    def _changed(self, root: Path) -> None:
        """An edit reached the bundle at ``root`` (the lock held): check it soon, and stop a full check under way."""
        self.pending[root] = _Pending(time.monotonic())
        bundle = self.bundles.get(root)
        if self.running == (root, True) and bundle is not None and bundle.session.baseline is not None:
            bundle.session.stop.set()
        self.lock.notify_all()

    def settings_changed(self, values: Any) -> None:
        """New settings: bundles already open follow them (``online`` turned on or off), checked in full again."""
        with self.lock:
            self.options.update(values)
            for root, bundle in self.bundles.items():
                if bundle.session.online != self.options.online:
                    bundle.session.online = self.options.online
                    self.pending[root] = _Pending(time.monotonic(), quick=False)
            self.lock.notify_all()

    def start_worker(self) -> None:
        if self.worker is None:
            self.worker = threading.Thread(target=self._work, name="dab-guard-checks", daemon=True)
            self.worker.start()

    # --- the worker -------------------------------------------------------------------------------------------

    def _next(self) -> tuple[Path, bool] | float:
        """The bundle to check now and whether in full, or how long to wait for one."""
        now = time.monotonic()
        wait = 3600.0
        for root, pending in self.pending.items():
            if pending.quick:
                due = pending.changed_at + self.options.debounce
                if due <= now:
                    return root, False
                wait = min(wait, due - now)
            elif pending.full:
                due = pending.changed_at + self.options.full_delay
                if due <= now:
                    return root, True
                wait = min(wait, due - now)
        return wait

    def _work(self) -> None:
        while True:
            with self.lock:
                while True:
                    found = self._next()
                    if not isinstance(found, float):
                        break
                    self.lock.wait(found)
                root, full = found
                pending = self.pending[root]
                if full:
                    del self.pending[root]
                else:
                    pending.quick = False
                bundle = self.bundles.get(root)
                if bundle is None:
                    continue
                texts = {p: t for p, t in self.texts.items() if self._reads(bundle, root, p)}
                bundle.session.stop.clear()
                self.running = (root, full)
            try:
                self._run(root, bundle, pending, texts, full)
            finally:
                with self.lock:
                    self.running = None

    def _run(self, root: Path, bundle: _Bundle, pending: _Pending, texts: dict[Path, str], full: bool) -> None:
        """One check of the bundle at ``root``, then its diagnostics published."""
        outcome: Outcome | None = self.guarded("checking the bundle", lambda: self._check(bundle, texts, full))
        if outcome is None:
            return
        if outcome.superseded:
            return  # an edit came in: its quick check comes next, and a full check once edits pause
        if outcome.error is not None:
            self.log(f"dab-guard: {root}: {outcome.error}", types.MessageType.Warning)
        with self.lock:
            if not outcome.quick and self.pending.get(root) is pending:
                del self.pending[root]  # checked in full already (the first check of a bundle), with no edit since
            if self.bundles.get(root) is not bundle:
                return  # closed while it was checked
        diagnostics: dict[str, list[_Published]] = self.guarded("building diagnostics", lambda: self._diagnostics(bundle, outcome, texts), {})
        typing = {uri for uri, shown in diagnostics.items() if any(p.finding.rule == "DG001" for p in shown) and uri in self.uris.values()}
        if typing and bundle.published:
            # An open document that does not parse yet (being typed): what it defines is missing from this check, so
            # the other files keep what they showed rather than gain findings about it until it parses again.
            diagnostics = {uri: diagnostics.get(uri, []) if uri in typing else bundle.published.get(uri, []) for uri in {*diagnostics, *bundle.published}}
        self._in_loop(lambda: self._publish(bundle, diagnostics))

    def _reads(self, bundle: _Bundle, root: Path, path: Path) -> bool:
        """Whether the check of the bundle at ``root`` reads the open document ``path``."""
        if self.bundle_root(path) == root:
            return True
        base = bundle.session.baseline
        if base is None:
            return False
        if bundle.read_paths[0] != id(base):
            bundle.read_paths = (id(base), frozenset(source.path for source in base.result.bundle.files.values()))
        return path in bundle.read_paths[1]

    def _check(self, bundle: _Bundle, texts: dict[Path, str], full: bool) -> Outcome:
        import gc

        if full or bundle.session.baseline is None:
            gc.unfreeze()  # what the last full check froze may go now: the next collection frees the old bundle
        outcome = bundle.session.check(texts, full=full)
        if not outcome.quick and not outcome.superseded:
            # A long-lived server: collect once after each full check, then leave what it keeps out of later
            # collections, so that the collector never pauses a quick check to scan a large bundle's trees.
            gc.collect()
            gc.freeze()
        return outcome

    # --- diagnostics ------------------------------------------------------------------------------------------

    def _line(self, path: Path, texts: dict[Path, str], number: int) -> str:
        text = texts.get(path)
        if text is not None:
            lines = text.splitlines()
        else:
            try:
                stamp = path.stat().st_mtime_ns
            except OSError:
                return ""
            cached = self._lines.get(path)
            if cached is None or cached[0] != stamp:
                try:
                    cached = (stamp, path.read_text(encoding="utf-8", errors="replace").splitlines())
                except OSError:
                    return ""
                self._lines[path] = cached
            lines = cached[1]
        return lines[number - 1] if 0 < number <= len(lines) else ""

    def _diagnostics(self, bundle: _Bundle, outcome: Outcome, texts: dict[Path, str]) -> dict[str, list[_Published]]:
        root = bundle.session.root_dir
        out: dict[str, list[_Published]] = {}
        made: dict[int, _Published] = {}
        for finding in outcome.findings:
            known = bundle.made.get(id(finding))
            if known is not None and known.finding is finding:
                made[id(finding)] = known
                known_path, known_uri = bundle.uris[finding.file]
                out.setdefault(self.uris.get(known_path, known_uri), []).append(known)
                continue
            where = bundle.uris.get(finding.file)
            if where is None:
                path = (root / finding.file).resolve() if not finding.file.startswith("<") else root
                where = bundle.uris[finding.file] = (path, path.as_uri())
            path = where[0]
            uri = self.uris.get(path, where[1])
            line_text = self._line(path, texts, finding.line)
            start = max(finding.column - 1, 0)
            end = _token_end(line_text, start)
            line = max(finding.line - 1, 0)
            message = finding.message + (f" (targets: {', '.join(finding.targets)})" if len(finding.targets) > 1 else "")
            diagnostic = types.Diagnostic(
                range=types.Range(types.Position(line, utf16(line_text, start)), types.Position(line, utf16(line_text, end))),
                message=message,
                severity=_SEVERITIES.get(finding.severity, types.DiagnosticSeverity.Information),
                code=finding.rule,
                code_description=types.CodeDescription(href=rule_help_uri(finding.rule)),
                source=SOURCE,
                data={"file": finding.file, "line": finding.line, "column": finding.column, "rule": finding.rule, "root": str(root)},
            )
            made[id(finding)] = published = _Published(diagnostic, finding)
            out.setdefault(uri, []).append(published)
        bundle.made = made
        return out

    def _publish(self, bundle: _Bundle, diagnostics: dict[str, list[_Published]]) -> None:
        """Send the diagnostics of each file whose diagnostics changed (an empty list clears a file's)."""
        old = bundle.published
        changed: list[str] = []
        for uri in sorted(set(old) | set(diagnostics)):
            new = diagnostics.get(uri, [])
            before = old.get(uri, [])
            if len(new) == len(before) and all(a is b for a, b in zip(new, before, strict=True)):
                continue
            if [p.diagnostic for p in new] == [p.diagnostic for p in before]:
                continue
            changed.append(uri)
        bundle.published = diagnostics
        for uri in changed:
            # A file two bundles read (an include from outside both folders) shows what each of them finds.
            shown = [p.diagnostic for other in (bundle, *(b for b in self.bundles.values() if b is not bundle)) for p in other.published.get(uri, [])]
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=shown))

    def published_at(self, uri: str) -> list[tuple[_Bundle, _Published]]:
        with self.lock:
            return [(bundle, p) for bundle in self.bundles.values() for p in bundle.published.get(uri, [])]

    # --- hover, code actions, completion ----------------------------------------------------------------------

    def hover(self, params: types.HoverParams) -> types.Hover | None:
        position = params.position
        rules = {rule.id: rule for rule in ALL_RULES}
        parts: list[str] = []
        seen: set[str] = set()
        for _, published in self.published_at(params.text_document.uri):
            span = published.diagnostic.range
            if not (span.start.line <= position.line <= span.end.line):
                continue
            if position.line == span.start.line and position.character < span.start.character:
                continue
            if position.line == span.end.line and position.character > span.end.character:
                continue
            finding = published.finding
            rule = rules.get(finding.rule)
            if rule is None or finding.rule in seen:
                continue
            seen.add(finding.rule)
            parts.append(f"**{finding.rule}** {finding.message}\n\n[{finding.rule} in the rules]({rule_help_uri(finding.rule)})\n\n{explain(rule)}")
        if not parts:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)))

    def code_actions(self, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        wanted = [d for d in params.context.diagnostics if d.source == SOURCE]
        actions: list[types.CodeAction] = []
        for bundle, published in self.published_at(uri):
            diagnostic = published.diagnostic
            if not any(d.code == diagnostic.code and d.range == diagnostic.range for d in wanted):
                continue
            for description, edits, safe in bundle.session.fixes_for(published.finding):
                edit = self._workspace_edit(bundle.session.root_dir, edits)
                if edit is None:
                    continue
                actions.append(
                    types.CodeAction(
                        title=f"dab-guard: {description}" + ("" if safe else " (suggested)"),
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        is_preferred=safe,
                        edit=edit,
                    )
                )
        actions.sort(key=lambda a: not a.is_preferred)  # safe fixes first
        return actions

    def _workspace_edit(self, root: Path, edits: list[TextEdit]) -> types.WorkspaceEdit | None:
        """The fix's edits on the current texts; None when a file changed since the check that offered the fix."""
        changes: dict[str, list[types.TextEdit]] = {}
        for edit in edits:
            path = (root / edit.file).resolve()
            with self.lock:
                text = self.texts.get(path)
            if text is None:
                try:
                    text = path.read_bytes().decode("utf-8")
                except (OSError, UnicodeDecodeError):
                    return None
            if edit.basis and digest(text.encode("utf-8", errors="surrogatepass")) != edit.basis:
                return None
            lines = text.split("\n")

            def position(line: int, col: int, lines: list[str] = lines) -> types.Position:
                line_text = lines[line - 1] if 0 < line <= len(lines) else ""
                return types.Position(line - 1, utf16(line_text, col - 1))

            changes.setdefault(path.as_uri(), []).append(
                types.TextEdit(
                    range=types.Range(position(edit.start_line, edit.start_col), position(edit.end_line, edit.end_col)),
                    new_text=edit.new_text,
                )
            )
        return types.WorkspaceEdit(changes=changes) if changes else None

    def completion(self, params: types.CompletionParams) -> types.CompletionList | None:
        path = path_of(params.text_document.uri)
        if path is None or not path.name.endswith(YAML_SUFFIXES) or self.bundle_root(path) is None:
            return None
        with self.lock:
            text = self.texts.get(path)
        if text is None:
            return None
        if self.walker is None:
            self.walker = SchemaWalker()
        found = complete(self.walker, text, params.position.line, params.position.character)
        items = [
            types.CompletionItem(
                label=c.label,
                kind=types.CompletionItemKind.Property if c.is_key else types.CompletionItemKind.EnumMember,
                detail=c.detail or None,
                insert_text=f"{c.label}: " if c.is_key else c.label,
            )
            for c in found
        ]
        return types.CompletionList(is_incomplete=False, items=items)

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {
                "online": self.options.online,
                "sdk_imported": "databricks.sdk" in sys.modules,
                "bundles": sorted(str(root) for root in self.bundles),
            }


def build_server() -> DabGuardServer:
    server = DabGuardServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: DabGuardServer, params: types.InitializeParams) -> None:
        ls.guarded("reading the settings", lambda: ls.options.update(params.initialization_options))

    @server.feature(types.INITIALIZED)
    def initialized(ls: DabGuardServer, params: types.InitializedParams) -> None:
        try:
            ls.loop = asyncio.get_running_loop()
        except RuntimeError:
            ls.loop = None
        ls.start_worker()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def configuration(ls: DabGuardServer, params: types.DidChangeConfigurationParams) -> None:
        ls.guarded("reading the settings", lambda: ls.settings_changed(params.settings))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: DabGuardServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.guarded("opening a document", lambda: ls.document_changed(params.text_document.uri, params.text_document.text))

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: DabGuardServer, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.guarded("reading a change", lambda: ls.document_changed(uri, ls.workspace.get_text_document(uri).source))

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: DabGuardServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.guarded("reading a save", lambda: ls.document_changed(uri, ls.workspace.get_text_document(uri).source))

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: DabGuardServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.guarded("closing a document", lambda: ls.document_changed(params.text_document.uri, None))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: DabGuardServer, params: types.HoverParams) -> types.Hover | None:
        result: types.Hover | None = ls.guarded("hover", lambda: ls.hover(params))
        return result

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix])
    )
    async def code_action(ls: DabGuardServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        # Weighing fixes against every target can take a moment on a large bundle: not on the loop's thread.
        loop = asyncio.get_running_loop()
        actions: list[types.CodeAction] = await loop.run_in_executor(None, lambda: ls.guarded("code actions", lambda: ls.code_actions(params), []))
        return actions

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[" "]))
    def completion(ls: DabGuardServer, params: types.CompletionParams) -> types.CompletionList | None:
        result: types.CompletionList | None = ls.guarded("completion", lambda: ls.completion(params))
        return result

    @server.command(STATUS_COMMAND)
    def status(ls: DabGuardServer, *args: Any) -> dict[str, Any]:
        return ls.status()

    return server


def serve() -> int:
    """Serve on stdin and stdout until the client exits."""
    import gc

    # The command line pauses the collector for its short run; a server lives long and must collect.
    gc.enable()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    build_server().start_io()
    return 0


__all__ = ["DabGuardServer", "build_server", "serve"]
