"""The README's curl example of the management API, run as written against a live
server: open an incident, post an update, resolve it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from incidents.models import Component, Incident, Page
from tests.api_helpers import token_for
from tests.conftest import make_component

pytestmark = pytest.mark.django_db(transaction=True)

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example() -> str:
    section = README.read_text().split("## Management API v1", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "the README's management API section has no sh example"
    return match.group(1)


def test_it_runs_the_readme_incident_example(live_server: Any) -> None:
    login = make_component(name="Login/logout path")
    environment = {
        **os.environ,
        "HELIOGRAPH_URL": live_server.url,
        "PAGE_ID": Page.get().public_id,
        "LOGIN_ID": login.public_id,
        "HELIOGRAPH_TOKEN": token_for("write"),
    }
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_example()],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    incident = Incident.objects.get()
    assert incident.name == "Sign-in failing"
    assert [u.status for u in incident.updates.order_by("display_at", "id")] == [
        "investigating",
        "identified",
        "resolved",
    ]
    assert Component.objects.get(pk=login.pk).status == "operational"


@pytest.mark.schema
def test_it_shows_the_same_example_on_the_documentation_page(client: Any) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    assert readme_example() in schema["info"]["description"]
