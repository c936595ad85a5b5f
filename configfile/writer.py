"""The service call each kind of change makes, once a plan is run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import reverse

from incidents import services
from incidents.models import Component, IncidentTemplate, Page
from probes import services as probe_services
from probes.models import Probe

from .schema import ComponentSpec, PageSpec, ProbeSpec, TemplateSpec
from .state import FIRST_PAGE_SLUG, Key, swap_step_components

Run = Callable[[], None]


class Skipped(Exception):
    """A change depends on one the services refused; that refusal is the report."""


class Writer:
    """Makes the service call for each kind of change, once the plan is run.

    ``registry`` holds each component by key as it comes to exist, so a probe
    planned for a component the same file creates finds it; ``pages`` holds each
    page by the file's slug in the same way.
    """

    def __init__(self, *, dry_run: bool) -> None:
        self.dry_run = dry_run
        self.registry: dict[Key, Component] = {}
        self.pages: dict[str, Page] = {}
        self.default_page_slug = FIRST_PAGE_SLUG
        self.keys: dict[str, Key] = {}  # reference -> key, from the plan
        self.notes: list[str] = []

    def component(self, key: Key) -> Component:
        try:
            return self.registry[key]
        except KeyError:
            raise Skipped from None

    def page_of(self, slug: str) -> Page:
        if slug not in self.pages:
            if slug != self.default_page_slug:
                raise Skipped
            self.pages[slug] = Page.get()  # an empty install's first page
        return self.pages[slug]

    def page(self, fields: dict[str, Any]) -> Run:
        return call(services.page_update, **fields)

    def page_create(self, spec: PageSpec) -> Run:
        def run() -> None:
            slug = spec.slug or ""
            self.pages[slug] = services.page_create(
                slug=slug, hosts=spec.hosts or [], **spec.fields
            )

        return run

    def page_update(self, page: Page | None, slug: str, fields: dict[str, Any]) -> Run:
        """Change a page (None: the default page, made if there is none yet)."""

        def run() -> None:
            changed = dict(fields)
            hosts = changed.pop("hosts", None)
            self.pages[slug] = services.page_update(page=page, hosts=hosts, **changed)

        return run

    def page_delete(self, page: Page) -> Run:
        return call(services.page_delete, page=page)

    def component_create(self, spec: ComponentSpec, pages: list[str]) -> Run:
        def run() -> None:
            group = None if spec.group is None else self.component((None, spec.group))
            created = services.component_create(
                name=spec.name,
                is_group=spec.is_group,
                group=group,
                position=spec.position,
                pages=[self.page_of(slug) for slug in pages],
                **spec.fields,
            )
            self.registry[(spec.group, spec.name)] = created

        return run

    def component_update(
        self,
        component: Component,
        fields: dict[str, Any],
        pages: list[str] | None = None,
    ) -> Run:
        """Change the fields given, and when ``pages`` is given, the pages."""

        def run() -> None:
            if fields:
                services.component_update(component=component, **fields)
            if pages is not None:
                shown = [self.page_of(slug) for slug in pages]
                services.component_pages_set(component=component, pages=shown)

        return run

    def component_position(self, component: Component, position: int) -> Run:
        return self.component_update(component, {"position": position})

    def component_delete(self, component: Component) -> Run:
        return call(services.component_delete, component=component)

    def _probe_fields(
        self, spec: ProbeSpec, key: Key, config: dict[str, Any]
    ) -> dict[str, Any]:
        def public_id(reference: str) -> str:
            return self.component(self.keys[reference]).public_id

        return {
            **spec.fields,
            "component": self.component(key),
            "config": swap_step_components(config, public_id),
        }

    def probe_create(self, spec: ProbeSpec, key: Key, config: dict[str, Any]) -> Run:
        def run() -> None:
            fields = self._probe_fields(spec, key, config)
            _, token = probe_services.probe_create(
                name=spec.name, kind=spec.kind, **fields
            )
            if token and not self.dry_run:
                url = reverse("probes:heartbeat", kwargs={"token": token})
                self.notes.append(
                    f'heartbeat probe "{spec.name}" pings {url} (shown once)'
                )

        return run

    def probe_update(
        self, probe: Probe, spec: ProbeSpec, key: Key, config: dict[str, Any]
    ) -> Run:
        def run() -> None:
            fields = self._probe_fields(spec, key, config)
            probe_services.probe_update(probe=probe, kind=spec.kind, **fields)

        return run

    def probe_delete(self, probe: Probe) -> Run:
        return call(probe_services.probe_delete, probe=probe)

    def _template_page(self, spec: TemplateSpec) -> Page | None:
        return None if spec.page is None else self.page_of(spec.page)

    def template_create(self, spec: TemplateSpec, keys: list[Key]) -> Run:
        def run() -> None:
            components = [self.component(key) for key in keys]
            services.template_create(
                name=spec.name,
                components=components,
                page=self._template_page(spec),
                **spec.fields,
            )

        return run

    def template_update(
        self, template: IncidentTemplate, spec: TemplateSpec, keys: list[Key]
    ) -> Run:
        def run() -> None:
            components = [self.component(key) for key in keys]
            services.template_update(
                template=template,
                components=components,
                page=self._template_page(spec),
                **spec.fields,
            )

        return run

    def template_delete(self, template: IncidentTemplate) -> Run:
        return call(services.template_delete, template=template)


def call(service: Callable[..., Any], **kwargs: Any) -> Run:
    def run() -> None:
        service(**kwargs)

    return run
