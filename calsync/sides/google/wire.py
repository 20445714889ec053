"""Pydantic models of Google's JSON (Calendar v3 events, calendar list, Tasks v1 tasks).

Field names are snake_case with Google's camelCase as aliases. Reading is lenient (unknown
fields are kept, odd values do not fail a whole listing); `dump()` writes only the fields that
were set, so a field set to None goes out as JSON null, which is how PATCH clears it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Wire(BaseModel):
    """Base of the wire models: camelCase aliases, extra fields kept."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    def dump(self) -> dict[str, Any]:
        """Return the JSON body: aliases, set fields only (None set explicitly -> null)."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


class EventDateTime(Wire):
    """`start`/`end`/`originalStartTime`: `{date}` (all-day) or `{dateTime[, timeZone]}`."""

    date: str | None = None
    date_time: str | None = None
    time_zone: str | None = None


class ReminderOverride(Wire):
    method: str = "popup"
    minutes: int = 0


class Reminders(Wire):
    use_default: bool = False
    overrides: list[ReminderOverride] | None = None


class EventAttendee(Wire):
    email: str = ""
    display_name: str | None = None
    response_status: str | None = None
    optional: bool | None = None
    organizer: bool | None = None
    resource: bool | None = None
    is_self: bool | None = Field(default=None, alias="self")


class ExtendedProperties(Wire):
    private: dict[str, str] | None = None
    shared: dict[str, str] | None = None


class GoogleEvent(Wire):
    """A Calendar v3 Event resource (the fields calsync reads or writes, plus any others)."""

    id: str | None = None
    etag: str | None = None
    status: str | None = None
    summary: str | None = None
    description: str | None = None
    location: str | None = None
    start: EventDateTime | None = None
    end: EventDateTime | None = None
    visibility: str | None = None
    transparency: str | None = None
    reminders: Reminders | None = None
    attendees: list[EventAttendee] | None = None
    recurrence: list[str] | None = None
    extended_properties: ExtendedProperties | None = None
    organizer: EventAttendee | None = None
    updated: str | None = None
    recurring_event_id: str | None = None
    original_start_time: EventDateTime | None = None
    ical_uid: str | None = Field(default=None, alias="iCalUID")


class GoogleEvents(Wire):
    """An events.list page."""

    items: list[GoogleEvent] = Field(default_factory=list)
    next_page_token: str | None = None
    next_sync_token: str | None = None
    time_zone: str | None = None
    default_reminders: list[ReminderOverride] | None = None


class CalendarListEntry(Wire):
    id: str
    summary: str | None = None
    summary_override: str | None = None
    access_role: str | None = None
    primary: bool | None = None
    time_zone: str | None = None
    deleted: bool | None = None
    hidden: bool | None = None


class GoogleTask(Wire):
    """A Tasks v1 Task resource."""

    id: str | None = None
    etag: str | None = None
    title: str | None = None
    notes: str | None = None
    status: str | None = None
    due: str | None = None
    completed: str | None = None
    updated: str | None = None
    deleted: bool | None = None
    hidden: bool | None = None
    parent: str | None = None


class TaskList(Wire):
    id: str
    title: str | None = None
    updated: str | None = None
