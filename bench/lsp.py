"""Time `dab-guard lsp` from a didChange to the publishDiagnostics it causes, over stdio, as an editor sees it.

    python bench/lsp.py [--jobs 1000] [--edits 20] [--pause 0.5]

A bundle from bench/generate.py (one job per file, two targets, 10 % seeded with violations) is opened in the server
(`python -m dab_guard.cli lsp`, driven by pygls's client); after the first full check, ``--edits`` edits are made one
at a time, alternating between breaking and fixing one job's spark_version (in a different job file each time), and
each is timed from sending the didChange to receiving the diagnostics of that file that show the change. The server
runs with its default settings: 30 ms debounce, a full check after 1.5 s of quiet. Edits ``--pause`` seconds apart
are checked quickly (a full check follows once edits pause for 1.5 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

BAD = "16.4.x-ml-scala2.12"
GOOD = "16.4.x-cpu-ml-scala2.12"


async def run(bundle: Path, edits: int, pause: float) -> dict[str, object]:
    client = LanguageClient("dab-guard-bench", "1")
    published: dict[str, tuple[float, list[types.Diagnostic]]] = {}
    arrived = asyncio.Event()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_publish(params: types.PublishDiagnosticsParams) -> None:
        published[params.uri] = (time.perf_counter(), list(params.diagnostics))
        arrived.set()

    async def until(uri: str, test: Callable[[list[types.Diagnostic]], bool], since: float = 0.0, timeout: float = 120.0) -> float:
        """When the diagnostics of ``uri`` published after ``since`` first passed ``test``."""
        deadline = time.perf_counter() + timeout
        while True:
            got = published.get(uri)
            if got is not None and got[0] >= since and test(got[1]):
                return got[0]
            arrived.clear()
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError(uri)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(arrived.wait(), left)

    await client.start_io(sys.executable, "-m", "dab_guard.cli", "lsp", cwd=str(bundle))
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=bundle.as_uri()))
    client.initialized(types.InitializedParams())

    files = sorted((bundle / "resources").glob("job_*.yml"))
    clean = [f for f in files if BAD not in f.read_text()][:edits]
    opened: dict[str, tuple[Path, str, int]] = {}
    for path in clean:
        uri = path.resolve().as_uri()
        text = path.read_text()
        opened[uri] = (path, text, 1)
        item = types.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=text)
        client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))
    start = time.perf_counter()
    # The first check is a full one; every file with findings is published (the seeded jobs' files among them).
    seeded = next(f for f in files if BAD in f.read_text()).resolve().as_uri()
    first = await until(seeded, lambda ds: any(d.code == "DG102" for d in ds)) - start
    await asyncio.sleep(2.0)  # let the server settle after the full check

    def has_bad(ds: list[types.Diagnostic]) -> bool:
        return any(d.code == "DG102" for d in ds)

    times: list[float] = []
    uris = list(opened)
    for i in range(edits):
        # Pairs of edits on one file: break its spark_version, then fix it; each pair on another job file.
        uri = uris[(i // 2) % len(uris)]
        path, text, version = opened[uri]
        breaking = i % 2 == 0
        opened[uri] = (path, text, version + 1)
        sent = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version + 1),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text.replace(GOOD, BAD, 1) if breaking else text)],
            )
        )
        got = await until(uri, has_bad if breaking else (lambda ds: not has_bad(ds)), since=sent)
        times.append(got - sent)
        await asyncio.sleep(pause)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return {"first": first, "times": times}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between two edits")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bundle = generate(Path(folder) / "bundle", args.jobs, bad=0.1).resolve()
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        outcome = asyncio.run(run(bundle, args.edits, args.pause))
    times = sorted(outcome["times"])  # type: ignore[type-var]
    print(f"bundle: {args.jobs} jobs in {args.jobs + 1} files, 2 targets")
    print(f"first diagnostics after opening (a full check): {outcome['first']:.3f} s")
    print(
        f"didChange -> publishDiagnostics, {len(times)} edits: median {statistics.median(times) * 1000:.0f} ms,"
        f" min {times[0] * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
