"""A hypothesis state machine: a client mirroring a calendar through full and incremental
syncs (paging included) always ends up equal to the calendar, whatever edits happen between."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from .inproc import InProc

EV = "/calendar/v3/calendars/primary/events"
IDS = st.sampled_from([f"ev{i:02d}00" for i in range(12)])


class SyncMachine(RuleBasedStateMachine):
    """Random inserts, patches, deletes and syncs against one emulator calendar."""

    def __init__(self) -> None:
        super().__init__()
        self.g = InProc()
        self.mirror: dict[str, dict[str, Any]] = {}
        self.token: str | None = None
        self.page_size = 3

    def _list(self, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            status, page = self.g.call("GET", EV + "?" + urlencode(params))
            assert status == 200, page
            items += page["items"]
            if "nextPageToken" in page:
                params["pageToken"] = page["nextPageToken"]
                continue
            assert "nextSyncToken" in page
            self.token = page["nextSyncToken"]
            return items

    @rule(event_id=IDS, day=st.integers(1, 28), all_day=st.booleans())
    def insert(self, event_id: str, day: int, all_day: bool) -> None:
        when: dict[str, Any] = (
            {"start": {"date": f"2025-05-{day:02d}"}, "end": {"date": f"2025-05-{day + 1:02d}"}}
            if all_day
            else {
                "start": {"dateTime": f"2025-05-{day:02d}T10:00:00Z"},
                "end": {"dateTime": f"2025-05-{day:02d}T11:00:00Z"},
            }
        )
        status, _ = self.g.call("POST", EV, {"id": event_id, "summary": "s", **when})
        assert status in (200, 409)

    @rule(event_id=IDS, text=st.text(max_size=5))
    def patch(self, event_id: str, text: str) -> None:
        status, _ = self.g.call("PATCH", f"{EV}/{quote(event_id)}", {"summary": text})
        assert status in (200, 404)

    @rule(event_id=IDS)
    def delete(self, event_id: str) -> None:
        status, _ = self.g.call("DELETE", f"{EV}/{quote(event_id)}")
        assert status in (204, 404, 410)

    @rule(size=st.integers(1, 5))
    def sync(self, size: int) -> None:
        if self.token is None:
            self.mirror = {e["id"]: e for e in self._list(maxResults=size)}
            return
        for item in self._list(maxResults=size, syncToken=self.token):
            if item["status"] == "cancelled":
                self.mirror.pop(item["id"], None)
            else:
                self.mirror[item["id"]] = item

    @invariant()
    def mirror_matches_after_sync(self) -> None:
        if self.token is None:
            return
        self.sync(2)
        full = {e["id"]: e for e in self._list(maxResults=250)}
        assert self.mirror == full


TestSyncMachine = SyncMachine.TestCase
TestSyncMachine.settings = settings(max_examples=15, stateful_step_count=12, deadline=None)
