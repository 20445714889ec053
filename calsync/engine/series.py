"""Whether an occurrence of a CRM series may start a new recurring event on Google.

A CRM that keeps a series as one record per occurrence (vtiger) hands each occurrence over
with the series it recovered (`Event.series`), and Google writes the occurrences as instances
of one recurring event. A new recurring event may only be made for a series none of whose
occurrences is linked yet: occurrences already linked to single events (synced before series
were recovered, or when the series was not certain) stay so, and a new recurring event beside
them would show those occurrences twice. Occurrences of a series that is linked join the
recurring event Google already holds, or stay single when there is none.

The series' link key goes along: the recurring event keeps it, so its instances are known
as copies of CRM occurrences (an instance whose occurrence is not linked, say one outside the
sync window that vtiger deleted, is never taken for a new Google event to copy into vtiger).

Public API: `mark_fresh(actions, pairs)`. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from calsync.engine.actions import Action, Create, SideName, crm_key
from calsync.engine.pairs import Pair
from calsync.model import Event


def mark_fresh(actions: Sequence[Action], pairs: Sequence[Pair]) -> list[Action]:
    """Return `actions` with each Google create of a series occurrence told whether the series
    is fresh (none of its occurrences linked by a stored pair before this round) and the
    series' own link key."""
    linked = {p.crm_id for p in pairs if p.crm_id and p.google_id}
    out: list[Action] = []
    for a in actions:
        item = a.item if isinstance(a, Create) else None
        if isinstance(a, Create) and a.side is SideName.GOOGLE and isinstance(item, Event):
            link = item.series
            if link is not None:
                fresh = not any(m in linked for m in link.members)
                series = dataclasses.replace(link, fresh=fresh, key=crm_key(link.id))
                a = dataclasses.replace(a, item=item.with_(series=series))
        out.append(a)
    return out
