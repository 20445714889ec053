"""Google's endpoints: the one place their default addresses are written.

Settings (`CALSYNC_GOOGLE_API_URL`, `CALSYNC_GOOGLE_AUTH_URL`, `CALSYNC_GOOGLE_TOKEN_URL`)
default to these and may point at the emulator instead; every other module takes the URLs
from the settings it is handed. The revoke endpoint sits next to the token endpoint.
"""

from __future__ import annotations

API_URL = "https://www.googleapis.com"
"""Base of the Calendar v3 and Tasks v1 APIs."""
AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
"""OAuth 2.0 consent page (Google's current authorization endpoint)."""
TOKEN_URL = "https://oauth2.googleapis.com/token"
"""OAuth 2.0 token endpoint (code exchange, refresh)."""


def revoke_url_for(token_url: str) -> str:
    """Return the revoke endpoint next to `token_url` (Google: `.../token` -> `.../revoke`)."""
    base = token_url.rstrip("/")
    return (base[: -len("/token")] if base.endswith("/token") else base) + "/revoke"
