"""The calsync web app: sign-in, admin settings, each user's sync page, OAuth, health, metrics.

Public API: `create_app`, `create_admin`, `ensure_admin`, and the protocols in
`calsync.web.services` that the app needs from the store, the sync service and the CRM.
"""

from calsync.web.app import create_app
from calsync.web.security import create_admin, ensure_admin

__all__ = ["create_admin", "create_app", "ensure_admin"]
