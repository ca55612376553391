"""How UI pages become responses: Jinja2 templates (autoescaped), sanitized Markdown, hashed static files
and the security headers every UI response carries.

Static files are read once at import and served from memory under ``/static/<hash>/<name>`` (the
hash is the first 12 hex digits of the file's SHA-256), so a URL names one exact content and may be
cached for a year (``immutable``); a page always links the current hash (``static_url``)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt
from markupsafe import Markup

from podium.server.http import Response
from podium.server.ui.charts import chart_json, short
from podium.server.ui.session import current_chrome

__all__ = ["STATIC", "html_response", "markdown", "render", "static_response", "static_url"]

_HERE = Path(__file__).parent
#: no inline script or style anywhere, no other host, never framed
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def _load_static() -> dict[str, tuple[str, bytes]]:
    """name -> (hash, content) for every CSS and JS file under static/ (a name is its path below
    static/: ``podium.css``, ``vendor/uPlot.iife.min.js``)."""
    out = {}
    root = _HERE / "static"
    for path in sorted(root.rglob("*")):
        if path.suffix in _TYPES and path.is_file():
            content = path.read_bytes()
            out[path.relative_to(root).as_posix()] = (hashlib.sha256(content).hexdigest()[:12], content)
    return out


STATIC = _load_static()


def static_url(name: str) -> str:
    return f"/static/{STATIC[name][0]}/{name}"


def static_response(path: str) -> Response | None:
    """The file ``/static/<hash>/<name>`` names (``None``: no such file or an outdated hash)."""
    parts = path.split("/")
    name = "/".join(parts[3:])
    if len(parts) < 4 or name not in STATIC or STATIC[name][0] != parts[2]:
        return None
    headers = [(b"cache-control", b"public, max-age=31536000, immutable"), *SECURITY_HEADERS]
    return Response(STATIC[name][1], 200, _TYPES[Path(name).suffix], headers)


_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})  # raw HTML is shown as text, never passed


def markdown(text: str | None) -> Markup:
    """``text`` as HTML: CommonMark with raw HTML escaped and unsafe link schemes (javascript:) refused."""
    return Markup(_markdown.render(text or ""))  # noqa: S704 - markdown-it escaped every raw HTML byte


def when(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def size(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


_env = Environment(loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)
_env.globals["static_url"] = static_url
_env.filters.update(when=when, size=size, segment=lambda value: quote(str(value), safe=""))
_env.filters.update(chart_json=chart_json, short=short)


def render(template: str, status: int = 200, headers: list | None = None, /, **context) -> Response:
    # ``chrome``: the header's user and role, the CSRF token and the flash message (ui/session.py)
    return html_response(_env.get_template(template).render(chrome=current_chrome(), **context), status, headers)


def html_response(html: str, status: int = 200, headers: list | None = None) -> Response:
    return Response(html.encode(), status, "text/html; charset=utf-8",
                    [(b"cache-control", b"no-store"), *SECURITY_HEADERS, *(headers or [])])
