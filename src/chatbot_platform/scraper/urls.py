"""URL normalisation and the configuration's scope rules (domains and patterns)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str, base: str | None = None) -> str | None:
    """Absolute http(s) URL without fragment, default port or case differences; None otherwise."""
    try:
        parts = urlsplit(urljoin(base, url.strip()) if base else url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.lower()


def extension_of(url: str) -> str:
    path = urlsplit(url).path
    last = path.rsplit("/", 1)[-1]
    return last.rsplit(".", 1)[-1].lower() if "." in last else ""


@dataclass(frozen=True)
class Scope:
    """Which URLs a crawl visits, and which it only follows for links."""

    domains: tuple[str, ...]
    include: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]
    link_only: tuple[re.Pattern[str], ...]

    @classmethod
    def build(
        cls,
        domains: list[str],
        include: list[str],
        exclude: list[str],
        link_only: list[str],
        starts: list[str],
    ) -> Scope:
        hosts = domains or sorted({host_of(url) for url in starts})
        return cls(
            tuple(hosts),
            tuple(re.compile(p) for p in include),
            tuple(re.compile(p) for p in exclude),
            tuple(re.compile(p) for p in link_only),
        )

    def domain_allowed(self, url: str) -> bool:
        netloc = host_of(url)
        hostname = netloc.split(":")[0] if not netloc.startswith("[") else netloc
        for domain in self.domains:
            if domain.startswith("*."):
                suffix = domain[2:]
                if hostname == suffix or hostname.endswith("." + suffix):
                    return True
            elif netloc == domain or (":" not in domain and hostname == domain):
                return True
        return False

    def allows(self, url: str) -> bool:
        if not self.domain_allowed(url):
            return False
        if self.include and not any(p.search(url) for p in self.include):
            return False
        return not any(p.search(url) for p in self.exclude)

    def links_only(self, url: str) -> bool:
        return any(p.search(url) for p in self.link_only)
