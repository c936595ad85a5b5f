"""The audit log: who changed what, when and from where, on every write path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEntry
from audit.registry import AUDITED, NOT_AUDITED, SECRET
from incidents.models import Incident
from incidents.tasks import maintenance_advance
from integrations.models import Integration
from notifications.models import Channel, Subscriber
from notifications.tokens import token_for as link_token
from tests.access.paths import PATHS, Who, World, WritePath
from tests.api_helpers import staff_user, v1
from tests.conftest import ROOT, make_component, make_maintenance, make_page
from tests.integrations.conftest import (
    alertmanager_body,
    make_alert_probe,
    make_integration,
)
from tokens.services import token_create

pytestmark = pytest.mark.django_db

AGENT = "Mozilla/5.0 (audit test)"


def entries(**filters: Any) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(**filters).order_by("id"))


def only(**filters: Any) -> AuditEntry:
    found = entries(**filters)
    assert len(found) == 1, [str(entry) for entry in found]
    return found[0]


# The walk: every write path a person takes leaves its row under their name --------


@pytest.mark.parametrize("path", PATHS, ids=str)
def test_it_finds_the_row_of_every_write_path(
    path: WritePath, who: Callable[[str], Who], world: World
) -> None:
    admin = who("admin")
    start = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()

    status, written = path.attempt(admin, world)

    assert written(), status
    rows = entries(id__gt=start or 0, object_type=path.object_type)
    assert rows, f"no {path.object_type} row for {path}"
    kinds = {"console": "user", "api": "token", "command": "user"}
    assert {row.actor_kind for row in rows} == {kinds[path.via]}
    assert {row.actor_name for row in rows} == {"admin-person"}
    assert all(row.changes for row in rows if row.action != "deleted")


# Who, what, when and from where ---------------------------------------------------


def test_it_records_a_console_change_with_its_fields_and_address() -> None:
    api = make_component(name="API")
    admin = staff_user("ada", "admin")
    console = Client(HTTP_USER_AGENT=AGENT, REMOTE_ADDR="203.0.113.9")
    console.force_login(admin)
    data = {"name": "Public API", "status": "operational", "position": 0}
    data |= {"pages": [page.pk for page in api.pages.all()]}

    console.post(reverse("admin:incidents_component_change", args=[api.pk]), data)

    entry = only(action="changed", object_type="incidents.component")
    assert (entry.actor_kind, entry.actor_name, entry.actor_user_id) == (
        "user",
        "ada",
        admin.pk,
    )
    assert (entry.object_id, entry.object_repr) == (str(api.pk), "Public API")
    assert entry.changes == {
        "name": ["API", "Public API"],
        "showcase": [True, False],
    }
    assert (entry.address, entry.user_agent) == ("203.0.113.9", AGENT)
    assert entry.at is not None


def test_it_records_an_api_write_under_the_token_and_its_owner() -> None:
    make_page()
    api = make_component(name="API")
    owner = staff_user("deploy-bot", "admin")
    token, plaintext = token_create(user=owner, name="deploys", scope="write")
    client = APIClient(HTTP_USER_AGENT="deploy-script/2")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")

    response = client.patch(
        v1(f"components/{api.public_id}"),
        {"component": {"status": "major_outage"}},
        format="json",
    )

    assert response.status_code == 200
    entry = only(
        action="changed", object_type="incidents.component", object_id=str(api.pk)
    )
    assert (entry.actor_kind, entry.actor_name, entry.actor_user_id) == (
        "token",
        "deploy-bot",
        owner.pk,
    )
    assert (entry.token_id, entry.token_prefix, entry.actor_detail) == (
        token.pk,
        token.prefix,
        "deploys",
    )
    assert entry.changes == {"status": ["operational", "major_outage"]}
    assert entry.user_agent == "deploy-script/2"


def test_it_records_what_an_integration_alert_made_the_probes_do() -> None:
    login = make_component(name="Login/logout path")
    probe = make_alert_probe(login, config={"matchers": {"service": "auth"}})
    integration, secret = make_integration(name="Prometheus")

    alertmanager = Client(REMOTE_ADDR="198.51.100.4")
    alertmanager.post(
        reverse("integrations:alertmanager", args=[integration.public_id]),
        json.dumps(alertmanager_body("firing")),
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )

    moved = only(
        action="changed", object_type="incidents.component", object_id=str(login.pk)
    )
    assert (moved.actor_kind, moved.actor_name) == ("probe", probe.name)
    assert moved.actor_detail == (
        f"probe {probe.public_id}, alerted by integration Prometheus"
    )
    assert moved.address == "198.51.100.4"
    assert moved.changes == {"status": ["operational", "major_outage"]}
    opened = entries(action="created", object_type="incidents.incident")
    assert [entry.actor_kind for entry in opened] == ["probe"]
    assert not Integration.objects.filter(last_received_at__isnull=True).exists()


def test_it_records_visitors_signing_up_confirming_and_leaving() -> None:
    make_page()
    visitor = Client(REMOTE_ADDR="192.0.2.44")

    visitor.post(
        reverse("notifications:subscribe"),
        {"channel": "email", "email": "ada@example.com", "scope": "page"},
    )
    subscriber = Subscriber.objects.get(email="ada@example.com")
    visitor.get(
        reverse("notifications:confirm", args=[link_token(subscriber, "confirm")])
    )
    leave = link_token(subscriber, "unsubscribe")
    visitor.post(reverse("notifications:unsubscribe", args=[leave]))

    rows = entries(object_type="notifications.subscriber")
    assert {row.actor_kind for row in rows} == {"visitor"}
    assert {row.address for row in rows} == {"192.0.2.44"}
    states = [row.changes.get("state") for row in rows]
    assert states[0] == [None, "pending"]
    assert ["pending", "active"] in states and ["active", "unsubscribed"] in states


def test_it_records_the_system_running_a_periodic_task() -> None:
    maintenance = make_maintenance(name="Upgrade")

    with time_machine.travel(maintenance.scheduled_for, tick=False):
        maintenance_advance.apply()

    assert Incident.objects.get(pk=maintenance.pk).status == "in_progress"
    started = only(
        action="changed",
        object_type="incidents.incident",
        actor_kind="system",
        actor_name="maintenance_advance",
    )
    assert (started.actor_kind, started.actor_name) == ("system", "maintenance_advance")
    assert started.changes["status"] == ["scheduled", "in_progress"]


@pytest.mark.django_db(transaction=True)
def test_it_records_a_command_under_the_operator(tmp_path: Path) -> None:
    from tests.conftest import worker_database_url

    config = tmp_path / "page.yaml"
    config.write_text("version: 1\npage:\n  name: From the shell\n")
    environment = {**os.environ, "DATABASE_URL": worker_database_url()}

    subprocess.run(
        [sys.executable, "manage.py", "apply", str(config)],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
    )

    entry = only(object_type="incidents.page", action="changed")
    assert entry.actor_kind == "command"
    assert entry.actor_detail == "manage.py apply"
    assert entry.actor_name  # the operating system's user
    assert entry.changes["name"][1] == "From the shell"


def test_it_records_sign_ins_sign_outs_and_failed_attempts_by_name() -> None:
    user = staff_user("ada", "viewer")
    console = Client(REMOTE_ADDR="203.0.113.10")
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.11")

    console.force_login(user)
    console.logout()
    authenticate(request, username="ada", password="not her password")

    rows = entries(object_type="auth.user", action__startswith="sign")
    assert [(row.action, row.actor_name) for row in rows] == [
        ("signed_in", "ada"),
        ("signed_out", "ada"),
        ("sign_in_failed", "ada"),
    ]
    assert rows[2].actor_kind == "visitor"
    assert rows[2].address == "203.0.113.11"
    assert "not her password" not in str(rows[2].changes)


# What is never copied ---------------------------------------------------------


def test_it_keeps_secrets_out_of_the_log() -> None:
    owner = staff_user("ada", "admin")
    token, plaintext = token_create(user=owner, name="ci", scope="read")
    integration, integration_secret = make_integration(name="Prometheus")
    hook = Subscriber.objects.create(
        channel=Channel.SLACK,
        url="https://hooks.slack.com/services/T0/B0/very-secret",
    )
    owner.set_password("a-long-Passphrase-42")
    owner.save()

    text = str([entry.changes for entry in AuditEntry.objects.all()])
    for secret in (
        plaintext,
        token.hash,
        integration_secret,
        integration.secret_hash,
        "very-secret",
        owner.password,
    ):
        assert secret not in text
    assert only(object_type="tokens.apitoken").changes["hash"] == [None, SECRET]
    assert only(object_type="notifications.subscriber", object_id=str(hook.pk)).changes[
        "url"
    ] == [None, SECRET]
    changed = entries(object_type="auth.user", action="changed")
    assert changed[-1].changes["password"][1] == SECRET


def test_it_records_role_changes_as_the_groups_before_and_after() -> None:
    user = staff_user("ada", "viewer")
    viewer, admin = (Group.objects.get(name=n) for n in ("viewer", "admin"))

    user.groups.add(admin)

    entry = entries(object_type="auth.user", action="changed")[-1]
    assert entry.changes == {"groups": [[viewer.pk], sorted([viewer.pk, admin.pk])]}


def test_it_names_every_model_audited_or_not_with_a_reason() -> None:
    labels = {model._meta.label_lower for model in apps.get_models()}
    decided = set(AUDITED) | set(NOT_AUDITED)

    assert sorted(labels - decided) == []


def test_it_records_roles_a_single_sign_on_claim_set_under_the_claim() -> None:
    from accounts.services import user_roles_set

    user = staff_user("bob", "viewer")
    viewer, responder = (Group.objects.get(name=n) for n in ("viewer", "responder"))
    start = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()

    user_roles_set(user=user, roles={"responder"})

    rows = entries(id__gt=start, object_type="auth.user", object_id=str(user.pk))
    assert {(row.actor_kind, row.actor_name) for row in rows} == {
        ("system", "single sign-on")
    }
    groups = [row.changes["groups"] for row in rows if "groups" in row.changes]
    assert groups[0][0] == [viewer.pk] and groups[-1][1] == [responder.pk]
