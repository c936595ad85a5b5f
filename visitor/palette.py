"""Colour arithmetic for the page's colours: WCAG contrast and CIE Lab distance.

The status colours (``visitor.badges``) are held to these measures by
``tests/visitor/test_palette.py``; a page's brand colour is held to them when staff
set it (``visitor.services.brand_update``), so it never reads like a status.
"""

from __future__ import annotations

import math
import re

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
WHITE = "#ffffff"
# What text on a colour, or a colour as text, needs (WCAG 2 AA, normal text).
MIN_CONTRAST = 4.5
# Hues at least this far apart (CIE LCh, degrees), or lightness this far apart,
# are told apart at a glance.
HUE_APART = 35
LIGHTNESS_APART = 10


def _linear(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def luminance(colour: str) -> float:
    r, g, b = (_linear(c) for c in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(colour: str, other: str = WHITE) -> float:
    high, low = sorted([luminance(colour), luminance(other)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def lab(colour: str) -> tuple[float, float, float]:
    r, g, b = (_linear(c) for c in rgb(colour))
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
    return min(hue, 360 - hue) >= HUE_APART or abs(l1 - l2) >= LIGHTNESS_APART
