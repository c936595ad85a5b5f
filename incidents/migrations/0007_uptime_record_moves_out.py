"""The uptime record (``ComponentDay``, ``ComponentLatencyHour``) becomes the uptime
app's: it leaves this app's state only. The tables stay, with every row; the uptime
app's first migration takes them over (and renames them)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0006_single_line_names"),
        # The roles were made naming these models' permissions here: they must be
        # made before the models leave (the uptime app carries the grants along).
        ("access", "0001_roles"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="ComponentDay"),
                migrations.DeleteModel(name="ComponentLatencyHour"),
            ],
            database_operations=[],
        ),
    ]
