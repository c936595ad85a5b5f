"""Real servers on 127.0.0.1 for probe kinds: HTTP, TLS, a closed port, "Acme".

aiohttp servers run on one event loop in a background thread, so a handler
that hangs never blocks the test or the other servers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import socket
import ssl
import threading
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiohttp import web

from probes.kinds import ProbeOutcome, RunContext, kind_class
from probes.kinds.network import client_session

NOW = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)


def run_probe(
    kind: str, config: dict[str, Any], *, timeout: float = 5, **context: Any
) -> ProbeOutcome:
    """Validate and run a probe the way the worker does, under asyncio.wait_for."""
    validated = kind_class(kind).validate(config)
    return run_validated(kind, validated, timeout=timeout, **context)


def run_validated(
    kind: str, config: dict[str, Any], *, timeout: float = 5, **context: Any
) -> ProbeOutcome:
    async def go() -> ProbeOutcome:
        async with client_session() as session:
            context.setdefault("now", NOW)
            ctx = RunContext(session=session, timeout=timeout, **context)
            probe = kind_class(kind)(config)
            return await asyncio.wait_for(probe.run(ctx), timeout + 1)

    return asyncio.run(go())


class LoopThread:
    """An event loop in a daemon thread, for servers that outlive one call."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="session")
def loop_thread() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.stop()


@pytest.fixture
def aio_server(loop_thread: LoopThread) -> Iterator[Callable[[web.Application], str]]:
    """Start an aiohttp app on 127.0.0.1; returns its base URL."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    yield lambda app: loop_thread.call(start(app))
    for runner in runners:
        loop_thread.call(runner.cleanup())


@pytest.fixture
def closed_port() -> int:
    """A port that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


