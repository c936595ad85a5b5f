"""The registry of probe kinds: a config's ``kind`` names one class here.

The scheduler calls ``kind_class(kind).validate(config)`` when a probe is saved
and ``await kind_class(kind)(config).run(ctx)`` in the worker.
"""

from __future__ import annotations

from django.utils.module_loading import import_string

from .base import Outcome, ProbeKind, ProbeOutcome, RunContext, StepResult

KINDS = {
    "http": "probes.kinds.http.Http",
    "journey": "probes.kinds.journey.Journey",
    "tcp": "probes.kinds.tcp.Tcp",
    "tls": "probes.kinds.tls.Tls",
    "statuspage": "probes.kinds.statuspage.Statuspage",
    "heartbeat": "probes.kinds.heartbeat.Heartbeat",
    "alert": "probes.kinds.alert.Alert",
}


class UnknownKind(LookupError):
    pass


def kind_class(name: str) -> type[ProbeKind]:
    try:
        path = KINDS[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(KINDS))
        raise UnknownKind(
            f"unknown probe kind {name!r}; known kinds: {known}"
        ) from None
    kind: type[ProbeKind] = import_string(path)
    return kind


__all__ = [
    "KINDS",
    "Outcome",
    "ProbeKind",
    "ProbeOutcome",
    "RunContext",
    "StepResult",
    "UnknownKind",
    "kind_class",
]
