"""The state store: SQLAlchemy tables, Alembic migrations and the `Store` the engine and app use.

Public API: `Store`, `migrate(url)`, the records (`UserRecord`, `GoogleLink`, `LinkStatus`,
`Role`, `SyncRun`, `SettingInfo`, `SettingKey`, `LockInfo`, `PushChannel`) and errors
(`StoreError`, `UnknownUser`, `UserExists`, `UserBusy`, `WrongKey`).
"""

from calsync.state.crypto import Secrets, WrongKey
from calsync.state.migrate import migrate
from calsync.state.records import (
    GoogleLink,
    LinkStatus,
    LockInfo,
    PushChannel,
    Role,
    SettingInfo,
    SettingKey,
    StoreError,
    SyncRun,
    UnknownUser,
    UserBusy,
    UserExists,
    UserRecord,
)
from calsync.state.store import Store

__all__ = [
    "GoogleLink",
    "LinkStatus",
    "LockInfo",
    "PushChannel",
    "Role",
    "Secrets",
    "SettingInfo",
    "SettingKey",
    "Store",
    "StoreError",
    "SyncRun",
    "UnknownUser",
    "UserBusy",
    "UserExists",
    "UserRecord",
    "WrongKey",
    "migrate",
]
