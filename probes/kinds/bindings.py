"""Which hosts a probe secret may be sent to, checked at save and before each request.

``PROBE_SECRET_ACME_PASSWORD_HOSTS=login.acme.com,127.0.0.1:8001`` binds the secret
``PROBE_SECRET_ACME_PASSWORD`` to those hosts (settings.PROBE_SECRET_HOSTS, already
checked for shape): a bare host is its scheme's default port, ``host:port`` that
port, ``*.acme.com`` any subdomain of acme.com at that port rule. A secret without
a binding goes nowhere. The binding lives beside the secret, never in the probe, so
whoever edits probes cannot choose where the credentials go.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from django.conf import settings
from yarl import URL

from .config import FieldChecker
from .placeholders import PLACEHOLDER, names_in, spellings

SENT_FIELDS = ("url", "headers", "body", "form", "json")


class SecretRefused(Exception):
    """A request would carry a secret to a host it is not bound to; not sent."""


def hosts_variable(setting: str) -> str:
    return f"PROBE_SECRET_{setting}_HOSTS"


def bound_hosts(setting: str) -> tuple[str, ...]:
    hosts: tuple[str, ...] = settings.PROBE_SECRET_HOSTS.get(setting, ())
    return hosts


def host_port(url: URL) -> str:
    host = url.raw_host or ""
    shown = f"[{host}]" if ":" in host else host
    return shown if url.explicit_port is None else f"{shown}:{url.port}"


def is_bound(setting: str, url: URL) -> bool:
    """Whether the secret named by ``setting`` may go to this URL's host and port."""
    host = (url.raw_host or "").rstrip(".")
    return bool(host) and any(_matches(e, host, url) for e in bound_hosts(setting))


def _matches(entry: str, host: str, url: URL) -> bool:
    name, port = _split(entry)
    if port is None and not url.is_default_port():
        return False
    if port is not None and port != url.port:
        return False
    if name.startswith("*."):
        return host.endswith(name[1:])
    return _same_host(name, host)


def _split(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        name, _, rest = entry[1:].partition("]")
        return name, int(rest[1:]) if rest else None
    name, _, port = entry.partition(":")
    return name, int(port) if port else None


def _same_host(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def refusal(setting: str, placeholder: str, where: str) -> str:
    """Why the secret may not go ``where`` and which variable would allow it."""
    variable, hosts = hosts_variable(setting), bound_hosts(setting)
    if not hosts:
        return (
            f"would send the secret {{{{{placeholder}}}}} ({setting}) to {where}, "
            f"but {variable} is not set: set it to the hosts the secret may go to, "
            f"e.g. {variable}={where}"
        )
    return (
        f"would send the secret {{{{{placeholder}}}}} ({setting}) to {where}, "
        f"which {variable} ({','.join(hosts)}) does not allow; add it there"
    )


def check_secret_hosts(
    check: FieldChecker, secrets: Mapping[str, str], step: str | None = None
) -> None:
    """At save: every field sending a secret must target a host bound to it.

    ``check`` reads one request (a journey step, named ``step``, or an http probe);
    the host must be written in its url, since a placeholder could lead anywhere.
    """
    label = f"(step {step!r}) " if step else ""
    url = check.raw("url")
    target = _literal_target(url) if isinstance(url, str) else None
    for field in SENT_FIELDS:
        for placeholder in sorted(names_in(check.raw(field)) & set(secrets)):
            setting = secrets[placeholder]
            if target is None:
                check.error(field, label + _no_literal_host(placeholder, setting))
            elif not is_bound(setting, target):
                where = host_port(target)
                check.error(field, label + refusal(setting, placeholder, where))


def _literal_target(url: str) -> URL | None:
    authority = url.split("/")[2] if url.count("/") >= 2 else ""
    if PLACEHOLDER.search(authority):
        return None
    try:
        target = URL(PLACEHOLDER.sub("x", url))
    except ValueError:
        return None
    return target if target.raw_host else None


def _no_literal_host(placeholder: str, setting: str) -> str:
    return (
        f"uses the secret {{{{{placeholder}}}}} ({setting}), but the url's host is "
        f"not written out: a secret goes only to a host named in the url and listed "
        f"in {hosts_variable(setting)}"
    )


@dataclass(frozen=True)
class SecretGuard:
    """At run time: refuses a rendered request that carries a secret (in any
    spelling the Redactor knows) to a host that secret is not bound to."""

    # placeholder -> (setting, value)
    secrets: Mapping[str, tuple[str, str]]

    @classmethod
    def for_config(
        cls, names: Mapping[str, str], values: Mapping[str, str]
    ) -> SecretGuard:
        return cls({p: (names[p], v) for p, v in values.items() if p in names})

    def check(self, request: Mapping[str, Any]) -> None:
        url = URL(request["url"])
        text: str | None = None
        for placeholder, (setting, value) in sorted(self.secrets.items()):
            if is_bound(setting, url):
                continue
            text = _request_text(request) if text is None else text
            if any(spelling.lower() in text for spelling in spellings(value)):
                where = host_port(url) if url.raw_host else "a URL without a host"
                raise SecretRefused(f"not sent: {refusal(setting, placeholder, where)}")


NO_SECRETS = SecretGuard({})


def _request_text(request: Mapping[str, Any]) -> str:
    """Everything of a request a secret could hide in, lower-cased."""
    parts = [request["url"]]
    for name, value in (request.get("headers") or {}).items():
        parts += [name, value]
    if request.get("body"):
        parts.append(request["body"])
    for name, value in (request.get("form") or {}).items():
        parts += [name, value]
    if request.get("json") is not None:
        document = request["json"]
        parts += [json.dumps(document), json.dumps(document, ensure_ascii=False)]
    text = "\n".join(parts)
    return f"{text}\n{unquote_plus(text)}".lower()
