"""The hash chain over the audit log: seal, verify, prune.

A row is written unsealed in its change's transaction (no lock there: a lock held
to the end of every audited transaction would make concurrent writers wait on each
other and deadlock against the rows they lock). Right after the commit, ``seal``
takes the chain's head row lock, numbers the unsealed rows in id order and chains
them: ``hash = sha256(prev_hash + canonical JSON of the row with its seq)``. A
sweep (beat and ``manage.py audit seal``) seals what a process that died after its
commit left. ``verify`` recomputes every hash in chain order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from .models import CONTENT_FIELDS, AuditEntry, AuditHead, AuditPruning

logger = logging.getLogger(__name__)
SEAL_BATCH = 1000
HASHED_FIELDS = ("seq", *CONTENT_FIELDS)


def entry_hash(entry: AuditEntry, prev_hash: str) -> str:
    content = {name: getattr(entry, name) for name in HASHED_FIELDS}
    content["at"] = entry.at.astimezone(dt.UTC).isoformat()
    canonical = json.dumps(
        content, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def _head() -> AuditHead:
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditHead.objects.get_or_create(pk=1)  # the first seal of an install
        head = AuditHead.objects.select_for_update().get(pk=1)
    return head


def seal() -> int:
    """Chain every unsealed row; returns how many were sealed."""
    sealed = 0
    while True:
        with transaction.atomic():
            head = _head()
            rows = list(
                AuditEntry.objects.filter(seq__isnull=True).order_by("id")[:SEAL_BATCH]
            )
            for row in rows:
                head.seq += 1
                row.seq, row.prev_hash = head.seq, head.hash
                # Hash what the database gives back: the time at its precision.
                row.hash = entry_hash(row, row.prev_hash)
                head.hash = row.hash
            AuditEntry.objects.bulk_update(rows, ["seq", "prev_hash", "hash"])
            head.save(update_fields=["seq", "hash"])
        sealed += len(rows)
        if len(rows) < SEAL_BATCH:
            return sealed


# A web request's rows are sealed once its answer has gone (request_finished), so
# the chain's lock and writes are not in the time a client waits.
_thread = threading.local()


def _seal_now() -> None:
    if getattr(_thread, "in_request", False):
        _thread.pending = True
        return
    seal()


def seal_after_commit() -> None:
    """Seal once this transaction commits (once per transaction, however many
    rows it wrote); in a web request, once its answer is sent."""
    pending = getattr(connection, "run_on_commit", [])
    if any(_seal_now in entry for entry in pending):
        return
    transaction.on_commit(_seal_now, robust=True)


def request_started(**kwargs: Any) -> None:
    _thread.in_request, _thread.pending = True, False


def request_finished(**kwargs: Any) -> None:
    """Seal what the request committed. A failure here is logged, not raised: the
    answer is sent, and the sweep seals the rows within a minute."""
    pending = getattr(_thread, "pending", False)
    _thread.in_request = _thread.pending = False
    if not pending:
        return
    try:
        seal()
    except DatabaseError:
        logger.exception("Sealing the audit log after a request failed")


@dataclass
class Verification:
    checked: int = 0
    first: int | None = None
    last: int | None = None
    unsealed: int = 0
    problems: list[str] = field(default_factory=list)
    head_hash: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(limit_problems: int = 20) -> Verification:
    """Recompute the chain from where pruning cut it to its head."""
    head = AuditHead.objects.filter(pk=1).first() or AuditHead(pk=1)
    report = Verification(head_hash=head.hash)
    report.unsealed = AuditEntry.objects.filter(seq__isnull=True).count()
    expected_seq, prev_hash = head.pruned_through + 1, head.pruned_hash
    rows = AuditEntry.objects.filter(seq__isnull=False).order_by("seq")
    for row in rows.iterator(chunk_size=2000):
        problem = _problem(row, expected_seq, prev_hash)
        if problem and len(report.problems) < limit_problems:
            report.problems.append(problem)
        report.checked += 1
        report.first = report.first or row.seq
        report.last = row.seq
        expected_seq, prev_hash = (row.seq or 0) + 1, row.hash
    if (report.last or head.pruned_through) != head.seq or prev_hash != head.hash:
        report.problems.append(
            f"the chain ends at {report.last or head.pruned_through}, but its head "
            f"says {head.seq}: rows at the end are missing or were replaced"
        )
    return report


def _problem(row: AuditEntry, expected_seq: int, prev_hash: str) -> str | None:
    if row.seq != expected_seq:
        return f"entry {expected_seq} is missing (the next is {row.seq})"
    if row.prev_hash != prev_hash:
        return f"entry {row.seq} does not follow entry {expected_seq - 1}"
    if row.hash != entry_hash(row, row.prev_hash):
        return f"entry {row.seq} was changed after it was written"
    return None


def prune(*, now: dt.datetime | None = None) -> int:
    """Delete sealed rows older than AUDIT_RETENTION_DAYS from the start of the
    chain, keeping where it was cut so the rest still verifies."""
    days = settings.AUDIT_RETENTION_DAYS
    if days <= 0:
        return 0
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    with transaction.atomic():
        head = _head()
        young = AuditEntry.objects.filter(seq__isnull=False, at__gte=cutoff)
        first_kept = young.order_by("seq").values_list("seq", flat=True).first()
        through = head.seq if first_kept is None else first_kept - 1
        if through <= head.pruned_through:
            return 0
        last = AuditEntry.objects.filter(seq=through).values_list("hash", flat=True)
        cut_hash = last.first() or ""
        doomed = AuditEntry.objects.filter(seq__lte=through)
        flag = AuditPruning.objects.create()
        deleted, _ = doomed.delete()
        flag.delete()
        head.pruned_through, head.pruned_hash = through, cut_hash
        head.save(update_fields=["pruned_through", "pruned_hash"])
    return deleted


def describe(report: Verification) -> list[str]:
    lines = [
        f"Checked {report.checked} entries"
        + (f" ({report.first} to {report.last})" if report.checked else "")
        + f"; head hash {report.head_hash or '(empty)'}."
    ]
    if report.unsealed:
        lines.append(f"{report.unsealed} entries are not sealed yet.")
    lines += [f"PROBLEM: {problem}" for problem in report.problems]
    return lines
