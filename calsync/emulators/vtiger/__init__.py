"""vtiger 8.4 webservice emulator (`/webservice.php`) on SQLite, with a control API for tests.

Public API: `create_app(db=None, php8=False)`; run it with
`python -m calsync.emulators.vtiger --host 127.0.0.1 --port P [--db FILE] [--php8]`.
"""

from calsync.emulators.vtiger.app import create_app

__all__ = ["create_app"]
