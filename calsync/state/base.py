"""What the parts of the `Store` share: the engine, the secrets, the clock, upserts.

Every app-facing method runs in its own short transaction (`_tx`), committed on return.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from calsync.state.crypto import Secrets


def upsert(
    conn: sa.Connection,
    table: sa.Table,
    values: dict[str, Any],
    keys: Sequence[str],
    *,
    increment: str | None = None,
) -> sa.CursorResult[Any]:
    """Insert `values`, or update the row with the same `keys` columns, in one statement.

    With `increment`, that column is added to the stored value instead of replacing it (an
    atomic counter); the statement then returns the new value.
    """
    stmt = _upsert_statement(conn.dialect.name, table, tuple(keys), tuple(values), increment)
    return conn.execute(stmt, values)


@functools.lru_cache(maxsize=128)
def _upsert_statement(
    dialect: str,
    table: sa.Table,
    keys: tuple[str, ...],
    columns: tuple[str, ...],
    increment: str | None = None,
) -> Any:
    """Return the upsert of rows with `columns` into `table`, its values bound per row.

    Built once per table and set of columns: building a statement costs more than running it.
    """
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(f"no upsert for the {dialect} backend")
    changes = {c: stmt.excluded[c] for c in columns if c not in keys}
    if increment is not None:
        changes[increment] = table.c[increment] + stmt.excluded[increment]
        stmt = stmt.on_conflict_do_update(index_elements=list(keys), set_=changes)
        return stmt.returning(table.c[increment])
    if changes:
        return stmt.on_conflict_do_update(index_elements=list(keys), set_=changes)
    return stmt.on_conflict_do_nothing(index_elements=list(keys))


def upsert_many(
    conn: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert each of `rows`, or update the row with the same `keys` columns: one statement
    built once per table and set of columns, executed for all rows at once."""
    if not rows:
        return
    stmt = _upsert_statement(conn.dialect.name, table, tuple(keys), tuple(rows[0]))
    conn.execute(stmt, list(rows))


def insert_new(
    conn: sa.Connection, table: sa.Table, values: dict[str, Any], keys: Sequence[str]
) -> Any:
    """Return an INSERT of `values` that does nothing when a row with the same `keys` exists
    (add `.returning(...)` to learn whether it inserted)."""
    name = conn.dialect.name
    if name == "postgresql":
        return (
            postgresql.insert(table)
            .values(**values)
            .on_conflict_do_nothing(index_elements=list(keys))
        )
    if name == "sqlite":
        return (
            sqlite.insert(table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
        )
    raise NotImplementedError(f"no insert-if-new for the {name} backend")  # pragma: no cover


class StoreBase:
    """Shared state of the store's parts (see `calsync.state.store.Store`)."""

    _engine: sa.Engine
    _secrets: Secrets
    _now: Callable[[], datetime]

    @contextmanager
    def _tx(self) -> Iterator[sa.Connection]:
        """Yield a connection in a transaction committed on success, rolled back on error."""
        with self._engine.begin() as conn:
            yield conn

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine (for tests and maintenance tools; prefer the methods)."""
        return self._engine
