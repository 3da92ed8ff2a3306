"""Command line: argument parsing -> Settings -> run -> exit code.

Exit status: 0 nothing fails the run; 1 a finding fails it (errors, and warnings with --strict); 2 the input or an
option is unusable (one line on stderr); 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from dab_guard import __version__

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """Bad input or options: reported as one line, exit 2."""


def _var(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    from dab_guard.formatters import FORMATTERS

    parser = argparse.ArgumentParser(prog="dab-guard", description="Check Databricks Asset Bundles before they deploy.")
    parser.add_argument("--version", action="version", version=f"dab-guard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = sub.add_parser("validate", help="check a bundle and report findings")
    validate.add_argument("path", nargs="?", type=Path, help="bundle folder or root configuration file (default: walk up from here)")
    validate.add_argument("-t", "--target", action="append", default=[], help="check only this target (repeatable)")
    validate.add_argument("--var", action="append", type=_var, default=[], metavar="NAME=VALUE", help="set a bundle variable (repeatable)")
    validate.add_argument("--format", choices=sorted(FORMATTERS), default="text", help="report format (default: text)")
    validate.add_argument("--select", action="append", type=_csv, default=[], help="only these rule ids, prefixes or names (comma-separated)")
    validate.add_argument("--ignore", action="append", type=_csv, default=[], help="skip these rule ids, prefixes or names (comma-separated)")
    validate.add_argument("--strict", action="store_true", help="warnings fail the run too")
    validate.add_argument("--config", type=Path, help="settings file (default: .dab-guard.toml or pyproject.toml in the bundle root)")
    validate.set_defaults(handler=cmd_validate)

    rules = sub.add_parser("rules", help="list the rules")
    rules.set_defaults(handler=cmd_rules)

    explain = sub.add_parser("explain", help="print a rule's documentation")
    explain.add_argument("rule", help="rule id or name, e.g. DG101 or access-mode")
    explain.set_defaults(handler=cmd_explain)

    schema = sub.add_parser("schema", help="print the JSON Schema of the bundle configuration")
    schema.set_defaults(handler=cmd_schema)
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
    from dab_guard.bundle.loader import find_root
    from dab_guard.config import load_settings
    from dab_guard.engine import validate
    from dab_guard.formatters import render

    root_dir, _ = find_root(args.path, Path.cwd())
    settings = load_settings(root_dir, args.config)
    settings.select.extend(s for group in args.select for s in group)
    settings.ignore.extend(s for group in args.ignore for s in group)
    settings.strict = settings.strict or args.strict
    result = validate(args.path, settings=settings, targets=args.target, variables=dict(args.var))
    color = args.format == "text" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
    sys.stdout.write(render(args.format, result, color=color))
    sys.stdout.flush()
    return result.exit_code(settings.strict)


def cmd_rules(args: argparse.Namespace) -> int:
    from dab_guard.rules.registry import ALL_RULES

    width = max(len(rule.name) for rule in ALL_RULES)
    for rule in ALL_RULES:
        print(f"{rule.id}  {rule.name:<{width}}  {rule.severity.label:<7}  {rule.summary}")
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from dab_guard.rules.registry import ALL_RULES

    wanted = args.rule.strip()
    for rule in ALL_RULES:
        if rule.id == wanted.upper() or rule.name == wanted:
            print(f"{rule.id} {rule.name} [{rule.severity.label}]: {rule.summary}\n")
            print(rule.documentation())
            if rule.source:
                print(f"\n## Comes from\n{rule.source}")
            if rule.fix:
                print(f"\n## Automatic fix\n{rule.fix}")
            return EXIT_OK
    raise UsageError(f"unknown rule {wanted!r} (see `dab-guard rules`)")


def cmd_schema(args: argparse.Namespace) -> int:
    from dab_guard.schema import schema_text

    sys.stdout.write(schema_text())
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    from dab_guard.bundle.loader import BundleError
    from dab_guard.config import ConfigError

    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return handler(args)
    except (BundleError, ConfigError, UsageError) as exc:
        print(f"dab-guard: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("dab-guard: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, and keep Python from complaining at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        print(f"dab-guard: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE


def entry() -> None:
    """Console script entry point."""
    try:
        code = main()
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
