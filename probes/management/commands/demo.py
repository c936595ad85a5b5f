"""The demo: load the Acme page, serve the Acme product, break and mend its paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from probes.demo.load import (
    demo_internal_access,
    demo_load,
    demo_staff_user,
    internal_url,
)
from probes.demo.target import PATHS, Acme, set_broken

DEFAULT_TARGET = "http://127.0.0.1:8001"


def state_file() -> Path:
    return Path(settings.VAR_DIR) / "demo-target.json"


def target_credentials() -> tuple[str, str]:
    """The demo product's user, shared with the journey through PROBE_SECRET_*."""
    username = settings.PROBE_SECRETS.get("DEMO_USER")
    password = settings.PROBE_SECRETS.get("DEMO_PASSWORD")
    if not username or not password:
        raise CommandError(
            "Set PROBE_SECRET_DEMO_USER and PROBE_SECRET_DEMO_PASSWORD (bin/run does)."
        )
    return username, password


class Command(BaseCommand):
    help = (
        "The Acme demo. 'demo' or 'demo load' loads the page (components, probes, "
        "history); 'demo target' serves the Acme product the probes watch; "
        "'demo break login|web|api' breaks one of its paths and 'demo mend ...' "
        "mends it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action")
        load = actions.add_parser("load", help="Load the demo page (the default).")
        for target in (parser, load):
            target.add_argument("--reset", action="store_true", help="Reload it all.")
            target.add_argument("--url", default="http://127.0.0.1:8000")
            target.add_argument("--target-url", default=DEFAULT_TARGET)
        serve = actions.add_parser("target", help="Serve the Acme product.")
        serve.add_argument("--port", type=int, default=8001)
        for name in ("break", "mend"):
            action = actions.add_parser(name, help=f"{name.title()} a path of Acme.")
            action.add_argument("path", choices=[*PATHS, "all"])

    def handle(self, *args: Any, action: str | None = None, **options: Any) -> None:
        if action == "target":
            self._serve(options["port"])
        elif action in ("break", "mend"):
            self._toggle(options["path"], broken=action == "break")
        else:
            self._load(options["url"], options["target_url"], options["reset"])

    def _load(self, url: str, target_url: str, reset: bool) -> None:
        try:
            loaded = demo_load(url=url, target_url=target_url, reset=reset)
        except ValidationError as exc:
            message = "; ".join(exc.messages)
            raise CommandError(f"Cannot load the demo: {message}") from None
        if loaded:
            self.stdout.write(self.style.SUCCESS("Loaded the Acme demo page."))
        else:
            self.stdout.write("Demo data already loaded (use --reset to reload).")
        password = demo_staff_user()
        self.stdout.write(f"Staff console: user 'demo', password '{password}'")
        internal = demo_internal_access()
        if internal is not None:
            self.stdout.write(
                f"Employees' page (Acme internal, private): {internal_url(url)}/ "
                f"with the password '{internal}', or signed in as 'demo'"
            )

    def _toggle(self, path: str, *, broken: bool) -> None:
        for name in PATHS if path == "all" else (path,):
            now_broken = set_broken(state_file(), name, broken)
        listed = ", ".join(sorted(now_broken)) or "none"
        self.stdout.write(f"Acme's broken paths: {listed}.")

    def _serve(self, port: int) -> None:
        username, password = target_credentials()
        acme = Acme(username=username, password=password, state_file=state_file())
        self.stdout.write(f"Acme demo product on http://127.0.0.1:{port}/")
        # No access log: a line per probe request buried the credentials bin/run
        # prints (1,480 of 2,428 lines in 35 minutes).
        web.run_app(
            acme.app(), host="127.0.0.1", port=port, print=None, access_log=None
        )
