"""Each subscriber is of one page, and each event is told to one page's subscribers:
those made before pages were several are of the default page."""

from __future__ import annotations

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

import incidents.models


def of_the_default_page(apps: Any, schema_editor: Any) -> None:
    subscriber_model = apps.get_model("notifications", "Subscriber")
    if not subscriber_model.objects.exists():
        return
    page_model = apps.get_model("incidents", "Page")
    page = page_model.objects.filter(is_default=True).first()
    if page is None:
        page = page_model.objects.create(pk=1, slug="main", is_default=True)
    subscriber_model.objects.update(page=page)


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0008_pages"),
        ("notifications", "0003_attempt_started_heartbeat"),
    ]

    operations = [
        migrations.AddField(
            model_name="subscriber",
            name="page",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="subscribers",
                to="incidents.page",
            ),
        ),
        migrations.AddField(
            model_name="event",
            name="page",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="incidents.page",
            ),
        ),
        migrations.RunPython(of_the_default_page, migrations.RunPython.noop),
        # Not null first, then the default: a default given with the first would be
        # called to fill the rows, making a page before any exists.
        migrations.AlterField(
            model_name="subscriber",
            name="page",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="subscribers",
                to="incidents.page",
            ),
        ),
        migrations.AlterField(
            model_name="subscriber",
            name="page",
            field=models.ForeignKey(
                default=incidents.models.default_page_id,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="subscribers",
                to="incidents.page",
            ),
        ),
    ]
