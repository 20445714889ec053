"""The VTQL subset the emulator understands: parse a query and run it over rows of strings.

`SELECT cols|*|count(*) FROM Module [WHERE f op v [AND|OR ...]] [ORDER BY f [ASC|DESC], ...]
[LIMIT [offset,] n];` with ops `= != <> < > <= >= IN LIKE`. Errors are raised as vtiger
reports them: a garbled statement is ACCESS_DENIED, a missing `;` is
QUERY_SYNTAX_ERROR, an unknown field is ACCESS_DENIED naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from calsync.emulators.vtiger.errors import WsError

MAX_LIMIT = 100

_TOKEN = re.compile(
    r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)"""
    r"""|(?P<op><=|>=|!=|<>|=|<|>)|(?P<punct>[(),;*])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"""
)
_DENIED_QUERY = "Permission to perform the operation is denied for query"


@dataclass(frozen=True, slots=True)
class Cond:
    field: str
    op: str
    value: str | tuple[str, ...]


@dataclass(slots=True)
class Query:
    module: str
    columns: list[str] | None
    """None for `*`."""
    count: bool = False
    where: list[list[Cond]] = field(default_factory=list)
    """OR of ANDs: SQL precedence, AND binds tighter than OR."""
    order: list[tuple[str, bool]] = field(default_factory=list)
    """(field, descending)"""
    offset: int = 0
    limit: int = MAX_LIMIT


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise WsError("ACCESS_DENIED", _DENIED_QUERY)
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append((kind, value))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, toks: list[tuple[str, str]]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self) -> tuple[str, str]:
        return self.toks[self.i] if self.i < len(self.toks) else ("end", "")

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        self.i += 1
        return tok

    def word(self, *expected: str) -> bool:
        kind, value = self.peek()
        if kind == "word" and value.upper() in expected:
            self.i += 1
            return True
        return False

    def punct(self, p: str) -> bool:
        if self.peek() == ("punct", p):
            self.i += 1
            return True
        return False

    def syntax(self, expected: str = "") -> WsError:
        kind, value = self.peek()
        shown = value if kind != "end" else "end of input"
        tail = f" expected one of: {expected}" if expected else ""
        return WsError(
            "QUERY_SYNTAX_ERROR",
            f"Syntax Error on line 1: token '{shown}' Unexpected {shown}{tail}",
        )

    def value(self) -> str:
        kind, value = self.take()
        if kind not in ("str", "num", "word"):
            self.i -= 1
            raise self.syntax()
        return value


def parse(text: str) -> Query:
    """Return the parsed `text`; raise WsError as vtiger does for bad queries."""
    p = _Parser(_tokens(text))
    if not p.word("SELECT"):
        raise WsError("ACCESS_DENIED", _DENIED_QUERY)
    columns: list[str] | None = []
    count = False
    if p.punct("*"):
        columns = None
    elif p.peek()[1].lower() == "count" and p.toks[p.i + 1 : p.i + 4] == [
        ("punct", "("),
        ("punct", "*"),
        ("punct", ")"),
    ]:
        p.i += 4
        count, columns = True, None
    else:
        while True:
            kind, name = p.take()
            if kind != "word" or name.upper() == "FROM":
                raise WsError("ACCESS_DENIED", _DENIED_QUERY)
            assert columns is not None
            columns.append(name)
            if not p.punct(","):
                break
    if not p.word("FROM"):
        raise WsError("ACCESS_DENIED", _DENIED_QUERY)
    kind, module = p.take()
    if kind != "word":
        raise WsError("ACCESS_DENIED", _DENIED_QUERY)
    q = Query(module=module, columns=columns, count=count)
    if p.word("WHERE"):
        group: list[Cond] = []
        while True:
            group.append(_cond(p))
            if p.word("AND"):
                continue
            q.where.append(group)
            if p.word("OR"):
                group = []
                continue
            break
    if p.word("ORDER"):
        if not p.word("BY"):
            raise p.syntax("BY")
        while True:
            kind, name = p.take()
            if kind != "word":
                p.i -= 1
                raise p.syntax()
            desc = p.word("DESC")
            if not desc:
                p.word("ASC")
            q.order.append((name, desc))
            if not p.punct(","):
                break
    if p.word("LIMIT"):
        first = p.take()
        if first[0] != "num":
            p.i -= 1
            raise p.syntax()
        if p.punct(","):
            second = p.take()
            if second[0] != "num":
                p.i -= 1
                raise p.syntax()
            q.offset, q.limit = int(first[1]), int(second[1])
        else:
            q.limit = int(first[1])
    q.limit = min(q.limit, MAX_LIMIT)  # VTQL_Parser clamps any n > 100, also in `offset,n`
    if not p.punct(";"):
        raise p.syntax("SEMICOLON")
    if p.peek()[0] != "end":
        raise p.syntax()
    return q


