"""Configuration as code: ``manage.py apply`` and ``manage.py export``."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from incidents import services
from incidents.models import Component, IncidentTemplate, Page
from notifications.models import Channel, Subscriber, SubscriberState
from probes.models import Probe, ProbeKindName
from tests.conftest import ROOT, make_component, make_page

pytestmark = pytest.mark.django_db

EXAMPLE = ROOT / "examples" / "heliograph.yaml"


@pytest.fixture(autouse=True)
def example_secret_hosts(settings: Any) -> None:
    """The bindings the example's comment asks for: its journey signs in there."""
    names = ("EXAMPLE_PROBE_USER", "EXAMPLE_PROBE_PASSWORD")
    settings.PROBE_SECRET_HOSTS = dict.fromkeys(names, ("example.com",))


def run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return str(path)


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as refusal:
        run("apply", *args)
    return str(refusal.value)


def stamps() -> dict[str, Any]:
    """Every configuration row's last change, to prove a run wrote nothing."""
    return {
        "page": list(Page.objects.values_list("updated_at", flat=True)),
        "components": list(Component.objects.values_list("id", "updated_at")),
        "probes": list(Probe.objects.values_list("id", "updated_at")),
        "templates": list(IncidentTemplate.objects.values_list("id", "updated_at")),
    }


def wipe() -> None:
    """Empty the configuration, as on a fresh install (test set-up only)."""
    Probe.objects.all().delete()
    IncidentTemplate.objects.all().delete()
    Component.objects.filter(group__isnull=False).delete()
    Component.objects.all().delete()
    Page.objects.all().delete()


def test_it_creates_the_example_configuration() -> None:
    output = run("apply", str(EXAMPLE))
    assert '~ page "main": name "Status" -> "Example Status"' in output
    assert '+ page "internal"' in output
    assert '+ group "Example app"' in output
    assert '+ component "Example app/Login path"' in output
    assert "Applied: 12 created, 1 changed, 0 deleted." in output
    page = Page.get()
    assert (page.name, page.time_zone) == ("Example Status", "Europe/Berlin")
    internal = Page.objects.get(slug="internal")
    assert [h.name for h in internal.hosts.all()] == ["status.example.internal"]
    assert list(
        internal.components.order_by("name").values_list("name", flat=True)
    ) == [
        "Example app",
        "Login path",
        "Web",
    ]
    assert IncidentTemplate.objects.get(name="Rollback").page == internal
    group = Component.objects.get(name="Example app", is_group=True)
    children = list(group.children.live().values_list("name", flat=True))
    assert children == ["Login path", "Web", "API"]
    docs = Component.objects.get(name="Documentation")
    assert (docs.group, docs.position, docs.only_show_if_degraded) == (None, 1, True)
    assert str(Component.objects.get(name="API").start_date) == "2024-01-15"
    journey = Probe.objects.get(name="Sign in and out")
    web = Component.objects.get(name="Web")
    assert journey.component.name == "Login path"
    assert (journey.failures_to_down, journey.timeout_seconds) == (2, 20)
    assert journey.config["steps"][2]["component"] == web.public_id
    api_probe = Probe.objects.get(name="API health")
    assert api_probe.down_status == "partial_outage"
    assert api_probe.config["expected_status"] == [200]
    template = IncidentTemplate.objects.get(name="API degraded")
    assert (template.update_status, template.should_send_notifications) == (
        "identified",
        False,
    )
    assert [c.name for c in template.components.all()] == ["API"]


def test_it_changes_nothing_when_applied_twice() -> None:
    run("apply", str(EXAMPLE))
    before = stamps()
    assert run("apply", str(EXAMPLE)) == "No changes.\n"
    assert stamps() == before


def test_it_writes_nothing_on_a_dry_run() -> None:
    output = run("apply", "--dry-run", str(EXAMPLE))
    assert '+ probe "Web home"' in output
    assert '+ template "Login failures"' in output
    assert "Dry run: 12 created, 1 changed, 0 deleted; nothing written." in output
    assert not Component.objects.exists()
    assert not Probe.objects.exists()
    assert not Page.objects.exists()


