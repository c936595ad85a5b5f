"""Reading a configuration file: YAML to plain values, remembering each one's line.

PyYAML's constructed values forget where they came from, so the file is composed
into nodes first and built here, keeping a line for every key and list item. Every
later error names a path (``probes[2].config.url``) and this turns it into a line.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from incidents.models import CONTROL_CHARACTERS

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    path: Path
    message: str


class ConfigError(Exception):
    """One or more problems of a file, each already worded as ``FILE:LINE: ...``."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def dotted(path: Path) -> str:
    """``("probes", 2, "config", "url")`` as ``probes[2].config.url``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


@dataclass
class Source:
    filename: str
    lines: dict[Path, int] = field(default_factory=dict)

    def line(self, path: Path) -> int:
        """The line of the path, or of its nearest ancestor the file has (a missing
        field is reported on the line of the object that lacks it)."""
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def error(
        self, problems: Iterable[Problem], line: int | None = None
    ) -> ConfigError:
        """The problems in file order; ``line`` when known better than the path's."""
        ordered = sorted(problems, key=lambda problem: self.line(problem.path))
        return ConfigError([self.describe(problem, line) for problem in ordered])

    def describe(self, problem: Problem, line: int | None = None) -> str:
        where = dotted(problem.path)
        prefix = f"{where}: " if where else ""
        line = line or self.line(problem.path)
        return f"{self.filename}:{line}: {prefix}{escaped(problem.message)}"


def escaped(text: str) -> str:
    """Each problem on one line: a name quoted in a message may hold a line break
    (the very thing refused), shown as Python would write it (``\\n``)."""
    return CONTROL_CHARACTERS.sub(lambda found: repr(found.group())[1:-1], text)


# A configuration file of a thousand components and probes is about 300 kB.
MAX_FILE_BYTES = 1024 * 1024
# Deeper than any field of the format (probe configs included) could need.
MAX_DEPTH = 64


class _Refused(Exception):
    """Something valid YAML allows but a configuration file may not hold."""

    def __init__(self, mark: yaml.Mark | None, reason: str) -> None:
        super().__init__(reason)
        self.line = mark.line + 1 if mark else 1
        self.reason = reason


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors and aliases, and nested at most
    ``MAX_DEPTH`` deep.

    An alias is a reference, so a few lines of them ("billion laughs") expand to
    gigabytes once built into values; a file has no need of them. Refused while
    composing, before anything is built, as is nesting that would exhaust Python's
    recursion (the composer and ``_build`` both recurse).
    """

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused(
                event.start_mark,
                "anchors and aliases (&name, *name, <<: *name) are not accepted: "
                "write each value out",
            )
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Refused(event.start_mark, f"nests deeper than {MAX_DEPTH} levels")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def read(path: pathlib.Path) -> str:
    """The file's text, refused before reading when it is too large."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ConfigError([_too_large(str(path), size)])
    return path.read_text(encoding="utf-8")


def _too_large(filename: str, size: int) -> str:
    return (
        f"{filename}:1: the file has {size:,} bytes, more than the {MAX_FILE_BYTES:,} "
        "a configuration file may have"
    )


def load(text: str, filename: str) -> tuple[Any, Source]:
    """The file's single document as dicts, lists and scalars, and its lines."""
    if len(text) > MAX_FILE_BYTES:  # characters: at least as many bytes
        raise ConfigError([_too_large(filename, len(text.encode()))])
    source = Source(filename)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        value = {} if node is None else _build(loader, node, (), source)
    except _Refused as exc:
        raise ConfigError([f"{filename}:{exc.line}: {exc.reason}"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = exc.problem or exc.context or "is not valid YAML"
        raise ConfigError([f"{filename}:{line}: not valid YAML: {reason}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{filename}:1: not valid YAML: {exc}"]) from None
    finally:
        loader.dispose()
    return value, source


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: Path, source: Source) -> Any:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        return _build_mapping(loader, node, path, source)
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(loader, item, (*path, index), source)
            for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def _build_mapping(
    loader: yaml.SafeLoader, node: yaml.MappingNode, path: Path, source: Source
) -> dict[Any, Any]:
    # PyYAML keeps the last of two equal keys without a word; a file that says a
    # thing twice is more likely a mistake than an override.
    built: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            raise source.error([Problem(path, f"the key {key!r} must be text")], line)
        if key in built:
            message = "appears twice in this mapping; say it once"
            raise source.error([Problem((*path, key), message)], line)
        source.lines[(*path, key)] = line
        built[key] = _build(loader, value_node, (*path, key), source)
    return built
