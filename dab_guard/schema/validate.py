"""Check a configuration tree against dab-guard's JSON Schema and say what is wrong in plain words.

``jsonschema`` is slow on a large bundle (every value it visits costs it a new validator object: about a second
for a thousand jobs), so a pre-check compiled once from the same schema walks the tree first. Subtrees it finds
valid are skipped; mappings are walked here (unknown and missing keys are simple to state), and every other value
that fails is handed to the one ``jsonschema`` validator, whose error is turned into a message.

Values the CLI accepts everywhere are accepted here too: ``null`` (the CLI drops a null field, with a warning at
most) and any string that still holds a ``${...}`` reference dab-guard could not resolve offline.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from dab_guard.finding import PathParts, format_path
from dab_guard.schema import bundle_schema

if TYPE_CHECKING:  # pragma: no cover
    import jsonschema
    from jsonschema.exceptions import ValidationError

Check = Callable[[Any], bool]
Schema = dict[str, Any]

# Keywords the pre-check understands; a schema using anything else is checked by jsonschema alone.
_ANNOTATIONS = frozenset({"$schema", "$comment", "$defs", "title", "description", "deprecated", "default"})
_APPLIED = frozenset(
    {"$ref", "type", "pattern", "enum", "anyOf", "properties", "additionalProperties", "required", "items"}
)

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true or false)",
    "string": "a string",
    "null": "null",
}
_MAX_LISTED = 12  # enum values listed in a message


class _Unsupported(Exception):
    pass


@dataclass(frozen=True)
class SchemaIssue:
    """One way the configuration does not fit the schema.

    ``kind`` is ``unknown`` (``path`` ends with the unknown key), ``missing`` (``path`` is the mapping that lacks
    ``key``) or ``invalid`` (``path`` is the value).
    """

    kind: Literal["invalid", "unknown", "missing"]
    path: PathParts
    message: str
    key: str = ""
    # For an ``invalid`` value outside an enumeration: the value (the CLI only warns about those at validate time).
    enum_value: Any = None
    enum: bool = False


def is_unresolved(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _is_type(value: Any, name: str) -> bool:
    # The same answers as jsonschema's draft 2020-12 type checker.
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, (int, float))
    raise _Unsupported(name)


class SchemaChecker:
    """dab-guard's schema, compiled once: a fast pre-check per node plus the one jsonschema validator."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.defs: dict[str, Schema] = schema.get("$defs", {})
        self._validator: jsonschema.Draft202012Validator | None = None
        self._compiled: dict[int, Check] = {}
        self._def_checks: dict[str, Check] = {}
        # Mappings and lists known to be valid, by identity, while `remembering`: targets share every value they
        # resolve alike, so the second target's jobs are mostly checked already. Per check: id(value) -> value (kept,
        # so that no other object can take its id while the table lives). Invalid values are not kept: they are few,
        # and explaining them walks them again anyway.
        self._memo: dict[int, dict[int, Any]] | None = None
        try:
            for name, node in self.defs.items():
                self._def_checks[name] = self._remembered(self._compile(node))
            self._root_check: Check | None = self._compile(schema)
        except _Unsupported:
            self._root_check = None

    # --- the pre-check ----------------------------------------------------------------------------------------

    def definition(self, name: str) -> Schema:
        return self.defs[name]

    def resolve(self, node: Schema) -> Schema:
        """Follow a node that is only a ``$ref``."""
        seen = 0
        while len(node) == 1 and "$ref" in node and seen < 64:
            node = self.defs[node["$ref"].rsplit("/", 1)[-1]]
            seen += 1
        return node

    def _compile(self, node: Any) -> Check:
        if node is True or node == {}:
            return _always
        if not isinstance(node, dict):
            raise _Unsupported(repr(node))
        key = id(node)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._build(node)
        return compiled

    def _build(self, node: Schema) -> Check:
        unknown = set(node) - _ANNOTATIONS - _APPLIED
        if unknown:
            raise _Unsupported(", ".join(sorted(unknown)))
        ref_name: str | None = None
        if "$ref" in node:
            ref: str = node["$ref"]
            if not ref.startswith("#/$defs/"):
                raise _Unsupported(ref)
            ref_name = ref[len("#/$defs/") :]
        def_checks = self._def_checks
        types = node.get("type")
        type_names: tuple[str, ...] = (types,) if isinstance(types, str) else tuple(types or ())
        for name in type_names:
            _is_type(None, name)  # raises for a type the pre-check does not know
        pattern = re.compile(node["pattern"]) if "pattern" in node else None
        enum_values = node.get("enum")
        if enum_values is not None and not all(isinstance(v, str) for v in enum_values):
            raise _Unsupported("enum of non-strings")
        enum_set = frozenset(enum_values) if enum_values is not None else None
        any_of = [self._compile(branch) for branch in node["anyOf"]] if "anyOf" in node else None
        properties = {k: self._compile(v) for k, v in node.get("properties", {}).items()}
        additional = node.get("additionalProperties", True)
        additional_check = None if isinstance(additional, bool) else self._compile(additional)
        extra_allowed = additional is not False
        required = tuple(node.get("required", ()))
        items = self._compile(node["items"]) if "items" in node else None

        def check(value: Any) -> bool:
            if value is None or (type(value) is str and "${" in value):
                return True
            if type_names and not any(_is_type(value, t) for t in type_names):
                return False
            if isinstance(value, str):
                if pattern is not None and pattern.search(value) is None:
                    return False
            elif isinstance(value, dict):
                for k, v in value.items():
                    sub = properties.get(k)
                    if sub is not None:
                        if not sub(v):
                            return False
                    elif not extra_allowed or (additional_check is not None and not additional_check(v)):
                        return False
                for k in required:
                    if k not in value:
                        return False
            elif isinstance(value, list) and items is not None:
                for v in value:
                    if not items(v):
                        return False
            if enum_set is not None and not (isinstance(value, str) and value in enum_set):
                return False
            if any_of is not None and not any(branch(value) for branch in any_of):
                return False
            return ref_name is None or def_checks[ref_name](value)

        return check

    def _remembered(self, check: Check) -> Check:
        """``check`` with its verdicts on mappings and lists kept while `remembering` (used for the named
        definitions, such as a task or a cluster, where whole subtrees are shared between targets)."""

        def remembered(value: Any) -> bool:
            memo = self._memo
            if memo is None or not isinstance(value, (dict, list)):
                return check(value)
            valid = memo.get(id(check))
            if valid is None:
                valid = memo[id(check)] = {}
            if valid.get(id(value)) is value:
                return True
            if check(value):
                valid[id(value)] = value
                return True
            return False

        return remembered

    @contextmanager
    def remembering(self, memo: dict[int, dict[int, Any]]) -> Iterator[None]:
        """Keep verdicts on mappings and lists in ``memo`` (one per loaded bundle) while checking."""
        previous, self._memo = self._memo, memo
        try:
            yield
        finally:
            self._memo = previous

    def is_valid(self, value: Any, node: Schema) -> bool:
        if self._root_check is None:
            return not any(self._jsonschema_errors(value, node))
        return self._compile(node)(value)

    # --- finding and explaining what is wrong -----------------------------------------------------------------

    def issues(self, value: Any, node: Schema | None = None, path: PathParts = ()) -> Iterator[SchemaIssue]:
        """Everything in ``value`` (found at ``path``) that does not fit ``node`` (the whole schema by default)."""
        node = self.schema if node is None else node
        if self.is_valid(value, node):
            return
        resolved = self.resolve(node)
        if isinstance(value, dict) and _walkable(resolved, "object"):
            yield from self._mapping_issues(value, resolved, path)
        elif isinstance(value, list) and _walkable(resolved, "array") and "items" in resolved:
            for index, item in enumerate(value):
                yield from self.issues(item, resolved["items"], (*path, index))
        else:
            for error in self._jsonschema_errors(value, node):
                yield from self._explain(error, path)

    def _mapping_issues(self, value: dict[str, Any], node: Schema, path: PathParts) -> Iterator[SchemaIssue]:
        properties: dict[str, Any] = node.get("properties", {})
        additional = node.get("additionalProperties", True)
        for key in node.get("required", ()):
            if key not in value:
                yield SchemaIssue("missing", path, f"{_where(path)}: missing required field '{key}'", key)
        for key, item in value.items():
            sub = properties.get(key)
            if sub is None:
                if additional is False:
                    yield _unknown(path, key, properties)
                    continue
                if additional is True:
                    continue
                sub = additional
            yield from self.issues(item, sub, (*path, key))

    @property
    def validator(self) -> jsonschema.Draft202012Validator:
        """The one jsonschema validator, made on first need (importing jsonschema alone takes 70 ms)."""
        if self._validator is None:
            import jsonschema

            self._validator = jsonschema.Draft202012Validator(self.schema)
        return self._validator

    def _jsonschema_errors(self, value: Any, node: Schema) -> Iterator[ValidationError]:
        validator = self.validator if node is self.schema else self.validator.evolve(schema=node)
        yield from validator.iter_errors(value)

    def _explain(self, error: ValidationError, base: PathParts) -> Iterator[SchemaIssue]:
        path: PathParts = (*base, *error.relative_path)
        value = error.instance
        if value is None or is_unresolved(value):
            return
        schema = error.schema if isinstance(error.schema, dict) else {}
        kind = error.validator
        listed: list[Any] = list(error.validator_value) if isinstance(error.validator_value, list) else []
        if kind == "additionalProperties" and isinstance(value, dict):
            properties = schema.get("properties", {})
            for key in value:
                if key not in properties:
                    yield _unknown(path, key, properties)
            return
        if kind == "required" and isinstance(value, dict):
            for key in listed:
                if key not in value:
                    yield SchemaIssue("missing", path, f"{_where(path)}: missing required field '{key}'", key)
            return
        if kind == "anyOf":
            enum_branch = next((b for b in schema.get("anyOf", ()) if isinstance(b, dict) and "enum" in b), None)
            if enum_branch is not None:
                yield SchemaIssue("invalid", path, _enum_message(path, value, enum_branch["enum"]), enum_value=value, enum=True)
                return
            from jsonschema.exceptions import best_match

            best = best_match(error.context or ())
            if best is not None:
                yield from self._explain(best, path)
                return
        if kind == "enum":
            yield SchemaIssue("invalid", path, _enum_message(path, value, listed), enum_value=value, enum=True)
            return
        if kind in ("type", "pattern"):
            yield SchemaIssue("invalid", path, f"{_where(path)}: expected {_expected(schema)}, got {_got(value)}")
            return
        yield SchemaIssue("invalid", path, f"{_where(path)}: {error.message}")


