"""Time dab-guard against the YAML-parsing floors and whichever peers are installed, side by side.

    python bench/run.py [--jobs 1000] [--big 5000] [--runs 5]

Every measurement is a fresh process (a cold start, as in pre-commit or CI, after one warm-up run that writes
byte-code caches and fills the file-system cache), repeated ``--runs`` times; the median is printed with the ratios
the performance goals are stated in. The small bundle is the template's output (`dab-guard new --no-input`); the
large ones come from bench/generate.py. Peers (check-jsonschema with dab-guard's schema, yamllint, pylint with the
databricks-labs-pylint plugin) are timed only when their commands are on PATH or beside this Python.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import generate  # noqa: E402

PY = sys.executable
BIN = Path(PY).parent
# Installed packages run from byte-code compiled at install time; a shell that sets PYTHONDONTWRITEBYTECODE would
# make every run compile dab-guard's modules again and measure the compiler instead.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

FLOOR_LOAD = """
import sys, yaml, glob
for f in sorted(glob.glob(sys.argv[1] + '/**/*.yml', recursive=True)):
    yaml.load(open(f, encoding='utf-8').read(), Loader=yaml.CSafeLoader)
"""
# The compose floor as the performance issue measured it: every file's node graph kept, as checking a whole bundle
# needs them all, with the collector left on. The stricter variants below drop each graph at once, or keep them all
# with the collector paused (what dab-guard does while it loads).
FLOOR_COMPOSE = """
import sys, yaml, glob
nodes = []
for f in sorted(glob.glob(sys.argv[1] + '/**/*.yml', recursive=True)):
    nodes.append(yaml.compose(open(f, encoding='utf-8').read(), Loader=yaml.CSafeLoader))
"""
FLOOR_COMPOSE_PAUSED = "import gc; gc.disable()\n" + FLOOR_COMPOSE
FLOOR_COMPOSE_DROPPED = """
import sys, yaml, glob
for f in sorted(glob.glob(sys.argv[1] + '/**/*.yml', recursive=True)):
    yaml.compose(open(f, encoding='utf-8').read(), Loader=yaml.CSafeLoader)
"""
OFFLINE_IMPORTS = """
import sys
from pathlib import Path
from dab_guard.cli import main
import io, contextlib
with contextlib.redirect_stdout(io.StringIO()):
    main(["validate", sys.argv[1]])
print("databricks.sdk" in sys.modules)
"""


def findings_ok(code: int) -> bool:
    return code in (0, 1)  # 1: the tool found problems, as seeded


def pylint_ok(code: int) -> bool:
    return 0 <= code < 32  # a bit per message category; 32 is a usage error


def tool(name: str) -> str | None:
    """A command from PATH (where the README's bench command puts the peers' venv), else from beside this Python."""
    found = shutil.which(name)
    if found:
        return found
    local = BIN / name
    return str(local) if local.exists() else None


def _tree_memory(pid: int) -> float:
    """Memory of a process and its children now (MB): the sum of their proportional set sizes, which counts a page
    shared after a fork once, not once per process. Falls back to resident sizes where PSS is not available."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            text = Path(f"/proc/{current}/smaps_rollup").read_text()
            field = next((line for line in text.splitlines() if line.startswith("Pss:")), None)
            if field is None:
                field = next(line for line in Path(f"/proc/{current}/status").read_text().splitlines() if line.startswith("VmRSS:"))
            total += int(field.split()[1])
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, StopIteration, ValueError):
            continue
        pids.extend(int(child) for child in children)
    return total / 1024


def timed(cmd: list[str], runs: int, cwd: Path | None = None, memory: bool = False, ok: Callable[[int], bool] = lambda code: code == 0) -> tuple[float, float]:
    """Median wall time of ``runs`` fresh runs of ``cmd``, and its peak memory (MB).

    The timed runs are not disturbed: the peak is the process's own peak RSS (from the kernel) over those runs.
    With ``memory``, one more run is sampled every 10 ms for the sum of the PSS of the process and its workers (a
    forked worker's own pages count, pages it shares with the parent count once), and the larger figure is given.
    """
    times: list[float] = []
    peak = 0.0
    subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)  # warm caches
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - start)
        peak = max(peak, usage.ru_maxrss / 1024)
        code = os.waitstatus_to_exitcode(status)
        if not ok(code):  # a crash would be timed as if it were the work
            sys.exit(f"bench: {' '.join(cmd[:3])} ... exited with status {code}; run it by hand to see why")
    if memory and Path("/proc/self/smaps_rollup").exists():
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        while not os.wait4(proc.pid, os.WNOHANG)[0]:
            peak = max(peak, _tree_memory(proc.pid))
            time.sleep(0.01)
    return statistics.median(times), peak


