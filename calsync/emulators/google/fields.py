"""Partial responses: the `fields` query parameter, e.g. `items(id,etag),nextPageToken`."""

from __future__ import annotations

from typing import Any

from calsync.emulators.google.errors import ApiError

Selection = dict[str, "Selection | None"]
"""Field name -> sub-selection; None keeps the whole value."""


def _bad() -> ApiError:
    return ApiError(
        400,
        "invalidParameter",
        "Invalid field selection",
        domain="global",
        location="fields",
        location_type="parameter",
    )


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise _bad()
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if depth != 0:
        raise _bad()
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def _add(sel: Selection, path: list[str], sub: Selection | None) -> None:
    head, rest = path[0], path[1:]
    if not head:
        raise _bad()
    if not rest:
        existing = sel.get(head, {}) if head in sel else {}
        if sub is None or existing is None:
            sel[head] = None
        else:
            sel[head] = {**existing, **sub}
        return
    child = sel.get(head, {})
    if child is None:
        return  # already whole
    if head not in sel:
        sel[head] = child
    _add(child, rest, sub)


def parse(text: str) -> Selection:
    """Parse a `fields` value into a selection tree; raise 400 on bad syntax."""
    sel: Selection = {}
    for part in _split_top(text):
        sub: Selection | None = None
        if part.endswith(")"):
            open_at = part.find("(")
            if open_at <= 0:
                raise _bad()
            sub = parse(part[open_at + 1 : -1])
            part = part[:open_at]
        _add(sel, part.split("/"), sub)
    return sel


def apply(value: Any, sel: Selection | None) -> Any:
    """Return `value` reduced to the selection (lists apply it to each element)."""
    if sel is None or "*" in sel:
        return value
    if isinstance(value, list):
        return [apply(v, sel) for v in value]
    if not isinstance(value, dict):
        return value
    return {k: apply(value[k], sub) for k, sub in sel.items() if k in value}
