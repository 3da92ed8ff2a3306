"""pip requirements as jobs write them: ``%pip install`` lines, library entries, and which import a package provides.

Only what a requirement string says is used; nothing is resolved against an index.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

Version = tuple[int, ...]

_NAME_RE = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$")
_SPEC_RE = re.compile(r"(===|==|~=|!=|>=|<=|>|<)\s*([0-9][0-9A-Za-z.*+!-]*)")
# Options of `pip install` that take a value: the value is not a package.
_OPTIONS_WITH_VALUE = frozenset(
    {"-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix",
     "--root", "--src", "--upgrade-strategy", "--python-version", "--platform", "--implementation", "--abi", "--trusted-host",
     "--cache-dir", "--log", "--timeout", "--retries", "--proxy", "--cert", "--client-cert", "--progress-bar", "--config-settings", "-C"}
)
# Options whose value is a set of packages dab-guard cannot see (a file, an editable checkout).
_OPAQUE_OPTIONS = frozenset({"-r", "--requirement", "-e", "--editable"})

# Distributions whose import name is not their name with "-" turned into "_".
_IMPORT_NAMES: dict[str, tuple[str, ...]] = {
    "scikit-learn": ("sklearn",),
    "pyyaml": ("yaml",),
    "pillow": ("PIL",),
    "opencv-python": ("cv2",),
    "opencv-python-headless": ("cv2",),
    "beautifulsoup4": ("bs4",),
    "python-dotenv": ("dotenv",),
    "python-dateutil": ("dateutil",),
    "pyjwt": ("jwt",),
    "protobuf": ("google.protobuf",),
    "attrs": ("attr", "attrs"),
    "mlflow-skinny": ("mlflow",),
    "mlflow": ("mlflow",),
    "databricks-sdk": ("databricks.sdk",),
    "databricks-agents": ("databricks.agents", "databricks.rag_eval"),
    "databricks-vectorsearch": ("databricks.vector_search",),
    "databricks-ai-search": ("databricks.ai_search",),
    "databricks-connect": ("databricks.connect",),
    "databricks-feature-engineering": ("databricks.feature_engineering",),
    "databricks-feature-store": ("databricks.feature_store",),
    "unitycatalog-ai": ("unitycatalog.ai",),
    "unitycatalog-langchain": ("unitycatalog.ai.langchain",),
    "unitycatalog-openai": ("unitycatalog.ai.openai",),
    "unitycatalog-client": ("unitycatalog.client",),
    "langgraph-prebuilt": ("langgraph.prebuilt",),
    "langgraph-checkpoint": ("langgraph.checkpoint",),
    "openai-agents": ("agents",),
}


def normalise(name: str) -> str:
    """A distribution name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def import_names(dist: str) -> tuple[str, ...]:
    """The top-level import names a distribution provides (``databricks-langchain`` -> ``databricks_langchain``)."""
    dist = normalise(dist)
    return _IMPORT_NAMES.get(dist, (dist.replace("-", "_"),))


def provides(dist: str, module: str) -> bool:
    """Whether importing ``module`` (dotted) may load code of distribution ``dist``."""
    return any(module == name or module.startswith(name + ".") for name in import_names(dist))


@dataclass(frozen=True)
class Requirement:
    name: str  # normalised distribution name
    specs: tuple[tuple[str, str], ...]  # ((">=", "3.0"), ...)
    text: str  # as written


def parse_requirement(text: str) -> Requirement | None:
    """``mlflow[databricks]>=3.1,<4`` -> Requirement("mlflow", ((">=", "3.1"), ("<", "4")), ...); None for paths and URLs."""
    stripped = text.strip().strip("'\"")
    if not stripped or "://" in stripped or stripped.startswith((".", "/", "~", "$", "{")):
        return None
    requirement = stripped.split(";", 1)[0].strip()
    if requirement.lower().endswith((".whl", ".tar.gz", ".zip")) or " @ " in requirement or "/" in requirement:
        return None
    match = _NAME_RE.match(requirement)
    if not match:
        return None
    name, _, rest = match.groups()
    specs = tuple((op, version) for op, version in _SPEC_RE.findall(rest))
    if rest.strip() and not specs:
        return None
    return Requirement(normalise(name), specs, stripped)


@dataclass(frozen=True)
class PipInstall:
    """What one ``pip install`` command installs, as far as it can be read."""

    requirements: tuple[Requirement, ...]
    opaque: str | None  # why it may install more than ``requirements`` (``-r file``, a wheel, a variable)
    upgrade: bool


