"""vtiger 8.4 webservice emulator (`/webservice.php`) on SQLite, with a control API for tests.

Public API: `create_app(db=None, *, php7=False, utf8mb4=False)`; run it with
`python -m calsync.emulators.vtiger --host 127.0.0.1 --port P [--db FILE] [--php7] [--utf8mb4]`.
The defaults are a stock vtiger 8.4 on PHP 8 (`--php8`, accepted, is the default).
"""

from calsync.emulators.vtiger.app import create_app

__all__ = ["create_app"]