def _always(value: Any) -> bool:
    return True


def _walkable(node: Schema, type_name: str) -> bool:
    """A node whose only constraints on a value of ``type_name`` are ones this module walks itself."""
    types = node.get("type")
    names = (types,) if isinstance(types, str) else tuple(types or ())
    if names and type_name not in names:
        return False
    return not ({"anyOf", "enum", "$ref"} & set(node))


def _unknown(path: PathParts, key: str, properties: dict[str, Any]) -> SchemaIssue:
    close = difflib.get_close_matches(key, list(properties), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    where = f"in {_where(path)}" if path else "at the top level"
    return SchemaIssue("unknown", (*path, key), f"unknown field '{key}' {where}{hint}", key)


def _where(path: PathParts) -> str:
    return format_path(path) if path else "the configuration"


def _expected(schema: Schema) -> str:
    types = schema.get("type")
    names = [types] if isinstance(types, str) else list(types or ())
    if not names:
        return "another value"
    if names[0] == "string":
        return _TYPE_WORDS["string"]  # a string field also takes numbers and booleans: not worth naming
    # A "string" beside another type only admits ${...} references or numbers written as text.
    return " or ".join(_TYPE_WORDS.get(n, n) for n in names if n != "string")


_TOKEN_RE = re.compile(r"dapi[0-9a-f]{16,}|[A-Za-z0-9+/=_-]{40,}")


def _got(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        if _TOKEN_RE.search(value):
            return "a string"  # never echo what may be a secret
        text = value if len(value) <= 60 else value[:57] + "..."
        return f"'{text}'"
    return str(value)


def _enum_message(path: PathParts, value: Any, allowed: list[Any]) -> str:
    names = [str(v) for v in allowed]
    listed = ", ".join(names[:_MAX_LISTED]) + (f", ... ({len(names)} in all)" if len(names) > _MAX_LISTED else "")
    hint = ""
    if isinstance(value, str):
        close = difflib.get_close_matches(value, names, n=1, cutoff=0.6) or difflib.get_close_matches(
            value.upper(), names, n=1, cutoff=0.8
        )
        if close:
            hint = f" (did you mean '{close[0]}'?)"
    return f"{_where(path)}: expected one of {listed}, got {_got(value)}{hint}"


@lru_cache(maxsize=1)
def checker() -> SchemaChecker:
    """The one checker of the process (compiling the schema takes a tenth of a second)."""
    return SchemaChecker(bundle_schema())
