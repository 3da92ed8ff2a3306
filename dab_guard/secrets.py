"""Credentials written into a bundle: how to recognise them, and how to keep them out of everything dab-guard prints.

Two signals, used by DG111 ``plaintext-secret`` and by the engine, which masks every finding's message:

- the shape of a value: tokens and keys whose format is unmistakable (``dapi`` + 32 hex digits, ``AKIA...``,
  ``ghp_...``, a PEM private key, an Azure storage key or SAS, a URL with a password in it);
- the name of the key that holds it: ``password``, ``db_password``, ``HF_TOKEN``, ``openai_api_key``,
  ``spark.hadoop.fs.s3a.secret.key``, ``fs.azure.account.key.<account>...``, a ``--token`` argument.

A value that is a secret reference (``{{secrets/scope/key}}``), a ``${...}`` reference, empty, a placeholder such as
``<your token>``, or a path is not a credential.
"""

from __future__ import annotations

import itertools
import re
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from dab_guard.bundle.located import YMap, YSeq
from dab_guard.finding import Loc, PathParts

if TYPE_CHECKING:
    from dab_guard.bundle.loader import Bundle
    from dab_guard.bundle.resolve import Target

# Not preceded or followed by a character that would make the match part of a longer word.
_B = r"(?<![A-Za-z0-9_])"
_E = r"(?![A-Za-z0-9_])"

