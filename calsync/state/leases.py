"""Per-user leases: the fencing token that keeps a round which lost its lock from writing.

The per-user lock (calsync.state.locks) says who may start a round; it can be lost without
its holder noticing (a dropped connection releases a PostgreSQL advisory lock, and then a
second round starts). So whoever takes the lock also takes the user's lease: one row per user
whose `generation` goes up by one at every takeover and is never reset. A round keeps the
generation it took and proves it inside the transaction of every state commit
(`UPDATE ... WHERE generation = ours`); once a later round has taken over, the proof matches
no row and the commit is refused with `LeaseLost`, so the first round writes nothing more.
On PostgreSQL the proving UPDATE row-locks the lease until the commit, so a takeover waits
for a commit in flight and the two never interleave.

Public API: `take(conn, user, holder, now) -> generation`, `prove(conn, user, generation,
now) -> bool`, `give_up(conn, user, generation)`.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from calsync.state import tables as t
from calsync.state.base import upsert


def take(conn: sa.Connection, user: str, holder: str, now: datetime) -> int:
    """Take over `user`'s lease (whoever held it) and return the new generation."""
    row = {
        "user_name": user,
        "generation": 1,
        "holder": holder,
        "acquired_at": now,
        "proved_at": now,
    }
    generation = upsert(conn, t.leases, row, ["user_name"], increment="generation").scalar()
    assert generation is not None
    return int(generation)


_PROVE = (
    t.leases.update()
    .where(t.leases.c.user_name == sa.bindparam("u"), t.leases.c.generation == sa.bindparam("g"))
    .values(proved_at=sa.bindparam("at"))
)
_GIVE_UP = (
    t.leases.update()
    .where(t.leases.c.user_name == sa.bindparam("u"), t.leases.c.generation == sa.bindparam("g"))
    .values(holder=None)
)
"""Built once: every commit of a round proves its lease, and building a statement costs more
than running it."""


def prove(conn: sa.Connection, user: str, generation: int, now: datetime) -> bool:
    """Return True when `generation` is still `user`'s lease (and note the proof's time)."""
    result = conn.execute(_PROVE, {"u": user, "g": generation, "at": now})
    return result.rowcount == 1


def give_up(conn: sa.Connection, user: str, generation: int) -> None:
    """Mark `user`'s lease free, if `generation` still holds it (the generation stays)."""
    conn.execute(_GIVE_UP, {"u": user, "g": generation})
