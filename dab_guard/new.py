"""``dab-guard new``: start a bundle from the template that ships inside dab-guard (``bundle_template/``).

The template is a cookiecutter template; cookiecutter is imported only here, and only when the command runs. The
answers are collected and checked before anything is written, with the same rules as the template's own
pre-generation hook (``hooks/bundle_answers.py``), so bad answers cost one line and leave no folder behind.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from dab_guard.errors import EXIT_OK, UsageError

INSTALL_HINT = "it comes with dab-guard: pip install dab-guard (or pip install cookiecutter)"
TEMPLATE_MARKERS = ("{{", "{%", "{#")


def add_new_parser(sub: Any) -> None:
    """Register ``new`` on the CLI's subparsers."""
    new = sub.add_parser(
        "new",
        help="start a new bundle from dab-guard's template (needs cookiecutter)",
        description="Create a bundle that follows every dab-guard rule, from the template shipped with dab-guard.",
    )
    new.add_argument(
        "-o", "--output-dir", type=Path, default=Path("."), help="folder to create the bundle folder in (default: here)"
    )
    new.add_argument("--no-input", action="store_true", help="ask nothing: use the defaults and the KEY=VALUE answers")
    new.add_argument(
        "answers",
        nargs="*",
        metavar="KEY=VALUE",
        help="answers, e.g. bundle_name=my_agent runtime=17.3 compute=job_cluster",
    )
    new.set_defaults(handler=cmd_new)


def template_dir() -> Path:
    """The template folder: inside the installed package, or beside the source tree in a checkout."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "_template", package.parent / "bundle_template"):
        if (candidate / "cookiecutter.json").is_file():
            return candidate
    raise UsageError("the bundle template is missing from this installation of dab-guard (reinstall it)")


def parse_answers(pairs: Sequence[str], known: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` arguments as a dict; a key the template does not ask is an error, with a did-you-mean."""
    answers: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"expected KEY=VALUE, got {pair!r}")
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else f" (the template asks: {', '.join(known)})"
            raise UsageError(f"unknown template answer {key!r}{hint}")
        if any(marker in value for marker in TEMPLATE_MARKERS):
            # Cookiecutter renders answers given on the command line as Jinja before using them.
            shown = " or ".join(repr(marker) for marker in TEMPLATE_MARKERS)
            raise UsageError(
                f"answer {key}={value!r} contains {shown}, which cookiecutter would evaluate as a template"
            )
        answers[key] = value
    return answers


def load_answer_rules(template: Path) -> ModuleType:
    """The template's answer rules (plain Python, no Jinja), loaded from the template's hooks folder."""
    path = template / "hooks" / "bundle_answers.py"
    spec = importlib.util.spec_from_file_location("dab_guard_bundle_answers", path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    dont_write_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # an installed package stays as it was installed
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = dont_write_bytecode
    return module


def cmd_new(args: argparse.Namespace) -> int:
    output_dir: Path = args.output_dir
    project = create_bundle(output_dir, args.answers, no_input=args.no_input)
    shown = project.relative_to(Path.cwd()) if project.is_relative_to(Path.cwd()) else project
    print(f"created {shown}")
    print(f"next: cd {shown} && dab-guard validate  (README.md there says how to develop, test and deploy)")
    return EXIT_OK


def create_bundle(output_dir: Path, pairs: Sequence[str] = (), *, no_input: bool = True) -> Path:
    """Render the template into a new folder under ``output_dir`` and return that folder.

    Raises UsageError (one line, nothing written) when cookiecutter is missing or an answer is unusable.
    """
    try:
        from cookiecutter.config import get_user_config  # type: ignore[import-untyped]
        from cookiecutter.exceptions import CookiecutterException  # type: ignore[import-untyped]
        from cookiecutter.generate import generate_context  # type: ignore[import-untyped]
        from cookiecutter.main import cookiecutter  # type: ignore[import-untyped]
        from cookiecutter.prompt import prompt_for_config  # type: ignore[import-untyped]
        from jinja2 import TemplateError  # cookiecutter's own dependency
    except ImportError:
        raise UsageError(f"`dab-guard new` needs cookiecutter: {INSTALL_HINT}") from None

    template = template_dir()
    known = [key for key in json.loads((template / "cookiecutter.json").read_text("utf-8")) if not key.startswith("_")]
    extra = parse_answers(pairs, known)
    if not no_input and not sys.stdin.isatty():
        raise UsageError("no terminal to ask the questions on: pass --no-input (with KEY=VALUE answers)")

    try:
        user_config = get_user_config()
        context = generate_context(
            context_file=str(template / "cookiecutter.json"),
            default_context=user_config["default_context"],
            extra_context=extra,
        )
        answers = dict(prompt_for_config(context, no_input))
    except (CookiecutterException, TemplateError, ValueError) as exc:  # ValueError: a value outside a choice's list
        raise UsageError(_one_line(exc)) from None

    problems = load_answer_rules(template).problems(answers)
    if problems:
        raise UsageError("; ".join(problems))
    destination = output_dir / str(answers["bundle_name"])
    if destination.exists():
        raise UsageError(f"{destination} already exists: remove it or choose another --output-dir")

    first_created = _first_missing(output_dir)
    with tempfile.TemporaryDirectory(prefix="dab-guard-new-") as scratch:
        # Cookiecutter records every run in a replay folder; keep that out of the user's home.
        config_file = Path(scratch) / "cookiecutter.yaml"
        config_file.write_text(
            json.dumps(
                {
                    "default_context": dict(user_config["default_context"]),
                    "abbreviations": dict(user_config["abbreviations"]),
                    "cookiecutters_dir": str(Path(scratch) / "cookiecutters"),
                    "replay_dir": str(Path(scratch) / "replay"),
                }
            ),
            encoding="utf-8",
        )
        # Render from a clean copy: pip byte-compiles an installed template in place, and cookiecutter would carry
        # those caches into the new bundle.
        clean = Path(scratch) / "bundle_template"
        shutil.copytree(template, clean, ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]"))
        final = {key: value for key, value in answers.items() if not key.startswith("_")}
        try:
            created = cookiecutter(
                str(clean), no_input=True, extra_context=final, output_dir=str(output_dir), config_file=str(config_file)
            )
        except (CookiecutterException, TemplateError, ValueError, OSError) as exc:
            _remove_empty(first_created, output_dir)
            raise UsageError(_one_line(exc)) from None
    return Path(created)


def _one_line(exc: BaseException) -> str:
    # UndefinedVariableInTemplate's text ends with the whole context, which is no use to the user.
    text = str(exc).split(". Context: ", 1)[0].strip().splitlines()
    return text[0] if text else type(exc).__name__


def _first_missing(folder: Path) -> Path | None:
    """The outermost folder of ``folder``'s path that does not exist yet (what a failed run must remove again)."""
    missing = None
    for candidate in (folder.absolute(), *folder.absolute().parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def _remove_empty(first_created: Path | None, folder: Path) -> None:
    if first_created is None:
        return
    current = folder.absolute()
    while True:
        try:
            current.rmdir()  # only ever removes an empty folder
        except OSError:
            return
        if current == first_created:
            return
        current = current.parent
