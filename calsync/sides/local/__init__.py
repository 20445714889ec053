"""The embedded CRM calendar (SQLite): users, events, to-dos with a change sequence.

Public API: `LocalCrm` (admin functions, `events_side`, `tasks_side`), `LocalSide`, `CrmUser`,
`LocalCrmError`, `seed_demo`, `DEMO_USERS`.
"""

from calsync.sides.local.crm import CrmUser, LocalCrm, LocalCrmError
from calsync.sides.local.demo import DEMO_USERS, seed_demo
from calsync.sides.local.side import LocalSide

__all__ = ["DEMO_USERS", "CrmUser", "LocalCrm", "LocalCrmError", "LocalSide", "seed_demo"]
