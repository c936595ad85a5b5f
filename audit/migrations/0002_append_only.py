"""The database itself keeps the audit log append-only.

A row may be sealed once (``seq``, ``prev_hash`` and ``hash`` set while ``seq`` is
empty, nothing else changed); a sealed row never changes; a row is deleted only by
pruning, which marks its transaction with a row in ``audit_auditpruning``. On
SQLite the trigger names the columns: a later migration that alters this table
there (SQLite rebuilds the table, dropping its triggers) must create them again.
"""

from django.db import migrations

CONTENT = (
    "at", "actor_kind", "actor_name", "actor_user_id", "token_id", "token_prefix",
    "actor_detail", "address", "user_agent", "action", "object_type", "object_id",
    "object_repr", "changes",
)

POSTGRESQL = [
    """
    CREATE OR REPLACE FUNCTION audit_entry_guard() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        IF OLD.seq IS NOT NULL AND EXISTS (SELECT 1 FROM audit_auditpruning) THEN
          RETURN OLD;
        END IF;
        RAISE EXCEPTION 'audit log entries cannot be deleted';
      END IF;
      IF OLD.seq IS NOT NULL
         OR (to_jsonb(NEW) - 'seq' - 'prev_hash' - 'hash')
            IS DISTINCT FROM (to_jsonb(OLD) - 'seq' - 'prev_hash' - 'hash') THEN
        RAISE EXCEPTION 'audit log entries cannot be changed';
      END IF;
      RETURN NEW;
    END $$;
    """,
    """
    CREATE TRIGGER audit_entry_guard BEFORE UPDATE OR DELETE ON audit_auditentry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_guard();
    """,
]
POSTGRESQL_UNDO = [
    "DROP TRIGGER IF EXISTS audit_entry_guard ON audit_auditentry;",
    "DROP FUNCTION IF EXISTS audit_entry_guard();",
]

_changed = " OR ".join(f"NEW.{name} IS NOT OLD.{name}" for name in CONTENT)
SQLITE = [
    f"""
    CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_auditentry
    WHEN OLD.seq IS NOT NULL OR {_changed}
    BEGIN SELECT RAISE(ABORT, 'audit log entries cannot be changed'); END;
    """,
    """
    CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_auditentry
    WHEN OLD.seq IS NULL OR NOT EXISTS (SELECT 1 FROM audit_auditpruning)
    BEGIN SELECT RAISE(ABORT, 'audit log entries cannot be deleted'); END;
    """,
]
SQLITE_UNDO = [
    "DROP TRIGGER IF EXISTS audit_entry_no_update;",
    "DROP TRIGGER IF EXISTS audit_entry_no_delete;",
]


def _run(statements):
    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        for statement in statements.get(vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRESQL, "sqlite": SQLITE}),
            _run({"postgresql": POSTGRESQL_UNDO, "sqlite": SQLITE_UNDO}),
        )
    ]