def row(label: str, seconds: float, peak: float | None = None) -> str:
    mem = f"{peak:7.0f} MB" if peak is not None else ""
    return f"| {label:<66} | {seconds:8.3f} s | {mem:>11} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--big", type=int, default=5000, help="size of the linearity run (0 to skip)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    dab_guard = tool("dab-guard")
    if dab_guard is None:
        sys.exit("dab-guard is not installed in this environment")
    if subprocess.run([PY, "-c", "import yaml; yaml.CSafeLoader"], capture_output=True).returncode != 0:
        sys.exit("bench: this PyYAML has no libyaml (yaml.CSafeLoader), so the floors cannot be measured")
    work = Path(tempfile.mkdtemp(prefix="dab-guard-bench-"))
    try:
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform()}")
        print(f"runs per measurement: {args.runs} (median)\n")
        print(f"| {'work':<66} | {'median':>10} | {'peak memory':>11} |")
        print(f"|{'-' * 68}|{'-' * 12}|{'-' * 13}|")

        subprocess.run([dab_guard, "new", "--no-input", "-o", str(work / "template")], check=True, capture_output=True, env=ENV)
        small = next((work / "template").glob("*/databricks.yml")).parent
        t_import, _ = timed([PY, "-c", "import yaml"], args.runs)
        t_small, m_small = timed([dab_guard, "validate", str(small)], args.runs, memory=True, ok=findings_ok)
        print(row("python -c 'import yaml'", t_import))
        print(row("dab-guard validate, the template's bundle", t_small, m_small))

        big = work / "big"
        generate(big, jobs=args.jobs, bad=0.1)
        t_load, _ = timed([PY, "-c", FLOOR_LOAD, str(big)], args.runs)
        t_compose, _ = timed([PY, "-c", FLOOR_COMPOSE, str(big)], args.runs)
        t_paused, _ = timed([PY, "-c", FLOOR_COMPOSE_PAUSED, str(big)], args.runs)
        t_dropped, _ = timed([PY, "-c", FLOOR_COMPOSE_DROPPED, str(big)], args.runs)
        t_dg, m_dg = timed([dab_guard, "validate", str(big)], args.runs, memory=True, ok=findings_ok)
        t_dg1, m_dg1 = timed([dab_guard, "validate", "-j", "1", str(big)], args.runs, memory=True, ok=findings_ok)
        t_dg2, m_dg2 = timed([dab_guard, "validate", "-j", "2", str(big)], args.runs, memory=True, ok=findings_ok)
        print(row(f"CSafeLoader load, no positions ({args.jobs} jobs)", t_load))
        print(row("CSafeLoader compose, graphs kept, collector on (as the issue's table)", t_compose))
        print(row("  ... graphs kept, collector paused (the linear floor)", t_paused))
        print(row("  ... each graph dropped at once", t_dropped))
        print(row(f"dab-guard validate, every offline rule ({args.jobs} jobs, 2 targets)", t_dg, m_dg))
        print(row("  ... everything in one process (-j 1)", t_dg1, m_dg1))
        print(row("  ... targets checked side by side (-j 2)", t_dg2, m_dg2))

        peers: dict[str, float] = {}
        check_jsonschema = tool("check-jsonschema")
        if check_jsonschema:
            schema = work / "schema.json"
            schema.write_text(subprocess.run([dab_guard, "schema"], capture_output=True, text=True, check=True).stdout)
            files = [str(p) for p in sorted(big.rglob("*.yml"))]
            peers["check-jsonschema"] = timed([check_jsonschema, "--schemafile", str(schema), *files], args.runs, ok=findings_ok)[0]
            files_small = [str(p) for p in sorted(small.rglob("*.yml"))]
            peers["check-jsonschema, small"] = timed([check_jsonschema, "--schemafile", str(schema), *files_small], args.runs, ok=findings_ok)[0]
        yamllint = tool("yamllint")
        if yamllint:
            peers["yamllint"] = timed([yamllint, "-d", "relaxed", str(big)], args.runs, ok=findings_ok)[0]
        # The Python goal: as many job scripts as the large bundle has jobs, in a bundle that is little else (10 jobs,
        # each task running a script of its own, one target), against pylint on the same scripts.
        lint = work / "lint"
        lint_jobs = max(1, args.jobs // 100)
        generate(lint, jobs=lint_jobs, clusters=1, tasks=args.jobs // lint_jobs, targets=1, bad=0.1, script_per_task=True)
        n_scripts = lint_jobs * (args.jobs // lint_jobs)
        t_lint, _ = timed([dab_guard, "validate", str(lint)], args.runs, ok=findings_ok)
        print(row(f"dab-guard validate, {n_scripts} job scripts ({lint_jobs} jobs, 1 target)", t_lint))
        pylint = tool("pylint")
        pylint_runs = max(2, args.runs // 2)
        if pylint and subprocess.run([pylint, "--load-plugins=databricks.labs.pylint.all", "--version"], capture_output=True, env=ENV).returncode == 0:
            scripts = [str(p) for p in sorted((lint / "src").glob("*.py"))]
            # As the issue ran it: its default checks with the plugin's (every core).
            peers["pylint default"] = timed([pylint, "--load-plugins=databricks.labs.pylint.all", "-j", "0", "--score=n", *scripts], pylint_runs, ok=pylint_ok)[0]
            plugin = ["--load-plugins=databricks.labs.pylint.all", "-j", "0", "--score=n"]
            # Without duplicate-code, which compares every file with every other: the generated scripts are near
            # copies, which makes that check slower than it would be on real code.
            peers["pylint"] = timed([pylint, *plugin, "--disable=duplicate-code", *scripts], pylint_runs, ok=pylint_ok)[0]
            # Only the plugin's checkers (its message groups), the narrowest fair comparison.
            groups = "databricks-airflow,databricks-dbutils,databricks-legacy,databricks-notebooks,spark,mocking,eradicate,readability"
            peers["pylint, plugin only"] = timed([pylint, *plugin, "--disable=all", f"--enable={groups}", *scripts], pylint_runs, ok=pylint_ok)[0]
        labels = {
            "check-jsonschema": f"check-jsonschema with dab-guard's schema ({args.jobs} jobs; shape only)",
            "check-jsonschema, small": "check-jsonschema, the template's bundle",
            "yamllint": f"yamllint ({args.jobs} jobs; style only)",
            "pylint default": f"pylint + databricks-labs-pylint, the same scripts ({pylint_runs} runs)",
            "pylint": f"  ... without duplicate-code ({pylint_runs} runs)",
            "pylint, plugin only": f"  ... only the plugin's checkers ({pylint_runs} runs)",
        }
        for key, seconds in peers.items():
            print(row(labels[key], seconds))

        t_big = t_big1 = None
        m_big = m_big2 = 0.0
        if args.big:
            huge = work / "huge"
            generate(huge, jobs=args.big, bad=0.1)
            big_runs = max(2, args.runs // 2)
            t_big, m_big = timed([dab_guard, "validate", str(huge)], big_runs, memory=True, ok=findings_ok)
            t_big1, _ = timed([dab_guard, "validate", "-j", "1", str(huge)], big_runs, ok=findings_ok)
            t_big2, m_big2 = timed([dab_guard, "validate", "-j", "2", str(huge)], big_runs, memory=True, ok=findings_ok)
            print(row(f"dab-guard validate ({args.big} jobs, {big_runs} runs)", t_big, m_big))
            print(row("  ... everything in one process (-j 1)", t_big1))
            print(row("  ... targets checked side by side (-j 2)", t_big2, m_big2))

        sdk_imported = subprocess.run([PY, "-c", OFFLINE_IMPORTS, str(small)], capture_output=True, text=True).stdout.strip()

        def verdict(ok: bool) -> str:
            return "met" if ok else "NOT met"

        print("\nGoals (dab-guard's default run unless said otherwise):")
        budget = 2 * t_import + 0.1
        print(f"- template's bundle: {t_small:.3f} s vs 2 x import yaml + 0.1 s = {budget:.3f} s -> {verdict(t_small <= budget)}")
        if "check-jsonschema, small" in peers:
            print(f"- template's bundle vs check-jsonschema: {peers['check-jsonschema, small'] / t_small:.1f}x faster")
        print(
            f"- {args.jobs} jobs vs the compose floor (goal <= 1.5x): {t_dg / t_compose:.2f}x the floor measured as the issue's table "
            f"(graphs kept, collector on) -> {verdict(t_dg <= 1.5 * t_compose)}; {t_dg / t_paused:.2f}x the linear floor (graphs kept, "
            f"collector paused) -> {verdict(t_dg <= 1.5 * t_paused)}; {t_dg / t_dropped:.2f}x with each graph dropped, "
            f"{t_dg / t_load:.2f}x the load floor"
        )
        if "check-jsonschema" in peers:
            ratio = peers["check-jsonschema"] / t_dg
            print(f"- {args.jobs} jobs vs check-jsonschema: {ratio:.1f}x faster (goal >= 3x) -> {verdict(ratio >= 3)}")
        if "pylint" in peers:
            default, ratio, narrow = (peers[k] / t_lint for k in ("pylint default", "pylint", "pylint, plugin only"))
            print(
                f"- {n_scripts} job scripts vs pylint with the plugin (goal >= 5x): {ratio:.1f}x faster than its default checks without "
                f"duplicate-code -> {verdict(ratio >= 5)}; {default:.1f}x with duplicate-code (as the issue ran it), {narrow:.1f}x "
                f"against the plugin's checkers alone -> {verdict(narrow >= 5)}"
            )
        if t_big is not None and t_big1 is not None:
            goal = 1.1 * args.big / args.jobs  # 5.5x for 5x the jobs
            print(
                f"- linearity: {args.big} / {args.jobs} jobs = {t_big / t_dg:.2f}x, in one process {t_big1 / t_dg1:.2f}x, for "
                f"{args.big / args.jobs:.0f}x the work (goal <= {goal:.1f}x) -> {verdict(max(t_big / t_dg, t_big1 / t_dg1) <= goal)}"
            )
            print(f"- memory at {args.big} jobs: {m_big:.0f} MB (goal < 500 MB) -> {verdict(m_big < 500)}; with -j 2: {m_big2:.0f} MB")
        print(f"- offline run imports databricks.sdk: {sdk_imported}")
        print(json.dumps({"rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
