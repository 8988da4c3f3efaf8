"""What the dashboard's web server refuses before any page runs (`dashboard/serve.py` puts it in
front of Streamlit).

The password form is a page, so it guards pages only. Two of Streamlit's routes answer without one:
`/_stcore/metrics` (the server's counters, which no user needs: refused always) and `/media/<id>`,
the files of download buttons (an export holds customers' names). With a password configured, a media
file goes only to a browser that gave the password in this process: the page admits the browser's
`_streamlit_xsrf` cookie (Streamlit sets it on every browser, and keeps its token across visits)
when the password is right, and this gate checks the cookie of every media request against those."""

import binascii
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from core.errors import SettingsError
from core.settings import Settings

COOKIE = "_streamlit_xsrf"
_ADMITTED: set[bytes] = set()  # the tokens of browsers that gave the password, for this process

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def token(cookie: str | None) -> bytes | None:
    """The browser's token inside Streamlit's cookie ("2|mask|masked token|time"; the mask changes
    on every page load, the token does not), None for anything else."""
    parts = (cookie or "").split("|")
    if len(parts) != 4 or parts[0] != "2":
        return None
    try:
        mask, masked = binascii.a2b_hex(parts[1]), binascii.a2b_hex(parts[2])
    except (binascii.Error, ValueError):
        return None
    if len(mask) != 4 or not masked:
        return None
    return bytes(b ^ mask[i % 4] for i, b in enumerate(masked))


def admit(cookie: str | None) -> None:
    """The browser holding `cookie` gave the password: its download links work from now on."""
    if (t := token(cookie)) is not None:
        _ADMITTED.add(t)


def _cookies(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, val = part.strip().partition("=")
                found.setdefault(key, val)
    return found


def refusal(path: str, cookie: str | None) -> int | None:
    """The status that refuses this request, None to let it through."""
    if path.endswith("/_stcore/metrics"):
        return 404
    if "/media/" not in path:
        return None
    try:
        password = Settings.from_env(api=False).dashboard_password()
    except SettingsError:
        return 403  # the page says why; the gate stays shut
    if password and token(cookie) not in _ADMITTED:
        return 403
    return None


class Gate:
    """ASGI middleware: answers `refusal`'s status with an empty body, or passes the request on."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            status = refusal(scope["path"], _cookies(scope).get(COOKIE))
            if status is not None:
                await send({"type": "http.response.start", "status": status, "headers": []})
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)
