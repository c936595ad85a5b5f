"""The ``markdown`` filter: staff write Markdown, visitors get only inert HTML."""

from __future__ import annotations

from django.template import Context, Template

from visitor.templatetags.heliograph import markdown


def test_it_drops_script_tags_and_their_content() -> None:
    html = markdown("Before <script>alert('x')</script> after")

    assert "<script" not in html
    assert "alert" not in html
    assert "Before" in html
    assert "after" in html


def test_it_strips_event_handler_attributes() -> None:
    html = markdown('<img src="x" onerror="alert(1)"> <b onclick="alert(2)">bold</b>')

    assert "onerror" not in html
    assert "onclick" not in html
    assert "alert" not in html
    assert "<img" not in html  # pictures from other hosts would track readers


def test_it_disarms_javascript_links() -> None:
    html = markdown("[x](javascript:alert(1)) and <a href='JaVaScRiPt:alert(2)'>y</a>")

    assert "javascript" not in html.lower()
    assert ">x</a>" in html
    assert ">y</a>" in html


def test_it_renders_lists_links_and_emphasis() -> None:
    html = markdown(
        "We are *investigating* **elevated** errors.\n\n"
        "- first\n- second\n\n"
        "See [the runbook](https://example.test/runbook)."
    )

    assert "<em>investigating</em>" in html
    assert "<strong>elevated</strong>" in html
    assert "<ul>\n<li>first</li>\n<li>second</li>\n</ul>" in html
    assert (
        '<a href="https://example.test/runbook" rel="nofollow noopener">the runbook</a>'
        in html
    )


def test_it_keeps_markdown_headings_below_the_page_headings() -> None:
    html = markdown("# Summary\n\n## Timeline")

    assert "<h3>Summary</h3>" in html
    assert "<h4>Timeline</h4>" in html
    assert "<h1>" not in html


def test_it_escapes_nothing_twice_in_a_template() -> None:
    rendered = Template("{% load heliograph %}{{ body|markdown }}").render(
        Context({"body": "Fish & chips <script>x</script>"})
    )

    assert rendered == "<p>Fish &amp; chips </p>"


def test_it_renders_an_empty_body_as_nothing() -> None:
    assert markdown("") == ""
    assert markdown(None) == ""
