"""Splits a SQL file into statements, keeping where each starts, so errors can name a line in the file."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NO_TRANSACTION_MARKER = re.compile(r"^--\s*paysim:no-transaction\b")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
_IDENTIFIER_CHAR = re.compile(r"[A-Za-z0-9_$]")


@dataclass(frozen=True)
class Statement:
    """One statement as it appears in its file: its text (no trailing `;`) and its offset in the file."""

    text: str
    offset: int


def split_statements(source: str) -> list[Statement]:
    """Top-level `;`-separated statements, skipping comments and blank text between them.

    Understands quoted strings and identifiers, E'' escapes, dollar quoting and nested block comments.
    SQL-standard `BEGIN ATOMIC ... END` bodies are not supported: write function bodies with `$$`.
    """
    statements: list[Statement] = []
    start: int | None = None
    index = 0
    while index < len(source):
        char = source[index]
        if source.startswith("--", index):
            index = _end_of_line_comment(source, index)
            continue
        if source.startswith("/*", index):
            index = _end_of_block_comment(source, index)
            continue
        if char.isspace():
            index += 1
            continue
        if char == ";":
            if start is not None:
                statements.append(Statement(source[start:index].rstrip(), start))
                start = None
            index += 1
            continue
        if start is None:
            start = index
        index = _end_of_token(source, index)
    if start is not None:
        statements.append(Statement(source[start:].rstrip(), start))
    return statements


def _end_of_token(source: str, index: int) -> int:
    """The index just after the quoted literal, identifier or single character starting at `index`."""
    char = source[index]
    if char == "'":
        escapes = index > 0 and source[index - 1] in "eE" and not _continues_identifier(source, index - 1)
        return _end_of_quoted(source, index, "'", backslash_escapes=escapes)
    if char == '"':
        return _end_of_quoted(source, index, '"', backslash_escapes=False)
    if char == "$" and not _continues_identifier(source, index):
        tag = _DOLLAR_TAG.match(source, index)
        if tag is not None:
            closing = source.find(tag.group(), tag.end())
            return len(source) if closing < 0 else closing + len(tag.group())
    if _IDENTIFIER_CHAR.match(char):
        while index < len(source) and _IDENTIFIER_CHAR.match(source[index]):
            index += 1
        return index
    return index + 1


def _continues_identifier(source: str, index: int) -> bool:
    """True when the character before `index` is part of an identifier (so `$1`, `a$b$` are not quotes)."""
    return index > 0 and bool(_IDENTIFIER_CHAR.match(source[index - 1]))


def _end_of_quoted(source: str, index: int, quote: str, *, backslash_escapes: bool) -> int:
    index += 1
    while index < len(source):
        char = source[index]
        if backslash_escapes and char == "\\":
            index += 2
            continue
        if char == quote:
            if source.startswith(quote, index + 1):  # a doubled quote stands for itself
                index += 2
                continue
            return index + 1
        index += 1
    return index


def _end_of_line_comment(source: str, index: int) -> int:
    newline = source.find("\n", index)
    return len(source) if newline < 0 else newline + 1


def _end_of_block_comment(source: str, index: int) -> int:
    depth = 0
    while index < len(source):
        if source.startswith("/*", index):
            depth += 1
            index += 2
        elif source.startswith("*/", index):
            depth -= 1
            index += 2
            if depth == 0:
                return index
        else:
            index += 1
    return index


def line_at(source: str, offset: int) -> int:
    """The 1-based line number of character `offset` in `source`."""
    return source.count("\n", 0, max(offset, 0)) + 1


def runs_outside_transaction(source: str) -> bool:
    """True when the file's leading comment lines carry `-- paysim:no-transaction`."""
    for line in source.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            return False
        if _NO_TRANSACTION_MARKER.match(stripped):
            return True
    return False
