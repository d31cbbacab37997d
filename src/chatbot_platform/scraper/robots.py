"""robots.txt per host: rules and crawl-delay for our user agent, fetched once per run."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from chatbot_platform.kit.fetch import FetchError
from chatbot_platform.scraper.fetching import Fetcher

AGENT = "ChatbotPlatformBot"
MAX_ROBOTS_BYTES = 512 * 1024
MAX_CRAWL_DELAY = 60.0  # a larger delay would make a crawl of any size last for days


@dataclass
class HostRules:
    parser: RobotFileParser | None  # None: no robots.txt, everything allowed
    crawl_delay: float | None = None
    sitemaps: list[str] = field(default_factory=list)

    def allows(self, url: str) -> bool:
        return self.parser is None or self.parser.can_fetch(AGENT, url)


def parse_robots(text: str) -> HostRules:
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    return HostRules(parser, crawl_delay(text), list(parser.site_maps() or []))


def crawl_delay(text: str) -> float | None:
    """Our group's Crawl-delay, else the `*` group's; fractions allowed (the stdlib takes integers only)."""
    delays: dict[str, float] = {}
    agents: list[str] = []
    in_rules = False
    for raw in text.splitlines():
        key, _, value = raw.split("#", 1)[0].partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "user-agent":
            if in_rules:
                agents, in_rules = [], False
            agents.append(value.lower())
        elif key:
            in_rules = True
            if key == "crawl-delay":
                try:
                    delay = float(value)
                except ValueError:
                    continue
                for agent in agents:
                    delays.setdefault(agent, delay)
    ours = next((d for a, d in delays.items() if a != "*" and a in AGENT.lower()), None)
    chosen = ours if ours is not None else delays.get("*")
    return min(chosen, MAX_CRAWL_DELAY) if chosen is not None and chosen >= 0 else None


class Robots:
    """robots.txt of every host a run visits; a missing or unreadable file allows everything."""

    def __init__(self, fetcher: Fetcher, pace: Callable[[str], Awaitable[None]] | None = None) -> None:
        self.fetcher = fetcher
        self.pace = pace
        self.hosts: dict[str, HostRules] = {}
        self.locks: dict[str, asyncio.Lock] = {}

    async def rules(self, url: str) -> HostRules:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        known = self.hosts.get(origin)
        if known is not None:
            return known
        lock = self.locks.setdefault(origin, asyncio.Lock())
        async with lock:
            if origin not in self.hosts:
                self.hosts[origin] = await self._fetch(origin)
            return self.hosts[origin]

    async def _fetch(self, origin: str) -> HostRules:
        url = f"{origin}/robots.txt"
        try:
            if self.pace is not None:
                await self.pace(url)
            response = await self.fetcher.get(url, max_bytes=MAX_ROBOTS_BYTES, before_hop=self.pace)
        except FetchError:
            return HostRules(None)
        if response.status_code in (401, 403):  # as Google does: an access-controlled robots.txt allows all
            return HostRules(None)
        if response.status_code >= 400 or "html" in response.content_type:
            return HostRules(None)
        return parse_robots(response.content.decode("utf-8", errors="replace"))
