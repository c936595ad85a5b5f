"""The audit log is append-only and chained: sealed after each commit, verified,
refused any change by the database, pruned from its start; read and exported in
the console and the API, never written there."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse

from audit import chain
from audit.models import AuditEntry, AuditHead
from audit.recording import record
from incidents import services
from incidents.models import Page
from tests.api_helpers import api_client, body, staff_user, v1
from tests.conftest import make_component, make_page

LOG = reverse("admin:audit_auditentry_changelist")


def sealed() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(seq__isnull=False).order_by("seq"))


@pytest.fixture
def guard_off() -> Iterator[None]:
    """The database's guard lifted, as someone with the database's own rights
    could: what verify must catch."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_guard")
    yield
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_guard")


@pytest.mark.django_db(transaction=True)
def test_it_seals_each_commit_into_a_chain_that_verifies() -> None:
    api = make_component(name="API")
    services.component_update(component=api, name="Public API")
    services.component_update(component=api, description="The REST API")

    rows = sealed()
    head = AuditHead.objects.get()
    assert [row.seq for row in rows] == list(range(1, len(rows) + 1))
    assert AuditEntry.objects.filter(seq__isnull=True).count() == 0
    assert rows[0].prev_hash == ""
    for before, after in zip(rows, rows[1:], strict=False):
        assert after.prev_hash == before.hash
    assert (head.seq, head.hash) == (rows[-1].seq, rows[-1].hash)
    assert chain.verify().ok


@pytest.mark.django_db(transaction=True)
def test_it_keeps_one_chain_when_writers_commit_at_once() -> None:
    Page.get()  # the default page's creation is the first row
    components = [make_component(name=f"C{n}") for n in range(4)]

    def write(component: Any) -> None:
        for round_ in range(10):
            services.component_update(component=component, name=f"{round_}")
        connection.close()

    threads = [threading.Thread(target=write, args=(c,)) for c in components]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    rows = sealed()
    assert len(rows) == 1 + 4 + 40
    assert [row.seq for row in rows] == list(range(1, 46))
    assert chain.verify().ok


@pytest.mark.django_db
def test_it_seals_what_a_process_that_died_after_its_commit_left() -> None:
    record("changed", object_type="incidents.page", object_repr="Acme")
    record("changed", object_type="incidents.page", object_repr="Acme")
    assert sealed() == []

    call_command("audit", "seal")

    assert [row.seq for row in sealed()] == [1, 2]
    assert chain.verify().ok


@pytest.mark.django_db
def test_it_refuses_in_the_database_to_change_or_delete_a_row() -> None:
    record("changed", object_type="incidents.page", object_repr="Acme")
    chain.seal()
    entry = AuditEntry.objects.get()

    for statement in (
        "UPDATE audit_auditentry SET actor_name = 'someone else'",
        "UPDATE audit_auditentry SET hash = 'x'",
        "DELETE FROM audit_auditentry",
    ):
        with pytest.raises(DatabaseError, match="audit log entries cannot be"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)
    assert AuditEntry.objects.get() == entry
    assert chain.verify().ok


@pytest.mark.django_db
def test_it_refuses_to_change_an_unsealed_row_other_than_sealing_it() -> None:
    record("changed", object_type="incidents.page", object_repr="Acme")

    with pytest.raises(DatabaseError, match="cannot be changed"):
        with transaction.atomic():
            AuditEntry.objects.update(object_repr="Evil")


@pytest.mark.django_db
def test_it_finds_a_changed_entry(guard_off: None) -> None:
    for name in ("A", "B", "C"):
        record("changed", object_type="incidents.page", object_repr=name)
    chain.seal()
    AuditEntry.objects.filter(seq=2).update(changes={"name": ["x", "forged"]})

    report = chain.verify()

    assert report.problems == ["entry 2 was changed after it was written"]
    with pytest.raises(CommandError, match="broken"):
        call_command("audit", "verify")


@pytest.mark.django_db
def test_it_finds_a_missing_entry_in_the_middle_and_at_the_end(
    guard_off: None,
) -> None:
    for name in ("A", "B", "C", "D"):
        record("changed", object_type="incidents.page", object_repr=name)
    chain.seal()

    AuditEntry.objects.filter(seq=2).delete()
    assert chain.verify().problems == ["entry 2 is missing (the next is 3)"]

    AuditEntry.objects.filter(seq__in=[1, 3, 4]).delete()
    AuditEntry.objects.filter(seq=4).delete()
    assert chain.verify().problems[-1].startswith("the chain ends at 0")


@pytest.mark.django_db
def test_it_prunes_old_entries_from_the_start_and_still_verifies(
    settings: Any,
) -> None:
    settings.AUDIT_RETENTION_DAYS = 30
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    for days_ago in (90, 60, 40, 10, 1):
        with time_machine.travel(now - dt.timedelta(days=days_ago), tick=False):
            record("changed", object_type="incidents.page", object_repr=str(days_ago))
    chain.seal()

    assert chain.prune(now=now) == 3

    kept = sealed()
    assert [row.object_repr for row in kept] == ["10", "1"]
    head = AuditHead.objects.get()
    assert head.pruned_through == 3
    assert chain.verify().ok
    assert chain.prune(now=now) == 0


