"""Read-only access to the two tables of vtiger's database that link a series' occurrences.

The webservice never shows them; an admin may give calsync a read-only connection to vtiger's
database (`vtiger_db_url`, any SQLAlchemy URL: `mysql+pymysql://reader@host/vtiger` for the
MariaDB vtiger runs on, given that driver; `sqlite:///...` for the emulator's `--db` file,
opened read-only). Only SELECTs on `vtiger_activity_recurring_info` (parent id, occurrence id)
and `vtiger_recurringevents` (the rule, one row per occurrence) are ever sent.

Public API: `SeriesTables(url)` with `series_of(crmids)`, `members(parents)`, `rules(crmids)`.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa

from calsync.errors import AdapterError
from calsync.sides.vtiger.series import RuleRow

_LOGGER = logging.getLogger(__name__)
_CHUNK = 500


def _engine(url: str) -> sa.Engine:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        path = parsed.database

        def connect() -> sqlite3.Connection:
            return sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

        return sa.create_engine("sqlite://", creator=connect)
    return sa.create_engine(url, pool_pre_ping=True)


def _day(value: object) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    items = sorted(set(ids))
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


class SeriesTables:
    """vtiger's series tables, read through one read-only connection."""

    def __init__(self, url: str) -> None:
        self.engine = _engine(url)

    def _rows(self, sql: str, ids: list[int]) -> list[tuple[Any, ...]]:
        stmt = sa.text(sql).bindparams(sa.bindparam("ids", expanding=True))
        try:
            with self.engine.connect() as conn:
                return [tuple(row) for row in conn.execute(stmt, {"ids": ids})]
        except sa.exc.SQLAlchemyError as err:
            raise AdapterError(f"vtiger database: {err.__class__.__name__}: {err}") from err

    def series_of(self, crmids: Iterable[int]) -> dict[int, int]:
        """Return occurrence crmid -> its series' parent crmid, for those that have one."""
        out: dict[int, int] = {}
        for chunk in _chunks(crmids):
            for parent, child in self._rows(
                "SELECT activityid, recurrenceid FROM vtiger_activity_recurring_info"
                " WHERE recurrenceid IN :ids",
                chunk,
            ):
                out[int(str(child))] = int(str(parent))
        return out

    def members(self, parents: Iterable[int]) -> dict[int, list[int]]:
        """Return parent crmid -> the crmids of every occurrence linked to it."""
        out: dict[int, list[int]] = {}
        for chunk in _chunks(parents):
            for parent, child in self._rows(
                "SELECT activityid, recurrenceid FROM vtiger_activity_recurring_info"
                " WHERE activityid IN :ids",
                chunk,
            ):
                out.setdefault(int(str(parent)), []).append(int(str(child)))
        return out

    def rules(self, crmids: Iterable[int]) -> dict[int, RuleRow]:
        """Return crmid -> its `vtiger_recurringevents` row, for those that still have one."""
        out: dict[int, RuleRow] = {}
        for chunk in _chunks(crmids):
            for act, day, kind, freq, info, end in self._rows(
                "SELECT activityid, recurringdate, recurringtype, recurringfreq, recurringinfo,"
                " recurringenddate FROM vtiger_recurringevents WHERE activityid IN :ids",
                chunk,
            ):
                start = _day(day)
                if start is None:
                    continue
                try:
                    every = int(str(freq or 1))
                except ValueError:
                    continue
                out[int(str(act))] = RuleRow(
                    str(kind or ""), every, str(info or ""), start, _day(end)
                )
        return out
