"""Events that move between the user's synced Google calendars: one item, its pair follows.

An event moved to another chosen calendar (Google's `events.move` keeps its id; a delete and
a re-create there keeps its iCalUID) is still the same event: the CRM keeps its one copy and
the pair's scope becomes the new calendar. Whichever calendar's round sees the move first
settles it:

- **arrival**: the destination's round lists an event whose id (or the id it was first made
  under, `Remote.first_id`) is the Google id of a pair of another calendar. The planner
  leaves it to `arrivals`, which asks that calendar whether it still holds the event: gone
  from there, the pair moves here and is planned as any pair (the CRM copy read by id);
  still there, it is the same meeting shown in two calendars, and nothing is created.
- **departure**: the source's round finds the pair's Google copy gone. Before the CRM copy
  is deleted (or an edit re-creates the event here), `departures` asks the Google side where
  the event went; found in another synced calendar, the pair moves there instead.

An event moved to a calendar that is not synced has left what the user syncs: the CRM sees a
deletion, as for any event deleted on Google (and "edit beats delete" keeps a CRM edit).

Public API: `Arrival`, `arrivals(actions, ctx, google)`, `departures(actions, google)`. The
only I/O is through the `MovableSide` protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from calsync.engine.actions import Action, Create, Delete, Link, Note, SideName, Skip
from calsync.engine.cases import plan_pair
from calsync.engine.changes import Seen, View
from calsync.engine.policy import PlanContext
from calsync.sides.base import MovableSide, Remote, Side, offers

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Arrival(Action):
    """A listed Google event that may have moved here from the calendar of `before`'s pair;
    settled by `arrivals` before anything is read or written."""

    google: Remote[Any] | None = None
    verb: ClassVar[str] = "arrival"


def arrivals(actions: Sequence[Action], ctx: PlanContext, google: Side[Any]) -> list[Action]:
    """Return `actions` with each Arrival settled: a move here, or the same event elsewhere."""
    out: list[Action] = []
    for a in actions:
        if not isinstance(a, Arrival):
            out.append(a)
            continue
        pair, remote = a.before, a.google
        assert pair is not None and remote is not None and pair.google_id is not None
        movable = offers(google, MovableSide)
        still = (
            cast(MovableSide[Any], google).get_in(pair.scope, pair.google_id) if movable else None
        )
        if still is not None or not movable:
            out.append(Skip(a.key, reason=f"also in calendar {pair.scope}, linked there"))
            continue
        moved = pair.with_(scope=ctx.scope, google_id=remote.id)
        out.append(Link(a.key, before=pair, row=moved))
        out.append(_note(a.key, pair.scope, ctx.scope, remote))
        out.extend(plan_pair(ctx, moved, View(Seen.FETCH), View(Seen.PRESENT, remote)))
    return out


def departures(actions: Sequence[Action], google: Side[Any]) -> list[Action]:
    """Return `actions` with each deletion (or re-creation) caused by a Google copy gone from
    this calendar replaced by a move of the pair, when the event lives on in another one."""
    if not offers(google, MovableSide):
        return list(actions)
    movable = cast(MovableSide[Any], google)
    out: list[Action] = []
    for a in actions:
        pair = a.before
        gone_from_google = (isinstance(a, Delete) and a.side is SideName.CRM) or (
            isinstance(a, Create) and a.side is SideName.GOOGLE
        )
        if not gone_from_google or pair is None or pair.google_id is None:
            out.append(a)
            continue
        found = movable.locate(pair.google_id)
        if found is None:
            out.append(a)
            continue
        scope, remote = found
        # The etag is left unknown: the destination's round compares the content it lists
        # with the hash kept here, so an edit made along with the move still travels.
        moved = pair.with_(scope=scope, google_id=remote.id, google_etag=None)
        out.append(Link(a.key, before=pair, row=moved))
        out.append(_note(a.key, pair.scope, scope, remote))
    return out


def _note(key: str, source: str, dest: str, remote: Remote[Any]) -> Note:
    title = getattr(remote.item, "title", "")
    message = f"moved on Google from calendar {source} to {dest}; the CRM keeps its one copy"
    _LOGGER.info("%s: %s", key, message)
    return Note(key, what="move", message=message, title=title)
