"""The demo's "Acme" product: a sign-in form with CSRF, a signed-in page, a token API
and a sign-out, small enough to read at a glance. Paths can be broken and mended
through a state file, so the demo can show probes finding an outage by themselves.
"""

from __future__ import annotations

import hmac
import json
import secrets
from pathlib import Path

from aiohttp import web

PATHS = ("login", "web", "api")
SESSION_COOKIE = "acme_session"
CSRF_COOKIE = "acme_csrf"

LOGIN_FORM = """<!doctype html>
<html lang="en"><head><title>Sign in to Acme</title></head><body>
<form method="post" action="/login">
  <input type="hidden" name="csrf" value="{csrf}">
  <label>User <input name="username"></label>
  <label>Password <input name="password" type="password"></label>
  <button>Sign in</button>
</form></body></html>"""


def broken_paths(state_file: Path) -> set[str]:
    try:
        return set(json.loads(state_file.read_text()).get("broken", []))
    except (OSError, ValueError):
        return set()


def set_broken(state_file: Path, path: str, broken: bool) -> set[str]:
    paths = broken_paths(state_file)
    paths = paths | {path} if broken else paths - {path}
    state_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = state_file.with_suffix(".tmp")
    temporary.write_text(json.dumps({"broken": sorted(paths)}))
    temporary.replace(state_file)  # atomic: the target never reads half a file
    return paths


def _same(sent: object, expected: str) -> bool:
    # Bytes: compare_digest refuses str with non-ASCII characters (a TypeError, 500).
    return hmac.compare_digest(str(sent).encode(), expected.encode())


class Acme:
    def __init__(self, *, username: str, password: str, state_file: Path) -> None:
        self.username, self.password = username, password
        self.state_file = state_file
        self.sessions: set[str] = set()
        self.tokens: set[str] = set()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/", self.home)
        app.router.add_get("/login", self.login_form)
        app.router.add_post("/login", self.login)
        app.router.add_get("/app", self.signed_in_page)
        app.router.add_post("/api/token", self.token)
        app.router.add_get("/api/ping", self.ping)
        app.router.add_get("/api/me", self.me)
        app.router.add_post("/logout", self.logout)
        return app

    def _unless_broken(self, path: str) -> None:
        if path in broken_paths(self.state_file):
            raise web.HTTPServiceUnavailable(text=f"The {path} path is broken (demo).")

    def _signed_in(self, request: web.Request) -> bool:
        return request.cookies.get(SESSION_COOKIE, "") in self.sessions

    async def home(self, request: web.Request) -> web.Response:
        self._unless_broken("web")
        return web.Response(text="Acme: the product", content_type="text/html")

    async def login_form(self, request: web.Request) -> web.Response:
        csrf = secrets.token_urlsafe(16)
        response = web.Response(
            text=LOGIN_FORM.format(csrf=csrf), content_type="text/html"
        )
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="Lax")
        return response

    async def login(self, request: web.Request) -> web.Response:
        self._unless_broken("login")
        form = await request.post()
        cookie = request.cookies.get(CSRF_COOKIE, "")
        if not cookie or not _same(form.get("csrf", ""), cookie):
            raise web.HTTPForbidden(text="CSRF check failed.")
        valid = _same(form.get("username", ""), self.username)
        valid &= _same(form.get("password", ""), self.password)
        if not valid:
            raise web.HTTPUnauthorized(text="Wrong user or password.")
        session = secrets.token_urlsafe(16)
        self.sessions.add(session)
        response = web.HTTPFound("/app")
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="Lax")
        raise response

    async def signed_in_page(self, request: web.Request) -> web.Response:
        self._unless_broken("web")
        if not self._signed_in(request):
            raise web.HTTPFound("/login")
        return web.Response(text="<h1>Welcome back</h1>", content_type="text/html")

    async def token(self, request: web.Request) -> web.Response:
        self._unless_broken("api")
        if not self._signed_in(request):
            raise web.HTTPUnauthorized(text="Sign in first.")
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return web.json_response({"token": token})

    async def ping(self, request: web.Request) -> web.Response:
        self._unless_broken("api")
        return web.json_response({"status": "ok"})

    async def me(self, request: web.Request) -> web.Response:
        self._unless_broken("api")
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            raise web.HTTPUnauthorized(text="Unknown token.")
        return web.json_response({"user": self.username})

    async def logout(self, request: web.Request) -> web.Response:
        self._unless_broken("login")
        self.sessions.discard(request.cookies.get(SESSION_COOKIE, ""))
        response = web.Response(text="Signed out.")
        response.del_cookie(SESSION_COOKIE)
        return response
