"""Field metadata of the emulated vtiger modules (Users, Events, Calendar) and `describe` output.

Defaults follow vtiger 8.4's `DefaultDataPopulator.php` and what a stock 8.4 install
answered (Calendar needs `time_start`, describe's visibility default is Private, event types
include "Mobile Call"); admins may flip the mandatory flag of any field at run time through
the control API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PREFIX = {"Calendar": "9", "Events": "18", "Users": "19"}
"""Webservice entity id of each module: record ids are `<prefix>x<crmid>`."""

MODULE_OF_PREFIX = {v: k for k, v in PREFIX.items()}

REFERENCE_FIELDS = frozenset({"assigned_user_id", "parent_id", "contact_id", "modifiedby"})
"""Fields holding ws ids: `null` in query results when empty, `""` in retrieve/create."""


@dataclass(frozen=True, slots=True)
class FieldDef:
    name: str
    label: str
    type: str
    """vtiger's type name: string, text, date, time, integer, picklist, owner, reference, ..."""
    mandatory: bool = False
    default: str = ""
    picklist: tuple[str, ...] = ()
    editable: bool = True
    unset: str | None = None
    """What a record that never got the field holds, when not describe's `default`."""


_EVENT_TYPES = ("Call", "Meeting", "Mobile Call")
_EVENT_STATUS = ("Planned", "Held", "Not Held")
_TASK_STATUS = ("Not Started", "In Progress", "Completed", "Pending Input", "Deferred", "Planned")
_PRIORITY = ("High", "Medium", "Low")
_RECUR = ("--None--", "Daily", "Weekly", "Monthly", "Yearly")
_VISIBILITY = ("Private", "Public")


def _common_head(end_mandatory: bool) -> list[FieldDef]:
    return [
        FieldDef("subject", "Subject", "string", mandatory=True),
        FieldDef("assigned_user_id", "Assigned To", "owner", mandatory=True),
        FieldDef("date_start", "Start Date & Time", "datetime", mandatory=True),
        # The stock 8.4 install refuses a to-do without time_start as well as an event.
        FieldDef("time_start", "Time Start", "time", mandatory=True),
        FieldDef("due_date", "Due Date", "date", mandatory=True),
        FieldDef("time_end", "End Time", "time", mandatory=end_mandatory),
    ]


def _common_tail() -> list[FieldDef]:
    return [
        FieldDef("location", "Location", "string"),
        FieldDef(
            "visibility",
            "Visibility",
            "picklist",
            default="Private",
            picklist=_VISIBILITY,
            unset="",
        ),
        FieldDef("description", "Description", "text"),
        FieldDef("reminder_time", "Send Reminder", "integer", default="0"),
        FieldDef("recurringtype", "Recurrence", "picklist", picklist=_RECUR),
        FieldDef("sendnotification", "Send Notification", "boolean", default="0"),
        FieldDef("taskpriority", "Priority", "picklist", picklist=_PRIORITY),
        FieldDef("parent_id", "Related To", "reference"),
        FieldDef("contact_id", "Contact Name", "reference"),
        FieldDef("notime", "No Time", "boolean", default="0"),
        FieldDef("createdtime", "Created Time", "datetime", editable=False),
        FieldDef("modifiedtime", "Modified Time", "datetime", editable=False),
        FieldDef("modifiedby", "Last Modified By", "reference", editable=False),
        FieldDef("source", "Source", "string", editable=False),
        FieldDef("starred", "Starred", "boolean", default="0"),
        FieldDef("tags", "tags", "string"),
    ]


def _events() -> list[FieldDef]:
    return [
        *_common_head(end_mandatory=True),
        FieldDef("duration_hours", "Duration", "integer", mandatory=True),
        FieldDef("duration_minutes", "Duration Minutes", "integer"),
        FieldDef(
            "eventstatus", "Status", "picklist", True, default="Planned", picklist=_EVENT_STATUS
        ),
        FieldDef("activitytype", "Activity Type", "picklist", True, picklist=_EVENT_TYPES),
        *_common_tail(),
    ]


