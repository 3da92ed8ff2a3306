"""What ``argparse`` makes of a command line a job passes: the options a parser declares and the values they get.

Only what argparse would do for certain is claimed. A word that cannot be known where an option could stand, an
option the parser does not declare (a helper may add it), a custom action, sub-commands: the whole command line is
given up (None), and every value read from it stays unknown. Defaults are never values: a run can pass the option.
"""

from __future__ import annotations

import ast
import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dab_guard.finding import Loc

UNKNOWN = "\x01"  # a part of a value not known offline (the values module spells values with it too)
_NEGATIVE_NUMBER = re.compile(r"^-\d+$|^-\d*\.\d+$")
# Actions that take no value from the command line.
_FLAG_ACTIONS = frozenset({"store_true", "store_false", "store_const", "append_const", "count", "help", "version"})
# Actions whose value is a list, never one string.
_LIST_ACTIONS = frozenset({"append", "extend"})
_BOOLEAN_OPTIONAL = "BooleanOptionalAction"
# The nargs constants of argparse, by name.
_NARGS_NAMES = {"OPTIONAL": "?", "ZERO_OR_MORE": "*", "ONE_OR_MORE": "+", "REMAINDER": "...", "PARSER": "A..."}


@dataclass(frozen=True, slots=True)
class Passed:
    """One value a job hands its code, and where the bundle sets it.

    ``text`` holds :data:`UNKNOWN` where the bundle leaves the value open (a reference resolved per run, a secret).
    ``what`` names it for a message (`` `--schema` ``, ``base_parameters.schema``), ``owner`` is the task or job that
    passes it (``task `log_model```).
    """

    text: str
    what: str
    owner: str
    loc: Loc | None
    note: str | None = None  # where a substituted variable's value is set ("value of ${var.schema} defined at ...")

    def describe(self) -> str:
        where = f", {self.loc.file}:{self.loc.line}" if self.loc is not None else ""
        note = f", the {self.note}" if self.note else ""
        return f"{self.what} of {self.owner}{where}{note}"

    @property
    def known(self) -> bool:
        """Whether any of it is known (an empty string is a value too)."""
        return not self.text or bool(self.text.replace(UNKNOWN, ""))


@dataclass(frozen=True)
class TaskInputs:
    """The values one task hands the code it runs, with the target's variables substituted.

    ``argv`` is ``sys.argv[1:]`` (None: the task passes no command line that dab-guard can tell), ``widgets`` what
    ``dbutils.widgets.get`` returns, ``env`` the environment variables the task's cluster sets.
    """

    argv: tuple[Passed, ...] | None = None
    widgets: Mapping[str, Passed] = dataclasses.field(default_factory=dict)
    env: Mapping[str, Passed] = dataclasses.field(default_factory=dict)
    spark_conf: Mapping[str, Passed] = dataclasses.field(default_factory=dict)  # of the task's cluster


NO_INPUTS = TaskInputs()


@dataclass(frozen=True, slots=True)
class ArgSpec:
    """One ``add_argument`` call: its option strings (none for a positional), destination and what it takes."""

    flags: tuple[str, ...]
    dest: str
    takes: str  # "one" string, "optional" (nargs="?"), "many" (a list), "rest" (REMAINDER) or "none" (a flag)
    converted: bool = False  # type= other than str: the value is what the converter makes of the word


