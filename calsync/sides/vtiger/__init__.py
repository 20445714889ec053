"""vtiger CRM side: webservice client, field mapping and the Side implementations.

Public API: `VtigerClient`, `VtigerEventsSide`, `VtigerTasksSide`, `ApplicationFeed`,
`VTIGER_IGNORED_FIELDS`, `vtiger_projection`.
"""

from calsync.sides.vtiger.client import SyncResult, VtigerClient
from calsync.sides.vtiger.feed import ApplicationFeed
from calsync.sides.vtiger.mapping import VTIGER_IGNORED_FIELDS, vtiger_projection
from calsync.sides.vtiger.side import VtigerEventsSide, VtigerTasksSide

__all__ = [
    "VTIGER_IGNORED_FIELDS",
    "ApplicationFeed",
    "SyncResult",
    "VtigerClient",
    "VtigerEventsSide",
    "VtigerTasksSide",
    "vtiger_projection",
]
