"""Completion of keys and enum values in bundle YAML, from the JSON Schema dab-guard checks against.

The text being typed is often not valid YAML, so the path to the cursor is read from indentation alone: each line
above it that is less indented and ends in ``key:`` is a parent, and ``- `` opens a list item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dab_guard.schema import bundle_schema

_KEY_LINE = re.compile(r"^(\s*)(-\s+)?([^\s#:'\"][^:#]*?|'[^']*'|\"[^\"]*\")\s*:(\s|$)")
_ITEM_LINE = re.compile(r"^(\s*)-(\s|$)")
_TYPING_KEY = re.compile(r"^(\s*)(-\s+)?([\w.-]*)$")
_TYPING_VALUE = re.compile(r"^(\s*)(-\s+)?([^\s#:][^:#]*?)\s*:\s+([\w.${}-]*)$")

LIST_ITEM = 0  # a path step into a list


@dataclass(frozen=True)
class Candidate:
    label: str
    is_key: bool
    detail: str = ""


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def path_at(lines: list[str], line: int, indent: int) -> list[str | int]:
    """The mapping keys (and list steps) that enclose a position at ``indent`` on ``line`` (0-based)."""
    path: list[str | int] = []
    current = indent
    after_item = False  # a list item was just passed: its key may sit at the item's own indent (`tasks:` then `- a`)
    for number in range(line - 1, -1, -1):
        text = lines[number]
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        own = _indent_of(text)
        match = _KEY_LINE.match(text)
        if match is not None and match.group(2):
            # "- key: value": the key sits inside a list item, two columns (or more) in.
            key_indent = own + len(match.group(2))
            if key_indent < current and not text[match.end() :].strip():
                path.append(match.group(3).strip("'\""))
                current = key_indent
            if own < current:
                path.append(LIST_ITEM)
                current = own
                after_item = True
            continue
        if match is not None and (own < current or (after_item and own == current and not text[match.end() :].strip())):
            path.append(match.group(3).strip("'\""))
            current = own
            after_item = False
        elif _ITEM_LINE.match(text) and own < current:
            path.append(LIST_ITEM)
            current = own
            after_item = True
        if current == 0:
            break
    path.reverse()
    return path


class SchemaWalker:
    def __init__(self, schema: dict[str, Any] | None = None) -> None:
        self.schema = schema if schema is not None else bundle_schema()
        self.defs: dict[str, Any] = self.schema.get("$defs", {})

    def _resolve(self, node: Any) -> list[dict[str, Any]]:
        """The node with its ``$ref`` followed and its ``anyOf`` / ``oneOf`` / ``allOf`` alternatives spread out."""
        out: list[dict[str, Any]] = []
        stack = [node]
        seen = 0
        while stack and seen < 50:
            seen += 1
            item = stack.pop()
            if not isinstance(item, dict):
                continue
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                stack.append(self.defs.get(ref[len("#/$defs/") :]))
            for key in ("anyOf", "oneOf", "allOf"):
                alternatives = item.get(key)
                if isinstance(alternatives, list):
                    stack.extend(alternatives)
            out.append(item)
        return out

    def at(self, path: list[str | int]) -> list[dict[str, Any]]:
        nodes = self._resolve(self.schema)
        for step in path:
            following: list[Any] = []
            for node in nodes:
                if step == LIST_ITEM:
                    if "items" in node:
                        following.append(node["items"])
                    continue
                properties = node.get("properties")
                if isinstance(properties, dict) and step in properties:
                    following.append(properties[step])
                elif isinstance(node.get("additionalProperties"), dict):
                    following.append(node["additionalProperties"])
            nodes = [n for f in following for n in self._resolve(f)]
            if not nodes:
                return []
        return nodes

    def keys(self, path: list[str | int]) -> list[Candidate]:
        found: dict[str, Candidate] = {}
        for node in self.at(path):
            properties = node.get("properties")
            if isinstance(properties, dict):
                for name, spec in properties.items():
                    detail = spec.get("description", "") if isinstance(spec, dict) else ""
                    found.setdefault(name, Candidate(name, True, detail if isinstance(detail, str) else ""))
        return sorted(found.values(), key=lambda c: c.label)

    def values(self, path: list[str | int]) -> list[Candidate]:
        found: dict[str, Candidate] = {}
        for node in self.at(path):
            enum = node.get("enum")
            if isinstance(enum, list):
                for value in enum:
                    if isinstance(value, (str, bool, int)):
                        text = str(value).lower() if isinstance(value, bool) else str(value)
                        found.setdefault(text, Candidate(text, False))
        return list(found.values())


def complete(walker: SchemaWalker, text: str, line: int, character: int) -> list[Candidate]:
    """Keys or enum values for the cursor at (``line``, ``character``), 0-based, in the YAML ``text``."""
    lines = text.split("\n")
    if line >= len(lines):
        return []
    before = lines[line][:character].rstrip("\r")
    value = _TYPING_VALUE.match(before)
    if value is not None:
        indent = len(value.group(1)) + len(value.group(2) or "")
        parents = path_at(lines, line, indent)
        if value.group(2):
            parents = [*path_at(lines, line, len(value.group(1))), LIST_ITEM]
        key = value.group(3).strip("'\"")
        return [c for c in walker.values([*parents, key]) if c.label.startswith(value.group(4))]
    typing = _TYPING_KEY.match(before)
    if typing is None:
        return []
    indent = len(typing.group(1)) + len(typing.group(2) or "")
    parents = path_at(lines, line, indent)
    if typing.group(2):
        parents = [*path_at(lines, line, len(typing.group(1))), LIST_ITEM]
    prefix = typing.group(3)
    return [c for c in walker.keys(parents) if c.label.startswith(prefix)]
