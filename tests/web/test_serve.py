"""`calsync serve` as a real process: the public URL setting drives the OAuth redirect URI and
the Secure cookie flag; X-Forwarded-For is not taken from an untrusted peer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from calsync.emulators.server import free_port
from calsync.web.serve import public_base_url

PUBLIC = "https://calsync.example.com"
ADMIN_PASSWORD = "serve-admin-pass"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _calsync(*args: str) -> list[str]:
    return [sys.executable, "-c", "from calsync.cli import app; app()", *args]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """`calsync serve` on a free port with CALSYNC_PUBLIC_URL=https://calsync.example.com."""
    env = {
        **os.environ,
        "CALSYNC_DATA_DIR": str(tmp_path),
        "CALSYNC_SECRET_KEY": "serve-test-key",
        "CALSYNC_PUBLIC_URL": PUBLIC,
        "CALSYNC_GOOGLE_CLIENT_ID": "cid.apps.example",
        "CALSYNC_GOOGLE_CLIENT_SECRET": "secret",
        "CALSYNC_CONFIG": "",
    }
    env.pop("CALSYNC_DATABASE_URL", None)
    subprocess.run(
        _calsync("users", "create-admin", "--password", ADMIN_PASSWORD),
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    port = free_port()
    proc = subprocess.Popen(
        _calsync("serve", "--host", "127.0.0.1", "--port", str(port)),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(400):  # wait for the port; not a timing assertion
            try:
                httpx.get(url + "/healthz")
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _session_cookie(response: httpx.Response) -> tuple[str, set[str]]:
    """Return the session cookie as `name=value` and its attribute names."""
    header = next(v for k, v in response.headers.multi_items() if k == "set-cookie")
    pair, *attributes = header.split(";")
    return pair, {a.strip().split("=")[0].lower() for a in attributes}


def test_serve_uses_the_public_url_for_the_cookie_and_the_redirect_uri(served: str) -> None:
    """Served behind https://calsync.example.com: the session cookie is Secure and Google is
    sent back to https://calsync.example.com/oauth/callback, not to the bind address."""
    # The cookie is Secure, so an http client would not send it back: carry it by hand.
    client = httpx.Client(base_url=served, follow_redirects=False, timeout=20)
    first = client.get("/login")
    cookie, attributes = _session_cookie(first)
    assert "secure" in attributes
    client.cookies.clear()
    token = _CSRF.search(first.text).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/login",
        data={"username": "admin", "password": ADMIN_PASSWORD, "csrf_token": token},
        headers={"cookie": cookie},
    )
    assert r.status_code == 303, r.text
    cookie, attributes = _session_cookie(r)
    assert "secure" in attributes
    client.cookies.clear()
    admin = client.get("/admin", headers={"cookie": cookie})
    assert f'value="{PUBLIC}/oauth/callback"' in admin.text
    token = _CSRF.search(admin.text).group(1)  # type: ignore[union-attr]
    r = client.post("/oauth/start", data={"csrf_token": token}, headers={"cookie": cookie})
    assert r.status_code == 303
    query = parse_qs(urlparse(r.headers["location"]).query)
    assert query["redirect_uri"] == [f"{PUBLIC}/oauth/callback"]


def test_public_base_url() -> None:
    """The setting wins; without it a demo on a loopback address keeps its own address, and a
    wildcard bind takes each request's address."""
    assert public_base_url("https://cal.example.com/", "0.0.0.0", 80) == "https://cal.example.com"
    assert public_base_url("", "127.0.0.1", 8080) == "http://127.0.0.1:8080"
    assert public_base_url("", "::1", 8080) == "http://[::1]:8080"
    assert public_base_url("", "0.0.0.0", 8080) == ""


def test_public_url_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """CALSYNC_PUBLIC_URL must be an http(s) base URL."""
    from calsync.config import load_settings
    from calsync.errors import ConfigError

    monkeypatch.setenv("CALSYNC_PUBLIC_URL", "calsync.example.com")
    with pytest.raises(ConfigError, match="CALSYNC_PUBLIC_URL"):
        load_settings()
    monkeypatch.setenv("CALSYNC_PUBLIC_URL", "https://calsync.example.com/")
    assert load_settings().public_url == "https://calsync.example.com"
