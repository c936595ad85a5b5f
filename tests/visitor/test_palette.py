"""The status colours: each readable on white (WCAG AA), each far from the others so
degraded, partial and major outages never look alike, and the same everywhere the
page, the embed and the badges draw them."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from visitor.badges import INDICATOR_COLOURS, STATUS_COLOURS
from visitor.palette import apart, contrast

STATIC = Path(__file__).resolve().parents[2] / "visitor/static/heliograph"
# The stylesheet's and the embed's names for the indicator colours.
CSS_NAMES = {"none": "ok", "minor": "minor", "major": "major", "critical": "critical"}
OUTAGES = ["degraded_performance", "partial_outage", "major_outage"]
# The stylesheet's names of the status colours, by status.
STATUS_NAMES = {
    "operational": "ok",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
    "under_maintenance": "maintenance",
}


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


def dark_colours() -> dict[str, str]:
    """The custom properties public.css sets for dark mode."""
    css = (STATIC / "public.css").read_text()
    block = re.search(
        r"@media \(prefers-color-scheme: dark\) \{\s*:root \{(.*?)\}", css, re.S
    )
    assert block, "public.css has no dark mode"
    return dict(re.findall(r"--([a-z-]+): (#[0-9a-f]{6});", block[1]))


@pytest.mark.parametrize("status", sorted(STATUS_NAMES))
@pytest.mark.parametrize("background", ["surface", "canvas"])
def test_it_draws_every_status_readable_on_the_dark_background(
    status: str, background: str
) -> None:
    dark = dark_colours()
    colour = dark[STATUS_NAMES[status]]
    assert contrast(colour, dark[background]) >= 4.5, (status, colour)
    # The banner's words on the status colour.
    assert contrast(colour, dark["inverse"]) >= 4.5, (status, colour)


@pytest.mark.parametrize("one,other", list(itertools.combinations(OUTAGES, 2)))
def test_it_never_draws_two_outages_alike_in_the_dark(one: str, other: str) -> None:
    dark = dark_colours()
    assert apart(dark[STATUS_NAMES[one]], dark[STATUS_NAMES[other]])


@pytest.mark.parametrize("name", ["text", "muted", "link"])
def test_it_keeps_the_dark_text_readable(name: str) -> None:
    dark = dark_colours()
    for background in ("surface", "canvas"):
        assert contrast(dark[name], dark[background]) >= 4.5, (name, background)


def test_the_embed_uses_the_pages_dark_colours() -> None:
    dark = dark_colours()
    embed = (STATIC / "embed.js").read_text()
    dark_embed = embed[embed.index("prefers-color-scheme:dark") :]
    for indicator, name in CSS_NAMES.items():
        assert f'"--{indicator}{{--" + P + "-tone:{dark[name]}}}"' in dark_embed
