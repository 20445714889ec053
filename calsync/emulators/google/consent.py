"""The emulator's consent screen: GET /o/oauth2/auth lists the accounts with Allow and Deny
buttons; POST /o/oauth2/approve redirects back to the client with a code or an error."""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable
from urllib.parse import urlencode

from calsync.emulators.google.oauth import form
from calsync.emulators.google.store import AuthCode, Store
from calsync.emulators.google.wire import Req, Resp

# Parameters of the authorization request carried through the consent form unchanged.
_CARRIED = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "access_type",
    "prompt",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
    "include_granted_scopes",
)
CODE_TTL = 600
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;color:#202124}"
    "h1{font-size:1.4rem}ul{list-style:none;padding:0}"
    ".accounts li{border:1px solid #dadce0;border-radius:8px;padding:.6rem;margin:.4rem 0}"
    ".account{display:inline-block;min-width:18rem}.scopes li{font-size:.85rem;color:#5f6368}"
    "button{background:#1a73e8;color:#fff;border:0;border-radius:4px;padding:.4rem .9rem}"
    "#deny{background:#fff;color:#1a73e8;border:1px solid #dadce0;margin-top:1rem}"
)


def _page(title: str, body: str, status: int = 200) -> Resp:
    doc = (
        "<!doctype html><html><head><meta charset='utf-8'><title>"
        + html.escape(title)
        + "</title><style>"
        + _STYLE
        + "</style></head><body><h1>"
        + html.escape(title)
        + "</h1>"
        + body
        + "</body></html>"
    )
    return Resp(status, raw=doc.encode(), content_type="text/html; charset=utf-8")


def _hidden(params: dict[str, str]) -> str:
    return "".join(
        f"<input type='hidden' name='{html.escape(k)}' value='{html.escape(v)}'>"
        for k, v in params.items()
    )


def authorize_page(store: Store, req: Req) -> Resp:
    """Answer GET /o/oauth2/auth with the consent page (or an error page for a bad request)."""
    params = {k: req.q(k) or "" for k in _CARRIED if req.q(k) is not None}
    missing = [
        k for k in ("client_id", "redirect_uri", "response_type", "scope") if not params.get(k)
    ]
    if missing:
        return _page(
            "Error 400: invalid_request",
            f"<p>Missing required parameter: {html.escape(missing[0])}</p>",
            400,
        )
    if params["response_type"] != "code":
        return _page("Error 400: unsupported_response_type", "<p>Only code is supported.</p>", 400)
    hidden = _hidden(params)
    scopes = "".join(f"<li>{html.escape(s)}</li>" for s in params["scope"].split())
    rows = []
    for email in sorted(store.accounts):
        e = html.escape(email)
        rows.append(
            f"<li><form method='post' action='/o/oauth2/approve'>{hidden}"
            f"<input type='hidden' name='email' value='{e}'>"
            f"<span class='account'>{e}</span> "
            f"<button type='submit' name='decision' value='allow' id='allow-{e}'>Allow</button>"
            "</form></li>"
        )
    accounts = "".join(rows) or "<li>No accounts yet: add one below.</li>"
    body = (
        f"<p>{html.escape(params['client_id'])} wants to access your Google Account:</p>"
        f"<ul class='scopes'>{scopes}</ul><h2>Choose an account</h2><ul class='accounts'>"
        f"{accounts}</ul>"
        f"<form method='post' action='/o/oauth2/approve'>{hidden}"
        "<input name='email' placeholder='new account e-mail'> "
        "<button type='submit' name='decision' value='allow' id='allow-new'>Add and allow</button>"
        "</form>"
        f"<form method='post' action='/o/oauth2/approve'>{hidden}"
        "<button type='submit' name='decision' value='deny' id='deny'>Deny</button></form>"
    )
    return _page("Sign in with Google (emulator)", body)


def _redirect(uri: str, params: dict[str, str]) -> Resp:
    sep = "&" if "?" in uri else "?"
    return Resp(302, None, {"Location": uri + sep + urlencode(params)})


def approve(store: Store, req: Req, create_account: Callable[[str], object]) -> Resp:
    """Answer POST /o/oauth2/approve: a code (Allow) or error=access_denied (Deny)."""
    f = form(req)
    redirect_uri = f.get("redirect_uri", "")
    if not redirect_uri or not f.get("client_id"):
        return _page("Error 400: invalid_request", "<p>Missing redirect_uri or client_id.</p>", 400)
    state = {"state": f["state"]} if "state" in f else {}
    if f.get("decision") != "allow":
        return _redirect(redirect_uri, {"error": "access_denied", **state})
    email = f.get("email", "").strip()
    if not email or "@" not in email:
        return _page("Error 400", "<p>Choose an account.</p>", 400)
    if email not in store.accounts:
        create_account(email)
    method = f.get("code_challenge_method") or ("plain" if f.get("code_challenge") else None)
    code = AuthCode(
        code="4/" + secrets.token_urlsafe(24),
        email=email,
        client_id=f["client_id"],
        redirect_uri=redirect_uri,
        scopes=f.get("scope", "").split(),
        offline=f.get("access_type") == "offline",
        consent="consent" in f.get("prompt", "").split(),
        challenge=f.get("code_challenge") or None,
        challenge_method=method,
        expires_at=store.now() + CODE_TTL,
    )
    store.codes[code.code] = code
    store.touch("code", code.code)
    store.flush()
    return _redirect(redirect_uri, {"code": code.code, "scope": " ".join(code.scopes), **state})
