"""API tokens act with their owner's permissions as they are now, within their
scope; only admins make or revoke tokens of others (the security review's
findings, each as it was reproduced)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from incidents.models import Component, Incident
from notifications.models import Channel, Subscriber, SubscriberState
from tests.api_helpers import body, staff_user, v1
from tests.conftest import make_component, make_page
from tokens import services
from tokens.models import ApiToken

pytestmark = pytest.mark.django_db

TOKENS = reverse("admin:tokens_apitoken_changelist")
ADD = reverse("admin:tokens_apitoken_add")


def client_of(user: User, scope: str = "write") -> APIClient:
    _, plaintext = services.token_create(user=user, name="t", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


def with_permissions(username: str, *codenames: str) -> User:
    """A staff user holding exactly these permissions, through a group of their own."""
    user = staff_user(username, role=None)
    group = Group.objects.create(name=f"{username}-only")
    app_codenames = [name.split(".") for name in codenames]
    group.permissions.set(
        Permission.objects.get(content_type__app_label=app, codename=codename)
        for app, codename in app_codenames
    )
    user.groups.add(group)
    return user


def test_it_refuses_a_token_for_a_superuser_from_someone_who_may_only_add_tokens() -> (
    None
):
    make_page()
    minter = with_permissions("minter", "tokens.add_apitoken", "tokens.view_apitoken")
    root = User.objects.create_superuser("root", "root@acme.test", "x")
    console = Client()
    console.force_login(minter)

    response = console.post(ADD, {"user": root.pk, "name": "root's", "scope": "write"})

    assert response.status_code == 200  # the form again, with the error
    assert not ApiToken.objects.filter(user=root).exists()
    with pytest.raises(PermissionDenied, match="Only admins"):
        services.token_create(user=root, name="root's", scope="write", by=minter)
    assert not ApiToken.objects.filter(user=root).exists()


def test_it_refuses_writes_by_a_token_whose_owner_may_do_nothing() -> None:
    make_page()
    nobody = staff_user("nobody", role=None)

    response = client_of(nobody).post(
        v1("incidents"), {"incident": {"name": "Fake outage"}}, format="json"
    )

    assert response.status_code == 403
    assert "incidents.add_incident" in body(response)["error"]
    assert not Incident.objects.exists()


def test_it_stops_a_token_as_soon_as_its_owner_loses_the_role() -> None:
    make_page()
    api = make_component(name="API")
    responder = staff_user("oncall", "responder")
    client = client_of(responder)
    path = v1(f"components/{api.public_id}")

    def set_status(status: str) -> int:
        body = {"component": {"status": status}}
        return int(client.patch(path, body, format="json").status_code)

    assert set_status("degraded_performance") == 200
    responder.groups.clear()
    assert set_status("major_outage") == 403
    assert Component.objects.get(pk=api.pk).status == "degraded_performance"
    responder.groups.add(Group.objects.get(name="responder"))
    assert set_status("partial_outage") == 200
    User.objects.filter(pk=responder.pk).update(is_staff=False)
    assert set_status("major_outage") == 401
    User.objects.filter(pk=responder.pk).update(is_staff=True, is_active=False)
    assert set_status("major_outage") == 401
    assert Component.objects.get(pk=api.pk).status == "partial_outage"


def test_it_keeps_subscriber_addresses_from_roles_that_may_not_read_them() -> None:
    make_page()
    Subscriber.objects.create(
        channel=Channel.EMAIL, email="ada@example.com", state=SubscriberState.ACTIVE
    )
    responder = client_of(staff_user("oncall", "responder"), scope="read")
    admin = client_of(staff_user("boss", "admin"), scope="read")

    refused = responder.get(v1("subscribers"))
    allowed = admin.get(v1("subscribers"))

    assert refused.status_code == 403
    assert "ada@example.com" not in refused.content.decode()
    assert allowed.status_code == 200
    assert [row["email"] for row in body(allowed)] == ["ada@example.com"]


def test_it_lets_a_read_token_read_only_what_its_owner_may_read() -> None:
    make_page()
    viewer = client_of(staff_user("watcher", "viewer"), scope="read")

    assert viewer.get(v1("components")).status_code == 200
    assert viewer.get(v1("probes")).status_code == 200
    assert viewer.get(v1("deliveries")).status_code == 403
    assert viewer.get(v1("audit-log")).status_code == 403


def test_it_lets_only_admins_revoke_tokens_of_others() -> None:
    make_page()
    keeper = with_permissions(
        "keeper", "tokens.view_apitoken", "tokens.change_apitoken"
    )
    victim, _ = services.token_create(
        user=staff_user("victim", "responder"), name="victim's", scope="write"
    )
    own, _ = services.token_create(user=keeper, name="own", scope="read")
    console = Client()
    console.force_login(keeper)

    listing = console.get(TOKENS).content.decode()
    console.post(TOKENS, {"action": "revoke", "_selected_action": [victim.pk, own.pk]})

    assert "victim&#x27;s" not in listing and "victim's" not in listing
    victim.refresh_from_db()
    own.refresh_from_db()
    assert victim.revoked_at is None
    assert own.revoked_at is not None
    with pytest.raises(PermissionDenied):
        services.token_revoke(token=victim, by=keeper)
    victim.refresh_from_db()
    assert victim.revoked_at is None


def test_it_lets_an_admin_make_and_revoke_a_token_for_someone_else() -> None:
    make_page()
    boss = staff_user("boss", "admin")
    helper = staff_user("helper", "viewer")

    token, _ = services.token_create(user=helper, name="dash", scope="read", by=boss)
    services.token_revoke(token=token, by=boss)

    assert token.user == helper and token.revoked_at is not None
