"""The demo command loads the Acme page once and prints working staff credentials."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from incidents.models import Component, Incident, IncidentStatus, Page

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


def run_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


def test_it_loads_the_acme_page_with_history() -> None:
    run_demo("--url", "http://127.0.0.1:8123")
    page = Page.get()
    assert (page.name, page.url) == ("Acme", "http://127.0.0.1:8123")
    names = set(Component.objects.values_list("name", flat=True))
    assert {"Login/logout path", "Web app", "API"} <= names
    assert Component.objects.get(name="Login/logout path").group.is_group
    assert Incident.objects.unresolved().count() == 1
    past = Incident.objects.get(name="Users cannot sign in")
    assert past.status == IncidentStatus.POSTMORTEM
    assert past.updates.count() == 4
    assert Incident.objects.upcoming().get().auto_start


def test_it_prints_credentials_that_sign_in() -> None:
    output = run_demo()
    match = re.search(r"user '(\w+)', password '([^']+)'", output)
    assert match, output
    user = authenticate(username=match[1], password=match[2])
    assert user is not None and user.is_staff


def test_it_loads_only_once_and_keeps_the_password() -> None:
    first = run_demo()
    second = run_demo()
    assert "already loaded" in second
    assert Component.objects.filter(name="API").count() == 1
    password = re.compile(r"password '([^']+)'")
    assert password.search(first)[1] == password.search(second)[1]  # type: ignore[index]


def test_it_reloads_on_reset() -> None:
    run_demo()
    Component.objects.filter(name="API").update(name="Renamed")
    run_demo("--reset")
    assert Component.objects.filter(name="API").count() == 1
    assert not Component.objects.filter(name="Renamed").exists()
