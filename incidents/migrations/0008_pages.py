"""Pages become first-class: a slug, host names, a default page, and the pages each
component, incident, update and template is on. An install made before this has one
page (row 1): it becomes the default page, and everything is on it."""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

import incidents.models


def onto_the_default_page(apps: Any, schema_editor: Any) -> None:
    page_model = apps.get_model("incidents", "Page")
    component_model = apps.get_model("incidents", "Component")
    incident_model = apps.get_model("incidents", "Incident")
    pages = list(page_model.objects.order_by("pk"))
    for page in pages:
        page.slug = "main" if page.pk == pages[0].pk else f"page-{page.pk}"
        page.is_default = page.pk == pages[0].pk
        page.save(update_fields=["slug", "is_default"])
    anything = component_model.objects.exists() or incident_model.objects.exists()
    if not pages and anything:
        pages = [page_model.objects.create(pk=1, slug="main", is_default=True)]
    if not pages:
        return
    default = pages[0]
    default.components.add(*component_model.objects.values_list("pk", flat=True))
    default.incidents.add(*incident_model.objects.values_list("pk", flat=True))


class Migration(migrations.Migration):
    dependencies = [("incidents", "0007_uptime_record_moves_out")]

    operations = [
        migrations.AlterModelOptions(
            name="page",
            options={"ordering": ("-is_default", "name", "id"), "verbose_name": "page"},
        ),
        migrations.AddField(
            model_name="page",
            name="slug",
            # Plain at first: an index made now and the unique one made below would
            # have the same name on PostgreSQL.
            field=models.CharField(max_length=40, null=True),
        ),
        migrations.AddField(
            model_name="page",
            name="is_default",
            field=models.BooleanField(
                default=False,
                help_text="Served on every host name no other page claims.",
            ),
        ),
        migrations.AddField(
            model_name="component",
            name="pages",
            field=models.ManyToManyField(
                blank=True,
                help_text="The pages that show this component; on none, only staff "
                "see it.",
                related_name="components",
                to="incidents.page",
            ),
        ),
        migrations.AddField(
            model_name="incident",
            name="pages",
            field=models.ManyToManyField(
                blank=True,
                help_text="The pages that show this incident, and whose subscribers "
                "hear of it.",
                related_name="incidents",
                to="incidents.page",
            ),
        ),
        migrations.AddField(
            model_name="incidentupdate",
            name="shown_on",
            field=models.ManyToManyField(
                blank=True,
                help_text="Only these of the incident's pages show this update; "
                "none: all do.",
                related_name="+",
                to="incidents.page",
            ),
        ),
        migrations.AddField(
            model_name="incidenttemplate",
            name="page",
            field=models.ForeignKey(
                blank=True,
                help_text="The page whose staff pick this template; empty: every "
                "page's.",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="templates",
                to="incidents.page",
            ),
        ),
        migrations.RunPython(onto_the_default_page, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="page",
            name="slug",
            field=models.SlugField(
                help_text="The page's path on any host: /p/<slug>/.",
                max_length=40,
                unique=True,
                validators=[incidents.models.validate_page_slug],
            ),
        ),
        migrations.AddConstraint(
            model_name="page",
            constraint=models.UniqueConstraint(
                condition=models.Q(is_default=True),
                fields=("is_default",),
                name="one_default_page",
            ),
        ),
        migrations.CreateModel(
            name="PageHost",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "name",
                    models.CharField(
                        max_length=253,
                        unique=True,
                        validators=[incidents.models.validate_host_name],
                    ),
                ),
                (
                    "page",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="hosts",
                        to="incidents.page",
                    ),
                ),
            ],
            options={"ordering": ("name",)},
        ),
    ]
