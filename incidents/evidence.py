"""How fresh the automated evidence of each component is, as the monitor tells it.

The status domain does not know who watches its components: the probes register a
source here when their app is ready, and the page, its snapshot and its API read
what the sources say. With no source (no monitoring) every status stands as set.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Evidence:
    # Since when too few of the component's probes' regions report: its status
    # is the last known, not a confirmed one. None while the evidence is fresh.
    delayed_since: dt.datetime | None
    # When, with no new result, the evidence runs out (None: it never does).
    until: dt.datetime | None


EvidenceSource = Callable[[dt.datetime], dict[int, Evidence]]
_sources: list[EvidenceSource] = []


def evidence_source_register(source: EvidenceSource) -> None:
    if source not in _sources:
        _sources.append(source)


def components_evidence(now: dt.datetime) -> dict[int, Evidence]:
    """Each monitored component's evidence, by id."""
    found: dict[int, Evidence] = {}
    for source in _sources:
        found.update(source(now))
    return found
