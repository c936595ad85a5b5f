"""What a page's brand may hold: each check returns the value to store or raises
``ValidationError`` saying what is wrong, in words staff can act on.

- SVG: parsed with defusedxml (no DTD, no entities), refused if it holds a script,
  a ``foreignObject``, an event handler, or a reference that is not to itself or a
  ``data:`` raster image; stored re-serialised (no comments, no processing
  instructions).
- PNG: its chunks walked and their checksums verified, the image data inflated
  within a limit; only the chunks that draw it are kept (no text, no metadata).
- CSS: parsed with tinycss2 and written again from the parse, so nothing can end
  the stylesheet early; ``@import``, ``url()`` other than a ``data:`` image,
  ``expression()``, ``behavior``, ``-moz-binding`` and ``javascript:`` are refused.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterable
from typing import Any
from xml.etree import ElementTree

import tinycss2
from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from visitor import palette
from visitor.badges import STATUS_COLOURS
from visitor.models import ImageType

MAX_IMAGE_BYTES = 256 * 1024
MAX_CSS_BYTES = 20 * 1024
MAX_LINKS = 5
MAX_LABEL = 40
# The largest PNG we inflate to check it, in pixels of 4 bytes.
MAX_PNG_PIXELS = 4096 * 4096

SVG_NS = "http://www.w3.org/2000/svg"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The chunks that draw the image; the rest (text, dates, profiles) is dropped.
PNG_KEPT = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"sRGB", b"cHRM"}
SAFE_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp);", re.IGNORECASE)
URL_IN_VALUE = re.compile(r"url\(\s*['\"]?\s*([^'\")\s]*)", re.IGNORECASE)
REFUSED_ELEMENTS = {"script", "foreignobject", "iframe", "embed", "object", "handler"}
REFUSED_CSS_PROPERTIES = {"behavior", "-moz-binding"}
# CSS functions that fetch or run something (url() is checked on its own).
REFUSED_CSS_FUNCTIONS = {"expression", "image-set", "-webkit-image-set", "src"}


# Images ---------------------------------------------------------------------------


def image_check(data: bytes, *, what: str) -> tuple[bytes, str]:
    """The stored bytes of an uploaded SVG or PNG, and its type."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationError(
            f"The {what} is {len(data) // 1024} KB; at most "
            f"{MAX_IMAGE_BYTES // 1024} KB is accepted."
        )
    if data.startswith(PNG_SIGNATURE):
        return png_check(data, what=what), ImageType.PNG
    return svg_check(data, what=what), ImageType.SVG


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].lower()


def svg_check(data: bytes, *, what: str) -> bytes:
    try:
        root = SafeElementTree.fromstring(data, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as error:
        raise ValidationError(
            f"The {what} is neither a PNG nor a well-formed SVG ({error})."
        ) from None
    if root.tag not in (f"{{{SVG_NS}}}svg", "svg"):
        raise ValidationError(f"The {what} is not an SVG image (no <svg> root).")
    for element in root.iter():
        _svg_element_check(element, what=what)
    ElementTree.register_namespace("", SVG_NS)
    ElementTree.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=False)


def _svg_element_check(element: Any, *, what: str) -> None:
    name = _local(element.tag)
    if name in REFUSED_ELEMENTS:
        raise ValidationError(f"The {what} holds a <{name}> element, which is refused.")
    for attribute, value in element.attrib.items():
        local = _local(attribute)
        if local.startswith("on"):
            raise ValidationError(
                f"The {what} holds an event handler ({local}), which is refused."
            )
        if local in ("href", "src") and not _own_reference(value):
            raise ValidationError(
                f"The {what} links to {value[:60]!r}: only references within the "
                "image (#id) or data: images are accepted."
            )
        _no_outside_url(value, what=what)
    if name == "style":
        _no_outside_url(element.text or "", what=what)
        if "@import" in (element.text or "").lower():
            raise ValidationError(f"The {what} imports a stylesheet, which is refused.")


def _own_reference(value: str) -> bool:
    value = value.strip()
    return value.startswith("#") or bool(SAFE_DATA_IMAGE.match(value))


def _no_outside_url(value: str, *, what: str) -> None:
    for found in URL_IN_VALUE.findall(value):
        if not _own_reference(found):
            raise ValidationError(
                f"The {what} refers to {found[:60]!r}: only references within the "
                "image (#id) or data: images are accepted."
            )


def png_check(data: bytes, *, what: str) -> bytes:
    """The PNG with only the chunks that draw it, after checking every checksum
    and that its image data inflates to what its header says."""
    refusal = ValidationError(f"The {what} is not a valid PNG image.")
    chunks, position = [], len(PNG_SIGNATURE)
    while position < len(data):
        if position + 12 > len(data):
            raise refusal
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(
            ">I", data[position + 8 + length : position + 12 + length]
        )
        if len(body) != length or zlib.crc32(kind + body) != crc:
            raise refusal
        chunks.append((kind, body, data[position : position + 12 + length]))
        position += 12 + length
        if kind == b"IEND":
            break
    kinds = [kind for kind, _, _ in chunks]
    if not kinds or kinds[0] != b"IHDR" or kinds[-1] != b"IEND" or b"IDAT" not in kinds:
        raise refusal
    width, height = struct.unpack(">II", chunks[0][1][:8])
    if not 0 < width * height <= MAX_PNG_PIXELS:
        raise refusal
    _inflate_check(
        b"".join(body for kind, body, _ in chunks if kind == b"IDAT"),
        limit=width * height * 8 + height,
        refusal=refusal,
    )
    kept = b"".join(raw for kind, _, raw in chunks if kind in PNG_KEPT)
    return PNG_SIGNATURE + kept