_SHAPES: tuple[tuple[str, str], ...] = (
    ("a Databricks personal access token", rf"{_B}dapi[0-9a-f]{{32}}(?:-[0-9]+)?{_E}"),
    ("a Databricks OAuth secret", rf"{_B}dose[0-9a-f]{{32}}{_E}"),
    ("an AWS access key id", rf"{_B}(?:AKIA|ASIA)[0-9A-Z]{{16}}{_E}"),
    ("a GitHub token", rf"{_B}(?:gh[pousr]_[A-Za-z0-9]{{36,255}}|github_pat_[A-Za-z0-9_]{{22,255}}){_E}"),
    # the whole block, so that masking it hides the key itself and not only its header
    ("a private key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|[\s\S]*)"),
    ("an Azure client secret", r"(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])"),
    ("an Azure storage account key", r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{86}=="),
    ("an Azure shared access signature", r"\bsv=[0-9]{4}-[0-9]{2}-[0-9]{2}&[^\s\"']*?\bsig=[A-Za-z0-9%+/=]{16,}"),
    ("an OpenAI API key", rf"{_B}sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{{40,}}|[A-Za-z0-9]{{48}}){_E}"),
    ("an Anthropic API key", rf"{_B}sk-ant-[a-z]+[0-9]{{2}}-[A-Za-z0-9_-]{{80,}}"),
    ("a Hugging Face token", rf"{_B}hf_[A-Za-z0-9]{{34}}{_E}"),
    ("a Google API key", rf"{_B}AIza[0-9A-Za-z_-]{{35}}{_E}"),
    ("a Slack token", rf"{_B}xox[abprs]-[A-Za-z0-9-]{{10,}}"),
    # user:password@ in a URL; the password group must not be a reference (checked in code)
    ("a password in a URL", r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@\"']+:(?P<password>[^\s/@\"']+)@"),
)
_SHAPE_RE = re.compile("|".join(f"(?P<s{i}>{pattern})" for i, (_, pattern) in enumerate(_SHAPES)))
# Text one of the shapes needs; searching for it first is twenty times faster than the shapes on ordinary values.
_HINT_RE = re.compile(r"dapi|dose|AKIA|ASIA|gh[pousr]_|github_pat_|-----BEGIN|Q~|==|sig=|sk-|hf_|AIza|xox|://")
_SHAPE_NAMES = {f"s{i}": name for i, (name, _) in enumerate(_SHAPES)}
_URL_PASSWORD_GROUP = f"s{len(_SHAPES) - 1}"

# The last word of a key name that says its value is a credential, and what to call that credential.
_SECRET_WORDS = {
    "password": "password",
    "passwd": "password",
    "passphrase": "password",
    "secret": "secret",
    "token": "token",
    "apikey": "API key",
    "credential": "credential",
    "credentials": "credential",
}
# A name ending in "key" is a credential when one of these words comes before it (api_key, secret.key, private_key).
_KEY_QUALIFIERS = frozenset({"api", "secret", "private", "account", "signing", "encryption", "master", "client"})
# Word pairs that mark a credential anywhere in a name (fs.azure.account.key.<account>.dfs.core.windows.net).
_SECRET_PAIRS = frozenset({("account", "key"), ("client", "secret"), ("secret", "key"), ("azure", "sas")})
_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_PLACEHOLDERS = frozenset(
    {"changeme", "change-me", "change_me", "replace-me", "replace_me", "replaceme", "todo", "tbd", "none", "null", "redacted", "true", "false"}
)
_MASK = "***"


def secret_kind(text: str) -> str | None:
    """What credential ``text`` contains by its shape alone (``"a Databricks personal access token"``), or None."""
    if not _HINT_RE.search(text):
        return None
    for match in _SHAPE_RE.finditer(text):
        group = match.lastgroup or ""
        if group == _URL_PASSWORD_GROUP and not _is_literal(match.group("password")):
            continue
        return _SHAPE_NAMES.get(group)
    return None


@lru_cache(maxsize=4096)
def secret_name(name: str) -> str | None:
    """The kind of credential a key (or argument) named ``name`` holds (``"password"``, ``"token"``), or None.

    The last word decides, so ``db_password`` and ``HF_TOKEN`` are credentials while ``secret_scope``,
    ``token_limit`` and ``TOKENIZERS_PARALLELISM`` are not.
    """
    words = [w.lower() for w in _WORD_RE.findall(name)]
    if words and words[-1] == "plaintext":  # serving endpoints' external models: openai_api_key_plaintext
        words.pop()
    if not words:
        return None
    last = words[-1]
    if last in ("key", "keys"):
        qualifiers = [w for w in words[:-1] if w in _KEY_QUALIFIERS]
        if qualifiers:
            return "API key" if qualifiers[-1] == "api" else f"{qualifiers[-1]} key"
    elif last in _SECRET_WORDS:
        return _SECRET_WORDS[last]
    for pair in itertools.pairwise(words):
        if pair in _SECRET_PAIRS:
            return "shared access signature" if pair == ("azure", "sas") else " ".join(pair)
    return None


@lru_cache(maxsize=65536)
def could_take_part(text: str) -> bool:
    """Whether a scalar could take part in a credential finding: a value with a credential's hint, or a name that
    says credential (a key, an argument such as ``--token``, the ``head`` of ``head=tail``, a ``name:`` value).

    Every finding of :func:`find_secrets` needs such a scalar, so a file without one has none (the reader notes it,
    and the walk is skipped).
    """
    if _HINT_RE.search(text) or secret_name(text) is not None:
        return True
    head, sep, _ = text.partition("=")
    return bool(sep) and secret_name(head) is not None


@lru_cache(maxsize=4096)
def _names_scope(name: str) -> bool:
    """A key or option such as ``secret_scope`` or ``--scope``, beside which ``secret_key: x`` names a key in a scope."""
    words = _WORD_RE.findall(name)
    return bool(words) and words[-1].lower() == "scope"


def _is_literal(value: str) -> bool:
    """Whether ``value`` could be a credential written out, rather than a reference to one, a placeholder or a path."""
    text = value.strip()
    if not text or "{{secrets/" in text or "${" in text:
        return False
    lowered = text.lower()
    if lowered in _PLACEHOLDERS or (text.startswith("<") and text.endswith(">")) or len(set(text)) == 1:
        return False
    if text.startswith(("/", "./", "../", "~/")) or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:/", text):
        return secret_kind(text) is not None if "@" in text else False  # a path or URL, unless it carries a password
    return True


def literal_secret(name: str | None, value: Any) -> str | None:
    """Why ``value``, held by a key or argument called ``name``, is a credential in plain text (or None)."""
    if not isinstance(value, str):
        return None
    kind = secret_kind(value)
    if kind is not None:
        return kind
    named = secret_name(name) if name is not None else None
    if named is not None and _is_literal(value):
        return _with_article(named)
    return None


def _with_article(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiouAEIOU" else f"a {noun}"


@dataclass(frozen=True)
class SecretValue:
    """A credential written in a file: where, under which key, what kind, and the value (never to be printed)."""

    path: PathParts
    loc: Loc | None
    name: str  # the key, argument or variable that holds it, as written
    kind: str  # "a Databricks personal access token", "a password", ...
    value: str


def find_secrets(root: Any, path: PathParts = ()) -> list[SecretValue]:
    """Every credential written in plain text in the located tree ``root`` (one file's YAML, or a section of it)."""
    found: list[SecretValue] = []
    _walk(root, list(path), found)
    return found


def _walk(node: Any, path: list[str | int], found: list[SecretValue]) -> None:
    # The path is one list, extended and shortened on the way: a tuple is built only for a credential found. The
    # reader bounds the depth, so recursion is safe here.
    if isinstance(node, YMap):
        _mapping_secrets(node, path, found)
        for key, value in node.items():
            if isinstance(value, (YMap, YSeq)):
                path.append(key)
                _walk(value, path, found)
                path.pop()
    elif isinstance(node, YSeq):
        _sequence_secrets(node, path, found)
        for index, value in enumerate(node):
            if isinstance(value, (YMap, YSeq)):
                path.append(index)
                _walk(value, path, found)
                path.pop()


def _mapping_secrets(node: YMap, path: list[str | int], found: list[SecretValue]) -> None:
    by_name: bool | None = None  # whether names count here (not beside a secret scope), decided when first needed
    for key, value in node.items():
        if type(value) is not str:
            continue
        kind = secret_kind(value)
        name = key
        if kind is None:
            # Whose value it is: the key's, except for a variable's default and a {name: ..., default/value: ...}
            # pair (job parameters, app environment variables), named by the variable or by the pair's name.
            if key == "default" and len(path) >= 2 and path[-2] == "variables" and isinstance(path[-1], str):
                name = path[-1]
            elif key in ("default", "value") and isinstance(node.get("name"), str):
                name = node["name"]
            named = secret_name(name)
            if named is None:
                continue
            if by_name is None:
                by_name = not any(_names_scope(k) for k in node)
            if not by_name or not _is_literal(value):
                continue
            kind = _with_article(named)
        found.append(SecretValue((*path, key), node.val_locs.get(key) or node.key_locs.get(key), name, kind, value))


def _sequence_secrets(node: YSeq, path: list[str | int], found: list[SecretValue]) -> None:
    """Arguments: ``--password=x``, ``password=x``, ``["--token", "x"]``, and any item with a credential's shape."""
    flag: str | None = None  # the previous item, when it is an option waiting for its value
    by_name: bool | None = None
    for index, item in enumerate(node):
        if type(item) is not str:
            flag = None
            continue
        name: str | None = None
        value = item
        if flag is not None and not item.startswith("-"):
            name = flag
        elif "=" in item:
            head, _, tail = item.partition("=")
            if head and " " not in head and secret_kind(head) is None:
                name, value = head, tail
        kind = secret_kind(item)
        if kind is None and name is not None:
            named = secret_name(name)
            if named is not None:
                if by_name is None:
                    by_name = not any(isinstance(i, str) and _names_scope(i.partition("=")[0]) for i in node)
                if by_name and _is_literal(value):
                    kind = _with_article(named)
        if kind is not None:
            found.append(SecretValue((*path, index), node.item_locs[index], name or f"item {index}", kind, value))
        flag = item if item.startswith("-") and "=" not in item and len(item) > 1 else None


# --- which values a target's findings must never show ------------------------------------------------------------

# The last bundle's credentials (a Bundle is not hashable; one run checks one bundle at a time).
_cache: tuple[weakref.ref[Bundle], list[tuple[str, list[SecretValue]]]] | None = None


def file_secrets(bundle: Bundle) -> list[tuple[str, list[SecretValue]]]:
    """Per configuration file (in load order), the credentials written in it; computed once per bundle."""
    global _cache
    if _cache is not None and _cache[0]() is bundle:
        return _cache[1]
    found = [(rel, find_secrets(source.doc.value) if source.doc.may_hold_secrets else []) for rel, source in bundle.files.items()]
    _cache = (weakref.ref(bundle), found)
    return found


def target_secrets(target: Target) -> Iterator[SecretValue]:
    """The credentials written for ``target``: outside ``targets``, or in that target's own entry."""
    for _, found in file_secrets(target.bundle):
        for secret in found:
            section = secret.path[:2]
            if len(section) == 2 and section[0] in ("targets", "environments") and section[1] != target.name:
                continue  # another target's entry
            yield secret


class Masker:
    """Replaces credentials in a message: anything with a credential's shape, and the values written in the bundle."""

    def __init__(self, values: Iterable[str] | Callable[[], Iterable[str]] = ()) -> None:
        self._source = values
        self._values: list[str] | None = None

    @property
    def values(self) -> list[str]:
        """Longest first, so that a value containing another is masked whole; very short ones would mangle words."""
        if self._values is None:
            source = self._source() if callable(self._source) else self._source
            self._values = sorted({v for v in source if len(v.strip()) >= 4}, key=len, reverse=True)
        return self._values

    @classmethod
    def for_bundle(cls, bundle: Bundle, targets: Iterable[Target] = ()) -> Masker:
        """The values are gathered at the first message, so a run without findings does not pay for them."""

        def gather() -> list[str]:
            from dab_guard.bundle.resolved import ResolvedTarget

            values = [s.value for _, found in file_secrets(bundle) for s in found]
            for target in targets:
                if isinstance(target, ResolvedTarget):
                    # The CLI's resolved JSON (--resolved): its values may have come from anywhere, files or not.
                    values.extend(s.value for s in find_secrets(target.config))
                # Values given on the command line or in the environment (--var, BUNDLE_VAR_x) for a credential's name.
                for name, variable in target.variables.items():
                    given = variable.source in ("--var", "environment", "overrides file")
                    if given and isinstance(variable.value, str) and secret_name(name) is not None:
                        values.append(variable.value)
            return values

        return cls(gather)

    def __call__(self, text: str) -> str:
        text = mask_shapes(text)
        for value in self.values:
            if value in text:
                text = text.replace(value, _MASK)
            if len(value) > 12 and value[:12] in text:
                text = _mask_prefixes(text, value)
        return text


def mask_shapes(text: str) -> str:
    """``text`` with every substring that has a credential's shape replaced by ``***``."""
    if not _HINT_RE.search(text) or not _SHAPE_RE.search(text):
        return text

    def replace(match: re.Match[str]) -> str:
        if match.lastgroup == _URL_PASSWORD_GROUP:
            start, end = match.span("password")
            if not _is_literal(match.group("password")):
                return match.group(0)
            return text[match.start() : start] + _MASK + text[end : match.end()]
        return _MASK

    return _SHAPE_RE.sub(replace, text)


def _mask_prefixes(text: str, value: str) -> str:
    """Mask where ``text`` shows the start of ``value`` (a message that shortened it with "...")."""
    out: list[str] = []
    start = 0
    probe = value[:12]
    while (index := text.find(probe, start)) != -1:
        end = index + 12
        while end < len(text) and end - index < len(value) and text[end] == value[end - index]:
            end += 1
        out.append(text[start:index] + _MASK)
        start = end
    out.append(text[start:])
    return "".join(out)
