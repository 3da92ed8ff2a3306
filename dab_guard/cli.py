"""Command line: argument parsing -> Settings -> run -> exit code.

Exit status: 0 nothing fails the run; 1 a finding fails it (errors, and warnings with --strict); 2 the input or an
option is unusable (one line on stderr); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from dab_guard import __version__
from dab_guard.errors import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError

if TYPE_CHECKING:
    from dab_guard.config import Settings
    from dab_guard.engine import Run
    from dab_guard.workspace.session import OnlineOptions

def _var(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        # The argument is not repeated: it may be a credential typed with the wrong separator.
        raise argparse.ArgumentTypeError("expected NAME=VALUE")
    return name, value


def _variables(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The ``--var`` values by name; the CLI refuses a variable given twice ("variable has already been assigned")."""
    values: dict[str, str] = {}
    for name, value in pairs:
        if name in values:
            # Values are never repeated here: one of them may be a credential.
            raise UsageError(f"--var {name}=...: {name} was already given a value by an earlier --var (the Databricks CLI refuses it too)")
        values[name] = value
    return values


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes, 1 or more; got {text!r}")
    return jobs


def _report(text: str) -> tuple[str, Path]:
    from dab_guard.formatters import FORMATTERS

    fmt, sep, file = text.partition("=")
    if not sep or not file:
        raise argparse.ArgumentTypeError(f"expected FORMAT=FILE, got {text!r}")
    if fmt not in FORMATTERS:
        raise argparse.ArgumentTypeError(f"unknown format {fmt!r} (choose from {', '.join(sorted(FORMATTERS))})")
    return fmt, Path(file)


def _add_check_options(parser: argparse.ArgumentParser, formats: list[str]) -> None:
    """The options of a check, shared by `validate` and `pre-commit`."""
    parser.add_argument("-t", "--target", action="append", default=[], help="check only this target (repeatable)")
    parser.add_argument("--var", action="append", type=_var, default=[], metavar="NAME=VALUE", help="set a bundle variable (repeatable)")
    parser.add_argument("--format", choices=formats, default="text", help="report format (default: text)")
    parser.add_argument("--select", action="append", type=_csv, default=[], help="only these rule ids, prefixes or names (comma-separated)")
    parser.add_argument("--ignore", action="append", type=_csv, default=[], help="skip these rule ids, prefixes or names (comma-separated)")
    parser.add_argument("--strict", action="store_true", help="warnings fail the run too")
    parser.add_argument("--config", type=Path, help="settings file (default: .dab-guard.toml or pyproject.toml in the bundle root)")
    parser.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        metavar="N",
        help="use up to N processes, at most one per core: targets are checked side by side (default: one after another; a large bundle's files are parsed on every core unless -j 1)",
    )