def _inflate_check(compressed: bytes, *, limit: int, refusal: ValidationError) -> None:
    inflater = zlib.decompressobj()
    try:
        inflater.decompress(compressed, limit)
    except zlib.error:
        raise refusal from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise refusal


# Colour and links -----------------------------------------------------------------


def colour_check(value: str) -> str:
    """A brand colour readable with white (either on the other) and unlike every
    status colour (``visitor.palette.apart``)."""
    value = value.strip().lower()
    if not value:
        return ""
    if re.fullmatch(r"#[0-9a-f]{3}", value):
        value = "#" + "".join(c * 2 for c in value[1:])
    if not palette.HEX_COLOUR.match(value):
        raise ValidationError(f"{value!r} is not a hex colour such as #0b3d91.")
    ratio = palette.contrast(value)
    if ratio < palette.MIN_CONTRAST:
        raise ValidationError(
            f"{value} has a contrast of {ratio:.1f}:1 with white; links and "
            f"buttons need at least {palette.MIN_CONTRAST}:1. Choose a darker shade."
        )
    for status, colour in STATUS_COLOURS.items():
        if not palette.apart(value, colour):
            label = status.replace("_", " ")
            raise ValidationError(
                f"{value} looks like the colour of {label!r} ({colour}): visitors "
                "would read it as a status. Choose another hue, or a clearly darker "
                "or lighter shade."
            )
    return value


def links_check(links: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    checked = []
    https = URLValidator(schemes=["https"])
    for link in links:
        label, url = link.get("label", "").strip(), link.get("url", "").strip()
        if not label or len(label) > MAX_LABEL or "\n" in label:
            raise ValidationError(
                f"Each link needs a label of one line, at most {MAX_LABEL} characters."
            )
        try:
            https(url)
        except ValidationError:
            raise ValidationError(
                f"The link {label!r} needs an https:// address, not {url[:60]!r}."
            ) from None
        checked.append({"label": label, "url": url})
    if len(checked) > MAX_LINKS:
        raise ValidationError(f"At most {MAX_LINKS} header links, not {len(checked)}.")
    return checked


# Stylesheet -----------------------------------------------------------------------


def css_check(css: str) -> str:
    """The stylesheet as tinycss2 reads it, written again from the parse."""
    if len(css.encode()) > MAX_CSS_BYTES:
        raise ValidationError(
            f"The stylesheet is {len(css.encode()) // 1024} KB; at most "
            f"{MAX_CSS_BYTES // 1024} KB is accepted."
        )
    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    return "\n".join(_rule(rule) for rule in rules) + ("\n" if rules else "")


def _rule(rule: Any) -> str:
    if rule.type == "error":
        raise ValidationError(
            f"The stylesheet does not parse at line {rule.source_line}: {rule.message}."
        )
    if rule.type == "at-rule":
        return _at_rule(rule)
    _tokens_check(rule.prelude)
    return (
        f"{tinycss2.serialize(rule.prelude).strip()} {{{_declarations(rule.content)}}}"
    )


def _at_rule(rule: Any) -> str:
    keyword = rule.lower_at_keyword
    if keyword not in ("media", "supports", "keyframes", "-webkit-keyframes"):
        raise ValidationError(f"@{keyword} is refused in the stylesheet.")
    _tokens_check(rule.prelude)
    prelude = tinycss2.serialize(rule.prelude).strip()
    if rule.content is None:
        raise ValidationError(f"@{keyword} needs a block in the stylesheet.")
    inner = tinycss2.parse_rule_list(
        rule.content, skip_comments=True, skip_whitespace=True
    )
    body = "\n".join(_rule(child) for child in inner)
    return f"@{keyword} {prelude} {{\n{body}\n}}"


def _declarations(content: list[Any] | None) -> str:
    parsed = tinycss2.parse_declaration_list(
        content or [], skip_comments=True, skip_whitespace=True
    )
    written = []
    for item in parsed:
        if item.type == "error":
            raise ValidationError(
                f"The stylesheet does not parse at line {item.source_line}: "
                f"{item.message}."
            )
        if item.type != "declaration":
            raise ValidationError(
                f"Nested rules are refused in the stylesheet (line {item.source_line})."
            )
        if item.lower_name in REFUSED_CSS_PROPERTIES:
            raise ValidationError(f"The property {item.name} is refused.")
        _tokens_check(item.value)
        value = tinycss2.serialize(item.value).strip()
        important = " !important" if item.important else ""
        written.append(f"{item.name}: {value}{important};")
    return " ".join(written)


def _tokens_check(tokens: Iterable[Any]) -> None:
    for token in tokens:
        if token.type == "error":  # a bad url(...), an unclosed string
            raise ValidationError(f"The stylesheet does not parse: {token.message}.")
        if token.type == "url":
            _url_check(token.value)
        elif token.type == "function":
            name = token.lower_name
            if name in REFUSED_CSS_FUNCTIONS:
                raise ValidationError(f"{name}() is refused in the stylesheet.")
            if name == "url":
                strings = [t.value for t in token.arguments if t.type == "string"]
                _url_check(strings[0] if strings else "")
            _tokens_check(token.arguments)
        elif token.type in ("() block", "[] block", "{} block"):
            _tokens_check(token.content)
        elif token.type in ("string", "ident") and "javascript:" in token.value.lower():
            raise ValidationError("javascript: is refused in the stylesheet.")


def _url_check(url: str) -> None:
    if not SAFE_DATA_IMAGE.match(url.strip()):
        raise ValidationError(
            f"url({url[:60]}) is refused: the stylesheet may only use data: images "
            "(no file from this or another site)."
        )
