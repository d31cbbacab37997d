"""Allowed origins: exact (`https://shop.example.com`) or any subdomain (`https://*.example.com`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

_ORIGIN = re.compile(
    r"^(?P<scheme>https?)://(?P<wild>\*\.)?(?P<host>[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)"
    r"(?::(?P<port>\d{1,5}))?$"
)


def normalize(value: str) -> str | None:
    """The canonical form of an allowed-origin entry, or None when it is not one."""
    candidate = value.strip().lower().rstrip("/")
    match = _ORIGIN.match(candidate)
    if match is None:
        return None
    port = match["port"]
    if port is not None and not 0 < int(port) < 65536:
        return None
    default = {"http": "80", "https": "443"}[match["scheme"]]
    suffix = f":{port}" if port and port != default else ""
    return f"{match['scheme']}://{match['wild'] or ''}{match['host']}{suffix}"


def of_url(url: str | None) -> str | None:
    """The origin of a URL (or of an Origin header's value); None when there is none."""
    if not url or url == "null":
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    origin = f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port is not None else "")
    return normalize(origin)


def allows(allowed: Iterable[str], origin: str | None) -> bool:
    """Whether `origin` (already normalized) matches an entry; a wildcard matches subdomains only."""
    if origin is None:
        return False
    scheme, _, rest = origin.partition("://")
    host, _, port = rest.partition(":")
    for entry in allowed:
        if entry == origin:
            return True
        entry_scheme, _, entry_rest = entry.partition("://")
        if not entry_rest.startswith("*."):
            continue
        entry_host, _, entry_port = entry_rest[2:].partition(":")
        if entry_scheme == scheme and entry_port == port and host.endswith("." + entry_host):
            return True
    return False
