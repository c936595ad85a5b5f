"""The commands' write paths: ``manage.py apply --as`` the person."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import CommandError

from incidents.models import IncidentTemplate, Page

from .base import (
    ADMINS,
    RESPONDERS,
    Check,
    Who,
    World,
    WritePath,
)

# Commands ------------------------------------------------------------------------


def _apply(who: Who, text: str) -> int:
    config = who.folder / "heliograph.yaml"
    config.write_text(text)
    try:
        call_command("apply", str(config), "--as", who.user.username)
    except CommandError:
        return 403
    return 0


def command_apply_page(who: Who, world: World) -> tuple[int, Check]:
    code = _apply(who, "version: 1\npage:\n  name: Renamed\n")
    return code, lambda: Page.get().name == "Renamed"


def command_apply_template(who: Who, world: World) -> tuple[int, Check]:
    text = "version: 1\ntemplates:\n  - name: Login down\n    title: Sign-in failing\n"
    code = _apply(who, text)
    return code, IncidentTemplate.objects.filter(name="Login down").exists


COMMANDS = [
    WritePath(
        "apply the page settings",
        "command",
        ADMINS,
        "incidents.page",
        command_apply_page,
    ),
    WritePath(
        "apply a template",
        "command",
        RESPONDERS,
        "incidents.incidenttemplate",
        command_apply_template,
    ),
]