def _const(node: ast.expr | None) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def arg_spec(call: ast.Call) -> ArgSpec | None:
    """The argument an ``add_argument(...)`` call declares; None when it cannot be read (then nothing is claimed)."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return None
    names = [_const(a) for a in call.args]
    if not names or not all(isinstance(n, str) and n for n in names):
        return None
    texts = [str(n) for n in names]
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    positional = not texts[0].startswith("-")
    if positional and len(texts) > 1:
        return None
    takes = "one"
    action = keywords.get("action")
    flags = () if positional else tuple(texts)
    if action is not None:
        leaf = action.attr if isinstance(action, ast.Attribute) else action.id if isinstance(action, ast.Name) else None
        value = _const(action)
        if leaf == _BOOLEAN_OPTIONAL:
            takes = "none"
            flags = (*flags, *(f"--no-{f[2:]}" for f in flags if f.startswith("--")))
        elif isinstance(value, str) and value in _FLAG_ACTIONS:
            takes = "none"
        elif isinstance(value, str) and value in _LIST_ACTIONS:
            takes = "many"
        elif value != "store":
            return None  # a custom action: what it does with the words is its own
    if "nargs" in keywords and takes != "none":
        node = keywords["nargs"]
        nargs = _NARGS_NAMES.get(node.attr) if isinstance(node, ast.Attribute) else _const(node)
        if isinstance(node, ast.Attribute) and nargs is None:
            return None
        if nargs == "?":
            takes = "optional"
        elif nargs == "...":
            takes = "rest"
        elif nargs in ("*", "+") or (isinstance(nargs, int) and not isinstance(nargs, bool)):
            takes = "many"
        elif nargs is not None:
            return None  # a sub-parser's words (A...), or what cannot be read
    converter = keywords.get("type")
    converted = converter is not None and not (isinstance(converter, ast.Name) and converter.id == "str")
    dest_node = keywords.get("dest")
    dest = _const(dest_node) if dest_node is not None else None
    if dest_node is not None and not isinstance(dest, str):
        return None
    if not isinstance(dest, str):
        if positional:
            dest = texts[0]
        else:
            long = next((f for f in texts if f.startswith("--")), texts[0])
            dest = long.lstrip("-").replace("-", "_")
    return ArgSpec(flags, dest, takes, converted)


def _option(options: Mapping[str, ArgSpec], text: str, allow_abbrev: bool) -> tuple[ArgSpec, str, str | None] | None:
    """The option a word names, as argparse finds it: the whole word, then ``flag=value``, then a unique prefix of a
    long option (``--cat``) or a short option with its value attached (``-sml``); with the value written in it."""
    spec = options.get(text)
    if spec is not None:
        return spec, text, None
    if "=" in text:
        flag, _, attached = text.partition("=")
        if flag in options:
            return options[flag], flag, attached
    if text.startswith("--"):
        if not allow_abbrev:
            return None
        flag, equals, attached = text.partition("=")
        matches = {id(s): (s, f) for f, s in options.items() if f.startswith("--") and f.startswith(flag)}
        if len(matches) != 1:
            return None
        found, full = next(iter(matches.values()))
        return found, full, attached if equals else None
    short = options.get(text[:2])
    if short is None or short.takes == "none":
        return None  # grouped short flags (-abc), or an option dab-guard does not know
    return short, text[:2], text[2:]


def _option_like(text: str) -> bool:
    return text.startswith("-") and len(text) > 1 and not _NEGATIVE_NUMBER.match(text)


def _named(word: Passed, what: str) -> Passed:
    """A word of the command line, named after the option or positional argument it is the value of."""
    if word.what.startswith("parameter "):
        return dataclasses.replace(word, what=what)
    return word


def parse_command_line(
    specs: Sequence[ArgSpec], argv: Sequence[Passed], *, known_only: bool, allow_abbrev: bool = True, add_help: bool = True
) -> dict[str, Passed | None] | None:
    """The destinations argparse sets from ``argv``: a word (its value), or None when it is set to something that is
    not one known string (a flag, a list). A destination it does not set is absent. None: it cannot be told."""
    options: dict[str, ArgSpec] = {}
    if add_help:
        options["-h"] = options["--help"] = ArgSpec(("-h", "--help"), "help", "none")
    for declared in specs:
        for option_string in declared.flags:
            options[option_string] = declared
    positionals = [s for s in specs if not s.flags]
    out: dict[str, Passed | None] = {}
    index = 0
    next_positional = 0
    only_positionals = False
    while index < len(argv):
        word = argv[index]
        text = word.text
        if not only_positionals:
            if text.startswith(UNKNOWN) or (text.startswith("-") and UNKNOWN in text.partition("=")[0]):
                return None  # it could be an option
            if text == "--":
                only_positionals = True
                index += 1
                continue
        if not only_positionals and _option_like(text):
            option = _option(options, text, allow_abbrev)
            if option is None:
                return None  # not declared where dab-guard can see it (it may take a value), or ambiguous
            spec, flag, attached = option
            if spec.dest == "help" and spec.takes == "none":
                return None  # argparse prints the help and exits
            index += 1
            if spec.takes == "none":
                if attached is not None:
                    return None
                out[spec.dest] = None
                continue
            if spec.takes == "rest":
                out[spec.dest] = None
                break  # everything after it is its value
            if attached is not None:
                value = _named(dataclasses.replace(word, text=attached), f"`{flag}`")
                out[spec.dest] = value if spec.takes != "many" and not spec.converted else None
                continue
            following = argv[index] if index < len(argv) else None
            takes_next = following is not None and not _option_like(following.text) and not following.text.startswith(UNKNOWN + "-")
            if spec.takes == "one":
                if following is None or not takes_next:
                    return None  # argparse stops with "expected one argument"
                out[spec.dest] = None if spec.converted else _named(following, f"`{flag}`")
                index += 1
            elif spec.takes == "optional":
                if takes_next and following is not None:
                    out[spec.dest] = None if spec.converted else _named(following, f"`{flag}`")
                    index += 1
                else:
                    out[spec.dest] = None  # the option's const
            else:
                out[spec.dest] = None
                while index < len(argv) and not _option_like(argv[index].text):
                    index += 1
            continue
        index += 1
        if next_positional >= len(positionals):
            if not known_only:
                return None  # argparse stops with "unrecognized arguments"
            continue
        argument = positionals[next_positional]
        if argument.takes == "one":
            out[argument.dest] = None if argument.converted else _named(word, f"argument `{argument.dest}`")
            next_positional += 1
        else:
            # A positional with nargs: how argparse shares the words out is not followed; the rest is unknown.
            for later in positionals[next_positional:]:
                out[later.dest] = None
            next_positional = len(positionals)
    return out
