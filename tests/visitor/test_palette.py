"""The status colours: each readable on white (WCAG AA), each far from the others so
degraded, partial and major outages never look alike, and the same everywhere the
page, the embed and the badges draw them."""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import pytest

from visitor.badges import INDICATOR_COLOURS, STATUS_COLOURS

STATIC = Path(__file__).resolve().parents[2] / "visitor/static/heliograph"
# The stylesheet's and the embed's names for the indicator colours.
CSS_NAMES = {"none": "ok", "minor": "minor", "major": "major", "critical": "critical"}
OUTAGES = ["degraded_performance", "partial_outage", "major_outage"]


def linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def luminance(colour: str) -> float:
    r, g, b = (linear(c) for c in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(colour: str, other: str = "#ffffff") -> float:
    high, low = sorted([luminance(colour), luminance(other)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def lab(colour: str) -> tuple[float, float, float]:
    r, g, b = (linear(c) for c in rgb(colour))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


def apart(one: str, other: str) -> bool:
    """Told apart at a glance: hues at least 35 degrees apart (CIE LCh), or one
    clearly darker (10 points of lightness). Close hues of the same lightness (an
    amber beside an orange) read as one colour in a small dot or bar."""
    (l1, a1, b1), (l2, a2, b2) = lab(one), lab(other)
    hue = abs(math.degrees(math.atan2(b1, a1) - math.atan2(b2, a2))) % 360
    return min(hue, 360 - hue) >= 35 or abs(l1 - l2) >= 10


def test_the_measures_tell_near_colours_from_far_ones() -> None:
    assert contrast("#000000") == pytest.approx(21)
    assert not apart("#8a5a00", "#b54708")  # an amber and an orange, equally dark
    assert apart("#786100", "#c2410c")
    assert apart("#137333", "#1d4ed8")


@pytest.mark.parametrize("status", sorted(STATUS_COLOURS))
def test_it_draws_every_status_readable_on_white(status: str) -> None:
    assert contrast(STATUS_COLOURS[status]) >= 4.5


@pytest.mark.parametrize("one,other", list(itertools.combinations(OUTAGES, 2)))
def test_it_never_draws_two_outages_alike(one: str, other: str) -> None:
    assert apart(STATUS_COLOURS[one], STATUS_COLOURS[other])


def test_the_page_and_the_embed_use_the_badges_colours() -> None:
    css = (STATIC / "public.css").read_text()
    embed = (STATIC / "embed.js").read_text()
    for indicator, name in CSS_NAMES.items():
        colour = INDICATOR_COLOURS[indicator]
        assert re.search(rf"--{name}: {colour};", css), (name, colour)
        assert f'"--{indicator}{{--" + P + "-tone:{colour}}}"' in embed, indicator
