"""The application layer: what the web app, the CLI and the job runners call.

`rounds`: one sync round per user, isolated from every other user's (`SyncService`,
`UserReport`, `UserStatus`).
"""

from calsync.service.rounds import SyncService, UserReport, UserStatus

__all__ = ["SyncService", "UserReport", "UserStatus"]
