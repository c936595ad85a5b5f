"""The uptime record, taken over from the ``incidents`` app without copying a row.

1. Into this app's state only, on the existing tables (``incidents_componentday``,
   ``incidents_componentlatencyhour``): the database is not touched.
2. The tables are renamed to this app's names (``uptime_*``): a rename, the rows,
   indexes, constraints and foreign keys to ``incidents_component`` stay.
3. The models' content types move to this app, so their permissions and every
   grant of them (the roles) follow; the codenames stay the same.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

MODELS = ("componentday", "componentlatencyhour")


def content_types_move(apps, schema_editor, source="incidents", target="uptime"):
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        moving = content_type.objects.filter(app_label=source, model=model)
        if not moving.exists():
            continue  # never made (a fresh database): post_migrate makes them
        # A migrate run in steps may have made empty ones here already: the old
        # ones carry the grants.
        content_type.objects.filter(app_label=target, model=model).delete()
        moving.update(app_label=target)
    content_type.objects.clear_cache()


def content_types_move_back(apps, schema_editor):
    content_types_move(apps, schema_editor, source="uptime", target="incidents")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("incidents", "0007_uptime_record_moves_out"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ComponentDay",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("day", models.DateField()),
                        ("operational_seconds", models.PositiveIntegerField(default=0)),
                        ("degraded_seconds", models.PositiveIntegerField(default=0)),
                        ("partial_seconds", models.PositiveIntegerField(default=0)),
                        ("major_seconds", models.PositiveIntegerField(default=0)),
                        ("maintenance_seconds", models.PositiveIntegerField(default=0)),
                        ("no_data_seconds", models.PositiveIntegerField(default=0)),
                        ("checks", models.PositiveIntegerField(default=0)),
                        ("checks_up", models.PositiveIntegerField(default=0)),
                        ("incidents", models.JSONField(blank=True, default=list)),
                        ("computed_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("component", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="days", to="incidents.component")),
                    ],
                    options={
                        "db_table": "incidents_componentday",
                        "ordering": ("component", "day"),
                        "constraints": [models.UniqueConstraint(fields=("component", "day"), name="one_record_per_component_day")],
                    },
                ),
                migrations.CreateModel(
                    name="ComponentLatencyHour",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("hour", models.DateTimeField(help_text="The start of the hour, in UTC.")),
                        ("checks", models.PositiveIntegerField(default=0)),
                        ("p50_ms", models.FloatField(blank=True, null=True)),
                        ("p95_ms", models.FloatField(blank=True, null=True)),
                        ("p99_ms", models.FloatField(blank=True, null=True)),
                        ("component", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="latency_hours", to="incidents.component")),
                    ],
                    options={
                        "db_table": "incidents_componentlatencyhour",
                        "ordering": ("component", "hour"),
                        "constraints": [models.UniqueConstraint(fields=("component", "hour"), name="one_latency_per_component_hour")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="componentday", table=None),
        migrations.AlterModelTable(name="componentlatencyhour", table=None),
        migrations.RunPython(content_types_move, content_types_move_back),
    ]
