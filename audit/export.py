"""The audit log as CSV or JSON, streamed: a log of years is never held in memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet

from .models import EXPORTED_FIELDS, AuditEntry

COLUMNS = EXPORTED_FIELDS
FORMATS = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    row = {name: getattr(entry, name) for name in COLUMNS}
    row["at"] = entry.at.isoformat()
    return row


def _rows(entries: QuerySet[AuditEntry]) -> Iterator[AuditEntry]:
    return entries.order_by("id").iterator(chunk_size=2000)


def as_csv(entries: QuerySet[AuditEntry]) -> Iterable[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Iterable[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(COLUMNS)
    for entry in _rows(entries):
        row = entry_dict(entry)
        row["changes"] = json.dumps(row["changes"], ensure_ascii=False)
        yield line(row[name] for name in COLUMNS)


def as_json(entries: QuerySet[AuditEntry]) -> Iterable[str]:
    """One JSON array, written an entry at a time."""
    yield "["
    for index, entry in enumerate(_rows(entries)):
        yield ("," if index else "") + json.dumps(entry_dict(entry), ensure_ascii=False)
    yield "]\n"


def exported(entries: QuerySet[AuditEntry], fmt: str) -> Iterable[str]:
    return as_csv(entries) if fmt == "csv" else as_json(entries)