# --- TLS -------------------------------------------------------------------


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = Path(tmp_path_factory.mktemp("ca")) / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def server_context(leaf: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return context


@pytest.fixture
def tls_server(loop_thread: LoopThread) -> Iterator[Callable[[trustme.LeafCert], int]]:
    """A TLS server on 127.0.0.1 presenting the given certificate; returns its port."""
    servers: list[asyncio.Server] = []

    async def hang_up(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        writer.close()

    async def start(leaf: trustme.LeafCert) -> int:
        server = await asyncio.start_server(
            hang_up, "127.0.0.1", 0, ssl=server_context(leaf)
        )
        servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def stop() -> None:
        for server in servers:
            server.close()
            await server.wait_closed()

    yield lambda leaf: loop_thread.call(start(leaf))
    # On the loop's own thread: asyncio servers are not safe to close from another,
    # and closing one from here now and then broke the loop's bookkeeping.
    loop_thread.call(stop())


# --- Acme: the demo product with a sign-in form, an app page and a token API --


@dataclass
class Acme:
    url: str = ""
    username: str = "alice"
    password: str = "correct horse battery staple"
    broken: set[str] = field(default_factory=set)  # "login", "me-echo", "slow-app"
    sessions: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    logouts: int = 0
    hits: list[str] = field(default_factory=list)


def acme_app(acme: Acme) -> web.Application:
    routes = web.RouteTableDef()

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        acme.hits.append(f"{request.method} {request.path}")
        response: web.StreamResponse = await handler(request)
        return response

    @routes.get("/login")
    async def login_form(request: web.Request) -> web.Response:
        token = secrets.token_hex(16)
        html = (
            "<html><body><h1>Sign in to Acme</h1><form method=post>"
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{token}">'
            '<input name="username"><input name="password" type="password">'
            "</form></body></html>"
        )
        response = web.Response(text=html, content_type="text/html")
        response.set_cookie("csrftoken", token)
        return response

    @routes.post("/login")
    async def login(request: web.Request) -> web.Response:
        form = await request.post()
        cookie = request.cookies.get("csrftoken")
        if not cookie or form.get("csrfmiddlewaretoken") != cookie:
            return web.Response(status=403, text="CSRF verification failed")
        if request.headers.get("X-CSRFToken") != cookie:
            return web.Response(status=403, text="CSRF header missing")
        username, password = str(form.get("username")), str(form.get("password"))
        if "login" in acme.broken or (username, password) != (
            acme.username,
            acme.password,
        ):
            # A careless product echoes what it was sent: probes must not repeat it.
            text = f"Wrong password {password} for {username}"
            return web.json_response({"error": text}, status=403)
        session = secrets.token_hex(16)
        acme.sessions.add(session)
        response = web.Response(status=302, headers={"Location": "/app"})
        response.set_cookie("sessionid", session, httponly=True)
        return response

    def signed_in(request: web.Request) -> bool:
        return request.cookies.get("sessionid") in acme.sessions

    @routes.get("/app")
    async def app_page(request: web.Request) -> web.Response:
        if "slow-app" in acme.broken:
            await asyncio.sleep(30)
        if not signed_in(request):
            raise web.HTTPFound("/login")
        return web.Response(text=f"<h1>Welcome, {acme.username}</h1>")

    @routes.post("/api/token")
    async def api_token(request: web.Request) -> web.Response:
        if not signed_in(request):
            return web.json_response({"error": "sign in first"}, status=401)
        token = secrets.token_urlsafe(24)
        acme.tokens.add(token)
        return web.json_response({"token": token}, headers={"X-Token": token})

    @routes.get("/api/me")
    async def api_me(request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in acme.tokens:
            return web.json_response({"error": "bad token"}, status=401)
        if "me-echo" in acme.broken:
            return web.json_response({"user": {"name": f"expired token {token}"}})
        return web.json_response({"user": {"name": acme.username}, "status": "ok"})

    @routes.post("/logout")
    async def logout(request: web.Request) -> web.Response:
        acme.sessions.discard(request.cookies.get("sessionid", ""))
        acme.logouts += 1
        response = web.Response(text="Signed out")
        response.del_cookie("sessionid")
        return response

    app = web.Application(middlewares=[record])
    app.add_routes(routes)
    return app


@pytest.fixture
def acme(aio_server: Callable[[web.Application], str], settings: Any) -> Acme:
    """Acme, with the journey's secrets bound to its host:port (and only there)."""
    target = Acme()
    target.url = aio_server(acme_app(target))
    bind_secrets(settings, target.url, "ACME_USER", "ACME_PASSWORD")
    return target


def bind_secrets(settings: Any, url: str, *names: str) -> None:
    """PROBE_SECRET_<NAME>_HOSTS=<url's host:port> for each name, as bin/run does."""
    host = url.split("/")[2]
    settings.PROBE_SECRET_HOSTS = {
        **settings.PROBE_SECRET_HOSTS,
        **{name: (host,) for name in names},
    }


LOGIN, WEB, API = "loginlogout1", "webapp000001", "api000000001"


def acme_journey(acme: Acme) -> dict[str, Any]:
    """The login/logout journey the demo runs against Acme."""
    base = acme.url
    csrf_field = r'name="csrfmiddlewaretoken" value="([^"]+)"'
    return {
        "secrets": {"username": "ACME_USER", "password": "ACME_PASSWORD"},
        "steps": [
            {
                "name": "open sign-in",
                "url": f"{base}/login",
                "component": LOGIN,
                "body_contains": "Sign in",
                "extract": [
                    {"from": "html", "var": "csrf", "pattern": csrf_field},
                    {"from": "cookie", "name": "csrftoken"},
                ],
            },
            {
                "name": "sign in",
                "method": "POST",
                "url": f"{base}/login",
                "component": LOGIN,
                "headers": {"X-CSRFToken": "{{csrftoken}}"},
                "form": {
                    "csrfmiddlewaretoken": "{{csrf}}",
                    "username": "{{username}}",
                    "password": "{{password}}",
                },
                "expected_status": 302,
            },
            {
                "name": "signed-in page",
                "url": f"{base}/app",
                "component": WEB,
                "expected_status": 200,
                "body_contains": "Welcome, alice",
            },
            {
                "name": "get token",
                "method": "POST",
                "url": f"{base}/api/token",
                "component": API,
                "extract": [{"from": "json", "path": "token"}],
            },
            {
                "name": "who am I",
                "url": f"{base}/api/me",
                "component": API,
                "headers": {"Authorization": "Bearer {{token}}"},
                "json_path": "user.name",
                "json_equals": "alice",
            },
            {
                "name": "sign out",
                "method": "POST",
                "url": f"{base}/logout",
                "component": LOGIN,
                "cleanup": True,
            },
        ],
    }


def acme_secrets(acme: Acme) -> dict[str, str]:
    return {"username": acme.username, "password": acme.password}