def _calendar() -> list[FieldDef]:
    return [
        *_common_head(end_mandatory=False),
        FieldDef(
            "taskstatus", "Status", "picklist", True, default="Not Started", picklist=_TASK_STATUS
        ),
        FieldDef("eventstatus", "Event Status", "picklist", picklist=_EVENT_STATUS),
        FieldDef("activitytype", "Activity Type", "picklist", picklist=("Task", *_EVENT_TYPES)),
        FieldDef("duration_hours", "Duration", "integer"),
        FieldDef("duration_minutes", "Duration Minutes", "integer"),
        *_common_tail(),
    ]


def _users() -> list[FieldDef]:
    return [
        FieldDef("user_name", "User Name", "string", mandatory=True),
        FieldDef("first_name", "First Name", "string"),
        FieldDef("last_name", "Last Name", "string", mandatory=True),
        FieldDef("email1", "Email", "email", mandatory=True),
        FieldDef("status", "Status", "picklist", default="Active", picklist=("Active", "Inactive")),
        FieldDef("is_admin", "Admin", "boolean", default="off"),
        FieldDef("time_zone", "Time Zone", "picklist", default="UTC"),
        FieldDef("language", "Language", "picklist", default="en_us"),
        FieldDef("date_format", "Date Format", "picklist", default="yyyy-mm-dd"),
        FieldDef("hour_format", "Calendar Hour Format", "picklist", default="24"),
    ]


FIELDS: dict[str, tuple[FieldDef, ...]] = {
    "Events": tuple(_events()),
    "Calendar": tuple(_calendar()),
    "Users": tuple(_users()),
}

LABELS = {"Events": "Events", "Calendar": "Calendar", "Users": "Users"}
SINGULAR = {"Events": "Event", "Calendar": "To Do", "Users": "User"}


def field_names(module: str) -> list[str]:
    """Return the fields a record of `module` carries, `id` and `label` included."""
    names = [f.name for f in FIELDS[module]]
    return [*names, "id"] if module == "Users" else [*names, "id", "label"]


def mandatory_fields(module: str, overrides: dict[tuple[str, str], bool]) -> list[str]:
    """Return the mandatory fields of `module` after the admin's changes (`overrides`)."""
    out = []
    for f in FIELDS[module]:
        if overrides.get((module, f.name), f.mandatory):
            out.append(f.name)
    return out


def _type(f: FieldDef) -> dict[str, Any]:
    t: dict[str, Any] = {"name": f.type}
    if f.type == "picklist":
        t["picklistValues"] = [{"label": v, "value": v} for v in f.picklist]
        t["defaultValue"] = f.default or (f.picklist[0] if f.picklist else "")
    elif f.type == "date":
        t["format"] = "yyyy-mm-dd"
    elif f.type == "reference":
        t["refersTo"] = ["Contacts"] if f.name == "contact_id" else ["Accounts", "Leads"]
        if f.name == "modifiedby":
            t["refersTo"] = ["Users"]
    return t


def describe(module: str, overrides: dict[tuple[str, str], bool], admin: bool) -> dict[str, Any]:
    """Return `describe`'s result for `module`, shaped as vtiger answers it."""
    mandatory = set(mandatory_fields(module, overrides))
    fields = [
        {
            "name": f.name,
            "label": f.label,
            "mandatory": f.name in mandatory,
            "type": _type(f),
            "isunique": False,
            "nullable": f.name not in mandatory,
            "editable": f.editable,
            "default": f.default,
        }
        for f in FIELDS[module]
    ]
    fields.append(
        {
            "name": "id",
            "label": f"{module} ID",
            "mandatory": False,
            "type": {"name": "autogenerated"},
            "editable": False,
            "nullable": False,
            "default": "",
        }
    )
    writable = module != "Users" or admin
    return {
        "label": LABELS[module],
        "name": module,
        "createable": module != "Users",
        "updateable": writable,
        "deleteable": writable,
        "retrieveable": True,
        "fields": fields,
        "idPrefix": PREFIX[module],
        "isEntity": True,
        "allowDuplicates": True,
        "labelFields": "user_name" if module == "Users" else "subject",
    }
