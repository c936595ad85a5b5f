"""The management API against its own OpenAPI schema, driven by schemathesis.

Schemathesis generates requests from the published schema (valid and invalid ones)
and checks every answer: never a server error, and never a status, content type,
header or body that the schema does not describe.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode

from incidents.models import Component, Incident, IncidentTemplate, Page
from statuspage.wsgi import application
from tests.api_helpers import token_for
from tests.conftest import make_component, make_group, make_incident

pytestmark = [pytest.mark.django_db, pytest.mark.schema]

# Rejecting valid-looking data is right when a business rule refuses it (a group
# that still has components, a duplicate template name, a status transition), so
# "positive data acceptance" is not one of the checks.
LEFT_OUT = {"positive_data_acceptance"}


def served_schema() -> Any:
    """The schema exactly as ``/api/v1/openapi.json`` serves it (a test in
    test_api.py reads that endpoint), called in-process through the WSGI app."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(json.dumps(document)))
    loaded.app = application
    return loaded


@pytest.fixture(autouse=True)
def connection_kept() -> Iterator[None]:
    """Django's handler closes the database connection after each request; here
    that connection holds the test's transaction, so it stays open (as the test
    client does)."""
    signals = (request_started, request_finished)
    for signal in signals:
        signal.disconnect(close_old_connections)
    yield
    for signal in signals:
        signal.connect(close_old_connections)


schema = served_schema()


@pytest.fixture
def known(settings: Any) -> dict[str, Any]:
    """A page with something in it, and a token that may write."""
    settings.API_RATE_LIMIT_PER_MINUTE = 10**6
    group = make_group(name="Acme")
    make_component(name="Login", group=group)
    make_incident(component_statuses={make_component(name="API"): "major_outage"})
    token = token_for("write", "schemathesis")
    return {
        "headers": {"Authorization": f"Bearer {token}"},
        "page_id": Page.get().public_id,
    }


def an_existing_id(case: Any, value: str) -> str:
    """Half the generated ids are swapped for a real one, so that the detail
    operations are exercised, not only their 404s."""
    if int(hashlib.sha256(value.encode()).hexdigest(), 16) % 2:
        return value
    path = case.path
    if "/incident_updates/" in path:
        incident = Incident.objects.exclude(updates=None).first()
        update = incident.updates.first() if incident else None
        return update.public_id if update else value
    model = (
        IncidentTemplate
        if "incident_templates" in path
        else Incident
        if "/incidents/" in path
        else Component
    )
    row = model.objects.first()
    return row.public_id if row else value


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_it_keeps_to_its_schema(case: Any, known: dict[str, Any]) -> None:
    parameters = case.path_parameters or {}
    if "page_id" in parameters:
        parameters["page_id"] = known["page_id"]
    for name in ("id", "incident_id"):
        if name in parameters:
            parameters[name] = an_existing_id(case, str(parameters[name]))
    checks = [check for check in CHECKS.get_all() if check.__name__ not in LEFT_OUT]
    case.call_and_validate(headers=credentials(case, known), checks=checks)


def credentials(case: Any, known: dict[str, Any]) -> dict[str, str]:
    """The token, unless this case left out the Authorization header on purpose
    (a negative case expecting 401), which must then stay out."""
    headers = (case.meta.components if case.meta else {}).get(ParameterLocation.HEADER)
    if headers is not None and headers.mode == GenerationMode.NEGATIVE:
        if "Authorization" not in (case.headers or {}):
            return {}
    return dict(known["headers"])
