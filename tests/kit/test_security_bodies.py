"""Bodies and files built to exhaust the server are refused up front, with the
error shape of their endpoint: nested JSON and forms, YAML aliases, huge files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from configfile.source import MAX_FILE_BYTES
from incidents.models import Component, Incident
from tests.api_helpers import api_client, body, v1
from tests.conftest import make_component, make_page
from tests.integrations.conftest import make_integration, post

pytestmark = pytest.mark.django_db

DEEP = 200_000
TOO_DEEP = "The body nests deeper than 64 levels."


@pytest.fixture(autouse=True)
def page() -> None:
    make_page(name="Acme")


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# The management API ---------------------------------------------------------------


def test_it_refuses_json_nested_past_python_s_limit_with_a_400() -> None:
    response = api_client().post(
        v1("incidents"), nested(DEEP), content_type="application/json"
    )

    assert response.status_code == 400
    assert body(response) == {"error": TOO_DEEP}
    assert not Incident.objects.exists()


def test_it_refuses_json_nested_past_64_levels_but_reads_64() -> None:
    deep = {"incident": {"name": "Outage", "body": "x", "metadata": 1}}
    node = deep["incident"]
    for _ in range(63):  # 2 levels above, 63 below: 65
        node["metadata"] = node = {"metadata": 1}

    response = api_client().post(v1("incidents"), deep, format="json")

    assert response.status_code == 400
    assert body(response) == {"error": TOO_DEEP}
    flat = {"incident": {"name": "Outage", "body": "x", "status": "investigating"}}
    nested_62 = {"incident": flat["incident"]} | {"x": json.loads(nested(62))}
    response = api_client().post(v1("incidents"), nested_62, format="json")
    assert response.status_code == 201, response.content


def test_it_refuses_a_form_body_whose_keys_nest_past_64_levels() -> None:
    component = make_component(name="API")
    key = "component" + "[x]" * (DEEP // 10) + "[status]"

    response = api_client().patch(
        v1(f"components/{component.public_id}"),
        f"{key}=major_outage",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert body(response) == {"error": TOO_DEEP}
    assert Component.objects.get(pk=component.pk).status == "operational"


def test_it_still_reads_a_bracketed_form_body() -> None:
    component = make_component(name="API")

    response = api_client().patch(
        v1(f"components/{component.public_id}"),
        "component[status]=major_outage",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200, response.content
    assert Component.objects.get(pk=component.pk).status == "major_outage"


# Integrations ---------------------------------------------------------------------


def test_it_tells_an_alerting_tool_its_body_nests_too_deep() -> None:
    integration, secret = make_integration(kind="generic")

    response = post(integration, None, secret=secret, raw=nested(DEEP).encode())
    shallower = post(integration, None, secret=secret, raw=nested(65).encode())

    assert response.status_code == 400
    assert response.json() == {"field": "body", "reason": "nests deeper than 64 levels"}
    assert shallower.json() == response.json()


# Configuration files --------------------------------------------------------------


def laughs(levels: int) -> str:
    """The "billion laughs": nine references a level, 9**levels strings once built."""
    lines = ["version: 1", 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"l{level}: &l{level} [{refs}]")
    return "\n".join(lines) + "\n"


def apply_refused(path: Path) -> str:
    with pytest.raises(CommandError) as refusal:
        call_command("apply", str(path), stdout=io.StringIO())
    return str(refusal.value)


def test_it_refuses_yaml_aliases_before_expanding_them(tmp_path: Path) -> None:
    # 9**30 strings: building it would never end (the test's timeout would).
    config = tmp_path / "laughs.yaml"
    config.write_text(laughs(30))

    message = apply_refused(config)

    assert message.startswith(f"{config}:2: anchors and aliases")
    assert "write each value out" in message
    assert "Nothing was written." in message


def test_it_refuses_a_merge_key_too(tmp_path: Path) -> None:
    config = tmp_path / "merge.yaml"
    config.write_text(
        "version: 1\ncomponents:\n  - name: Web\n    <<: {description: shared}\n"
        "  - &api {name: API}\n"
    )

    assert apply_refused(config).startswith(f"{config}:5: anchors and aliases")


def test_it_refuses_yaml_nested_past_64_levels(tmp_path: Path) -> None:
    config = tmp_path / "deep.yaml"
    config.write_text("version: 1\ncomponents: " + nested(DEEP) + "\n")

    assert apply_refused(config).startswith(f"{config}:2: nests deeper than 64")


def test_it_refuses_a_file_over_the_size_limit_unread(tmp_path: Path) -> None:
    config = tmp_path / "huge.yaml"
    with config.open("w") as file:
        file.write("version: 1\ncomponents:\n")
        file.write("  - name: Web\n" * (MAX_FILE_BYTES // 14 + 1))

    message = apply_refused(config)

    assert message.startswith(f"{config}:1: the file has ")
    assert "more than the 1,048,576 a configuration file may have" in message
    assert not Component.objects.exists()