def test_it_plans_exactly_the_field_that_changed(tmp_path: Path) -> None:
    run("apply", str(EXAMPLE))
    text = EXAMPLE.read_text().replace("interval_seconds: 30", "interval_seconds: 15")
    changed = write(tmp_path, text)
    before = stamps()
    plan = run("apply", "--dry-run", changed)
    assert plan.splitlines() == [
        '~ probe "Web home": interval_seconds 30 -> 15',
        "Dry run: 0 created, 1 changed, 0 deleted; nothing written.",
    ]
    assert stamps() == before
    run("apply", changed)
    assert Probe.objects.get(name="Web home").interval_seconds == 15


def test_it_shows_config_and_position_changes_field_by_field(tmp_path: Path) -> None:
    run("apply", str(EXAMPLE))
    text = EXAMPLE.read_text().replace(
        "https://example.com/app", "https://example.com/home"
    )
    # Web before Login path: both move, the others stay.
    login = "      - name: Login path\n        description: Signing in and out.\n"
    web = "      - name: Web\n        description: The web application.\n"
    both = "        pages: [main, internal]\n"
    text = text.replace(login + both + web + both, web + both + login + both)
    plan = run("apply", "--dry-run", write(tmp_path, text))
    assert plan.splitlines()[:-1] == [
        '~ component "Example app/Web": position 1 -> 0',
        '~ component "Example app/Login path": position 0 -> 1',
        '~ probe "Sign in and out": config.steps[2].url '
        '"https://example.com/app" -> "https://example.com/home"',
    ]


def test_it_round_trips_an_export_on_the_same_database(tmp_path: Path) -> None:
    run("apply", str(EXAMPLE))
    make_component(name="Status of the office coffee machine", showcase=False)
    exported = write(tmp_path, run("export"))
    before = stamps()
    assert run("apply", exported) == "No changes.\n"
    assert run("apply", "--prune", exported) == "No changes.\n"
    assert stamps() == before


def test_it_round_trips_an_export_into_an_empty_database(tmp_path: Path) -> None:
    run("apply", str(EXAMPLE))
    first = run("export")
    assert "operational" not in first  # statuses are live state
    wipe()
    run("apply", write(tmp_path, first))
    assert run("export") == first
    output_file = tmp_path / "again.yaml"
    run("export", "--output", str(output_file))
    assert output_file.read_text() == first


def test_it_leaves_out_defaults_when_exporting() -> None:
    run("apply", str(EXAMPLE))
    exported = run("export")
    assert "showcase" not in exported  # every component is at the default
    assert "interval_seconds: 60" not in exported
    assert "follow_redirects" not in exported
    assert "url: https://example.com/\n" in exported
    assert "component: Example app/Web\n" in exported  # a journey step, by name


def test_it_deletes_what_the_file_does_not_name_only_with_prune(
    tmp_path: Path,
) -> None:
    run("apply", str(EXAMPLE))
    extra = make_component(name="Legacy")
    Probe.objects.filter(name="API health").update(name="Old API check")
    small = write(
        tmp_path,
        """
        version: 1
        components:
          - name: Example app
            components:
              - name: Web
        probes:
          - name: Web home
            kind: http
            component: Web
            interval_seconds: 30
            config: {url: "https://example.com/", body_contains: Example,
                     degraded_after_ms: 1500}
        """,
    )
    kept = run("apply", "--dry-run", small)
    assert "- " not in kept
    plan = run("apply", "--dry-run", "--prune", small).splitlines()
    assert '- template "API degraded"' in plan
    assert '- probe "Old API check"' in plan
    assert '- component "Legacy"' in plan
    assert plan.index('- component "Example app/API"') < plan.index(
        '- component "Documentation"'
    )
    run("apply", "--prune", small)
    extra.refresh_from_db()
    assert extra.is_deleted
    assert list(Component.objects.live().values_list("name", flat=True)) == [
        "Example app",
        "Web",
    ]
    assert list(Probe.objects.values_list("name", flat=True)) == ["Web home"]
    assert run("apply", "--prune", small) == "No changes.\n"


