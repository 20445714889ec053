"""The store's budget part: rounds waiting on a spent daily budget, and the alerts sent.

Mixed into `calsync.state.store.Store`; every method is one short committed transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from calsync.state import tables as t
from calsync.state.base import StoreBase, insert_new, upsert
from calsync.state.records import AlertRecord, BudgetWait

_WAITS = sa.select(t.budget_waits).order_by(t.budget_waits.c.user_name, t.budget_waits.c.api)
_WAITS_OF = _WAITS.where(t.budget_waits.c.user_name == sa.bindparam("u"))
"""Built once: every round reads its user's waits (building costs more than running)."""

PROJECT = ""
"""The alert's user name for the project's budget."""


def _wait(row: Any) -> BudgetWait:
    return BudgetWait(
        row.user_name,
        row.api,
        row.scope,
        row.day,
        int(row.budget_limit),
        row.stopped_at,
        row.stopped_in,
    )


def _alert(row: Any) -> AlertRecord:
    return AlertRecord(
        row.day,
        row.api,
        row.scope,
        row.user_name or None,
        row.percent,
        int(row.used),
        int(row.budget_limit),
        row.sent_at,
        bool(row.emailed),
    )


class BudgetsMixin(StoreBase):
    """Budget waits and alerts (see `BudgetWait`, `AlertRecord`)."""

    def set_budget_wait(self, wait: BudgetWait) -> None:
        """Record (or replace) that `wait.user`'s rounds of `wait.api` wait on a budget."""
        with self._tx() as conn:
            upsert(
                conn,
                t.budget_waits,
                {
                    "user_name": wait.user,
                    "api": wait.api,
                    "scope": wait.scope,
                    "day": wait.day,
                    "budget_limit": wait.limit,
                    "stopped_at": wait.stopped_at,
                    "stopped_in": wait.stopped_in,
                },
                ["user_name", "api"],
            )

    def budget_waits(self, user: str | None = None) -> list[BudgetWait]:
        """Return the waits of `user` (None: everyone's), by user and API."""
        if user is None:
            query, params = _WAITS, {}
        else:
            query, params = _WAITS_OF, {"u": user}
        with self._tx() as conn:
            return [_wait(r) for r in conn.execute(query, params)]

    def clear_budget_wait(self, user: str, api: str) -> None:
        """Forget that `user`'s rounds of `api` wait (the budget has room again)."""
        c = t.budget_waits.c
        with self._tx() as conn:
            conn.execute(t.budget_waits.delete().where(c.user_name == user, c.api == api))

    def claim_alert(self, alert: AlertRecord) -> bool:
        """Record `alert` unless the same one (day, API, budget, threshold) is recorded.

        Return True when this call recorded it: the caller sends it, and no other process
        will.
        """
        values = {
            "day": alert.day,
            "api": alert.api,
            "scope": alert.scope,
            "user_name": alert.user or PROJECT,
            "percent": alert.percent,
            "used": alert.used,
            "budget_limit": alert.limit,
            "sent_at": alert.sent_at,
            "emailed": False,
        }
        keys = ["day", "api", "scope", "user_name", "percent"]
        with self._tx() as conn:
            stmt = insert_new(conn, t.budget_alerts, values, keys)
            return conn.execute(stmt.returning(t.budget_alerts.c.day)).first() is not None

    def mark_alert_emailed(self, alert: AlertRecord) -> None:
        """Note that the email of `alert` went out."""
        c = t.budget_alerts.c
        with self._tx() as conn:
            conn.execute(
                t.budget_alerts.update()
                .where(
                    c.day == alert.day,
                    c.api == alert.api,
                    c.scope == alert.scope,
                    c.user_name == (alert.user or PROJECT),
                    c.percent == alert.percent,
                )
                .values(emailed=True)
            )

    def alerts_on(self, day: date) -> list[AlertRecord]:
        """Return the alerts sent for quota day `day`, the most recent first."""
        c = t.budget_alerts.c
        q = sa.select(t.budget_alerts).where(c.day == day).order_by(c.sent_at.desc(), c.percent)
        with self._tx() as conn:
            return [_alert(r) for r in conn.execute(q)]