def _add_workspace_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", metavar="NAME", help="~/.databrickscfg profile to use instead of the target's")
    parser.add_argument("--no-cache", action="store_true", help="ask the workspace again instead of using the facts cached in the last 10 minutes")
    parser.add_argument("--verbose", action="store_true", help="show databricks-sdk's log lines (credentials masked)")


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad option reported as one line on stderr (exit 2) like any other unusable input; the
    subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from dab_guard.formatters import FORMATTERS

    parser = _Parser(prog="dab-guard", description="Check Databricks Asset Bundles before they deploy.")
    parser.add_argument("--version", action="version", version=f"dab-guard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = sub.add_parser("validate", help="check a bundle and report findings")
    validate.add_argument("path", nargs="?", type=Path, help="bundle folder or root configuration file (default: walk up from here)")
    _add_check_options(validate, sorted(FORMATTERS))
    validate.add_argument("--output", type=Path, metavar="FILE", help="write the report to FILE instead of stdout (atomically)")
    validate.add_argument(
        "--report", action="append", type=_report, default=[], metavar="FORMAT=FILE", help="also write a report in FORMAT to FILE (repeatable)"
    )
    validate.add_argument(
        "--resolved", metavar="FILE", help="check the output of `databricks bundle validate -o json` (FILE, or - for stdin); PATH is then optional"
    )
    validate.add_argument("--online", action="store_true", help="also check against the target's workspace (DG301-DG307; needs databricks-sdk)")
    _add_workspace_options(validate)
    validate.add_argument("--fix", action="store_true", help="apply the safe fixes first (as `dab-guard fix`), then report what remains")
    validate.add_argument("--unsafe-fixes", action="store_true", help="with --fix: apply the suggested fixes too")
    validate.set_defaults(handler=cmd_validate)

    fix = sub.add_parser("fix", help="fix the findings that have one right answer, then report what remains")
    fix.add_argument("path", nargs="?", type=Path, help="bundle folder or root configuration file (default: walk up from here)")
    _add_check_options(fix, sorted(FORMATTERS))
    fix.add_argument("--diff", action="store_true", help="print the fixes as a unified diff and change nothing (exit 1 when there are some)")
    fix.add_argument("--unsafe-fixes", action="store_true", help="apply the suggested fixes too")
    fix.set_defaults(handler=cmd_fix, fix=True)

    preflight = sub.add_parser("preflight", help="check (and fix) what the workspace lacks before a deploy")
    preflight.add_argument("path", nargs="?", type=Path, help="bundle folder or root configuration file (default: walk up from here)")
    preflight.add_argument("-t", "--target", action="append", default=[], help="check only this target (repeatable)")
    preflight.add_argument("--var", action="append", type=_var, default=[], metavar="NAME=VALUE", help="set a bundle variable (repeatable)")
    preflight.add_argument("--config", type=Path, help="settings file (default: .dab-guard.toml or pyproject.toml in the bundle root)")
    preflight.add_argument("--create-missing-schemas", action="store_true", help="create the Unity Catalog schemas jobs register models to")
    preflight.add_argument("--yes", action="store_true", help="do not ask before creating")
    _add_workspace_options(preflight)
    preflight.set_defaults(handler=cmd_preflight)

    hook = sub.add_parser("pre-commit", help="validate each bundle that holds one of FILES, once (for pre-commit hooks)")
    hook.add_argument("files", nargs="*", type=Path, metavar="FILES", help="changed files; each maps to the nearest bundle root above it")
    _add_check_options(hook, sorted(FORMATTERS))
    hook.set_defaults(handler=cmd_pre_commit)

    rules = sub.add_parser("rules", help="list the rules")
    rules.set_defaults(handler=cmd_rules)

    explain = sub.add_parser("explain", help="print a rule's documentation")
    explain.add_argument("rule", help="rule id or name, e.g. DG101 or access-mode")
    explain.set_defaults(handler=cmd_explain)

    render = sub.add_parser(
        "render", help="print one target's resolved configuration as JSON, in the shape of `databricks bundle validate -o json`"
    )
    render.add_argument("path", nargs="?", type=Path, help="bundle folder or root configuration file (default: walk up from here)")
    render.add_argument("-t", "--target", help="the target (default: as the CLI picks it: the only one, or the one marked default)")
    render.add_argument("--var", action="append", type=_var, default=[], metavar="NAME=VALUE", help="set a bundle variable (repeatable)")
    render.add_argument("--output", type=Path, metavar="FILE", help="write the JSON to FILE instead of stdout (atomically)")
    render.set_defaults(handler=cmd_render)

    schema = sub.add_parser("schema", help="print the JSON Schema of the bundle configuration")
    schema.add_argument("--output", type=Path, metavar="FILE", help="write the schema to FILE instead of stdout (atomically)")
    schema.set_defaults(handler=cmd_schema)

    lsp = sub.add_parser("lsp", help="run the language server for editors (LSP over stdin and stdout)")
    lsp.add_argument("--stdio", action="store_true", help="talk over stdin and stdout (the default, and the only way)")
    lsp.set_defaults(handler=cmd_lsp)

    from dab_guard.new import add_new_parser  # `new` lives in its own module; cookiecutter loads only when it runs

    add_new_parser(sub)
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
    from dab_guard.engine import check_selectors

    check_selectors([s for group in args.select for s in group], "--select")
    check_selectors([s for group in args.ignore for s in group], "--ignore")
    _check_report_files(getattr(args, "output", None), [file for _, file in getattr(args, "report", [])])
    roots = _bundles_below(args)
    if roots is not None:
        return _validate_many(args, roots)
    result, settings, online_error = _checked(args)
    return _write_reports(args, [("", result)], settings, online_error)


def _bundles_below(args: argparse.Namespace) -> list[Path] | None:
    """The bundles below PATH when PATH (or, without it, the working directory with no bundle above it) is a folder
    that holds no bundle itself but bundles below it: a repository of bundles. None for one bundle."""
    from dab_guard.bundle.loader import ROOT_NAMES, BundleError, find_root
    from dab_guard.discover import find_bundles

    if getattr(args, "resolved", None) is not None:
        return None
    folder = args.path if args.path is not None else Path.cwd()
    if not folder.is_dir() or any((folder / name).is_file() for name in ROOT_NAMES):
        return None
    if args.path is None:
        try:
            find_root(None, Path.cwd())
            return None  # a bundle above: the CLI's walk up finds it
        except BundleError:
            pass
    roots = find_bundles(folder)
    if not roots:
        where = _shown(folder)
        raise UsageError(f"{where}: no bundle here or in any folder below it (none of {', '.join(ROOT_NAMES)})")
    return roots


def _validate_many(args: argparse.Namespace, roots: list[Path]) -> int:
    """Every bundle of a repository in one process: one report, the worst exit status."""
    from dab_guard.bundle.loader import BundleError
    from dab_guard.config import ConfigError

    if getattr(args, "fix", False):
        raise UsageError("--fix works on one bundle: name its folder")
    results = []
    worst = EXIT_OK
    settings = None
    progress = len(roots) > 3 and sys.stderr.isatty()
    for number, root in enumerate(roots, start=1):
        if progress:
            print(f"\rdab-guard: checking {number}/{len(roots)} {_shown(root)}\x1b[K", end="", file=sys.stderr, flush=True)
        one = argparse.Namespace(**vars(args))
        one.path = root
        try:
            result, settings, online_error = _checked(one)
        except (BundleError, ConfigError, UsageError) as exc:
            print(f"{chr(13) if progress else ''}dab-guard: {_shown(root)}: {exc}", file=sys.stderr)
            worst = EXIT_USAGE
            continue
        if online_error is not None:
            print(f"{chr(13) if progress else ''}dab-guard: {_shown(root)}: {online_error}", file=sys.stderr)
            worst = EXIT_USAGE
        results.append((_shown(root), result))
        worst = max(worst, result.exit_code(settings.strict))
        gc.collect()  # the collector is off for the run (see entry): free each bundle's cycles before the next
    if progress:
        print("\r\x1b[K", end="", file=sys.stderr, flush=True)
    if settings is None:
        return EXIT_USAGE
    return max(worst, _write_reports(args, results, settings, None))


def _checked(args: argparse.Namespace) -> tuple[Run, Settings, Exception | None]:
    """One bundle's result (and the workspace error of an online run that could not finish)."""
    from dab_guard.bundle.loader import BundleError, find_root
    from dab_guard.config import load_settings
    from dab_guard.engine import RULE_NAMES, validate

    resolved = getattr(args, "resolved", None)
    try:
        root_dir, _ = find_root(args.path, Path.cwd())
    except BundleError:
        if resolved is None or args.path is not None:
            raise
        root_dir = Path.cwd()  # --resolved needs no local bundle
    settings = load_settings(root_dir, args.config, RULE_NAMES)
    settings.select.extend(s for group in args.select for s in group)
    settings.ignore.extend(s for group in args.ignore for s in group)
    settings.strict = settings.strict or args.strict
    settings.jobs = getattr(args, "jobs", None)
    if getattr(args, "fix", False) or getattr(args, "unsafe_fixes", False):
        _apply_fixes(args, settings, resolved)
    online_error: Exception | None = None
    if not getattr(args, "online", False) and (getattr(args, "profile", None) or getattr(args, "no_cache", False)):
        raise UsageError("--profile and --no-cache only apply with --online")
    if resolved is not None:
        if getattr(args, "online", False):
            raise UsageError("--online cannot be combined with --resolved")
        result = _validate_resolved(args, resolved, settings)
    elif getattr(args, "online", False):
        from dab_guard.engine import validate_online

        result, session = validate_online(
            args.path, settings=settings, targets=args.target, variables=_variables(args.var), options=_online_options(args)
        )
        online_error = session.error
    else:
        result = validate(args.path, settings=settings, targets=args.target, variables=_variables(args.var))
    return result, settings, online_error


def _write_reports(args: argparse.Namespace, results: list[tuple[str, Run]], settings: Settings, online_error: Exception | None) -> int:
    """Write the main report and every --report file for one bundle (folder "") or several; the exit status."""
    from dab_guard.formatters import render, render_many
    from dab_guard.output import write_atomic

    def rendered(fmt: str, color: bool = False) -> str:
        if len(results) == 1 and not results[0][0]:
            return render(fmt, results[0][1], color=color, strict=settings.strict)
        return render_many(fmt, results, color=color, strict=settings.strict)

    output: Path | None = getattr(args, "output", None)
    # NO_COLOR set to anything but the empty string turns colour off (no-color.org).
    color = args.format == "text" and output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    main_report = rendered(args.format, color)
    # Render every report before writing any, so a failure leaves no mix of old and new files.
    reports = [(file, rendered(fmt)) for fmt, file in getattr(args, "report", [])]
    if output is not None:
        write_atomic(output, main_report)
    else:
        try:
            sys.stdout.write(main_report)
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader went away (`| head -1`): the --report files and the exit status still count.
            _discard_stdout()
    for file, text in reports:
        write_atomic(file, text)
    if online_error is not None:
        # The offline findings are out; the workspace part could not be done.
        print(f"dab-guard: {online_error}", file=sys.stderr)
        return EXIT_USAGE
    return max((result.exit_code(settings.strict) for _, result in results), default=EXIT_OK)


def cmd_fix(args: argparse.Namespace) -> int:
    """`validate --fix`, or with --diff the changes it would make (exit 1 when there are some)."""
    if not args.diff:
        return cmd_validate(args)
    from dab_guard.bundle.loader import find_root
    from dab_guard.config import load_settings
    from dab_guard.engine import RULE_NAMES
    from dab_guard.fix import describe_suggested, run_fix, unified_diff

    root_dir, _ = find_root(args.path, Path.cwd())
    settings = load_settings(root_dir, args.config, RULE_NAMES)
    settings.select.extend(s for group in args.select for s in group)
    settings.ignore.extend(s for group in args.ignore for s in group)
    settings.jobs = args.jobs
    outcome = run_fix(args.path, settings=settings, targets=args.target, variables=_variables(args.var), unsafe=args.unsafe_fixes, write=False)
    from dab_guard.secrets import Masker

    result = outcome.result
    mask = Masker.for_bundle(result.bundle, result.resolved.values()) if result is not None else None
    sys.stdout.write(unified_diff(outcome.plan.changes, mask))
    sys.stdout.flush()
    for line in (*outcome.plan.messages, *describe_suggested(outcome.plan)):
        print(f"dab-guard: {line}", file=sys.stderr)
    return EXIT_FINDINGS if outcome.plan.changes else EXIT_OK


def _apply_fixes(args: argparse.Namespace, settings: Settings, resolved: str | None) -> None:
    """The fix step of `fix` and `validate --fix`: write the fixes, say what happened on stderr."""
    from dab_guard.fix import run_fix

    if not getattr(args, "fix", False):
        raise UsageError("--unsafe-fixes only applies with --fix")
    if resolved is not None:
        raise UsageError("--fix cannot be combined with --resolved: the resolved JSON is not where values are written")
    outcome = run_fix(args.path, settings=settings, targets=args.target, variables=_variables(args.var), unsafe=args.unsafe_fixes)
    for line in (*outcome.plan.messages, *outcome.summary()):
        print(f"dab-guard: {line}", file=sys.stderr)


def _check_report_files(output: Path | None, reports: list[Path]) -> None:
    """Two reports written to one file would leave only the last: refuse before anything runs."""
    seen: set[str] = set()
    for file in (*([output] if output is not None else []), *reports):
        key = os.path.normcase(os.path.realpath(file))
        if key in seen:
            raise UsageError(f"{file}: two reports would be written to the same file")
        seen.add(key)


def _online_options(args: argparse.Namespace) -> OnlineOptions:
    from dab_guard.workspace.session import OnlineOptions

    return OnlineOptions(profile=args.profile, use_cache=not args.no_cache, verbose=args.verbose)


def cmd_preflight(args: argparse.Namespace) -> int:
    from dab_guard.bundle.loader import find_root
    from dab_guard.config import load_settings
    from dab_guard.engine import RULE_NAMES
    from dab_guard.preflight import preflight

    if args.yes and not args.create_missing_schemas:
        raise UsageError("--yes only applies with --create-missing-schemas")
    root_dir, _ = find_root(args.path, Path.cwd())
    settings = load_settings(root_dir, args.config, RULE_NAMES)

    def confirm(question: str) -> bool:
        if args.yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError(f"{question} (no terminal to ask: pass --yes)")
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")

    outcome = preflight(
        args.path,
        settings=settings,
        targets=args.target,
        variables=_variables(args.var),
        options=_online_options(args),
        create=args.create_missing_schemas,
        confirm=confirm,
        out=sys.stdout,
    )
    sys.stdout.flush()
    if outcome.error is not None:
        print(f"dab-guard: {outcome.error}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_FINDINGS if outcome.missing else EXIT_OK


def _validate_resolved(args: argparse.Namespace, source: str, settings: Settings) -> Run:
    from dab_guard.engine import validate_resolved

    if args.var:
        raise UsageError("--var has no effect with --resolved: the CLI has already resolved every variable")
    if source == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{source}: not UTF-8 text") from None
    result = validate_resolved(text, source, args.path, settings=settings)
    if args.target and set(args.target) != set(result.targets):
        raise UsageError(f"{source} is the resolved configuration of target {result.targets[0]}, not {', '.join(args.target)}")
    return result


def cmd_pre_commit(args: argparse.Namespace) -> int:
    """Map each file to the nearest bundle root above it and validate every such root once."""
    from dab_guard.bundle.loader import BundleError
    from dab_guard.config import ConfigError
    from dab_guard.hooks import bundle_roots

    worst = EXIT_OK
    roots = bundle_roots(args.files, Path.cwd())
    for root in roots:
        check = build_parser().parse_args(["validate"])  # validate's defaults, then this command's options
        for key, value in vars(args).items():
            if key not in ("files", "handler", "command"):
                setattr(check, key, value)
        check.path = root
        if len(roots) > 1 or root.resolve() != Path.cwd().resolve():
            print(f"dab-guard: bundle {_shown(root)}", flush=True)
        try:
            code = cmd_validate(check)
        except (BundleError, ConfigError, UsageError) as exc:
            print(f"dab-guard: {exc}", file=sys.stderr)
            code = EXIT_USAGE
        worst = max(worst, code)
        if len(roots) > 1:
            gc.collect()  # the collector is off for the run (see entry): free each bundle's cycles before the next
    return worst


def _shown(path: Path) -> str:
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return str(path)


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
                how = "`dab-guard fix` applies it" if rule.fix == "safe" else "`dab-guard fix --unsafe-fixes` applies it"
                print(f"\n## Automatic fix\n{rule.fix}: {how} (see Fix above for what it changes)")
            else:
                print("\n## Automatic fix\nnone: `dab-guard fix` leaves this finding to you")
            return EXIT_OK
    raise UsageError(f"unknown rule {wanted!r} (see `dab-guard rules`)")


def cmd_render(args: argparse.Namespace) -> int:
    """Exit 0 with the JSON; 1 when the configuration has loading errors (the JSON is still printed: it shows what
    dab-guard made of the rest); 2 for unusable input."""
    import json

    from dab_guard.bundle.loader import find_root, load_bundle
    from dab_guard.bundle.resolve import resolve_target
    from dab_guard.config import load_settings
    from dab_guard.engine import RULE_NAMES, check_variable_options, choose_targets, limits_from
    from dab_guard.finding import Severity
    from dab_guard.output import write_atomic
    from dab_guard.render import render_target
    from dab_guard.secrets import Masker

    root_dir, _ = find_root(args.path, Path.cwd())
    settings = load_settings(root_dir, rules=RULE_NAMES)
    bundle = load_bundle(args.path, Path.cwd(), limits_from(settings))
    name = args.target or bundle.default_target()
    if name is None:
        raise UsageError(f"the bundle has several targets and none is marked default: name one with -t ({', '.join(bundle.target_names())})")
    choose_targets(bundle, [name])
    variables = _variables(args.var)
    check_variable_options(bundle, variables)
    target = resolve_target(bundle, name, variables)
    mask = Masker.for_bundle(bundle, [target])
    text = json.dumps(_masked(render_target(target), mask), indent=2, ensure_ascii=False) + "\n"
    if args.output is not None:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    unique = {(p.loc, p.rule, p.message): p for p in (*bundle.problems, *target.problems) if p.severity >= Severity.ERROR}
    errors = sorted(unique.values(), key=lambda p: (p.loc.file, p.loc.line, p.loc.col))
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        print(f"dab-guard: {first.loc}: {first.rule} {mask(first.message)}{more}; `dab-guard validate` lists them", file=sys.stderr)
        return EXIT_FINDINGS
    return EXIT_OK


def _masked(value: object, mask: Callable[[str], str]) -> object:
    """Credentials in the rendered configuration replaced by ``***``, as in every report."""
    if isinstance(value, dict):
        return {k: _masked(v, mask) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, mask) for v in value]
    return mask(value) if isinstance(value, str) else value


def cmd_schema(args: argparse.Namespace) -> int:
    from dab_guard.output import write_atomic
    from dab_guard.schema import schema_text

    if args.output is not None:
        write_atomic(args.output, schema_text())
    else:
        sys.stdout.write(schema_text())
    return EXIT_OK


def cmd_lsp(args: argparse.Namespace) -> int:
    from dab_guard.lsp.server import serve  # pygls loads only here: no other command imports it

    return serve()


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
        # The reader went away (`| head`): stop quietly.
        _discard_stdout()
        return EXIT_OK
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"dab-guard: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # the last resort: a bug in dab-guard still gives one line and a documented status
        if os.environ.get("DAB_GUARD_DEBUG"):
            raise
        print(f"dab-guard: internal error: {_describe(exc)}; set DAB_GUARD_DEBUG=1 for details", file=sys.stderr)
        return EXIT_USAGE


def _discard_stdout() -> None:
    """Send what is left for stdout to the null device, so that Python does not complain at exit."""
    try:
        stdout = sys.stdout.fileno()
    except (OSError, ValueError):  # not a real file (an embedding program's stream): nothing to redirect
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stdout)
    os.close(devnull)