def test_it_prints_a_new_heartbeat_token_once(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
        version: 1
        components:
          - name: Nightly backup
        probes:
          - name: Backup ran
            kind: heartbeat
            component: Nightly backup
            config: {period_seconds: 86400, grace_seconds: 3600}
        """,
    )
    assert "pings" not in run("apply", "--dry-run", config)
    output = run("apply", config)
    assert 'heartbeat probe "Backup ran" pings /heartbeat/' in output
    probe = Probe.objects.get(name="Backup ran")
    assert probe.kind == ProbeKindName.HEARTBEAT and probe.heartbeat_token_hash
    assert run("apply", config) == "No changes.\n"
    assert "token" not in run("export").lower()


def test_it_reports_a_yaml_syntax_error_with_its_line(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
        version: 1
        components:
          - name: Web
            description: a: b
        """,
    )
    message = refused(config)
    assert message.startswith(f"{config}:4: not valid YAML: mapping values")
    assert "Nothing was written." in message


def test_it_reports_a_key_given_twice_with_its_line(tmp_path: Path) -> None:
    config = write(tmp_path, "version: 1\ncomponents:\n  - name: Web\n    name: API\n")
    message = refused(config)
    assert f"{config}:4: components[0].name: appears twice" in message


def test_it_reports_an_unknown_key_with_its_line(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
        version: 1
        components:
          - name: Web
            colour: blue
        """,
    )
    message = refused(config)
    assert f"{config}:4: components[0].colour: is not a known field" in message


def test_it_reports_a_wrong_type_with_its_line(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
        version: 1
        components:
          - name: Web
        probes:
          - name: Web home
            kind: http
            component: Web
            interval_seconds: often
            config: {url: "https://example.com/"}
        """,
    )
    message = refused(config)
    assert f"{config}:8: probes[0].interval_seconds: must be a whole number" in message


def test_it_reports_an_unknown_component_with_its_line(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
        version: 1
        components:
          - name: Web
        templates:
          - name: Down
            title: Web is down
            components: [Web, Mobile]
          - name: Everything
            title: All is down
            components: [Product]
          - name: Which
            title: Which one
            components: [Login]
        """,
    )
    for name in ("Product", "Mobile app"):
        make_component(name="Login", group=make_component(name=name, is_group=True))
    message = refused(config)
    assert f"{config}:7: templates[0].components[1]: no component 'Mobile'" in message
    assert f"{config}:10: templates[1].components[0]: 'Product' is a group" in message
    assert (
        f"{config}:13: templates[2].components[0]: 'Login' names several components: "
        "write one of Mobile app/Login, Product/Login"
    ) in message


def test_it_reports_a_duplicate_name_with_both_lines(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
        version: 1
        components:
          - name: Web
          - name: API
          - name: Web
        """,
    )
    message = refused(config)
    assert f"{config}:5: components[2].name: 'Web' is already used at line 3" in message


def test_it_reports_a_bad_probe_config_and_writes_nothing(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        """
        version: 1
        page: {name: Not applied}
        components:
          - name: Web
        probes:
          - name: Web home
            kind: http
            component: Web
            config:
              method: GET
        """,
    )
    message = refused(config)
    assert f"{config}:9: probes[0].config.url: is required" in message
    assert not Component.objects.exists()
    assert not Page.objects.exists()


def test_it_reports_every_refusal_of_the_services_and_writes_nothing(
    tmp_path: Path,
) -> None:
    run("apply", str(EXAMPLE))
    before = stamps()
    text = EXAMPLE.read_text().replace(
        "    down_status: partial_outage\n",
        "    down_status: partial_outage\n    regions: [mars]\n",
    )
    text = text.replace("name: Example Status", "name: Renamed")
    message = refused(write(tmp_path, text))
    line = text.splitlines().index("    regions: [mars]") + 1
    assert f':{line}: probes[2].regions: probe "API health": No workers serve mars' in (
        message
    )
    assert Page.get().name == "Example Status"
    assert stamps() == before


def test_it_refuses_a_probe_listing_a_region_twice(
    tmp_path: Path, settings: Any
) -> None:
    settings.PROBE_REGIONS = ["eu", "us"]
    config = write(
        tmp_path,
        """
        version: 1
        page: {name: Not applied}
        components:
          - name: Web
        probes:
          - name: Web home
            kind: http
            component: Web
            config: {url: "http://acme.test/"}
            regions: [eu, eu]
            quorum: 2
        """,
    )
    message = refused(config)
    assert "probes[0].regions" in message
    assert "List each region once: eu is repeated." in message
    assert not Component.objects.exists()