def _cond(p: _Parser) -> Cond:
    kind, name = p.take()
    if kind != "word":
        p.i -= 1
        raise p.syntax()
    if p.word("IN"):
        if not p.punct("("):
            raise p.syntax("LPAREN")
        values = [p.value()]
        while p.punct(","):
            values.append(p.value())
        if not p.punct(")"):
            raise p.syntax("RPAREN")
        return Cond(name, "IN", tuple(values))
    if p.word("LIKE"):
        return Cond(name, "LIKE", p.value())
    kind, op = p.take()
    if kind != "op":
        p.i -= 1
        raise p.syntax()
    return Cond(name, "!=" if op == "<>" else op, p.value())


def check_fields(q: Query, known: Sequence[str]) -> None:
    """Raise ACCESS_DENIED for the first field `q` names that the module does not have."""
    names = [*(q.columns or []), *(c.field for g in q.where for c in g), *(f for f, _ in q.order)]
    for name in names:
        if name not in known:
            raise WsError("ACCESS_DENIED", f"Permission to access '.{name}.' attribute denied.")


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _key(v: Any) -> tuple[int, float, str]:
    s = "" if v is None else str(v)
    if _NUMBER.fullmatch(s):
        return (0, float(s), "")
    return (1, 0.0, s.lower())


def _test(row: dict[str, Any], c: Cond) -> bool:
    have = row.get(c.field)
    if c.op == "IN":
        assert isinstance(c.value, tuple)
        return have is not None and _key(have) in {_key(v) for v in c.value}
    assert isinstance(c.value, str)
    if c.op == "LIKE":
        pattern = "".join(
            ".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in c.value
        )
        return have is not None and re.fullmatch(pattern, str(have), re.I | re.S) is not None
    if have is None:
        return False
    a, b = _key(have), _key(c.value)
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda x, y: x == y,
        "!=": lambda x, y: x != y,
        "<": lambda x, y: x < y,
        ">": lambda x, y: x > y,
        "<=": lambda x, y: x <= y,
        ">=": lambda x, y: x >= y,
    }
    return ops[c.op](a, b)


def select(q: Query, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the `rows` matching `q`'s WHERE, in its ORDER BY order (no paging)."""
    hits = [r for r in rows if not q.where or any(all(_test(r, c) for c in g) for g in q.where)]
    for name, desc in reversed(q.order):
        hits.sort(key=lambda r, n=name: _key(r.get(n)), reverse=desc)  # type: ignore[misc]
    return hits


def shape_key(q: Query) -> str:
    """Return what identifies `q`'s selection (everything but LIMIT)."""
    return repr((q.module, q.where, q.order))


def run(q: Query, rows: list[dict[str, Any]], selected: bool = False) -> list[dict[str, Any]]:
    """Return `q` applied to `rows` (filter and order unless `selected`, then page, project)."""
    hits = rows if selected else select(q, rows)
    if q.count:
        # A real vtiger 8.4 answered `[]` to count(*).
        return []
    hits = hits[q.offset : q.offset + q.limit]
    if q.columns is None:
        return hits
    cols = [*q.columns, *(["id"] if "id" not in q.columns else [])]
    return [{c: r.get(c) for c in cols} for r in hits]