def _describe(exc: BaseException) -> str:
    """One short line about an unexpected exception, with anything shaped like a credential masked."""
    from dab_guard.secrets import mask_shapes

    text = " ".join(str(exc).split())
    if len(text) > 200:
        text = text[:197] + "..."
    return mask_shapes(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def entry() -> None:
    """Console script entry point."""
    # A run is short and its objects live until the end: the cyclic collector would only rescan the loaded bundle
    # (0.2 s for 1,000 jobs each time it ran a full pass), and the process ends without freeing anything (_leave).
    gc.disable()
    for stream in (sys.stdout, sys.stderr):
        # An output that cannot encode a file name (PYTHONIOENCODING=ascii, a legacy console) gets an escape, not a crash.
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        code = main()
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    _leave(code)


def _leave(code: int) -> NoReturn:
    """Flush the output and end the process without the interpreter's teardown.

    Freeing a large bundle's objects one by one at exit costs more than a tenth of the whole run (0.3 s of 3 s for
    1,000 jobs) and does nothing for the user: the process ends anyway. Files dab-guard writes are closed (and
    renamed into place) before ``main`` returns, so only the standard streams need flushing.
    """
    try:
        if sys.stdout is not None:  # None when the process was started with stdout closed
            try:
                sys.stdout.flush()
            except BrokenPipeError:
                _discard_stdout()
            except ValueError:
                pass  # closed already (the language server's client hung up after `exit`): nothing left to flush
            except OSError as exc:  # a full disk behind a redirection: say so rather than exit as if all was written
                if sys.stderr is not None:
                    print(f"dab-guard: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
                code = EXIT_USAGE
        if sys.stderr is not None:
            with contextlib.suppress(OSError):
                sys.stderr.flush()
    except KeyboardInterrupt:  # Ctrl-C after the work is done: no traceback
        code = EXIT_INTERRUPTED
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