def test_it_refuses_a_file_without_its_version(tmp_path: Path) -> None:
    message = refused(write(tmp_path, "components: []\n"))
    assert "version: must be 1" in message


def test_it_keeps_components_the_file_does_not_name_after_its_own() -> None:
    make_component(name="Early", position=0)
    output = run("apply", str(EXAMPLE))
    assert '~ component "Early": position 0 -> 2' in output
    names = Component.objects.live().filter(group=None)
    assert [c.name for c in names] == ["Example app", "Documentation", "Early"]
    assert run("apply", str(EXAMPLE)) == "No changes.\n"


def test_it_refuses_names_the_database_holds_twice(tmp_path: Path) -> None:
    make_component(name="Web")
    make_component(name="Web")
    config = write(tmp_path, "version: 1\ncomponents:\n  - name: Web\n")
    assert f"{config}:3: components[0].name: 2 components in the database" in (
        refused(config)
    )
    with pytest.raises(CommandError, match="2 components are named 'Web'"):
        run("export")


def test_it_applies_the_readme_example(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration as code", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    output = run("apply", write(tmp_path, example))
    assert "Applied: 7 created, 1 changed, 0 deleted." in output
    assert Probe.objects.get(name="API health").component.name == "API"
    login = Component.objects.get(name="Login path")
    assert sorted(login.pages.values_list("slug", flat=True)) == ["internal", "main"]


# Several pages --------------------------------------------------------------------

TWO_PAGES = """
    version: 1
    pages:
      - name: Acme
        slug: public
        hosts: [status.acme.test]
        url: https://status.acme.test
      - name: Acme internal
        slug: internal
        hosts: [localhost, status.acme.internal]
        time_zone: Europe/Berlin
        description: For Acme's employees.
    components:
      - name: Product
        components:
          - name: Login
            pages: [public, internal]
          - name: Session store
            pages: [internal]
      - name: Public API
    templates:
      - name: Failover
        title: Failing over the session store
        page: internal
        components: [Session store]
      - name: Login failures
        title: Some customers cannot sign in
        components: [Login]
    """


def slugs(component: str) -> list[str]:
    return sorted(
        Component.objects.get(name=component).pages.values_list("slug", flat=True)
    )


def test_it_applies_and_round_trips_two_pages(tmp_path: Path) -> None:
    wipe()
    output = run("apply", write(tmp_path, TWO_PAGES))
    assert '+ page "internal"' in output
    public, internal = Page.objects.order_by("-is_default")
    assert (public.slug, public.is_default, public.name) == ("public", True, "Acme")
    assert (internal.slug, internal.time_zone) == ("internal", "Europe/Berlin")
    assert list(internal.hosts.values_list("name", flat=True)) == [
        "localhost",
        "status.acme.internal",
    ]
    assert slugs("Login") == ["internal", "public"]
    assert slugs("Session store") == ["internal"]
    assert slugs("Public API") == ["public"]  # no pages listed: the default page
    assert slugs("Product") == ["internal", "public"]  # every page of its components
    assert IncidentTemplate.objects.get(name="Failover").page == internal
    assert IncidentTemplate.objects.get(name="Login failures").page is None
    assert run("apply", write(tmp_path, TWO_PAGES)) == "No changes.\n"

    first = run("export")
    assert "- name: Acme\n  slug: public\n  hosts:\n  - status.acme.test\n" in first
    assert "page: internal" in first
    wipe()
    run("apply", write(tmp_path, first, "exported.yaml"))
    assert run("export") == first
    assert run("apply", "--prune", write(tmp_path, first, "exported.yaml")) == (
        "No changes.\n"
    )


def test_it_plans_page_changes_field_by_field(tmp_path: Path) -> None:
    wipe()
    run("apply", write(tmp_path, TWO_PAGES))
    text = (
        TWO_PAGES.replace("name: Acme internal", "name: Acme staff")
        .replace("hosts: [localhost, status.acme.internal]", "hosts: [localhost]")
        .replace("pages: [public, internal]", "pages: [public]")
        .replace("page: internal\n", "page: public\n")
    )
    before = stamps()

    plan = run("apply", "--dry-run", write(tmp_path, text, "changed.yaml"))

    assert plan.splitlines() == [
        '~ page "internal": name "Acme internal" -> "Acme staff"',
        '~ page "internal": hosts ["localhost", "status.acme.internal"] -> '
        '["localhost"]',
        '~ component "Product/Login": pages ["internal", "public"] -> ["public"]',
        '~ template "Failover": page "internal" -> "public"',
        "Dry run: 0 created, 3 changed, 0 deleted; nothing written.",
    ]
    assert stamps() == before  # the group stays on the session store's page too


def test_it_applies_a_file_without_pages_as_before(tmp_path: Path) -> None:
    make_page(name="Acme", url="")
    internal = services.page_create(name="Acme internal", slug="internal")
    make_component(name="Session store", pages=[internal])
    legacy = write(
        tmp_path,
        """
        version: 1
        page: {name: Acme status}
        components:
          - name: Login
        """,
    )

    output = run("apply", legacy)

    assert output.splitlines()[:2] == [
        '~ page: name "Acme" -> "Acme status"',
        '+ component "Login"',
    ]
    assert slugs("Login") == ["main"]
    assert run("apply", legacy) == "No changes.\n"
    run("apply", "--prune", legacy)
    assert Page.objects.filter(slug="internal").exists()  # no pages section: kept
    assert Component.objects.get(name="Session store").is_deleted


def test_it_prunes_a_page_only_without_subscribers(tmp_path: Path) -> None:
    make_page(name="Acme", url="")
    old = services.page_create(name="Old", slug="old", hosts=["old.acme.test"])
    fan = Subscriber.objects.create(
        page=old,
        channel=Channel.EMAIL,
        email="fan@example.com",
        state=SubscriberState.ACTIVE,
    )
    config = write(tmp_path, "version: 1\npages:\n  - name: Acme\n    slug: main\n")

    message = refused("--prune", config)

    assert "pages: the page 'old' (Old) is not in the file" in message
    assert "it has 1 subscriber(s)" in message
    assert Page.objects.filter(slug="old").exists()
    assert run("apply", config) == "No changes.\n"  # kept without --prune
    fan.delete()
    assert run("apply", "--prune", config).splitlines()[0] == '- page "old"'
    assert list(Page.objects.values_list("slug", flat=True)) == ["main"]


def test_it_keeps_the_default_page_the_file_marks(tmp_path: Path) -> None:
    wipe()
    config = write(
        tmp_path,
        """
        version: 1
        pages:
          - {name: Acme internal, slug: internal}
          - {name: Acme, slug: public, default: true}
        components:
          - name: Login
        """,
    )

    run("apply", config)

    assert Page.get().slug == "public"
    assert slugs("Login") == ["public"]
    other = config.replace("config.yaml", "other.yaml")
    swapped = Path(config).read_text().replace("default: true", "")
    swapped = swapped.replace("slug: internal}", "slug: internal, default: true}")
    Path(other).write_text(swapped)
    message = refused(other)
    assert "'internal' is another page than the default in the database" in message


def test_it_reports_unknown_pages_and_two_defaults(tmp_path: Path) -> None:
    two = write(
        tmp_path,
        """
        version: 1
        pages:
          - {name: Acme, slug: main, default: true}
          - {name: Acme internal, slug: internal, default: true}
        """,
        "two.yaml",
    )
    unknown = write(
        tmp_path,
        """
        version: 1
        pages:
          - {name: Acme, slug: main}
        components:
          - name: Login
            pages: [main, nowhere]
        templates:
          - name: Failover
            title: Failing over
            page: elsewhere
        """,
    )

    assert f"{two}:4: pages[1].default: only one page is default" in refused(two)
    message = refused(unknown)

    assert f"{unknown}:6: components[0].pages[1]: no page 'nowhere'" in message
    assert f"{unknown}:10: templates[0].page: no page 'elsewhere'" in message
    assert not Component.objects.exists()
