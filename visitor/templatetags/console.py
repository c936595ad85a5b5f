"""Template filters of the staff console's reports."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.99953 -> "99.953 %"; a report shows three decimals, as SLAs are written."""
    return "" if value is None else f"{value * 100:.3f} %"


@register.filter
def duration(seconds: int | None) -> str:
    """Seconds as "2 d 3 h 4 min", "45 s", or "-" for none."""
    if not seconds:
        return "-"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, rest = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min")]
    shown = [f"{amount} {unit}" for amount, unit in parts if amount]
    return " ".join(shown) or f"{rest} s"
