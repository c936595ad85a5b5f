"""A probe whose URL has a port no connection can use is refused when it is saved,
through the API as anywhere else, rather than failing every check it runs."""

from __future__ import annotations

import pytest

from probes.models import Probe
from tests.api_helpers import api_client, body, v1
from tests.conftest import make_component, make_page

pytestmark = pytest.mark.django_db


def test_it_refuses_a_probe_url_with_port_99999_naming_config_url() -> None:
    make_page(name="Acme")
    web = make_component(name="Web app")
    probe = {"name": "Home", "kind": "http", "component_id": web.public_id}
    config = {"url": "https://acme.test:99999/"}

    response = api_client().post(
        v1("probes"), {"probe": probe | {"config": config}}, format="json"
    )

    assert response.status_code == 400, response.content
    assert body(response)["errors"] == {
        "probe.config.url": ["has a port out of range: use 1-65535, or none"]
    }
    assert not Probe.objects.exists()


def test_it_refuses_a_component_id_holding_a_nul_naming_it() -> None:
    make_page(name="Acme")
    probe = {"name": "Home", "kind": "http", "component_id": "ab\x00c"}
    config = {"url": "https://acme.test/"}

    response = api_client().post(
        v1("probes"), {"probe": probe | {"config": config}}, format="json"
    )

    assert response.status_code == 400, response.content
    assert body(response)["errors"] == {
        "probe.component_id": ["A NUL character is not allowed."]
    }
    assert not Probe.objects.exists()