@pytest.mark.django_db
def test_it_keeps_everything_with_a_retention_of_zero(settings: Any) -> None:
    settings.AUDIT_RETENTION_DAYS = 0
    with time_machine.travel(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)):
        record("changed", object_type="incidents.page", object_repr="old")
    chain.seal()

    assert chain.prune() == 0
    assert AuditEntry.objects.count() == 1


# Reading it: the console and the API ------------------------------------------------


@pytest.fixture
def logged() -> None:
    make_page()
    api = make_component(name="API")
    client = api_client("write", "deploy-bot")
    client.patch(
        v1(f"components/{api.public_id}"),
        {"component": {"status": "major_outage"}},
        format="json",
    )
    services.component_update(component=api, description="by the system")
    chain.seal()


@pytest.mark.django_db
def test_it_lists_and_filters_the_log_in_the_console(
    logged: None, admin_client: Client
) -> None:
    everything = admin_client.get(LOG)
    tokens_only = admin_client.get(LOG, {"actor_kind__exact": "token"})

    assert everything.status_code == 200
    assert "deploy-bot (token" in everything.content.decode()
    shown = tokens_only.context["cl"].result_list
    assert shown and {entry.actor_kind for entry in shown} == {"token"}


@pytest.mark.django_db
def test_it_exports_what_the_console_lists_as_csv_and_json(
    logged: None, admin_client: Client
) -> None:
    query = {"actor_kind__exact": "token"}
    as_csv = admin_client.get(
        reverse("admin:audit_auditentry_export", args=["csv"]), query
    )
    as_json = admin_client.get(
        reverse("admin:audit_auditentry_export", args=["json"]), query
    )

    rows = list(
        csv.DictReader(io.StringIO(b"".join(as_csv.streaming_content).decode()))
    )
    data = json.loads(b"".join(as_json.streaming_content))
    tokens = AuditEntry.objects.filter(actor_kind="token")
    assert [row["hash"] for row in rows] == list(
        tokens.order_by("id").values_list("hash", flat=True)
    )
    assert [row["hash"] for row in data] == [row["hash"] for row in rows]
    assert json.loads(rows[0]["changes"]) == data[0]["changes"]


@pytest.mark.django_db
def test_it_offers_no_way_to_edit_or_delete_an_entry_in_the_console(
    logged: None, admin_client: Client
) -> None:
    entry = AuditEntry.objects.first()
    assert entry is not None
    change = reverse("admin:audit_auditentry_change", args=[entry.pk])
    delete = reverse("admin:audit_auditentry_delete", args=[entry.pk])

    shown = admin_client.get(change)
    edited = admin_client.post(change, {"actor_name": "someone else"})
    deleted = admin_client.post(delete, {"post": "yes"})
    bulk = admin_client.post(
        LOG,
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )

    assert shown.status_code == 200
    assert edited.status_code == 403 and deleted.status_code == 403
    assert bulk.status_code in (200, 302)
    assert AuditEntry.objects.get(pk=entry.pk) == entry
    assert chain.verify().ok


@pytest.mark.django_db
def test_it_lists_the_log_in_the_management_api_with_filters(logged: None) -> None:
    reader = api_client("read", "auditor")

    everything = reader.get(v1("audit-log"))
    tokens_only = reader.get(v1("audit-log"), {"actor_kind": "token"})
    one = reader.get(v1(f"audit-log/{body(tokens_only)[0]['seq']}"))

    assert everything.status_code == 200
    assert int(everything["X-Total-Count"]) == AuditEntry.objects.count()
    assert {row["actor_kind"] for row in body(tokens_only)} == {"token"}
    assert body(one)["hash"] == body(tokens_only)[0]["hash"]
    assert reader.get(v1("audit-log"), {"actor_kind": "nobody"}).status_code == 400


@pytest.mark.django_db
def test_it_takes_no_write_to_the_log_in_the_management_api(logged: None) -> None:
    writer = api_client("write", "boss")
    entry = AuditEntry.objects.first()
    assert entry is not None
    before = list(AuditEntry.objects.values())

    answers = [
        writer.post(v1("audit-log"), {"action": "x"}, format="json").status_code,
        writer.patch(
            v1(f"audit-log/{entry.seq}"), {"action": "x"}, format="json"
        ).status_code,
        writer.delete(v1(f"audit-log/{entry.seq}")).status_code,
    ]

    assert answers == [405, 405, 405]
    after = list(AuditEntry.objects.filter(pk__in=[r["id"] for r in before]).values())
    assert after == before


@pytest.mark.django_db
def test_it_keeps_the_log_from_roles_other_than_admin() -> None:
    make_page()
    responder = Client()
    responder.force_login(staff_user("oncall", "responder"))

    assert responder.get(LOG).status_code == 403
    assert (
        api_client("read", "watcher", "viewer").get(v1("audit-log")).status_code == 403
    )


@pytest.mark.django_db(transaction=True)
def test_it_seals_a_requests_rows_once_its_answer_is_sent() -> None:
    make_page()
    api = make_component(name="API")
    client = api_client("write", "deploy-bot")

    response = client.patch(
        v1(f"components/{api.public_id}"),
        {"component": {"status": "major_outage"}},
        format="json",
    )

    assert response.status_code == 200
    changed = AuditEntry.objects.get(
        object_type="incidents.component", action="changed"
    )
    assert changed.seq is not None and changed.hash
    assert AuditEntry.objects.filter(seq__isnull=True).count() == 0
    assert chain.verify().ok