def parse_pip_args(words: list[str]) -> PipInstall | None:
    """The words after ``pip`` (``["install", "-U", "x"]``); None when the command is not an install."""
    if not words or words[0] != "install":
        return None
    requirements: list[Requirement] = []
    opaque: str | None = None
    upgrade = False
    skip_next = False
    opaque_option: str | None = None  # an option whose value (the next word) hides packages
    for word in words[1:]:
        if opaque_option is not None:
            opaque = opaque or f"{opaque_option} {word}"
            opaque_option = None
            continue
        if skip_next:
            skip_next = False
            continue
        if word.startswith("-"):
            option = word.split("=", 1)[0]
            if option in ("-U", "--upgrade") or (option.startswith("-") and not option.startswith("--") and "U" in option[1:]):
                upgrade = True
            if option in _OPAQUE_OPTIONS:
                if "=" in word:
                    opaque = opaque or f"{option} {word.split('=', 1)[1]}"
                else:
                    opaque_option = option
            elif option in _OPTIONS_WITH_VALUE:
                skip_next = "=" not in word
            continue
        requirement = parse_requirement(word)
        if requirement is None:
            opaque = opaque or word
        else:
            requirements.append(requirement)
    if opaque_option is not None:
        opaque = opaque or opaque_option
    return PipInstall(tuple(requirements), opaque, upgrade)


def parse_pip_magic(args: str) -> PipInstall | None:
    """``%pip install ...`` arguments (the text after ``%pip``)."""
    try:
        words = shlex.split(args, comments=True)
    except ValueError:
        words = args.split()
    return parse_pip_args(words)


# --- versions ----------------------------------------------------------------------------------------------------

LATEST_MINOR = 999  # "the newest release of this major version"


def parse_version(text: str) -> Version | None:
    numbers: list[int] = []
    for part in text.strip().split("."):
        match = re.match(r"\d+", part)
        if not match:
            break
        numbers.append(int(match.group(0)))
        if match.group(0) != part:
            break
    return tuple(numbers) if numbers else None


def _cmp(a: Version, b: Version) -> int:
    length = max(len(a), len(b))
    pa, pb = a + (0,) * (length - len(a)), b + (0,) * (length - len(b))
    return (pa > pb) - (pa < pb)


def satisfies(version: Version, specs: tuple[tuple[str, str], ...]) -> bool:
    for op, text in specs:
        if "*" in text:
            prefix = parse_version(text.replace("*", "0").rstrip(".0")) or ()
            ok = version[: len(prefix)] == prefix
            if (op == "==" and not ok) or (op == "!=" and ok):
                return False
            continue
        bound = parse_version(text)
        if bound is None:
            continue
        c = _cmp(version, bound)
        if op in ("==", "===") and c != 0:
            return False
        if (op == "!=" and c == 0) or (op == ">=" and c < 0) or (op == ">" and c <= 0) or (op == "<=" and c > 0) or (op == "<" and c >= 0):
            return False
        if op == "~=":
            prefix = bound[:-1] if len(bound) > 1 else bound
            if c < 0 or version[: len(prefix)] != prefix:
                return False
    return True


def installed_version(current: Version | None, requirement: Requirement, upgrade: bool) -> Version | None:
    """The version pip leaves installed after ``pip install <requirement>`` over ``current`` (None: cannot tell).

    pip keeps an installed version that satisfies the requirement (unless ``--upgrade``) and otherwise installs the
    newest allowed one; "newest" is written with :data:`LATEST_MINOR` as its minor version.
    """
    specs = requirement.specs
    if current is not None and satisfies(current, specs) and not upgrade:
        return current
    for op, text in specs:
        if op in ("==", "===") and "*" not in text:
            return parse_version(text)
    upper: Version | None = None
    for op, text in specs:
        bound = parse_version(text.replace("*", "0"))
        if bound is None:
            continue
        if op == "<=":
            candidate = bound
        elif op == "<":
            candidate = (bound[0], bound[1] - 1) if len(bound) > 1 and bound[1] > 0 else (bound[0] - 1, LATEST_MINOR)
        elif op == "~=" and len(bound) > 1:
            candidate = (bound[0], LATEST_MINOR) if len(bound) == 2 else (bound[0], bound[1])
        elif op == "==" and "*" in text:
            candidate = (bound[0], LATEST_MINOR) if len(bound) < 2 or text.count(".") < 2 else (bound[0], bound[1])
        else:
            continue
        if upper is None or _cmp(candidate, upper) < 0:
            upper = candidate
    if upper is not None:
        return upper
    lower = [parse_version(text) for op, text in specs if op in (">=", ">")]
    known = [v for v in lower if v is not None]
    if known:
        return (max(known)[0], LATEST_MINOR)
    if current is None or upgrade:
        return None  # "the newest release", whose major version dab-guard does not guess
    return current
