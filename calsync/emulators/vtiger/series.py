"""Series as vtiger's UI saves them (modules/Calendar/RepeatEvents.php): one Events record per
occurrence, each a copy of the first with only `date_start` and `due_date` moved (times of
day, duration, subject, description, `recurringtype` and the rest are copied as they are),
linked in `vtiger_activity_recurring_info`, with a rule row per occurrence in
`vtiger_recurringevents`. The webservice never reads those two tables.

Public API: `occurrences(fields, rule_type, interval, count) -> (records' fields, SeriesRule)`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule

from calsync.emulators.vtiger.store import SeriesRule

FREQS: dict[str, Literal[0, 1, 2, 3]] = {
    "Daily": DAILY,
    "Weekly": WEEKLY,
    "Monthly": MONTHLY,
    "Yearly": YEARLY,
}
MAX_OCCURRENCES = 500
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _info(rule_type: str, first: date) -> str:
    """Return `recurringinfo` as vtiger writes it for a rule starting on `first`."""
    if rule_type == "Weekly":
        return f"Weekly::{_DAYS[first.weekday()]}"
    if rule_type == "Monthly":
        return f"Monthly::date::{first.day}"
    return rule_type


def occurrences(
    fields: dict[str, str], rule_type: str, interval: int, count: int
) -> tuple[list[dict[str, str]], SeriesRule]:
    """Return the fields of each occurrence of the series whose first occurrence is `fields`.

    Dates step in the database's zone (UTC), as the stored `date_start` does; every other
    field is the first occurrence's. ValueError for an unknown type or a bad count.
    """
    if rule_type not in FREQS:
        raise ValueError("rule type must be Daily, Weekly, Monthly or Yearly")
    if not 1 <= count <= MAX_OCCURRENCES or interval < 1:
        raise ValueError(f"count must be 1..{MAX_OCCURRENCES} and interval at least 1")
    first = date.fromisoformat(fields["date_start"])
    span = date.fromisoformat(fields.get("due_date") or fields["date_start"]) - first
    starts = rrule(
        FREQS[rule_type],
        dtstart=datetime.combine(first, datetime.min.time()),
        interval=interval,
        count=count,
    )
    out = []
    for start in starts:
        day = start.date()
        out.append(
            {
                **fields,
                "recurringtype": rule_type,
                "date_start": day.isoformat(),
                "due_date": (day + span).isoformat(),
            }
        )
    return out, SeriesRule(rule_type, interval, _info(rule_type, first))


__all__ = ["FREQS", "MAX_OCCURRENCES", "occurrences"]
