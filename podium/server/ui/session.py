"""The web UI's browser session: a signed cookie, CSRF tokens and flash messages (decision 0016).

One cookie, ``podium_session``, signed and timestamped with itsdangerous under the server's
``session_secret`` (every worker of one server has the same key: a configured one, or a random one
the parent process makes at start), ``HttpOnly``, ``SameSite=Lax``, ``Path=/``, ``Secure`` when the
request came over https. It holds:

* ``c``: the CSRF token, random, made with the cookie. Every form carries it in a hidden field and
  every POST to a page must send it back (:meth:`Sessions.check_csrf`): a synchronizer token tied to
  the session (a new one at each sign-in and sign-out). A browser that is not signed in (no
  ``--auth``, or Basic credentials) still gets the cookie, so its forms are protected too.
* with ``--auth``, after the sign-in form: ``u`` (the user name) and ``p`` (a fingerprint of the
  password hash: :func:`podium.auth.authenticator.password_fingerprint`). Each request checks them
  against the user table (one indexed query), so a password change or a deleted user ends the
  session at once; the signature's age ends it after ``session_hours``.

Signing out replaces the cookie. The cookie is not stored on the server (no table), so a copy of it
taken before sign-out stays valid until it expires or the password changes (docs/security.md).

A flash message (the outcome of a form, shown once on the page the form redirects to) is a second
signed cookie, ``podium_flash``, that lives 5 minutes and is cleared by the page that shows it.
"""

from __future__ import annotations

import contextvars
import hmac
import os
import secrets
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer

from podium.errors import PermissionDenied

__all__ = ["COOKIE", "FLASH_COOKIE", "Sessions", "chrome", "current_chrome", "safe_next"]

COOKIE = "podium_session"
FLASH_COOKIE = "podium_flash"
FLASH_SECONDS = 300
CSRF_FIELD = "csrf"
#: how long a browser's CSRF cookie lives without --auth (a form older than this asks for a reload)
ANONYMOUS_HOURS = 12

CSRF_REFUSED = ("This form's security token is missing or does not match your session (it may have expired, or "
                "the form came from another site): reload the page and submit it again.")
ORIGIN_REFUSED = "This form was posted from another site ({origin}): forms can only be posted from this server's pages."

#: what a page's header shows (user, role, CSRF token, flash): set per request, read by render()
_chrome: contextvars.ContextVar[dict | None] = contextvars.ContextVar("podium_ui_chrome", default=None)


def current_chrome() -> dict:
    return _chrome.get() or {}


def chrome(values: dict) -> None:
    """Set this request's header values (the UI does it before a page handler runs)."""
    _chrome.set(values)


class Sessions:
    """Signs and reads the session and flash cookies with one server's key."""

    def __init__(self, secret: str | None, hours: int) -> None:
        # no key configured (an app built in-process, e.g. by tests): a random one for this process
        key = secret or os.urandom(32).hex()
        self.max_age = hours * 3600
        self._session = URLSafeTimedSerializer(key, salt="podium.ui.session")
        self._flash = URLSafeTimedSerializer(key, salt="podium.ui.flash")

    # ------------------------------------------------------------------ reading
    def read(self, request) -> dict | None:
        """The session the request's cookie carries (``None``: none, tampered with or expired)."""
        data = self._load(self._session, _cookies(request).get(COOKIE), self.max_age)
        return data if isinstance(data, dict) and isinstance(data.get("c"), str) else None

    def flash(self, request) -> dict | None:
        data = self._load(self._flash, _cookies(request).get(FLASH_COOKIE), FLASH_SECONDS)
        return data if isinstance(data, dict) and data.get("kind") in ("ok", "error") else None

    @staticmethod
    def _load(serializer, value, max_age):
        if not value:
            return None
        try:
            return serializer.loads(value, max_age=max_age)
        except BadSignature:  # also SignatureExpired
            return None

    # ------------------------------------------------------------------ writing
    @staticmethod
    def new(user: str | None = None, fingerprint: str | None = None) -> dict:
        """A fresh session (a new CSRF token): anonymous, or signed in as ``user``."""
        data = {"c": secrets.token_urlsafe(24)}
        if user is not None:
            data.update(u=user, p=fingerprint)
        return data

    def session_header(self, data: dict, secure: bool) -> tuple[bytes, bytes]:
        return _set_cookie(COOKIE, self._session.dumps(data), self.max_age, secure)

    def flash_header(self, kind: str, message: str, secure: bool) -> tuple[bytes, bytes]:
        return _set_cookie(FLASH_COOKIE, self._flash.dumps({"kind": kind, "message": message[:2000]}), FLASH_SECONDS,
                           secure)

    @staticmethod
    def clear_flash_header(secure: bool) -> tuple[bytes, bytes]:
        return _set_cookie(FLASH_COOKIE, "", 0, secure)

    # ------------------------------------------------------------------ CSRF
    @staticmethod
    def check_csrf(session: dict | None, form: dict, request) -> None:
        """Refuse (403) a POST whose form token does not match the session's, or that the browser says
        comes from another site (``Sec-Fetch-Site``; not ``Origin`` against ``Host``, which a reverse
        proxy may rewrite)."""
        # a browser says where a request comes from (Sec-Fetch-Site), whatever a proxy did to Host
        site = (request.header("sec-fetch-site") or "").strip().lower()
        if site in ("cross-site", "same-site"):
            raise PermissionDenied(ORIGIN_REFUSED.format(origin=request.header("origin") or site))
        sent = form.get(CSRF_FIELD)
        if session is None or not isinstance(sent, str) or not hmac.compare_digest(sent, session["c"]):
            raise PermissionDenied(CSRF_REFUSED)


def is_https(request) -> bool:
    return request.scope.get("scheme") == "https"


def _cookies(request) -> dict[str, str]:
    raw = request.header("cookie")
    if not raw:
        return {}
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def _set_cookie(name: str, value: str, max_age: int, secure: bool) -> tuple[bytes, bytes]:
    parts = [f"{name}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return b"set-cookie", "; ".join(parts).encode("latin-1")


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this server only (``/models?...``), never another
    host (``//evil``, ``/\\evil``, ``https://evil``); anything else is ``/models``."""
    if not value or not isinstance(value, str) or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/models"
    if any(ch in value for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in value):
        return "/models"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/models"
    return value
