"""Every role against every write path: allowed or refused as the table says, and
what is refused leaves nothing behind, not even a row in the audit log."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, Permission

from audit.models import AuditEntry
from tests.access.paths import ALL, PATHS, Who, World, WritePath

pytestmark = pytest.mark.django_db


def written_by(who: Who) -> list[AuditEntry]:
    """What the audit log holds under this person's name, signing in aside."""
    return list(
        AuditEntry.objects.filter(actor_name=who.user.username).exclude(
            action__startswith="sign"
        )
    )


@pytest.mark.parametrize("role", sorted(ALL))
@pytest.mark.parametrize("path", PATHS, ids=str)
def test_it_allows_each_role_exactly_the_writes_of_the_table(
    path: WritePath, role: str, who: Callable[[str], Who], world: World
) -> None:
    person = who(role)
    before = {entry.pk for entry in written_by(person)}

    status, written = path.attempt(person, world)

    rows = [entry for entry in written_by(person) if entry.pk not in before]
    if role in path.roles:
        assert written(), f"{role} should be able to {path}: {status}"
        assert status < 400, status
        assert any(row.object_type == path.object_type for row in rows), rows
    else:
        assert not written(), f"{role} must not be able to {path}"
        assert rows == [], [str(row) for row in rows]
        if path.via in ("api", "command"):
            assert status == 403


@pytest.mark.django_db
def test_the_admin_role_holds_every_permission() -> None:
    # "admin may do everything" (access/roles.py): a model added later must be
    # granted to it by a migration, or its admins could not manage it.
    admin = Group.objects.get(name="admin")
    lacking = Permission.objects.exclude(group=admin).values_list(
        "content_type__app_label", "codename"
    )

    assert sorted(lacking) == []
