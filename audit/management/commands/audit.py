"""``manage.py audit verify|seal|prune|export``: the audit log from the shell."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit import chain
from audit.export import FORMATS, exported
from audit.models import AuditEntry


class Command(BaseCommand):
    help = (
        "verify: recompute the audit log's hash chain (exit status 1 if it was "
        "broken); seal: chain the rows not sealed yet; prune: delete rows older "
        "than AUDIT_RETENTION_DAYS; export: write the log as CSV or JSON."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("what", choices=["verify", "seal", "prune", "export"])
        parser.add_argument(
            "--format", choices=sorted(FORMATS), default="json", help="For export."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        what = options["what"]
        if what == "seal":
            self.stdout.write(f"Sealed {chain.seal()} entries.")
        elif what == "prune":
            self.stdout.write(f"Pruned {chain.prune()} entries.")
        elif what == "export":
            for text in exported(AuditEntry.objects.all(), options["format"]):
                self.stdout.write(text, ending="")
        else:
            self._verify()

    def _verify(self) -> None:
        report = chain.verify()
        for line in chain.describe(report):
            self.stdout.write(line)
        if not report.ok:
            raise CommandError("The audit log's chain is broken (see above).")
        self.stdout.write(self.style.SUCCESS("The chain is intact."))
